/*
 * drivers/acpi/acpi.h - what hako needs from the firmware's ACPI tables:
 * processors and IOAPICs (MADT), reset and power-off (FADT, DSDT \_S5),
 * the PM timer (FADT), and PCI ECAM (MCFG).
 *
 * Portable: the parser reaches memory only through acpi_ops.map, so the
 * unit tests run it on captured and deliberately broken tables.
 */
#ifndef HAKO_ACPI_H
#define HAKO_ACPI_H

#include <stdint.h>

#define ACPI_MAX_CPUS 64
#define ACPI_MAX_IOAPICS 8
#define ACPI_MAX_OVERRIDES 16
#define ACPI_TABLE_MAX_LEN (4u << 20)

struct acpi_gas {               /* ACPI 6.5 5.2.3.2 Generic Address Structure */
	uint8_t space_id;       /* 0x00: 0 memory, 1 I/O port */
	uint8_t bit_width;      /* 0x01 */
	uint8_t bit_offset;     /* 0x02 */
	uint8_t access_size;    /* 0x03 */
	uint64_t address;       /* 0x04 */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS is 12 bytes");

#define ACPI_GAS_MEMORY 0
#define ACPI_GAS_IO 1

struct acpi_ioapic {
	uint8_t id;
	uint32_t addr;
	uint32_t gsi_base;
};

struct acpi_override {
	uint8_t source;  /* ISA IRQ */
	uint32_t gsi;
	uint16_t flags;
};

struct acpi_info {
	uint8_t revision;      /* RSDP revision */
	char oem_id[7];
	uint64_t lapic_addr;
	uint32_t cpu_count;
	uint32_t cpu_apic_ids[ACPI_MAX_CPUS];
	uint32_t ioapic_count;
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
	uint32_t override_count;
	struct acpi_override overrides[ACPI_MAX_OVERRIDES];
	int have_fadt;
	uint32_t fadt_flags;
	struct acpi_gas pm_timer;  /* space_id 0xff when absent */
	int pm_timer_32bit;
	struct acpi_gas pm1a_cnt;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	int have_reset;
	struct acpi_gas sleep_ctl; /* hardware-reduced ACPI only */
	int have_s5;
	uint8_t s5_slp_typ;
	uint64_t mcfg_base;        /* ECAM for segment 0, 0 if none */
	uint8_t mcfg_bus_start, mcfg_bus_end;
	uint32_t tables_seen;      /* how many tables had a good checksum */
	uint32_t tables_bad;       /* tables rejected (length or checksum) */
};

#define FADT_RESET_REG_SUP (1u << 10)
#define FADT_HW_REDUCED_ACPI (1u << 20)
#define FADT_TMR_VAL_EXT (1u << 8)

struct acpi_ops {
	/* Returns a pointer to `len` bytes at physical `phys`, or 0. */
	const void *(*map)(void *ctx, uint64_t phys, uint64_t len);
	void *ctx;
};

/*
 * Parses everything reachable from the RSDP at `rsdp`. Bad tables are
 * skipped and counted, never trusted. Returns 0, or -EINVAL when the
 * RSDP itself is unusable (then `out` says no processors, no FADT).
 */
int acpi_parse(const struct acpi_ops *ops, uint64_t rsdp, struct acpi_info *out);

#endif
