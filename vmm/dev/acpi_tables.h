/*
 * vmm/dev/acpi_tables.h - the ACPI tables hako builds for each Linux
 * guest (portable): RSDP, XSDT, a hardware-reduced FADT with sleep
 * control/status and reset registers, MADT (a local APIC per vCPU, one
 * IOAPIC) and a DSDT with COM1 and the virtio-mmio devices (ACPI 6.4
 * chapter 5).
 */
#ifndef HAKO_DEV_ACPI_TABLES_H
#define HAKO_DEV_ACPI_TABLES_H

#include <stdint.h>

/* The guest's fixed platform (I/O ports and addresses the tables announce). */
#define GUEST_ACPI_SLEEP_CTL_PORT 0x600   /* FADT SLEEP_CONTROL_REG, 8 bits */
#define GUEST_ACPI_SLEEP_STS_PORT 0x601   /* FADT SLEEP_STATUS_REG, 8 bits */
#define GUEST_ACPI_RESET_PORT 0x602       /* FADT RESET_REG, 8 bits */
#define GUEST_ACPI_RESET_VALUE 0x01
#define GUEST_ACPI_SLP_TYP_S5 5           /* \_S5 SLP_TYP, written to SLEEP_CONTROL_REG */
#define GUEST_IOAPIC_BASE 0xfec00000ull
#define GUEST_IOAPIC_ID 0
#define GUEST_LAPIC_BASE 0xfee00000ull
#define GUEST_COM1_IRQ 4
#define GUEST_GED_GSI 9                   /* power button event (Generic Event Device) */
/* virtio-mmio device i (i < VIRTIO_MMIO_MAX): registers at BASE + i * STRIDE,
 * level-triggered active-high interrupt on GSI VIRTIO_MMIO_GSI0 + i */
#define VIRTIO_MMIO_BASE 0xd0000000ull
#define VIRTIO_MMIO_STRIDE 0x1000ull
#define VIRTIO_MMIO_SIZE 0x1000ull
#define VIRTIO_MMIO_GSI0 16
#define VIRTIO_MMIO_MAX 12                /* 8 disks, 4 NICs: GSI 16-27 */

struct acpi_guest {
	unsigned ncpus;         /* LAPIC IDs 0..ncpus-1 */
	unsigned nvirtio;       /* virtio-mmio devices 0..nvirtio-1 (layout above) */
};

/*
 * Builds all tables into buf (to be placed at guest-physical `gpa`),
 * returning 0 and the RSDP's guest-physical address in *rsdp, or -ENOSPC.
 */
int acpi_tables_build(uint8_t *buf, unsigned cap, uint64_t gpa, const struct acpi_guest *g,
		      uint64_t *rsdp);

#endif
