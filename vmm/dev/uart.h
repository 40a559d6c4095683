/*
 * vmm/dev/uart.h - the 16550 UART a guest sees at 0x3F8 (COM1), enough
 * for a polled console: THR/RBR, IER, IIR/FCR, LCR, MCR, LSR, MSR, SCR and
 * the divisor latch (National Semiconductor PC16550D data sheet), with
 * receive-data and transmitter-empty interrupts (uart_model_irq() is the
 * INTR pin; the caller wires it to an interrupt controller). Output goes
 * to a ring buffer that `console` replays; input comes from the shell.
 * Portable: no hardware headers. Not locked: callers serialize.
 */
#ifndef HAKO_UART_MODEL_H
#define HAKO_UART_MODEL_H

#include <stdint.h>

#define UART_OUT_RING 16384 /* power of two */
#define UART_IN_FIFO 64     /* power of two */

struct uart_model {
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	uint8_t thre_pending;          /* THR-empty interrupt not yet acknowledged */
	/* Guest output: written by the vCPU core, read by the service core. */
	char out[UART_OUT_RING];
	volatile uint64_t out_head;   /* bytes ever written */
	/* Guest input: written by the service core, read by the vCPU core. */
	uint8_t in[UART_IN_FIFO];
	volatile uint32_t in_head, in_tail;
};

void uart_model_reset(struct uart_model *u);
/* Port access at `offset` (0-7) from the UART base; reads return the register. */
uint8_t uart_model_read(struct uart_model *u, unsigned offset);
void uart_model_write(struct uart_model *u, unsigned offset, uint8_t val);
/* Queues one input byte; returns 0, or -ENOSPC when the FIFO is full. */
int uart_model_input(struct uart_model *u, uint8_t c);
/* The INTR output: 1 while an enabled interrupt is pending. */
int uart_model_irq(const struct uart_model *u);
/*
 * Copies output from position *pos (a byte count, as out_head) into buf.
 * If *pos fell out of the ring, skips to the oldest byte kept. Returns the
 * number of bytes copied and advances *pos.
 */
unsigned uart_model_output(const struct uart_model *u, uint64_t *pos, char *buf, unsigned len);

#endif
