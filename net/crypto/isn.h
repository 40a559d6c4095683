/*
 * net/crypto/isn.h - TCP initial sequence numbers as RFC 6528 section 3
 * asks: ISN = M + F(localip, localport, remoteip, remoteport, secretkey),
 * M a timer ticking every 4 microseconds and F a keyed hash (here the
 * first 32 bits of HMAC-SHA256). Another connection's ISN tells an
 * off-path attacker nothing about this 4-tuple's; the same 4-tuple's
 * ISNs still advance with time, as RFC 9293 3.4.1 wants. Portable.
 */
#ifndef HAKO_ISN_H
#define HAKO_ISN_H

#include <stdint.h>

#define ISN_KEY_LEN 32

/* Addresses and ports in network byte order, as lwIP keeps them. */
struct isn_tuple {
	uint32_t local_ip, remote_ip;
	uint16_t local_port, remote_port;
};

uint32_t tcp_isn(const uint8_t key[ISN_KEY_LEN], const struct isn_tuple *t, uint64_t now_us);

#endif
