/*
 * mgmt/gdb/rsp.c - the remote serial protocol's framing (mgmt/gdb/rsp.h).
 */
#include "mgmt/gdb/rsp.h"

#include "vmm/core/lib/fmt.h"

enum { ST_IDLE, ST_DATA, ST_CC1, ST_CC2 };

void rsp_rx_init(struct rsp_rx *rx)
{
	rx->state = ST_IDLE;
	rx->len = 0;
	rx->too_long = 0;
}

static enum rsp_event packet_end(struct rsp_rx *rx, uint8_t cc)
{
	rx->state = ST_IDLE;
	if (rx->too_long || cc != rx->sum)
		return RSP_BAD;
	rx->buf[rx->len] = 0;
	return RSP_PACKET;
}

enum rsp_event rsp_rx_byte(struct rsp_rx *rx, uint8_t c)
{
	int d;
	switch (rx->state) {
	case ST_IDLE:
		if (c == 0x03)
			return RSP_INTERRUPT;
		if (c == '$') {
			rx->state = ST_DATA;
			rx->len = 0, rx->sum = 0, rx->too_long = 0;
		}
		return RSP_NONE; /* `+`, `-` and noise between packets */
	case ST_DATA:
		if (c == '#') {
			rx->state = ST_CC1;
			return RSP_NONE;
		}
		if (c == '$') { /* a new packet: the old one was cut off */
			rx->len = 0, rx->sum = 0, rx->too_long = 0;
			return RSP_NONE;
		}
		rx->sum = (uint8_t)(rx->sum + c);
		if (rx->len < RSP_MAX)
			rx->buf[rx->len++] = (char)c;
		else
			rx->too_long = 1;
		return RSP_NONE;
	case ST_CC1:
		d = fmt_hexdigit((char)c);
		rx->cc = (uint8_t)(d < 0 ? 0 : d << 4);
		rx->too_long |= d < 0;
		rx->state = ST_CC2;
		return RSP_NONE;
	default:
		d = fmt_hexdigit((char)c);
		rx->too_long |= d < 0;
		return packet_end(rx, (uint8_t)(rx->cc | (d < 0 ? 0 : d)));
	}
}

static const char hexd[] = "0123456789abcdef";

size_t rsp_frame(const char *payload, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	uint8_t sum = 0;
	if (cap < 4)
		return 0;
	out[o++] = '$';
	for (size_t i = 0; i < n; i++) {
		char c = payload[i];
		int esc = c == '$' || c == '#' || c == '}' || c == '*';
		if (o + 1 + esc + 3 > cap)
			return 0;
		if (esc) {
			out[o++] = '}';
			sum = (uint8_t)(sum + '}');
			c ^= 0x20;
		}
		out[o++] = c;
		sum = (uint8_t)(sum + (uint8_t)c);
	}
	out[o++] = '#';
	out[o++] = hexd[sum >> 4];
	out[o++] = hexd[sum & 15];
	return o;
}

void rsp_hex_encode(const void *p, size_t len, char *out)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hexd[b[i] >> 4];
		out[2 * i + 1] = hexd[b[i] & 15];
	}
	out[2 * len] = 0;
}

int rsp_hex_decode(const char *hex, size_t len, void *out)
{
	uint8_t *b = out;
	for (size_t i = 0; i < len; i++) {
		int hi = fmt_hexdigit(hex[2 * i]), lo = hi < 0 ? -1 : fmt_hexdigit(hex[2 * i + 1]);
		if (lo < 0)
			return -1;
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int rsp_hex_u64(const char **s, uint64_t *val)
{
	uint64_t v = 0;
	unsigned n = 0;
	int d;
	while ((d = fmt_hexdigit(**s)) >= 0) {
		if (++n > 16)
			return -1;
		v = v << 4 | (unsigned)d;
		(*s)++;
	}
	*val = v;
	return n ? 0 : -1;
}
