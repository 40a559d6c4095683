/*
 * net/crypto/isn.c - RFC 6528 initial sequence numbers. Portable.
 */
#include "net/crypto/isn.h"

#include "net/crypto/sha256.h"

uint32_t tcp_isn(const uint8_t key[ISN_KEY_LEN], const struct isn_tuple *t, uint64_t now_us)
{
	/* The 4-tuple as 12 bytes, in the order RFC 6528 names them. */
	uint8_t msg[12], mac[SHA256_DIGEST];
	const uint8_t *li = (const uint8_t *)&t->local_ip, *ri = (const uint8_t *)&t->remote_ip;
	const uint8_t *lp = (const uint8_t *)&t->local_port, *rp = (const uint8_t *)&t->remote_port;
	for (int i = 0; i < 4; i++)
		msg[i] = li[i], msg[6 + i] = ri[i];
	msg[4] = lp[0], msg[5] = lp[1], msg[10] = rp[0], msg[11] = rp[1];
	hmac_sha256(key, ISN_KEY_LEN, msg, sizeof(msg), mac);
	uint32_t f = (uint32_t)mac[0] << 24 | (uint32_t)mac[1] << 16 | (uint32_t)mac[2] << 8 | mac[3];
	return (uint32_t)(now_us / 4) + f;
}
