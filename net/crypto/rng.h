/*
 * net/crypto/rng.h - hako's random numbers: one HMAC_DRBG-SHA256
 * (net/crypto/drbg.c) seeded at boot from RDSEED, else RDRAND, else TSC
 * jitter, and fed a little more on every request. Used for CHAP
 * challenges, iSCSI ISIDs, password salts, lwIP's LWIP_RAND and the key
 * of its TCP initial sequence numbers (RFC 6528).
 */
#ifndef HAKO_RNG_H
#define HAKO_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "net/crypto/isn.h"

/* Seeds the generator (boot, after the TSC is calibrated). */
void rng_init(void);
void rng_bytes(void *buf, size_t n);
uint32_t rng_u32(void);
/* What seeded it: "rdseed", "rdrand" or "tsc-jitter (weak)". */
const char *rng_source(void);
/* RFC 6528 ISN for a 4-tuple with hako's secret key. */
uint32_t rng_tcp_isn(const struct isn_tuple *t);

#endif
