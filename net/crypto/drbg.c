/*
 * net/crypto/drbg.c - HMAC_DRBG-SHA256 on BearSSL's br_hmac_drbg, which
 * follows SP 800-90A 10.1.2 (K = 0, V = 1, then Update with the seed;
 * Generate chains V = HMAC(K, V) and updates K and V after each request).
 * Portable.
 */
#include "net/crypto/drbg.h"

#include "bearssl_hash.h"
#include "bearssl_rand.h"

_Static_assert(sizeof(br_hmac_drbg_context) <= sizeof(struct drbg),
	       "struct drbg holds a br_hmac_drbg_context");

static br_hmac_drbg_context *ctx(struct drbg *d)
{
	return (br_hmac_drbg_context *)(void *)d->opaque;
}

void drbg_init(struct drbg *d, const void *seed, size_t len)
{
	br_hmac_drbg_init(ctx(d), &br_sha256_vtable, seed, len);
}

void drbg_reseed(struct drbg *d, const void *data, size_t len)
{
	br_hmac_drbg_update(ctx(d), data, len);
}

void drbg_generate(struct drbg *d, void *out, size_t len)
{
	br_hmac_drbg_generate(ctx(d), out, len);
}
