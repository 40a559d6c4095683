/*
 * guests/lib/console.h - polled output on COM1 for the test guests: they
 * wait for the transmitter-holding register to empty (LSR bit 5), as a
 * program on a bare PC would, then write the byte.
 */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

#include <stdint.h>

#define COM1 0x3f8

void putc_(char c);
void puts_(const char *s);
void putu(uint64_t v);          /* decimal */
void putx(uint64_t v);          /* 0x and 16 hex digits */

#endif
