/*
 * net/crypto/sha256.h - SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104) and
 * PBKDF2-HMAC-SHA256 (RFC 8018 5.2), for the network console's password
 * hashes and the random generator. The hashing is BearSSL's (Debian's
 * source package, built unmodified: see the Makefile); only this folder
 * sees BearSSL's headers. Portable: built into the kernel and into the
 * unit tests.
 */
#ifndef HAKO_SHA256_H
#define HAKO_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST 32
#define SHA256_BLOCK 64

/* Holds a br_sha256_context (sha256.c checks that it fits). */
struct sha256 {
	uint64_t opaque[16];
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t out[SHA256_DIGEST]);
void sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST]);

void hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
		 uint8_t out[SHA256_DIGEST]);

/* Derives `dk_len` bytes from a password and salt with `iterations` rounds. */
void pbkdf2_hmac_sha256(const void *pw, size_t pw_len, const void *salt, size_t salt_len,
			uint32_t iterations, uint8_t *dk, size_t dk_len);

/* Compares n bytes in time independent of where they differ; 0 if equal. */
int crypto_memeq(const void *a, const void *b, size_t n);

#endif
