/*
 * net/crypto/seed.c - the DRBG's seed. Sources, best first:
 *
 *   - RDSEED (CPUID.(EAX=7,ECX=0):EBX[18]): conditioned entropy straight
 *     from the CPU's source. 512 bits; a read that fails (CF = 0: the
 *     source is momentarily empty, SDM Vol. 1 7.3.17.1) is tried again
 *     after a pause, up to RDSEED_PATIENCE times.
 *   - RDRAND (CPUID.1:ECX[30]): the output of the CPU's own DRBG, which
 *     reseeds itself at least every 511 128-bit outputs; 1024 64-bit reads
 *     span such a reseed, so together they hold at least one fresh seed
 *     (Intel's DRNG guide, on seeding another generator from RDRAND).
 *   - the TSC's jitter around short memory loops: all there is without
 *     those instructions, or when they answer wrongly. Some CPUs' RDRAND
 *     has returned all ones with CF = 1 (after a suspend); a source whose
 *     reads repeat a value is taken for broken, not trusted.
 *     seed_source_name() calls it weak: someone who can model the boot's
 *     timing might guess it.
 * The jitter goes in whatever the source, as does the TSC at the start.
 * Portable.
 */
#include "net/crypto/seed.h"

#define RDSEED_WORDS 8          /* 512 bits of entropy */
#define RDSEED_PATIENCE 1000    /* failed reads tolerated per word */
#define RDRAND_WORDS 1024       /* spans a reseed of the CPU's DRBG */
#define JITTER_SAMPLES 8192
#define CHUNK 64                /* words given to the DRBG at a time */

static int rdseed_patient(const struct seed_cpu *cpu, uint64_t *v)
{
	for (int i = 0; i < RDSEED_PATIENCE; i++) {
		if (cpu->read_rdseed(v))
			return 1;
		cpu->relax();
	}
	return 0;
}

/* n words of `src` into the DRBG; 0 if a read failed or two in a row match. */
static int feed_hw(struct drbg *d, const struct seed_cpu *cpu, enum seed_source src, int n)
{
	uint64_t w[CHUNK];
	for (int done = 0; done < n; done += CHUNK) {
		int m = n - done < CHUNK ? n - done : CHUNK;
		for (int i = 0; i < m; i++) {
			int ok = src == SEED_RDSEED ? rdseed_patient(cpu, &w[i]) : cpu->read_rdrand(&w[i]);
			if (!ok || (i && w[i] == w[i - 1]))
				return 0;
		}
		drbg_reseed(d, w, (size_t)m * sizeof(w[0]));
	}
	return 1;
}

/* Timing of loops over a buffer: cache, TLB and interrupt noise. */
static void feed_jitter(struct drbg *d, const struct seed_cpu *cpu)
{
	static volatile uint8_t buf[4096];
	uint64_t w[CHUNK];
	for (int s = 0; s < JITTER_SAMPLES; s += CHUNK) {
		for (int i = 0; i < CHUNK; i++) {
			uint64_t t0 = cpu->tsc();
			for (unsigned j = 0; j < 16 + (t0 & 15); j++)
				buf[(t0 * 61 + j * 67) & 4095] += (uint8_t)j;
			w[i] = (cpu->tsc() - t0) ^ (t0 << 20);
		}
		drbg_reseed(d, w, sizeof(w));
	}
}

enum seed_source seed_drbg(struct drbg *d, const struct seed_cpu *cpu)
{
	enum seed_source src = SEED_JITTER;
	uint64_t start = cpu->tsc();
	drbg_init(d, &start, sizeof(start));
	if (cpu->has_rdseed && feed_hw(d, cpu, SEED_RDSEED, RDSEED_WORDS))
		src = SEED_RDSEED;
	else if (cpu->has_rdrand && feed_hw(d, cpu, SEED_RDRAND, RDRAND_WORDS))
		src = SEED_RDRAND;
	feed_jitter(d, cpu);
	return src;
}

const char *seed_source_name(enum seed_source s)
{
	static const char *const names[] = { "none", "rdseed", "rdrand", "tsc-jitter (weak)" };
	return names[s];
}
