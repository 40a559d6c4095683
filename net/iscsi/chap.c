/*
 * net/iscsi/chap.c - CHAP-MD5 (RFC 1994 4.1) and binary value encodings
 * (RFC 7143 6.1, "binary-value"). Portable.
 */
#include "net/iscsi/chap.h"

#include "net/crypto/md5.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"

/* RFC 1994 4.1: out = MD5(id || secret || challenge[0..clen)). */
void chap_response(uint8_t id, const char *secret, const uint8_t *challenge, size_t clen,
		   uint8_t out[16])
{
	struct md5_ctx c;
	md5_init(&c);
	md5_update(&c, &id, 1);
	md5_update(&c, secret, strlen(secret));
	md5_update(&c, challenge, clen);
	md5_final(&c, out);
}

/* Hex may have an odd digit count: the first digit is then a low nibble. */
static int decode_hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s), bytes = (n + 1) / 2;
	if (!n)
		return -EINVAL;
	if (bytes > cap)
		return -E2BIG;
	for (size_t i = 0, o = 0; i < n; o++) {
		int hi = (n % 2 && i == 0) ? 0 : fmt_hexdigit(s[i++]);
		int lo = fmt_hexdigit(s[i++]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[o] = (uint8_t)(hi << 4 | lo);
	}
	return (int)bytes;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static int decode_b64(const char *s, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0, i = 0;
	for (; s[i] && s[i] != '='; i++) {
		int v = b64_value(s[i]);
		if (v < 0)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v, bits += 6;
		if (bits >= 8) {
			if (o >= cap)
				return -E2BIG;
			bits -= 8, out[o++] = (uint8_t)(acc >> bits);
		}
	}
	while (s[i] == '=')
		i++;
	return s[i] || !o ? -EINVAL : (int)o;
}

/* A CHAP binary value (0x hex, 0b base64) into out; its length or -EINVAL/-E2BIG. */
int chap_decode(const char *v, uint8_t *out, size_t cap)
{
	if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X'))
		return decode_hex(v + 2, out, cap);
	if (v[0] == '0' && (v[1] == 'b' || v[1] == 'B'))
		return decode_b64(v + 2, out, cap);
	return -EINVAL;
}

/* in[0..len) as "0x" + lowercase hex; out holds 2 + 2*len + 1 bytes. */
void chap_encode_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	*out++ = '0', *out++ = 'x';
	for (size_t i = 0; i < len; i++) {
		*out++ = digits[in[i] >> 4];
		*out++ = digits[in[i] & 15];
	}
	*out = 0;
}
