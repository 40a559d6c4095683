/*
 * vmm/core/smp.h - bringing up the other cores and giving them work.
 */
#ifndef HAKO_SMP_H
#define HAKO_SMP_H

#include "vmm/core/bootinfo.h"
#include "drivers/acpi/acpi.h"

/* Starts every core ACPI lists and parks it. Returns how many came up. */
unsigned smp_init(const struct boot_info *bi, const struct acpi_info *acpi);
/* Runs fn(arg) on parked core `index` (> 0). Returns 0, or -EBUSY. */
int smp_run_on(unsigned index, void (*fn)(void *), void *arg);
/* Interrupts core `index`: a running vCPU exits to hako; 0 wakes the service core. */
void smp_kick(unsigned index);

#endif
