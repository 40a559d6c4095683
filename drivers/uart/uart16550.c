/*
 * drivers/uart/uart16550.c - polled driver for a PC 16550A UART.
 *
 * Register map from the National Semiconductor PC16550D data sheet
 * (offsets from the base port; DLAB is LCR bit 7).
 */
#include "drivers/uart/uart16550.h"

#include "vmm/core/cpu.h"

#define UART_RBR 0 /* receive buffer (read, DLAB=0) */
#define UART_THR 0 /* transmit holding (write, DLAB=0) */
#define UART_DLL 0 /* divisor latch low (DLAB=1) */
#define UART_IER 1 /* interrupt enable (DLAB=0) */
#define UART_DLM 1 /* divisor latch high (DLAB=1) */
#define UART_FCR 2 /* FIFO control (write) */
#define  FCR_ENABLE 0x01
#define  FCR_CLEAR_RX 0x02
#define  FCR_CLEAR_TX 0x04
#define UART_LCR 3 /* line control */
#define  LCR_8N1 0x03
#define  LCR_DLAB 0x80
#define UART_MCR 4 /* modem control */
#define  MCR_DTR 0x01
#define  MCR_RTS 0x02
#define UART_LSR 5 /* line status */
#define  LSR_DR 0x01   /* data ready */
#define  LSR_THRE 0x20 /* transmit holding register empty */
#define UART_SCR 7 /* scratch */

static uint16_t uart_base;
static struct spinlock uart_lock;

/* Sets up 8N1 at `baud`; leaves the port unused if no UART answers. */
void uart_init(uint16_t port, uint32_t baud)
{
	/* A missing UART reads back 0xff; the scratch register tells. */
	outb(port + UART_SCR, 0x5a);
	if (inb(port + UART_SCR) != 0x5a)
		return;
	uint16_t div = (uint16_t)(115200 / baud);
	outb(port + UART_IER, 0);
	outb(port + UART_LCR, LCR_DLAB);
	outb(port + UART_DLL, div & 0xff);
	outb(port + UART_DLM, div >> 8);
	outb(port + UART_LCR, LCR_8N1);
	outb(port + UART_FCR, FCR_ENABLE | FCR_CLEAR_RX | FCR_CLEAR_TX);
	outb(port + UART_MCR, MCR_DTR | MCR_RTS);
	uart_base = port;
}

static void putc_raw(char c)
{
	/* Bounded wait: a wedged UART must not hang the host forever. */
	for (int i = 0; i < 1000000 && !(inb(uart_base + UART_LSR) & LSR_THRE); i++)
		cpu_relax();
	outb(uart_base + UART_THR, (uint8_t)c);
}

void uart_putc(char c)
{
	uart_write(&c, 1);
}

/* Writes `n` bytes, turning "\n" into "\r\n" for terminals. */
void uart_write(const char *s, size_t n)
{
	if (!uart_base)
		return;
	uint64_t f = irq_save();
	spin_lock(&uart_lock);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			putc_raw('\r');
		putc_raw(s[i]);
	}
	spin_unlock(&uart_lock);
	irq_restore(f);
}

int uart_getc(void)
{
	if (!uart_base || !(inb(uart_base + UART_LSR) & LSR_DR))
		return -1;
	return inb(uart_base + UART_RBR);
}
