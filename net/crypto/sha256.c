/*
 * net/crypto/sha256.c - SHA-256, HMAC-SHA256 and PBKDF2-HMAC-SHA256 on
 * BearSSL's br_sha256 and br_hmac. BearSSL has no PBKDF2, so RFC 8018 5.2
 * is written here on top of its HMAC. Portable.
 */
#include "net/crypto/sha256.h"

#include "bearssl_hash.h"
#include "bearssl_hmac.h"
#include "vmm/core/lib/string.h"

_Static_assert(sizeof(br_sha256_context) <= sizeof(struct sha256),
	       "struct sha256 holds a br_sha256_context");

static br_sha256_context *ctx(struct sha256 *s)
{
	return (br_sha256_context *)(void *)s->opaque;
}

void sha256_init(struct sha256 *s)
{
	br_sha256_init(ctx(s));
}

void sha256_update(struct sha256 *s, const void *data, size_t len)
{
	br_sha256_update(ctx(s), data, len);
}

void sha256_final(struct sha256 *s, uint8_t out[SHA256_DIGEST])
{
	br_sha256_out(ctx(s), out);
	memset(s, 0, sizeof(*s));
}

void sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST])
{
	struct sha256 s;
	sha256_init(&s);
	sha256_update(&s, data, len);
	sha256_final(&s, out);
}

/* HMAC with the key already folded in (br_hmac_key_context keeps the inner
 * and outer states after the padded key, RFC 2104 2), then m1 || m2. */
static void hmac_run(const br_hmac_key_context *k, const void *m1, size_t l1, const void *m2,
		     size_t l2, uint8_t out[SHA256_DIGEST])
{
	br_hmac_context h;
	br_hmac_init(&h, k, 0);
	br_hmac_update(&h, m1, l1);
	if (l2)
		br_hmac_update(&h, m2, l2);
	br_hmac_out(&h, out);
	memset(&h, 0, sizeof(h));
}

void hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
		 uint8_t out[SHA256_DIGEST])
{
	br_hmac_key_context k;
	br_hmac_key_init(&k, &br_sha256_vtable, key, key_len);
	hmac_run(&k, msg, msg_len, 0, 0, out);
	memset(&k, 0, sizeof(k));
}

static void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* RFC 8018 5.2: T_i = U_1 ^ ... ^ U_c, U_1 = PRF(P, S || INT(i)),
 * U_j = PRF(P, U_{j-1}); DK = T_1 || T_2 || ... truncated to dk_len. */
void pbkdf2_hmac_sha256(const void *pw, size_t pw_len, const void *salt, size_t salt_len,
			uint32_t iterations, uint8_t *dk, size_t dk_len)
{
	br_hmac_key_context k;
	br_hmac_key_init(&k, &br_sha256_vtable, pw, pw_len);
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
		memset(u, 0, sizeof(u));
		memset(t, 0, sizeof(t));
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
