/*
 * net/crypto/md5.h - MD5 (RFC 1321), needed only by iSCSI's CHAP (RFC 1994,
 * RFC 7143 12.1.3). BearSSL's br_md5 does the hashing. Portable.
 */
#ifndef HAKO_MD5_H
#define HAKO_MD5_H

#include <stddef.h>
#include <stdint.h>

#define MD5_DIGEST_LEN 16

/* Holds a br_md5_context (md5.c checks that it fits). */
struct md5_ctx {
	uint64_t opaque[14];
};

void md5_init(struct md5_ctx *c);
void md5_update(struct md5_ctx *c, const void *data, size_t len);
void md5_final(struct md5_ctx *c, uint8_t out[MD5_DIGEST_LEN]);
void md5(const void *data, size_t len, uint8_t out[MD5_DIGEST_LEN]);

#endif
