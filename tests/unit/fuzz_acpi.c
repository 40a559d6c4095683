/*
 * tests/unit/fuzz_acpi.c - libFuzzer target for drivers/acpi/acpi.c.
 *
 * The input replaces one of the tables QEMU really gives hako (see
 * test_acpi.c for the capture): byte 0 picks which (RSDP, XSDT, RSDT, MADT,
 * FADT, MCFG, DSDT) and whether to fix its checksum, so the fuzzer reaches
 * the table parsers instead of stopping at checksums. The rest of the input
 * is the table, in a buffer of exactly its size (ASan sees any overread).
 *   make fuzz && build/fuzz/fuzz_acpi -max_total_time=60
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/acpi/acpi.h"
#include "tests/unit/data/acpi_qemu_q35_ovmf.h"

#define NSEG (sizeof(qemu_segs) / sizeof(qemu_segs[0]))

static const uint8_t *seg_bytes[NSEG];
static size_t seg_len[NSEG];

static const void *map(void *ctx, uint64_t phys, uint64_t len)
{
	(void)ctx;
	for (unsigned i = 0; i < NSEG; i++)
		if (phys >= qemu_segs[i].phys && phys - qemu_segs[i].phys <= seg_len[i] &&
		    len <= seg_len[i] - (phys - qemu_segs[i].phys))
			return seg_bytes[i] + (phys - qemu_segs[i].phys);
	return 0;
}

static int find_seg(const char *sig)
{
	for (unsigned i = 0; i < NSEG; i++)
		if (qemu_segs[i].len >= 8 && !memcmp(qemu_segs[i].bytes, sig, strlen(sig)))
			return (int)i;
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const sigs[] = { "RSD PTR ", "XSDT", "RSDT", "APIC", "FACP",
					    "MCFG", "DSDT" };
	if (size < 1)
		return 0;
	int victim = find_seg(sigs[data[0] % 7]);
	uint8_t *copy = malloc(size - 1 ? size - 1 : 1);
	memcpy(copy, data + 1, size - 1);
	if ((data[0] & 0x80) && size - 1 >= 10 && victim != find_seg("RSD PTR ")) {
		uint8_t s = 0;
		copy[9] = 0;
		for (size_t i = 0; i < size - 1; i++)
			s += copy[i];
		copy[9] = (uint8_t)-s;
	}
	for (unsigned i = 0; i < NSEG; i++) {
		seg_bytes[i] = qemu_segs[i].bytes;
		seg_len[i] = qemu_segs[i].len;
	}
	if (victim >= 0) {
		seg_bytes[victim] = copy;
		seg_len[victim] = size - 1;
	}
	struct acpi_info info;
	struct acpi_ops ops = { map, 0 };
	acpi_parse(&ops, QEMU_RSDP, &info);
	if (info.cpu_count > ACPI_MAX_CPUS || info.ioapic_count > ACPI_MAX_IOAPICS)
		abort();
	free(copy);
	return 0;
}
