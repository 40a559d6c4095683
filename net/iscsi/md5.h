/*
 * net/iscsi/md5.h - MD5 (RFC 1321), needed only by CHAP (RFC 1994,
 * RFC 7143 12.1.3). Portable.
 */
#ifndef HAKO_ISCSI_MD5_H
#define HAKO_ISCSI_MD5_H

#include <stddef.h>
#include <stdint.h>

#define MD5_DIGEST_LEN 16

struct md5_ctx {
	uint32_t state[4];
	uint64_t bytes;
	uint8_t block[64];
};

void md5_init(struct md5_ctx *c);
void md5_update(struct md5_ctx *c, const void *data, size_t len);
void md5_final(struct md5_ctx *c, uint8_t out[MD5_DIGEST_LEN]);
void md5(const void *data, size_t len, uint8_t out[MD5_DIGEST_LEN]);

#endif
