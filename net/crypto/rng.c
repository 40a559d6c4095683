/*
 * net/crypto/rng.c - hako's one random generator: an HMAC_DRBG-SHA256
 * (drbg.c) seeded at boot from the CPU (seed.c picks RDSEED, RDRAND or
 * TSC jitter), under a lock since any core may ask. Every request first
 * mixes in the TSC and, where the CPU has one, a fresh hardware value
 * (SP 800-90A additional input). It also draws the secret key of the TCP
 * initial sequence numbers (isn.c).
 */
#include "net/crypto/rng.h"

#include "net/crypto/drbg.h"
#include "net/crypto/seed.h"
#include "vmm/core/cpu.h"
#include "vmm/core/hwrng.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/spinlock.h"
#include "vmm/core/time.h"

static struct drbg drbg;
static struct spinlock lock;
static enum seed_source source;
static uint8_t isn_key[ISN_KEY_LEN];

static void relax(void) { cpu_relax(); }
static uint64_t tsc(void) { return rdtsc(); }

void rng_init(void)
{
	struct seed_cpu cpu = { hwrng_has_rdseed(), hwrng_has_rdrand(), rdseed64, rdrand64,
				relax, tsc };
	uint64_t f = irq_save();
	spin_lock(&lock);
	if (source == SEED_NONE) {
		source = seed_drbg(&drbg, &cpu);
		drbg_generate(&drbg, isn_key, sizeof(isn_key));
	}
	spin_unlock(&lock);
	irq_restore(f);
	log_info("rng: HMAC_DRBG-SHA256 seeded from %s", rng_source());
}

void rng_bytes(void *buf, size_t n)
{
	if (source == SEED_NONE)
		rng_init();
	uint64_t more[2] = { rdtsc(), 0 };
	if (source == SEED_RDSEED)
		rdseed64(&more[1]);
	else if (source == SEED_RDRAND)
		rdrand64(&more[1]);
	uint64_t f = irq_save();
	spin_lock(&lock);
	drbg_reseed(&drbg, more, sizeof(more));
	drbg_generate(&drbg, buf, n);
	spin_unlock(&lock);
	irq_restore(f);
}

uint32_t rng_u32(void)
{
	uint32_t v;
	rng_bytes(&v, sizeof(v));
	return v;
}

const char *rng_source(void)
{
	return seed_source_name(source);
}

uint32_t rng_tcp_isn(const struct isn_tuple *t)
{
	if (source == SEED_NONE)
		rng_init();
	return tcp_isn(isn_key, t, time_us());
}
