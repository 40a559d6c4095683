/*
 * tests/unit/test_acpi.c - drivers/acpi/acpi.c on the real tables QEMU
 * (q35, OVMF, -smp 4, -m 1G) gives hako, and on broken copies of them.
 *
 * How tests/unit/data/acpi_qemu_q35_ovmf.h was made:
 *   1. `make all`, then boot build/hako-usb.img as tools/run-qemu.sh does,
 *      with `-smp 4 -m 1G -cpu qemu64,+svm,+npt -serial file:serial.log
 *      -monitor unix:mon.sock,server,nowait` (QEMU 7.2, Debian OVMF_CODE_4M.fd).
 *   2. At the `hako> ` prompt, on the monitor socket:
 *        pmemsave 0x0 0x100000 "low.bin"
 *        pmemsave 0x3f000000 0x1000000 "high.bin"
 *      (OVMF puts its ACPI tables just below the top of RAM under 4 GiB.)
 *   3. Searching both dumps for "RSD PTR " found the ACPI 2.0 RSDP at
 *      0x3f77d014 (the one the loader takes from the UEFI configuration table).
 *   4. tests/unit/data/acpi_extract.py 0x3f77d014 acpi_qemu_q35_ovmf.h \
 *          0x0:low.bin 0x3f000000:high.bin
 *      walks RSDP -> XSDT/RSDT -> tables, FADT -> DSDT/FACS, and writes each
 *      table's bytes with its physical address.
 * Each test copies those bytes into separately allocated buffers of the exact
 * size, so ASan reports any read past a table, and serves them by address.
 */
#include <stdint.h>
#include <stdlib.h>

#include "drivers/acpi/acpi.h"
#include "tests/unit/check.h"
#include "tests/unit/data/acpi_qemu_q35_ovmf.h"
#include "vmm/core/lib/errno.h"

#define NSEG (sizeof(qemu_segs) / sizeof(qemu_segs[0]))

struct seg {
	uint64_t phys;
	uint32_t len;
	uint8_t *bytes;
};
static struct seg mem[NSEG + 8];
static unsigned nmem;
static struct acpi_info info;

static const void *map(void *ctx, uint64_t phys, uint64_t len)
{
	(void)ctx;
	for (unsigned i = 0; i < nmem; i++)
		if (phys >= mem[i].phys && phys - mem[i].phys <= mem[i].len &&
		    len <= mem[i].len - (phys - mem[i].phys))
			return mem[i].bytes + (phys - mem[i].phys);
	return 0;
}

static const struct acpi_ops ops = { map, 0 };

static uint8_t *add_seg(uint64_t phys, uint32_t len)
{
	mem[nmem].phys = phys;
	mem[nmem].len = len;
	mem[nmem].bytes = calloc(1, len);
	return mem[nmem++].bytes;
}

/* Fresh copies of the captured tables. */
static void load(void)
{
	while (nmem)
		free(mem[--nmem].bytes);
	for (unsigned i = 0; i < NSEG; i++)
		memcpy(add_seg(qemu_segs[i].phys, qemu_segs[i].len), qemu_segs[i].bytes,
		       qemu_segs[i].len);
}

static uint8_t *at(uint64_t phys)
{
	uint8_t *p = (uint8_t *)map(0, phys, 1);
	if (!p) {
		printf("test bug: %#llx not in the tables\n", (unsigned long long)phys);
		exit(2);
	}
	return p;
}

static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static uint8_t *rsdp(void) { return at(QEMU_RSDP); }
static uint64_t xsdt_phys(void) { return get64(rsdp() + 24); }

/* Physical address of the first table with this signature, via the XSDT. */
static uint64_t table_phys(const char *sig)
{
	const uint8_t *x = at(xsdt_phys());
	for (uint32_t off = 36; off + 8 <= get32(x + 4); off += 8) {
		uint64_t t = get64(x + off);
		if (!memcmp(at(t), sig, 4))
			return t;
	}
	if (!strcmp(sig, "DSDT"))
		return get64(at(table_phys("FACP")) + 140);
	printf("test bug: no %s\n", sig);
	exit(2);
}

static uint8_t *table(const char *sig) { return at(table_phys(sig)); }

