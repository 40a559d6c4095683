/*
 * net/crypto/sha256.c - SHA-256, HMAC-SHA256 and PBKDF2-HMAC-SHA256.
 * Portable; written from FIPS 180-4 (section 6.2 for the computation, 4.2.2
 * for the constants, 5.1.1 for the padding), RFC 2104 and RFC 8018 5.2.
 */
#include "net/crypto/sha256.h"

#include "vmm/core/lib/string.h"

/* FIPS 180-4 4.2.2: the first 32 bits of the fractional parts of the cube
 * roots of the first 64 primes. */
static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

static uint32_t ror(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* FIPS 180-4 6.2.2: one 512-bit block. */
static void compress(uint32_t h[8], const uint8_t block[SHA256_BLOCK])
{
	uint32_t w[64];
	for (int t = 0; t < 16; t++)
		w[t] = load_be32(block + 4 * t);
	for (int t = 16; t < 64; t++) {
		uint32_t s0 = ror(w[t - 15], 7) ^ ror(w[t - 15], 18) ^ (w[t - 15] >> 3);
		uint32_t s1 = ror(w[t - 2], 17) ^ ror(w[t - 2], 19) ^ (w[t - 2] >> 10);
		w[t] = w[t - 16] + s0 + w[t - 7] + s1;
	}
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
	for (int t = 0; t < 64; t++) {
		uint32_t t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) +
			      K[t] + w[t];
		uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void sha256_init(struct sha256 *s)
{
	/* FIPS 180-4 5.3.3 */
	static const uint32_t h0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	memcpy(s->h, h0, sizeof(h0));
	s->bytes = 0;
	s->fill = 0;
}

void sha256_update(struct sha256 *s, const void *data, size_t len)
{
	const uint8_t *p = data;
	s->bytes += len;
	while (len) {
		size_t take = SHA256_BLOCK - s->fill < len ? SHA256_BLOCK - s->fill : len;
		memcpy(s->buf + s->fill, p, take);
		s->fill += take, p += take, len -= take;
		if (s->fill == SHA256_BLOCK) {
			compress(s->h, s->buf);
			s->fill = 0;
		}
	}
}

/* FIPS 180-4 5.1.1: a 1 bit, zeros, and the length in bits as 64 bits. */
void sha256_final(struct sha256 *s, uint8_t out[SHA256_DIGEST])
{
	uint64_t bits = s->bytes * 8;
	s->buf[s->fill++] = 0x80;
	if (s->fill > SHA256_BLOCK - 8) {
		memset(s->buf + s->fill, 0, SHA256_BLOCK - s->fill);
		compress(s->h, s->buf);
		s->fill = 0;
	}
	memset(s->buf + s->fill, 0, SHA256_BLOCK - 8 - s->fill);
	store_be32(s->buf + 56, (uint32_t)(bits >> 32));
	store_be32(s->buf + 60, (uint32_t)bits);
	compress(s->h, s->buf);
	for (int i = 0; i < 8; i++)
		store_be32(out + 4 * i, s->h[i]);
	memset(s, 0, sizeof(*s));
}

void sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST])
{
	struct sha256 s;
	sha256_init(&s);
	sha256_update(&s, data, len);
	sha256_final(&s, out);
}

/* The inner and outer hash states after the padded key (RFC 2104 2);
 * PBKDF2 reuses them for every iteration. */
struct hmac_keyed {
	struct sha256 inner, outer;
};

static void hmac_key(struct hmac_keyed *k, const void *key, size_t key_len)
{
	uint8_t block[SHA256_BLOCK] = { 0 }, pad[SHA256_BLOCK];
	if (key_len > SHA256_BLOCK)
		sha256(key, key_len, block);
	else
		memcpy(block, key, key_len);
	for (int i = 0; i < SHA256_BLOCK; i++)
		pad[i] = block[i] ^ 0x36;
	sha256_init(&k->inner);
	sha256_update(&k->inner, pad, SHA256_BLOCK);
	for (int i = 0; i < SHA256_BLOCK; i++)
		pad[i] = block[i] ^ 0x5c;
	sha256_init(&k->outer);
	sha256_update(&k->outer, pad, SHA256_BLOCK);
	memset(block, 0, sizeof(block));
	memset(pad, 0, sizeof(pad));
}

static void hmac_run(const struct hmac_keyed *k, const void *m1, size_t l1, const void *m2,
		     size_t l2, uint8_t out[SHA256_DIGEST])
{
	struct sha256 s = k->inner;
	uint8_t ih[SHA256_DIGEST];
	sha256_update(&s, m1, l1);
	if (l2)
		sha256_update(&s, m2, l2);
	sha256_final(&s, ih);
	s = k->outer;
	sha256_update(&s, ih, sizeof(ih));
	sha256_final(&s, out);
}

void hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
		 uint8_t out[SHA256_DIGEST])
{
	struct hmac_keyed k;
	hmac_key(&k, key, key_len);
	hmac_run(&k, msg, msg_len, 0, 0, out);
	memset(&k, 0, sizeof(k));
}

/* RFC 8018 5.2: T_i = U_1 ^ ... ^ U_c, U_1 = PRF(P, S || INT(i)),
 * U_j = PRF(P, U_{j-1}); DK = T_1 || T_2 || ... truncated to dk_len. */
void pbkdf2_hmac_sha256(const void *pw, size_t pw_len, const void *salt, size_t salt_len,
			uint32_t iterations, uint8_t *dk, size_t dk_len)
{
	struct hmac_keyed k;
	hmac_key(&k, pw, pw_len);
	for (uint32_t block = 1; dk_len; block++) {
		uint8_t be[4], u[SHA256_DIGEST], t[SHA256_DIGEST];
		store_be32(be, block);
		hmac_run(&k, salt, salt_len, be, 4, u);
		memcpy(t, u, sizeof(t));
		for (uint32_t j = 1; j < iterations; j++) {
			hmac_run(&k, u, sizeof(u), 0, 0, u);
			for (int i = 0; i < SHA256_DIGEST; i++)
				t[i] ^= u[i];
		}
		size_t take = dk_len < SHA256_DIGEST ? dk_len : SHA256_DIGEST;
		memcpy(dk, t, take);
		dk += take, dk_len -= take;
	}
	memset(&k, 0, sizeof(k));
}

int crypto_memeq(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t diff = 0;
	for (size_t i = 0; i < n; i++)
		diff |= x[i] ^ y[i];
	return diff;
}
