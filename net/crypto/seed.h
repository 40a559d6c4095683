/*
 * net/crypto/seed.h - choosing and reading the seed of hako's DRBG
 * (net/crypto/rng.c), apart from the hardware so the unit tests can hand
 * it CPUs whose RDSEED runs dry or whose RDRAND is broken. Portable.
 */
#ifndef HAKO_SEED_H
#define HAKO_SEED_H

#include <stdint.h>

#include "net/crypto/drbg.h"

enum seed_source { SEED_NONE, SEED_RDSEED, SEED_RDRAND, SEED_JITTER };

/* The CPU as the seeding sees it. read_* return 1 and a value, or 0 after
 * the CPU's own retries failed (vmm/core/hwrng.h). */
struct seed_cpu {
	int has_rdseed, has_rdrand;
	int (*read_rdseed)(uint64_t *v);
	int (*read_rdrand)(uint64_t *v);
	void (*relax)(void);     /* a pause while RDSEED's source refills */
	uint64_t (*tsc)(void);
};

/* Instantiates `d` from the best source that works; says which. */
enum seed_source seed_drbg(struct drbg *d, const struct seed_cpu *cpu);
/* "rdseed", "rdrand", "tsc-jitter (weak)" (or "none"). */
const char *seed_source_name(enum seed_source s);

#endif
