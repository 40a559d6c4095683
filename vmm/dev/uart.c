/*
 * vmm/dev/uart.c - a guest's 16550 (PC16550D data sheet, "Registers").
 * Portable. The transmitter is always ready (THRE and TEMT set): output
 * lands in a ring buffer at once, and when the ring is full the oldest
 * bytes are overwritten, so a guest flooding its UART never blocks hako.
 * Interrupts (data sheet "Interrupt Identification Register"): received
 * data available (priority 2) while the FIFO holds a byte and IER bit 0
 * is set; THR empty (priority 3) after each write to THR and when IER
 * bit 1 is set, cleared by reading IIR while it reports it or by the
 * next THR write.
 */
#include "vmm/dev/uart.h"

#include "vmm/core/lib/errno.h"

#define UART_RBR_THR 0
#define UART_IER 1
#define UART_IIR_FCR 2
#define UART_LCR 3
#define  LCR_DLAB 0x80
#define UART_MCR 4
#define UART_LSR 5
#define  LSR_DR 0x01
#define  LSR_THRE 0x20
#define  LSR_TEMT 0x40
#define UART_MSR 6
#define  MSR_DCD_DSR_CTS 0xb0
#define UART_SCR 7
#define  IER_RDI 0x01
#define  IER_THRI 0x02
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO_ENABLED 0xc0

void uart_model_reset(struct uart_model *u)
{
	u->ier = u->lcr = u->mcr = u->scr = u->dlm = u->thre_pending = 0;
	u->dll = 1;
	u->in_head = u->in_tail = 0;
}

static int in_pending(const struct uart_model *u)
{
	return u->in_head != u->in_tail;
}

static uint8_t in_pop(struct uart_model *u)
{
	if (!in_pending(u))
		return 0;
	uint8_t c = u->in[u->in_tail % UART_IN_FIFO];
	__atomic_store_n(&u->in_tail, u->in_tail + 1, __ATOMIC_RELEASE);
	return c;
}

static uint8_t iir(const struct uart_model *u)
{
	if ((u->ier & IER_RDI) && in_pending(u))
		return IIR_RDI;
	if ((u->ier & IER_THRI) && u->thre_pending)
		return IIR_THRI;
	return IIR_NO_INT;
}

int uart_model_irq(const struct uart_model *u)
{
	return iir(u) != IIR_NO_INT;
}

static uint8_t iir_read(struct uart_model *u)
{
	uint8_t id = iir(u);
	if (id == IIR_THRI)
		u->thre_pending = 0;  /* reading IIR acknowledges THRE */
	return IIR_FIFO_ENABLED | id;
}

uint8_t uart_model_read(struct uart_model *u, unsigned offset)
{
	int dlab = u->lcr & LCR_DLAB;
	switch (offset & 7) {
	case UART_RBR_THR: return dlab ? u->dll : in_pop(u);
	case UART_IER:     return dlab ? u->dlm : u->ier;
	case UART_IIR_FCR: return iir_read(u);
	case UART_LCR:     return u->lcr;
	case UART_MCR:     return u->mcr;
	case UART_LSR:     return LSR_THRE | LSR_TEMT | (in_pending(u) ? LSR_DR : 0);
	case UART_MSR:     return MSR_DCD_DSR_CTS;
	default:           return u->scr;
	}
}

static void out_push(struct uart_model *u, uint8_t c)
{
	u->out[u->out_head % UART_OUT_RING] = (char)c;
	__atomic_store_n(&u->out_head, u->out_head + 1, __ATOMIC_RELEASE);
}

void uart_model_write(struct uart_model *u, unsigned offset, uint8_t val)
{
	int dlab = u->lcr & LCR_DLAB;
	switch (offset & 7) {
	case UART_RBR_THR:
		if (dlab) {
			u->dll = val;
		} else {
			out_push(u, val);
			u->thre_pending = 1;  /* sent at once: THR is empty again */
		}
		return;
	case UART_IER:
		if (dlab) {
			u->dlm = val;
		} else {
			/* enabling THRI while THR is empty raises it (PC16550D) */
			if ((val & IER_THRI) && !(u->ier & IER_THRI))
				u->thre_pending = 1;
			u->ier = val & 0x0f;
		}
		return;
	case UART_IIR_FCR: return; /* FIFO control: FIFOs are always on */
	case UART_LCR:     u->lcr = val; return;
	case UART_MCR:     u->mcr = val & 0x1f; return;
	case UART_SCR:     u->scr = val; return;
	default:           return; /* LSR and MSR are read-only */
	}
}

int uart_model_input(struct uart_model *u, uint8_t c)
{
	if (u->in_head - u->in_tail >= UART_IN_FIFO)
		return -ENOSPC;
	u->in[u->in_head % UART_IN_FIFO] = c;
	__atomic_store_n(&u->in_head, u->in_head + 1, __ATOMIC_RELEASE);
	return 0;
}

unsigned uart_model_output(const struct uart_model *u, uint64_t *pos, char *buf, unsigned len)
{
	uint64_t head = __atomic_load_n(&u->out_head, __ATOMIC_ACQUIRE);
	if (head - *pos > UART_OUT_RING)
		*pos = head - UART_OUT_RING;
	unsigned n = 0;
	while (*pos < head && n < len)
		buf[n++] = u->out[(*pos)++ % UART_OUT_RING];
	return n;
}
