/*
 * drivers/uart/uart16550.h - the host's 16550 serial port (COM1).
 */
#ifndef HAKO_UART16550_H
#define HAKO_UART16550_H

#include <stddef.h>
#include <stdint.h>

#define COM1_PORT 0x3f8

void uart_init(uint16_t port, uint32_t baud);
void uart_putc(char c);
void uart_write(const char *s, size_t n);
/* Returns the next received byte, or -1 when none is waiting. */
int uart_getc(void);

#endif