/* Recomputes a table's checksum after an edit (over the segment if shorter). */
static void fix_sum(uint8_t *t, uint32_t len)
{
	uint8_t s = 0;
	t[9] = 0;
	for (uint32_t i = 0; i < len; i++)
		s += t[i];
	t[9] = (uint8_t)-s;
}

static void fix_table(const char *sig)
{
	uint8_t *t = table(sig);
	fix_sum(t, get32(t + 4));
}

static void fix_rsdp(void)
{
	uint8_t *r = rsdp(), s = 0;
	r[8] = 0;
	for (int i = 0; i < 20; i++)
		s += r[i];
	r[8] = (uint8_t)-s;
	r[32] = 0;
	s = 0;
	for (int i = 0; i < 36; i++)
		s += r[i];
	r[32] = (uint8_t)-s;
}

static int parse(void) { return acpi_parse(&ops, QEMU_RSDP, &info); }

/* What every usable parse of the captured MADT must show. */
static void check_madt_ok(void)
{
	CHECK_EQ(info.cpu_count, 4);
	for (unsigned i = 0; i < 4; i++)
		CHECK_EQ(info.cpu_apic_ids[i], i);
	CHECK_EQ(info.lapic_addr, 0xfee00000);
	CHECK_EQ(info.ioapic_count, 1);
	CHECK_EQ(info.ioapics[0].id, 0);
	CHECK_EQ(info.ioapics[0].addr, 0xfec00000);
	CHECK_EQ(info.ioapics[0].gsi_base, 0);
}

static void check_fadt_ok(void)
{
	CHECK(info.have_fadt);
	/* q35: PM base 0x600, PM1a_CNT at +4, PM timer at +8 (24-bit). */
	CHECK_EQ(info.pm_timer.space_id, ACPI_GAS_IO);
	CHECK_EQ(info.pm_timer.address, 0x608);
	CHECK_EQ(info.pm_timer.bit_width, 32);
	CHECK_EQ(info.pm_timer_32bit, 0);
	CHECK_EQ(info.pm1a_cnt.space_id, ACPI_GAS_IO);
	CHECK_EQ(info.pm1a_cnt.address, 0x604);
	/* Reset: write 0x0f to I/O port 0xcf9 (ICH9 reset control). */
	CHECK(info.have_reset);
	CHECK_EQ(info.reset_reg.space_id, ACPI_GAS_IO);
	CHECK_EQ(info.reset_reg.address, 0xcf9);
	CHECK_EQ(info.reset_value, 0x0f);
	CHECK(info.fadt_flags & FADT_RESET_REG_SUP);
	CHECK(!(info.fadt_flags & FADT_HW_REDUCED_ACPI));
}

static void test_real_tables(void)
{
	load();
	CHECK_EQ(parse(), 0);
	CHECK_EQ(info.revision, 2);
	CHECK_STREQ(info.oem_id, "BOCHS ");
	check_madt_ok();
	/* QEMU's overrides: IRQ0 -> GSI2; SCI and PCI IRQs 5, 9, 10, 11 level, active high. */
	CHECK_EQ(info.override_count, 5);
	CHECK_EQ(info.overrides[0].source, 0);
	CHECK_EQ(info.overrides[0].gsi, 2);
	CHECK_EQ(info.overrides[1].source, 5);
	CHECK_EQ(info.overrides[1].flags, 0xd);
	check_fadt_ok();
	/* \_S5 is Package { 0, 0, 0, 0 } in QEMU's DSDT. */
	CHECK(info.have_s5);
	CHECK_EQ(info.s5_slp_typ, 0);
	/* q35 ECAM at 0xb0000000, buses 0-255. */
	CHECK_EQ(info.mcfg_base, 0xb0000000);
	CHECK_EQ(info.mcfg_bus_start, 0);
	CHECK_EQ(info.mcfg_bus_end, 255);
	/* XSDT, FACP, DSDT, APIC, HPET, MCFG, WAET. */
	CHECK_EQ(info.tables_seen, 7);
	CHECK_EQ(info.tables_bad, 0);
}

