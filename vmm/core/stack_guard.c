/*
 * vmm/core/stack_guard.c - the stack protector's guard value and what
 * happens when a function finds it overwritten.
 *
 * The kernel is built with -fstack-protector-strong and
 * -mstack-protector-guard=global: every function with a local array or
 * an address-taken local copies __stack_chk_guard below its return
 * address on entry and compares it before returning; a mismatch (a
 * buffer overflow over the frame) calls __stack_chk_fail(). GCC's default
 * guard for the kernel code model would be %gs:40, which in hako is a
 * field of struct percpu (and the firmware's GS before cpu_setup_tables),
 * hence the global guard, one value for every core.
 *
 * boot/entry.S calls stack_guard_init() before kmain(), so no protected
 * frame is live when the value is chosen; the application processors
 * start later and only read it. The value comes from RDSEED or RDRAND
 * (CPUID.(EAX=7,ECX=0):EBX[18], CPUID.1:ECX[30]; SDM Vol. 1 7.3.17) where
 * the CPU has them, else from the TSC mixed with the boot-info address:
 * guessable by someone who knows the boot timing, which is why a later
 * change brings a real DRBG seeded once for all of hako.
 */
#include "vmm/core/stack_guard.h"

#include "vmm/core/cpu.h"
#include "vmm/core/time.h"
#include "vmm/core/trap.h"

#define NO_SP __attribute__((no_stack_protector))

/* Any nonzero value until stack_guard_init(): never 0, never used unset. */
uint64_t __stack_chk_guard = 0x595e9fbd94fda766ull;
const char *stack_guard_source = "none";

#define CPUID1_ECX_RDRAND (1u << 30)
#define CPUID7_EBX_RDSEED (1u << 18)
#define HW_RANDOM_TRIES 16 /* both may fail transiently (CF = 0): retry (SDM Vol. 1 7.3.17.1) */

static NO_SP int rdseed64(uint64_t *v)
{
	for (int i = 0; i < HW_RANDOM_TRIES; i++) {
		uint8_t ok;
		__asm__ volatile("rdseed %0; setc %1" : "=r"(*v), "=qm"(ok));
		if (ok)
			return 1;
	}
	return 0;
}

static NO_SP int rdrand64(uint64_t *v)
{
	for (int i = 0; i < HW_RANDOM_TRIES; i++) {
		uint8_t ok;
		__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok));
		if (ok)
			return 1;
	}
	return 0;
}

/* splitmix64's finaliser: every input bit reaches every output bit. */
static NO_SP uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * Chooses __stack_chk_guard. Called once, from boot/entry.S on the boot
 * core before kmain(), with `seed` the loader's boot-info pointer (one
 * more input for the TSC fallback). Not itself protected: it changes the
 * value protected functions compare against.
 */
NO_SP void stack_guard_init(uint64_t seed)
{
	uint64_t hw = 0;
	int leaf7 = cpuid(0, 0).eax >= 7;
	if (leaf7 && (cpuid(7, 0).ebx & CPUID7_EBX_RDSEED) && rdseed64(&hw))
		stack_guard_source = "RDSEED";
	else if ((cpuid(1, 0).ecx & CPUID1_ECX_RDRAND) && rdrand64(&hw))
		stack_guard_source = "RDRAND";
	else
		stack_guard_source = "TSC (no RDSEED/RDRAND)";
	uint64_t g = hw ^ mix64(rdtsc() ^ mix64(seed ^ tsc_boot));
	/* A zero low byte stops string functions from copying the guard into an overflow. */
	g &= ~0xffull;
	__stack_chk_guard = g ? g : 0x100;
}

/* Called by a protected function whose guard was overwritten: a hako bug. */
void __stack_chk_fail(void)
{
	hv_panic("stack protector: a function's stack guard was overwritten (caller 0x%lx)",
		 (uint64_t)__builtin_return_address(0));
}
