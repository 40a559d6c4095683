/*
 * vmm/core/lib/fmt.h - printf-style formatting into a buffer, and the few
 * small parsers several parts of hako share. Portable: built into the
 * kernel and into the host unit tests.
 */
#ifndef HAKO_FMT_H
#define HAKO_FMT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Formats like C's vsnprintf for the subset hako uses: %d %i %u %x %X %o
 * %c %s %p %%, flags '-' '0', a width (or '*'), a precision for %s, and
 * the length modifiers l, ll, z. Always NUL-terminates when n > 0.
 * Returns the length the full output would have had.
 */
int fmt_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The value of hex digit c (either case), or -1. */
int fmt_hexdigit(char c);
/* Parses exactly "XX:XX:XX:XX:XX:XX" (hex, either case). 0, or -1. */
int fmt_parse_mac(const char *s, uint8_t mac[6]);
/* Parses a decimal unsigned number within [min, max]. 0, -EINVAL or -ERANGE. */
int fmt_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Parses a size: digits with an optional K, M or G (powers of 1024). 0 or -E... */
int fmt_parse_size(const char *s, uint64_t *out);

#endif
