/*
 * vmm/core/hwrng.h - the CPU's random number instructions (SDM Vol. 1
 * 7.3.17): RDSEED returns conditioned entropy, RDRAND the output of the
 * CPU's own DRBG. Both set CF = 1 when the value is valid and may fail
 * transiently (CF = 0), so each call retries a few times (7.3.17.1).
 * Inline and without the stack protector: stack_guard_init() uses them
 * before the guard is chosen.
 */
#ifndef HAKO_HWRNG_H
#define HAKO_HWRNG_H

#include <stdint.h>

#include "vmm/core/cpu.h"

#define CPUID1_ECX_RDRAND (1u << 30)
#define CPUID7_EBX_RDSEED (1u << 18)
#define HW_RANDOM_TRIES 16

__attribute__((no_stack_protector)) static inline int hwrng_has_rdseed(void)
{
	return cpuid(0, 0).eax >= 7 && (cpuid(7, 0).ebx & CPUID7_EBX_RDSEED);
}

__attribute__((no_stack_protector)) static inline int hwrng_has_rdrand(void)
{
	return (cpuid(1, 0).ecx & CPUID1_ECX_RDRAND) != 0;
}

/* 1 and a value in *v, or 0 after HW_RANDOM_TRIES failures. */
__attribute__((no_stack_protector)) static inline int rdseed64(uint64_t *v)
{
	for (int i = 0; i < HW_RANDOM_TRIES; i++) {
		uint8_t ok;
		__asm__ volatile("rdseed %0; setc %1" : "=r"(*v), "=qm"(ok));
		if (ok)
			return 1;
	}
	return 0;
}

__attribute__((no_stack_protector)) static inline int rdrand64(uint64_t *v)
{
	for (int i = 0; i < HW_RANDOM_TRIES; i++) {
		uint8_t ok;
		__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok));
		if (ok)
			return 1;
	}
	return 0;
}

#endif
