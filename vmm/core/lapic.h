/*
 * vmm/core/lapic.h - the host's local APIC in xAPIC (MMIO) mode.
 * TCG QEMU refuses x2APIC for the CPU hako runs on, so MMIO it is.
 */
#ifndef HAKO_LAPIC_H
#define HAKO_LAPIC_H

#include <stdint.h>

void lapic_init(void);     /* enable this core's LAPIC; call on each core */
uint32_t lapic_id(void);
void lapic_eoi(void);
void lapic_send_ipi(uint32_t apic_id, uint8_t vector);
void lapic_send_init(uint32_t apic_id);
void lapic_send_sipi(uint32_t apic_id, uint8_t page);
void lapic_send_nmi_all_but_self(void);

/*
 * The local APIC timer as a one-shot wake-up for guest timers (vmm/vcpu.c):
 * lapic_timer_calibrate() measures its rate against the TSC once (BSP,
 * after TSC calibration); lapic_timer_arm() fires VEC_KICK on this core
 * after about `tsc_ticks` TSC ticks (clamped); lapic_timer_stop() cancels.
 * The count is only as good as the calibration: the interrupt may come a
 * little before the TSC gets there. lapic_timer_counting(): is it armed
 * and not yet fired?
 */
void lapic_timer_calibrate(void);
void lapic_timer_arm(uint64_t tsc_ticks);
int lapic_timer_counting(void);
void lapic_timer_stop(void);

#endif
