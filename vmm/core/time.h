/*
 * vmm/core/time.h - time from the TSC, calibrated once at boot.
 */
#ifndef HAKO_TIME_H
#define HAKO_TIME_H

#include <stdint.h>

extern uint64_t tsc_khz;
extern uint64_t tsc_boot; /* TSC at the kernel's first instruction */

/* The ACPI power-management timer (ACPI 6.5 4.8.3.3), as boot found it. */
struct pm_timer {
	uint64_t address;  /* 0: the machine has none */
	int io;            /* address is an I/O port (else memory) */
	int bits32;        /* TMR_VAL_EXT: 32-bit counter (else 24) */
};

/* Measures the TSC against the PM timer (or the PIT when `pm` is 0 or has none). */
void tsc_calibrate(const struct pm_timer *pm);
uint64_t time_us(void); /* microseconds since the kernel started */
void delay_us(uint64_t us);
const char *tsc_source(void);

#endif
