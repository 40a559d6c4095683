/*
 * net/crypto/rng.c - the DRBG's seed and hako's one generator.
 *
 * Seed sources, best first:
 *   - RDSEED (CPUID.(EAX=7,ECX=0):EBX[18]): conditioned entropy straight
 *     from the CPU's source. 512 bits, each 64-bit read retried with a
 *     pause between attempts while the source refills (SDM Vol. 1
 *     7.3.17.1: RDSEED may fail under load and should be retried).
 *   - RDRAND (CPUID.1:ECX[30]): the output of the CPU's own DRBG, which
 *     reseeds itself at least every 511 128-bit outputs; reading 1024
 *     64-bit values spans such a reseed, so their condensation holds at
 *     least one full fresh seed (Intel's DRNG guide, "seed-grade" use of
 *     RDRAND). Each read is retried (hwrng.h).
 *   - the TSC's jitter around small memory loops: all hako has without
 *     the instructions, or when they answer wrongly. Some CPUs' RDRAND
 *     has returned all ones with CF = 1 after a suspend, so a source whose
 *     first reads repeat a value is not trusted. `host` says "tsc-jitter
 *     (weak)": an attacker who can model the boot timing may guess it.
 * Every request also mixes in the TSC (and a hardware value when there is
 * one) as SP 800-90A additional input.
 */
#include "net/crypto/rng.h"

#include "net/crypto/drbg.h"
#include "vmm/core/cpu.h"
#include "vmm/core/hwrng.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/spinlock.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/time.h"

#define RDSEED_WORDS 8          /* 512 bits of entropy */
#define RDSEED_PATIENCE 1000    /* reads that may fail before giving up */
#define RDRAND_WORDS 1024       /* spans a reseed of the CPU's DRBG */
#define JITTER_SAMPLES 8192
#define CHUNK 64                /* words fed to the DRBG at a time */

enum rng_kind { RNG_NONE, RNG_RDSEED, RNG_RDRAND, RNG_JITTER };

static struct drbg drbg;
static struct spinlock lock;
static enum rng_kind kind;
static uint8_t isn_key[ISN_KEY_LEN];

/* RDSEED may run dry for a moment: pause and read again, within patience. */
static int rdseed_patient(uint64_t *v)
{
	for (int i = 0; i < RDSEED_PATIENCE; i++) {
		if (rdseed64(v))
			return 1;
		cpu_relax();
	}
	return 0;
}

/* n words from `read` into the DRBG; 0 if a read failed or the values repeat. */
static int feed_hw(int (*read)(uint64_t *), int n)
{
	uint64_t w[CHUNK];
	for (int done = 0; done < n; done += CHUNK) {
		int m = n - done < CHUNK ? n - done : CHUNK;
		for (int i = 0; i < m; i++) {
			if (!read(&w[i]))
				return 0;
			if (i && w[i] == w[i - 1])
				return 0; /* stuck: a broken source, not chance */
		}
		drbg_reseed(&drbg, w, (size_t)m * sizeof(w[0]));
	}
	memset(w, 0, sizeof(w));
	return 1;
}

static int read_rdrand(uint64_t *v)
{
	return rdrand64(v);
}

/* Timing of short loops over a buffer: cache, TLB and interrupt noise. */
static void feed_jitter(void)
{
	static volatile uint8_t buf[4096];
	uint64_t w[CHUNK];
	for (int s = 0; s < JITTER_SAMPLES; s += CHUNK) {
		for (int i = 0; i < CHUNK; i++) {
			uint64_t t0 = rdtsc();
			for (unsigned j = 0; j < 16 + (t0 & 15); j++)
				buf[(t0 * 61 + j * 67) & 4095] += (uint8_t)j;
			w[i] = rdtsc() - t0 + (t0 << 32);
		}
		drbg_reseed(&drbg, w, sizeof(w));
	}
}

static void seed(void)
{
	uint64_t start[2] = { rdtsc(), time_us() };
	drbg_init(&drbg, start, sizeof(start));
	if (hwrng_has_rdseed() && feed_hw(rdseed_patient, RDSEED_WORDS))
		kind = RNG_RDSEED;
	else if (hwrng_has_rdrand() && feed_hw(read_rdrand, RDRAND_WORDS))
		kind = RNG_RDRAND;
	else
		kind = RNG_JITTER;
	feed_jitter(); /* costs a few ms; never hurts */
	drbg_generate(&drbg, isn_key, sizeof(isn_key));
}

void rng_init(void)
{
	uint64_t f = irq_save();
	spin_lock(&lock);
	if (kind == RNG_NONE)
		seed();
	spin_unlock(&lock);
	irq_restore(f);
	log_info("rng: HMAC_DRBG-SHA256 seeded from %s", rng_source());
}

void rng_bytes(void *buf, size_t n)
{
	if (kind == RNG_NONE)
		rng_init();
	uint64_t more[2] = { rdtsc(), 0 };
	if (kind == RNG_RDSEED)
		rdseed64(&more[1]);
	else if (kind == RNG_RDRAND)
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
	static const char *const names[] = { "none", "rdseed", "rdrand", "tsc-jitter (weak)" };
	return names[kind];
}

uint32_t rng_tcp_isn(const struct isn_tuple *t)
{
	if (kind == RNG_NONE)
		rng_init();
	return tcp_isn(isn_key, t, time_us());
}
