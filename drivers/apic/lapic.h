/*
 * drivers/apic/lapic.h - the host's local APIC in xAPIC (MMIO) mode.
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

#endif
