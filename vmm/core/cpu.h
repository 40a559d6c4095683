/*
 * vmm/core/cpu.h - thin wrappers over x86-64 instructions the kernel uses
 * (SDM Vol. 2 for each instruction; MSR numbers from SDM Vol. 4).
 */
#ifndef HAKO_CPU_H
#define HAKO_CPU_H

#include <stdint.h>

#include "vmm/core/lib/spinlock.h"
#include "vmm/core/lib/x86.h"

#define MSR_IA32_APIC_BASE 0x1b
#define MSR_IA32_FEATURE_CONTROL 0x3a
#define MSR_IA32_VMX_BASIC 0x480
#define MSR_IA32_VMX_PROCBASED_CTLS 0x482
#define MSR_IA32_VMX_PROCBASED_CTLS2 0x48b
#define MSR_IA32_VMX_EPT_VPID_CAP 0x48c
#define MSR_EFER 0xc0000080
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_VM_CR 0xc0010114
#define  VM_CR_SVMDIS (1u << 4)

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/* XSETBV (SDM Vol. 2C): needs CR4.OSXSAVE. */
static inline void xsetbv(uint32_t xcr, uint64_t v)
{
	__asm__ volatile("xsetbv" ::"c"(xcr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline uint64_t xgetbv(uint32_t xcr)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(xcr));
	return ((uint64_t)hi << 32) | lo;
}

/*
 * Saving and loading the x87/SSE/AVX state (SDM Vol. 2 "XSAVE",
 * "XSAVEOPT", "XRSTOR", "FXSAVE", "FXRSTOR"), in their 64-bit forms (REX.W:
 * FIP and FDP as 64-bit offsets). `mask` selects components (EDX:EAX, ANDed
 * with XCR0); XSAVE areas are 64-byte aligned, FXSAVE areas 16. Only
 * vmm/vcpu_fpu.c uses them: hako's own code touches no such register.
 */
static inline void xsave64(void *area, uint64_t mask)
{
	__asm__ volatile("xsave64 %0" : "+m"(*(char *)area) : "a"((uint32_t)mask),
			 "d"((uint32_t)(mask >> 32)) : "memory");
}
static inline void xsaveopt64(void *area, uint64_t mask)
{
	__asm__ volatile("xsaveopt64 %0" : "+m"(*(char *)area) : "a"((uint32_t)mask),
			 "d"((uint32_t)(mask >> 32)) : "memory");
}
static inline void xrstor64(const void *area, uint64_t mask)
{
	__asm__ volatile("xrstor64 %0" ::"m"(*(const char *)area), "a"((uint32_t)mask),
			 "d"((uint32_t)(mask >> 32)) : "memory");
}
static inline void fxsave64(void *area)
{
	__asm__ volatile("fxsave64 %0" : "+m"(*(char *)area) :: "memory");
}
static inline void fxrstor64(const void *area)
{
	__asm__ volatile("fxrstor64 %0" ::"m"(*(const char *)area) : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

#define DEFINE_CR(n)                                                        \
	static inline uint64_t read_cr##n(void)                             \
	{                                                                   \
		uint64_t v;                                                 \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));           \
		return v;                                                   \
	}                                                                   \
	static inline void write_cr##n(uint64_t v)                          \
	{                                                                   \
		__asm__ volatile("mov %0, %%cr" #n ::"r"(v) : "memory");    \
	}
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

static inline void cpu_halt(void) { __asm__ volatile("hlt" ::: "memory"); }

#endif
