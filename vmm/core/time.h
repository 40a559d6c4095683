/*
 * vmm/core/time.h - time from the TSC, calibrated once at boot.
 */
#ifndef HAKO_TIME_H
#define HAKO_TIME_H

#include <stdint.h>

#include "drivers/acpi/acpi.h"

extern uint64_t tsc_khz;
extern uint64_t tsc_boot; /* TSC at the kernel's first instruction */

/* Measures the TSC against the ACPI PM timer (or the PIT without one). */
void tsc_calibrate(const struct acpi_info *acpi);
uint64_t time_us(void); /* microseconds since the kernel started */
void delay_us(uint64_t us);
const char *tsc_source(void);

#endif
