/*
 * vmm/core/time.c - TSC calibration and time keeping.
 *
 * The TSC is the one clock every core reads cheaply. Its rate is measured
 * over 10 ms against a clock of known frequency: the ACPI PM timer
 * (3.579545 MHz, ACPI 6.5 4.8.3.3) when the FADT has one, else PIT
 * channel 2 (1.193182 MHz, Intel 8254 data sheet), else CPUID 0x15.
 * Assumes an invariant TSC, which every CPU with VT-x or AMD-V that hako
 * targets has.
 */
#include "vmm/core/time.h"

#include "vmm/core/cpu.h"

#define PM_TIMER_HZ 3579545ull
#define PIT_HZ 1193182ull
#define CALIBRATE_US 10000ull

uint64_t tsc_khz = 1000000; /* a guess (1 GHz) until calibrated */
uint64_t tsc_boot;
static int calibrated;
static const char *source = "none";

static uint32_t pm_read(const struct pm_timer *p)
{
	if (p->io)
		return inl((uint16_t)p->address);
	return *(volatile uint32_t *)p->address;
}

static uint64_t calibrate_pm(const struct pm_timer *a)
{
	uint32_t mask = a->bits32 ? 0xffffffffu : 0xffffffu;
	uint64_t ticks = PM_TIMER_HZ * CALIBRATE_US / 1000000;
	uint32_t start = pm_read(a) & mask;
	uint64_t t0 = rdtsc(), elapsed = 0;
	uint32_t last = start;

	while (elapsed < ticks) {
		uint32_t now = pm_read(a) & mask;
		elapsed += (now - last) & mask;
		last = now;
	}
	uint64_t t1 = rdtsc();
	return (t1 - t0) * PM_TIMER_HZ / elapsed / 1000;
}

static uint64_t calibrate_pit(void)
{
	uint16_t count = (uint16_t)(PIT_HZ * CALIBRATE_US / 1000000);
	/* Gate channel 2 on, speaker off; mode 0 (interrupt on terminal count). */
	outb(0x61, (inb(0x61) & ~0x02) | 0x01);
	outb(0x43, 0xb0);
	outb(0x42, count & 0xff);
	outb(0x42, count >> 8);
	uint64_t t0 = rdtsc();
	for (uint64_t spins = 0; !(inb(0x61) & 0x20); spins++)
		if (spins > 100000000)
			return 0; /* no PIT on this machine */
	return (rdtsc() - t0) * 1000 / CALIBRATE_US;
}

void tsc_calibrate(const struct pm_timer *a)
{
	uint64_t khz = 0;
	if (a && a->address) {
		khz = calibrate_pm(a);
		source = "ACPI PM timer";
	}
	if (!khz) {
		khz = calibrate_pit();
		source = "PIT";
	}
	if (!khz) {
		struct cpuid_regs r = cpuid(0x15, 0);
		if (r.eax && r.ebx && r.ecx) {
			khz = (uint64_t)r.ecx * r.ebx / r.eax / 1000;
			source = "CPUID 0x15";
		}
	}
	if (khz)
		tsc_khz = khz;
	calibrated = 1;
}

const char *tsc_source(void) { return source; }

/* Microseconds since kernel entry; 0 until the TSC rate is known. */
uint64_t time_us(void)
{
	if (!calibrated)
		return 0;
	uint64_t d = rdtsc() - tsc_boot;
	/* Split so that d * 1000 cannot overflow however long hako runs. */
	return d / tsc_khz * 1000 + d % tsc_khz * 1000 / tsc_khz;
}

void delay_us(uint64_t us)
{
	uint64_t end = rdtsc() + us * tsc_khz / 1000;
	while (rdtsc() < end)
		cpu_relax();
}