static void test_rsdt_path(void)
{
	/* An ACPI 1.0 RSDP (20 bytes, revision 0) leads through the RSDT. */
	load();
	uint8_t *r = rsdp();
	r[15] = 0;
	fix_rsdp();
	for (unsigned i = 0; i < nmem; i++)
		if (mem[i].phys == QEMU_RSDP)
			mem[i].len = 20; /* the parser must not read past 20 bytes */
	CHECK_EQ(parse(), 0);
	CHECK_EQ(info.revision, 0);
	check_madt_ok();
	check_fadt_ok();
	CHECK_EQ(info.mcfg_base, 0xb0000000);

	/* Revision 2 with a bad extended checksum: RSDT too. */
	load();
	rsdp()[32] ^= 0x55;
	CHECK_EQ(parse(), 0);
	check_madt_ok();
	CHECK_EQ(info.tables_bad, 0);
}

static void test_bad_rsdp(void)
{
	load();
	CHECK_EQ(acpi_parse(&ops, 0, &info), -EINVAL);
	CHECK_EQ(acpi_parse(&ops, 0x1000, &info), -EINVAL); /* nothing mapped there */
	CHECK_EQ(acpi_parse(&ops, QEMU_RSDP + 20, &info), -EINVAL); /* runs off the end */
	rsdp()[0] = 'X';
	fix_rsdp();
	CHECK_EQ(parse(), -EINVAL);
	CHECK_EQ(info.cpu_count, 0);
	CHECK(!info.have_fadt);
	CHECK_EQ(info.pm_timer.space_id, 0xff);
	load();
	rsdp()[10] ^= 1; /* OEM id changed, checksum not */
	CHECK_EQ(parse(), -EINVAL);
	CHECK_EQ(info.cpu_count, 0);
}

static void test_bad_root_tables(void)
{
	/* XSDT pointing outside the tables: fall back to the RSDT (fix made with this test). */
	load();
	put64(rsdp() + 24, 0x7ffff000);
	fix_rsdp();
	CHECK_EQ(parse(), 0);
	check_madt_ok();
	/* XSDT pointing at another table (the MADT): rejected by signature. */
	load();
	put64(rsdp() + 24, table_phys("APIC"));
	fix_rsdp();
	CHECK_EQ(parse(), 0);
	check_madt_ok();
	CHECK_EQ(info.ioapic_count, 1); /* the MADT not parsed twice */
	/* XSDT and RSDT both unusable. */
	load();
	at(xsdt_phys())[20] ^= 0xff;
	put32(rsdp() + 16, 0x12345678);
	fix_rsdp();
	CHECK_EQ(parse(), -EINVAL);
	CHECK_EQ(info.cpu_count, 0);
	/* XSDT whose length is not a multiple of 8 past the header, or huge. */
	load();
	uint8_t *x = at(xsdt_phys());
	put32(x + 4, get32(x + 4) - 3);
	fix_sum(x, get32(x + 4));
	CHECK_EQ(parse(), 0); /* the last entry is dropped, the rest parsed */
	CHECK_EQ(info.tables_seen, 6);
	load();
	x = at(xsdt_phys());
	put32(x + 4, 0xffffffff);
	CHECK_EQ(parse(), 0); /* via the RSDT */
	CHECK(info.tables_bad >= 1);
	check_madt_ok();
	/* An XSDT entry pointing nowhere, one pointing at 0: skipped. */
	load();
	x = at(xsdt_phys());
	put64(x + 36, 0xdead0000);
	put64(x + 44, 0);
	fix_sum(x, get32(x + 4));
	CHECK_EQ(parse(), 0);
	CHECK(!info.have_fadt); /* entry 0 was the FADT */
	CHECK_EQ(info.tables_seen, 4);
}

static void test_bad_checksums(void)
{
	load();
	table("APIC")[40] ^= 1;
	CHECK_EQ(parse(), 0);
	CHECK_EQ(info.cpu_count, 0);
	CHECK_EQ(info.ioapic_count, 0);
	CHECK_EQ(info.tables_bad, 1);
	check_fadt_ok(); /* the others are still used */
	CHECK_EQ(info.mcfg_base, 0xb0000000);

	load();
	table("FACP")[60] ^= 1;
	CHECK_EQ(parse(), 0);
	CHECK(!info.have_fadt);
	CHECK(!info.have_reset);
	CHECK(!info.have_s5);
	CHECK_EQ(info.pm_timer.space_id, 0xff);
	check_madt_ok();

	load();
	table("DSDT")[100] ^= 1;
	CHECK_EQ(parse(), 0);
	CHECK(!info.have_s5);
	check_fadt_ok();
}

