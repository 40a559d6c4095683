/*
 * net/iscsi/md5.c - MD5 written from RFC 1321 section 3. Portable.
 * Words are little-endian; each 64-byte block goes through four rounds of
 * sixteen steps (3.4), with the sine-derived constants T[i] and the shift
 * amounts of the reference description.
 */
#include "net/iscsi/md5.h"

#include "vmm/core/lib/string.h"

/* RFC 1321 3.4: T[i] = floor(2^32 * abs(sin(i + 1))). */
static const uint32_t T[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
	0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
	0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
	0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
	0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
	0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
	0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
	0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
	0xeb86d391,
};

/* Per-round rotation amounts, four per round (3.4). */
static const uint8_t S[4][4] = { { 7, 12, 17, 22 }, { 5, 9, 14, 20 }, { 4, 11, 16, 23 },
				 { 6, 10, 15, 21 } };

static uint32_t rol(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

/* The round function and message word for step i (0..63). */
static uint32_t md5_mix(unsigned i, uint32_t b, uint32_t c, uint32_t d, unsigned *k)
{
	switch (i / 16) {
	case 0: *k = i; return (b & c) | (~b & d);
	case 1: *k = (5 * i + 1) % 16; return (b & d) | (c & ~d);
	case 2: *k = (3 * i + 5) % 16; return b ^ c ^ d;
	default: *k = (7 * i) % 16; return c ^ (b | ~d);
	}
}

static void md5_block(uint32_t st[4], const uint8_t *p)
{
	uint32_t X[16], a = st[0], b = st[1], c = st[2], d = st[3];
	for (int i = 0; i < 16; i++)
		X[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
		       (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
	for (unsigned i = 0; i < 64; i++) {
		unsigned k;
		uint32_t f = md5_mix(i, b, c, d, &k);
		uint32_t t = d;
		d = c;
		c = b;
		b = b + rol(a + f + X[k] + T[i], S[i / 16][i % 4]);
		a = t;
	}
	st[0] += a, st[1] += b, st[2] += c, st[3] += d;
}

/* Starts a digest with the initial words of RFC 1321 3.3. */
void md5_init(struct md5_ctx *c)
{
	c->state[0] = 0x67452301, c->state[1] = 0xefcdab89;
	c->state[2] = 0x98badcfe, c->state[3] = 0x10325476;
	c->bytes = 0;
}

/* Adds `len` bytes. */
void md5_update(struct md5_ctx *c, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len) {
		size_t used = c->bytes % 64, n = 64 - used < len ? 64 - used : len;
		memcpy(c->block + used, p, n);
		c->bytes += n, p += n, len -= n;
		if (c->bytes % 64 == 0)
			md5_block(c->state, c->block);
	}
}

/* Pads (3.1, 3.2) and writes the 16-byte digest (3.5). */
void md5_final(struct md5_ctx *c, uint8_t out[MD5_DIGEST_LEN])
{
	uint64_t bits = c->bytes * 8;
	uint8_t pad = 0x80, zero = 0, len[8];
	md5_update(c, &pad, 1);
	while (c->bytes % 64 != 56)
		md5_update(c, &zero, 1);
	for (int i = 0; i < 8; i++)
		len[i] = (uint8_t)(bits >> (8 * i));
	md5_update(c, len, 8);
	for (int i = 0; i < 16; i++)
		out[i] = (uint8_t)(c->state[i / 4] >> (8 * (i % 4)));
}

/* The MD5 digest of one buffer. */
void md5(const void *data, size_t len, uint8_t out[MD5_DIGEST_LEN])
{
	struct md5_ctx c;
	md5_init(&c);
	md5_update(&c, data, len);
	md5_final(&c, out);
}
