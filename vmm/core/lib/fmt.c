/*
 * vmm/core/lib/fmt.c - a small vsnprintf. Portable (no hardware, no libc).
 */
#include "vmm/core/lib/fmt.h"

#include "vmm/core/lib/errno.h"

#include <stdint.h>

/* Widths and precisions beyond this are clamped: no caller means them. */
#define FMT_FIELD_MAX 4096

struct out {
	char *buf;
	size_t n, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->n)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, char c, int count)
{
	while (count-- > 0)
		put(o, c);
}

static void put_str(struct out *o, const char *s, int width, int prec, int left)
{
	int len = 0;
	if (!s)
		s = "(null)";
	while (s[len] && (prec < 0 || len < prec))
		len++;
	if (!left)
		pad(o, ' ', width - len);
	for (int i = 0; i < len; i++)
		put(o, s[i]);
	if (left)
		pad(o, ' ', width - len);
}

static void put_num(struct out *o, uint64_t v, int neg, unsigned base, int upper,
		    int width, int zero, int left)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int len = 0;
	do {
		tmp[len++] = digits[v % base];
		v /= base;
	} while (v);
	int total = len + neg;
	if (!left && !zero)
		pad(o, ' ', width - total);
	if (neg)
		put(o, '-');
	if (!left && zero)
		pad(o, '0', width - total);
	while (len)
		put(o, tmp[--len]);
	if (left)
		pad(o, ' ', width - total);
}

/* Reads decimal digits of a width or precision, clamped to FMT_FIELD_MAX. */
static int field(const char **fmt, int v)
{
	while (**fmt >= '0' && **fmt <= '9') {
		v = v * 10 + (*(*fmt)++ - '0');
		if (v > FMT_FIELD_MAX)
			v = FMT_FIELD_MAX;
	}
	return v > FMT_FIELD_MAX ? FMT_FIELD_MAX : v;
}

int fmt_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
	struct out o = { buf, n, 0 };

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		int left = 0, zero = 0, width = 0, prec = -1, lng = 0;
		for (;; fmt++) {
			if (fmt[1] == '-')
				left = 1;
			else if (fmt[1] == '0')
				zero = 1;
			else
				break;
		}
		fmt++;
		if (*fmt == '*') {
			width = va_arg(ap, int);
			fmt++;
			if (width < 0) { /* C11 7.21.6.1p5: a '-' flag and a positive width */
				left = 1;
				width = width < -FMT_FIELD_MAX ? FMT_FIELD_MAX : -width;
			}
		}
		width = field(&fmt, width);
		if (*fmt == '.') {
			prec = 0;
			fmt++;
			if (*fmt == '*') {
				prec = va_arg(ap, int); /* negative: as if omitted */
				fmt++;
			}
			prec = field(&fmt, prec);
		}
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
			put_num(&o, u, v < 0, 10, 0, width, zero, left);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o': {
			uint64_t v = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
			unsigned base = *fmt == 'u' ? 10 : *fmt == 'o' ? 8 : 16;
			put_num(&o, v, 0, base, *fmt == 'X', width, zero, left);
			break;
		}
		case 'p':
			put(&o, '0');
			put(&o, 'x');
			put_num(&o, (uintptr_t)va_arg(ap, void *), 0, 16, 0, width, zero, left);
			break;
		case 'c': {
			char ch[2] = { (char)va_arg(ap, int), 0 };
			put_str(&o, ch, width, 1, left);
			break;
		}
		case 's':
			put_str(&o, va_arg(ap, const char *), width, prec, left);
			break;
		case '%':
			put(&o, '%');
			break;
		case 0:
			fmt--; /* a lone '%' at the end: print nothing more */
			break;
		default:
			put(&o, '%');
			put(&o, *fmt);
			break;
		}
	}
	if (n)
		buf[o.len < n ? o.len : n - 1] = 0;
	return (int)o.len;
}

int fmt_snprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = fmt_vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return r;
}

int fmt_hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int fmt_parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		const char *p = s + 3 * i;
		int hi = fmt_hexdigit(p[0]), lo = hi < 0 ? -1 : fmt_hexdigit(p[1]);
		if (lo < 0 || p[2] != (i == 5 ? 0 : ':'))
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int fmt_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		uint64_t d = (uint64_t)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int fmt_parse_size(const char *s, uint64_t *out)
{
	char digits[24];
	size_t n = 0;
	while (s[n] >= '0' && s[n] <= '9') {
		if (n == sizeof(digits) - 1)
			return -ERANGE;
		digits[n] = s[n];
		n++;
	}
	digits[n] = 0;
	unsigned shift = 0;
	char suffix = s[n];
	if (suffix == 'K' || suffix == 'k')
		shift = 10;
	else if (suffix == 'M' || suffix == 'm')
		shift = 20;
	else if (suffix == 'G' || suffix == 'g')
		shift = 30;
	else if (suffix)
		return -EINVAL;
	if (suffix && s[n + 1])
		return -EINVAL;
	uint64_t v;
	int err = fmt_parse_uint(digits, 0, UINT64_MAX, &v);
	if (err)
		return err;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}