static void test_truncated_lengths(void)
{
	static const char *sigs[] = { "APIC", "FACP", "MCFG", "DSDT", "HPET" };
	for (unsigned s = 0; s < 5; s++) {
		uint32_t full = get32(table(sigs[s]) + 4);
		/* Every shorter length (checksum made right for it), and a few longer. */
		for (uint32_t len = 0; len < full + 8; len += (full > 400 ? 97 : 1)) {
			load();
			uint8_t *t = table(sigs[s]);
			put32(t + 4, len);
			fix_sum(t, len < full ? len : full);
			CHECK_EQ(parse(), 0);
			CHECK(info.cpu_count <= 4);
			if (len < 36 || len > full)
				CHECK_EQ(info.tables_bad, 1);
		}
	}
	/* A MADT cut after the second LAPIC entry: two CPUs, no IOAPIC. */
	load();
	uint8_t *m = table("APIC");
	put32(m + 4, 44 + 16);
	fix_sum(m, 44 + 16);
	CHECK_EQ(parse(), 0);
	CHECK_EQ(info.cpu_count, 2);
	CHECK_EQ(info.ioapic_count, 0);
	/* An FADT of the ACPI 1.0 size (116): no reset register, DSDT from the 32-bit field. */
	load();
	uint8_t *f = table("FACP");
	put32(f + 4, 116);
	fix_sum(f, 116);
	CHECK_EQ(parse(), 0);
	CHECK(info.have_fadt);
	CHECK(!info.have_reset);
	CHECK_EQ(info.pm_timer.address, 0x608);
	CHECK(info.have_s5);
}

static void test_madt_entries(void)
{
	/* Entry length 0 at the first entry: the walk stops, nothing is taken. */
	load();
	uint8_t *m = table("APIC");
	m[45] = 0;
	fix_table("APIC");
	CHECK_EQ(parse(), 0);
	CHECK_EQ(info.cpu_count, 0);
	CHECK_EQ(info.lapic_addr, 0xfee00000);
	/* Length 0 at the third entry: the two before it count. */
	load();
	m = table("APIC");
	m[44 + 16 + 1] = 0;
	fix_table("APIC");
	CHECK_EQ(parse(), 0);
	CHECK_EQ(info.cpu_count, 2);
	/* Length 1 (smaller than a header). */
	load();
	m = table("APIC");
	m[44 + 8 + 1] = 1;
	fix_table("APIC");
	CHECK_EQ(parse(), 0);
	CHECK_EQ(info.cpu_count, 1);
	/* The last entry running past the end of the table. */
	load();
	m = table("APIC");
	uint32_t len = get32(m + 4), off = 44;
	while (off + m[off + 1] < len)
		off += m[off + 1];
	m[off + 1] = 255;
	fix_table("APIC");
	CHECK_EQ(parse(), 0);
	check_madt_ok();
	/* Entries too short for their type are skipped, not read past. */
	load();
	m = table("APIC");
	m[44 + 1] = 4; /* a LAPIC entry of 4 bytes; the next entry starts 4 bytes on */
	fix_table("APIC");
	CHECK_EQ(parse(), 0);
	CHECK(info.cpu_count <= 4);
	/* Disabled processors are not counted. */
	load();
	m = table("APIC");
	m[44 + 8 + 4] = 0;
	fix_table("APIC");
	CHECK_EQ(parse(), 0);
	CHECK_EQ(info.cpu_count, 3);
}

