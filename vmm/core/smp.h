/*
 * vmm/core/smp.h - bringing up the other cores and giving them work.
 */
#ifndef HAKO_SMP_H
#define HAKO_SMP_H

#include <stdint.h>

#include "vmm/core/bootinfo.h"

/*
 * Starts every core of `apic_ids` (the firmware's list, ACPI MADT; the
 * calling core's own ID is skipped) and parks it; with count 0 it probes
 * the IDs above its own. Returns how many cores are online.
 */
unsigned smp_init(const struct boot_info *bi, const uint32_t *apic_ids, unsigned count);
/* Runs fn(arg) on parked core `index` (> 0). Returns 0, or -EBUSY. */
int smp_run_on(unsigned index, void (*fn)(void *), void *arg);
/* Interrupts core `index`: a running vCPU exits to hako; 0 wakes the service core. */
void smp_kick(unsigned index);
/*
 * Until the matching smp_release_kicks() (they nest), this core's
 * smp_kick()s are only noted; the release sends them, each core once.
 * For code under a lock the kicked core will want: the kick, slow under
 * an emulator, then leaves after the unlock. Never across a wait for
 * the kicked core.
 */
void smp_hold_kicks(void);
void smp_release_kicks(void);

#endif
