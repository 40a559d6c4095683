/*
 * net/crypto/drbg.h - HMAC_DRBG with SHA-256 (NIST SP 800-90A 10.1.2),
 * BearSSL's br_hmac_drbg. net/crypto/rng.c keeps hako's one instance,
 * seeded from the CPU; the unit tests drive this directly with NIST's
 * known-answer vectors. Portable.
 */
#ifndef HAKO_DRBG_H
#define HAKO_DRBG_H

#include <stddef.h>
#include <stdint.h>

/* Holds a br_hmac_drbg_context (drbg.c checks that it fits). */
struct drbg {
	uint64_t opaque[20];
};

/* Instantiate from seed material (entropy || nonce || personalization). */
void drbg_init(struct drbg *d, const void *seed, size_t len);
/* Mix more entropy or additional input into the state (10.1.2.2). */
void drbg_reseed(struct drbg *d, const void *data, size_t len);
void drbg_generate(struct drbg *d, void *out, size_t len);

#endif