/* A synthetic MADT with many processors, x2APIC entries and duplicates. */
static void test_madt_synthetic(void)
{
	load();
	uint32_t n = 100, len = 44 + n * 8 + 3 * 16 + 12;
	uint8_t *m = add_seg(0x50000000, len);
	memcpy(m, "APIC", 4);
	put32(m + 4, len);
	m[8] = 5;
	put32(m + 36, 0xfee00000);
	uint32_t off = 44;
	for (uint32_t i = 0; i < n; i++, off += 8) {
		m[off] = 0, m[off + 1] = 8, m[off + 3] = (uint8_t)(i % 80);
		put32(m + off + 4, 1);
	}
	for (uint32_t i = 0; i < 3; i++, off += 16) {
		m[off] = 9, m[off + 1] = 16;
		put32(m + off + 4, 1000 + i);
		put32(m + off + 8, 1);
	}
	m[off] = 5, m[off + 1] = 12; /* local APIC address override */
	put64(m + off + 4, 0xfee10000);
	fix_sum(m, len);
	/* Point the XSDT's MADT entry at it. */
	uint8_t *x = at(xsdt_phys());
	for (uint32_t o = 36; o < get32(x + 4); o += 8)
		if (!memcmp(at(get64(x + o)), "APIC", 4))
			put64(x + o, 0x50000000);
	fix_sum(x, get32(x + 4));
	CHECK_EQ(parse(), 0);
	CHECK_EQ(info.cpu_count, ACPI_MAX_CPUS); /* 80 distinct + 3, capped */
	CHECK_EQ(info.lapic_addr, 0xfee10000);
	for (unsigned i = 0; i < info.cpu_count; i++)
		for (unsigned j = i + 1; j < info.cpu_count; j++)
			if (info.cpu_apic_ids[i] == info.cpu_apic_ids[j])
				CHECK(!"duplicate APIC id");
}

static void test_dsdt_s5_edges(void)
{
	/* The _S5_ name at the very end of the DSDT, its package cut off. */
	load();
	uint8_t *d = table("DSDT");
	uint32_t len = get32(d + 4);
	for (uint32_t cut = 1; cut <= 12; cut++) {
		load();
		d = table("DSDT");
		memcpy(d + len - cut, "_S5_\x12\x06\x04\x0a\x05\x00\x00\x00", cut);
		/* Remove the real _S5_ so only the cut one can be found. */
		for (uint32_t i = 36; i + 4 < len - cut; i++)
			if (!memcmp(d + i, "_S5_", 4))
				d[i] = 'X';
		fix_sum(d, len);
		CHECK_EQ(parse(), 0);
		if (cut == 12)
			CHECK_EQ(info.s5_slp_typ, 5);
		else
			CHECK(!info.have_s5 || info.s5_slp_typ == 5);
	}
	/* DSDT pointers to nowhere, or to a non-DSDT table. */
	load();
	uint8_t *f = table("FACP");
	put64(f + 140, 0x7fff0000);
	put32(f + 40, 0);
	fix_table("FACP");
	CHECK_EQ(parse(), 0);
	CHECK(!info.have_s5);
	CHECK(info.have_fadt);
	load();
	f = table("FACP");
	put64(f + 140, table_phys("APIC"));
	fix_table("FACP");
	CHECK_EQ(parse(), 0);
	CHECK(!info.have_s5);
}

/* Random corruption of random tables, with and without fixed checksums. */
static void test_random_corruption(void)
{
	static const char *sigs[] = { "APIC", "FACP", "MCFG", "HPET", "DSDT" };
	for (int i = 0; i < 3000; i++) {
		load();
		const char *sig = sigs[check_rand() % 5];
		uint8_t *t = table(sig);
		uint32_t full = get32(t + 4);
		int flips = 1 + (int)(check_rand() % 8);
		for (int k = 0; k < flips; k++) {
			uint32_t pos = (uint32_t)(check_rand() % (full < 200 ? full : 200));
			t[pos] = (uint8_t)check_rand();
		}
		if (check_rand() % 4)
			fix_sum(t, get32(t + 4) < full ? get32(t + 4) : full);
		int r = parse();
		if (r != 0 || info.cpu_count > ACPI_MAX_CPUS || info.ioapic_count > ACPI_MAX_IOAPICS ||
		    info.override_count > ACPI_MAX_OVERRIDES) {
			CHECK(!"bad result from corrupted tables");
			return;
		}
	}
	CHECK(1);
}

int main(void)
{
	RUN(test_real_tables);
	RUN(test_rsdt_path);
	RUN(test_bad_rsdp);
	RUN(test_bad_root_tables);
	RUN(test_bad_checksums);
	RUN(test_truncated_lengths);
	RUN(test_madt_entries);
	RUN(test_madt_synthetic);
	RUN(test_dsdt_s5_edges);
	RUN(test_random_corruption);
	load();
	while (nmem)
		free(mem[--nmem].bytes);
	return check_done();
}
