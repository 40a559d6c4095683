/*
 * net/iscsi/chap.h - CHAP with MD5 for iSCSI login (RFC 7143 12.1.3,
 * RFC 1994): the response to a challenge, and the binary-value encodings
 * of RFC 7143 6.1 (0x hex and 0b base64). Portable.
 */
#ifndef HAKO_ISCSI_CHAP_H
#define HAKO_ISCSI_CHAP_H

#include <stddef.h>
#include <stdint.h>

#define CHAP_ALG_MD5 5
#define CHAP_CHALLENGE_MAX 1024

/* Response = MD5(identifier || secret || challenge) (RFC 1994 4.1). */
void chap_response(uint8_t id, const char *secret, const uint8_t *challenge, size_t clen,
		   uint8_t out[16]);

/*
 * Decodes a binary value ("0x..." hex or "0b..." base64) into `out`;
 * returns its length, or -EINVAL (bad encoding) or -E2BIG (over `cap`).
 */
int chap_decode(const char *v, uint8_t *out, size_t cap);
/* Encodes as "0x" + lowercase hex into `out` (size >= 2 + 2*len + 1). */
void chap_encode_hex(const uint8_t *in, size_t len, char *out);

#endif
