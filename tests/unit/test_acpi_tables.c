/*
 * tests/unit/test_acpi_tables.c - the guest ACPI tables (vmm/dev/
 * acpi_tables.c), the AML builder (vmm/dev/aml.c) and the bzImage boot
 * protocol helpers (vmm/bzimage.c). The tables are read back with hako's
 * own host ACPI parser, as a second, independent reader.
 */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "drivers/acpi/acpi.h"
#include "vmm/bzimage.h"
#include "vmm/dev/acpi_tables.h"
#include "vmm/dev/aml.h"

#define BASE 0xe0000ull
static uint8_t area[0x4000];

static const void *map(void *ctx, uint64_t phys, uint64_t len)
{
	(void)ctx;
	if (phys < BASE || phys + len > BASE + sizeof(area))
		return 0;
	return area + (phys - BASE);
}

static void test_tables_parse(void)
{
	const struct acpi_guest g = { 4, 2 };
	uint64_t rsdp;
	memset(area, 0, sizeof(area));
	CHECK_EQ(acpi_tables_build(area, sizeof(area), BASE, &g, &rsdp), 0);
	CHECK_EQ(rsdp, BASE);
	struct acpi_info info;
	const struct acpi_ops ops = { map, 0 };
	CHECK_EQ(acpi_parse(&ops, rsdp, &info), 0);
	CHECK_EQ(info.revision, 2);
	CHECK_EQ(info.tables_bad, 0);
	CHECK_EQ(info.cpu_count, 4);
	CHECK_EQ(info.cpu_apic_ids[3], 3);
	CHECK_EQ(info.ioapic_count, 1);
	CHECK_EQ(info.ioapics[0].addr, 0xfec00000u);
	CHECK_EQ(info.lapic_addr, 0xfee00000u);
	CHECK(info.have_fadt);
	CHECK(info.fadt_flags & FADT_HW_REDUCED_ACPI);
	CHECK(info.have_reset);
	CHECK_EQ(info.reset_reg.address, GUEST_ACPI_RESET_PORT);
	CHECK_EQ(info.reset_value, GUEST_ACPI_RESET_VALUE);
	CHECK_EQ(info.sleep_ctl.address, GUEST_ACPI_SLEEP_CTL_PORT);
	CHECK(info.have_s5);
	CHECK_EQ(info.s5_slp_typ, GUEST_ACPI_SLP_TYP_S5);
}

static int contains(const uint8_t *h, unsigned n, const void *needle, unsigned k)
{
	for (unsigned i = 0; i + k <= n; i++)
		if (!memcmp(h + i, needle, k))
			return 1;
	return 0;
}

static void test_dsdt_devices(void)
{
	uint64_t rsdp;
	const struct acpi_guest g = { 1, 3 };
	memset(area, 0, sizeof(area));
	CHECK_EQ(acpi_tables_build(area, sizeof(area), BASE, &g, &rsdp), 0);
	CHECK(contains(area, sizeof(area), "LNRO0005", 8));
	CHECK(contains(area, sizeof(area), "VR02", 4));
	CHECK(!contains(area, sizeof(area), "VR03", 4));
	/* Memory32Fixed of device 2 at 0xd0002000 */
	const uint8_t mem2[] = { 0x86, 9, 0, 1, 0x00, 0x20, 0x00, 0xd0, 0x00, 0x10, 0, 0 };
	CHECK(contains(area, sizeof(area), mem2, sizeof(mem2)));
	/* Interrupt(ResourceConsumer, Level, ActiveHigh, Exclusive) { 18 } */
	const uint8_t irq2[] = { 0x89, 6, 0, 0x01, 1, 18, 0, 0, 0 };
	CHECK(contains(area, sizeof(area), irq2, sizeof(irq2)));
	/* PNP0501 as an EISA ID DWord */
	const uint8_t com[] = { 0x0c, 0x41, 0xd0, 0x05, 0x01 };
	CHECK(contains(area, sizeof(area), com, sizeof(com)));
	/* the power button: GED with GSI 9 (edge), _EVT notifying \_SB.PWRB with 0x80 */
	CHECK(contains(area, sizeof(area), "ACPI0013", 8));
	const uint8_t ged_irq[] = { 0x89, 6, 0, 0x03, 1, 9, 0, 0, 0 };
	CHECK(contains(area, sizeof(area), ged_irq, sizeof(ged_irq)));
	const uint8_t notify[] = { 0x86, '\\', 0x2e, '_', 'S', 'B', '_', 'P', 'W', 'R', 'B', 0x0a, 0x80 };
	CHECK(contains(area, sizeof(area), notify, sizeof(notify)));
	const uint8_t evt[] = { '_', 'E', 'V', 'T', 0x01 };
	CHECK(contains(area, sizeof(area), evt, sizeof(evt)));
	/* too small a buffer is an error, not an overflow */
	CHECK_EQ(acpi_tables_build(area, 100, BASE, &g, &rsdp), -28);
	CHECK_EQ(acpi_tables_build(area, 400, BASE, &g, &rsdp), -28);
}

static void test_aml(void)
{
	uint8_t b[64];
	struct aml a;
	aml_init(&a, b, sizeof(b));
	aml_int(&a, 0), aml_int(&a, 1), aml_int(&a, 0x12), aml_int(&a, 0x1234);
	aml_int(&a, 0x12345678), aml_int(&a, 0x100000000ull);
	const uint8_t want[] = { 0, 1, 0x0a, 0x12, 0x0b, 0x34, 0x12, 0x0c, 0x78, 0x56, 0x34, 0x12,
				 0x0e, 0, 0, 0, 0, 1, 0, 0, 0 };
	CHECK_EQ(a.len, sizeof(want));
	CHECK(!memcmp(b, want, sizeof(want)));
	/* Package(2){ 5, 0 } with a 4-byte PkgLength counting itself */
	aml_init(&a, b, sizeof(b));
	aml_package_begin(&a, 2);
	aml_int(&a, 5), aml_int(&a, 0);
	aml_end(&a);
	const uint8_t pkg[] = { 0x12, 0xc8, 0, 0, 0, 2, 0x0a, 5, 0 };
	CHECK_EQ(aml_finish(&a), 0);
	CHECK_EQ(a.len, sizeof(pkg));
	CHECK(!memcmp(b, pkg, sizeof(pkg)));
	/* names: root, dual, padding */
	aml_init(&a, b, sizeof(b));
	aml_name(&a, "\\_SB.PCI0");
	CHECK_EQ(a.len, 10);
	CHECK(!memcmp(b, "\\\x2e_SB_PCI0", 10));
	aml_init(&a, b, sizeof(b));
	aml_name(&a, "AB");
	CHECK(!memcmp(b, "AB__", 4));
	/* overflow and unbalanced scopes are reported */
	aml_init(&a, b, 4);
	aml_string(&a, "LNRO0005");
	CHECK_EQ(aml_finish(&a), -28);
	aml_init(&a, b, sizeof(b));
	aml_scope_begin(&a, "_SB_");
	CHECK_EQ(aml_finish(&a), -28);
	aml_end(&a), aml_end(&a);
	CHECK_EQ(aml_finish(&a), -28);
}

/* ---- bzImage ---- */

static uint8_t img[0x10000];

static void make_bzimage(void)
{
	memset(img, 0, sizeof(img));
	struct bz_setup_header *h = (struct bz_setup_header *)(img + 0x1f1);
	h->setup_sects = 3;
	h->boot_flag = 0xaa55;
	h->header = 0x53726448;
	h->version = 0x20f;
	h->xloadflags = 1;
	h->initrd_addr_max = 0x7fffffff;
	h->init_size = 0x2000000;
	img[0x201] = 0x6a; /* header ends at 0x26c */
}

static void test_bzimage(void)
{
	struct bz_plan p;
	const char *why = 0;
	make_bzimage();
	CHECK(bzimage_is(img, sizeof(img)));
	CHECK_EQ(bzimage_plan(img, sizeof(img), 256ull << 20, 0x100000, &p, &why), 0);
	CHECK_EQ(p.setup_len, 4 * 512);
	CHECK_EQ(p.kernel_gpa, 0x1000000);
	CHECK_EQ(p.entry, 0x1000200);
	CHECK_EQ(p.initrd_gpa, (256ull << 20) - 0x100000);
	/* initrd kept below initrd_addr_max */
	((struct bz_setup_header *)(img + 0x1f1))->initrd_addr_max = 0x07ffffff;
	CHECK_EQ(bzimage_plan(img, sizeof(img), 256ull << 20, 0x1800, &p, &why), 0);
	CHECK_EQ(p.initrd_gpa, 0x8000000 - 0x2000);
	/* no room for kernel + initrd */
	CHECK_EQ(bzimage_plan(img, sizeof(img), 40ull << 20, 0x800000, &p, &why), -12);
	CHECK_EQ(bzimage_plan(img, sizeof(img), 20ull << 20, 0, &p, &why), -12);
	/* boot_params */
	static struct boot_params bp;
	memset(&bp, 0, sizeof(bp));
	CHECK_EQ(bzimage_plan(img, sizeof(img), 256ull << 20, 0x1000, &p, &why), 0);
	bzimage_boot_params(&bp, img, &p, 256ull << 20, 0x20000, 0xe0000);
	CHECK_EQ(bp.hdr.header, 0x53726448);
	CHECK_EQ(bp.hdr.type_of_loader, 0xff);
	CHECK_EQ(bp.hdr.cmd_line_ptr, 0x20000);
	CHECK_EQ(bp.hdr.ramdisk_image, p.initrd_gpa);
	CHECK_EQ(bp.hdr.ramdisk_size, 0x1000);
	CHECK_EQ(bp.acpi_rsdp_addr, 0xe0000);
	CHECK_EQ(bp.e820_entries, 3);
	CHECK_EQ(bp.e820_table[2].addr, 0x100000);
	CHECK_EQ(bp.e820_table[2].size, (256ull << 20) - 0x100000);
	CHECK_EQ(bp.e820_table[1].type, E820_RESERVED);
	/* the image's header length byte is bounded by the struct */
	img[0x201] = 0xff;
	bzimage_boot_params(&bp, img, &p, 256ull << 20, 0x20000, 0xe0000);
	CHECK_EQ(bp.hdr.cmd_line_ptr, 0x20000);
}

static void test_bzimage_bad(void)
{
	struct bz_plan p;
	const char *why = 0;
	make_bzimage();
	CHECK(!bzimage_is(img, 0x800));
	img[0x202] = 'X';
	CHECK_EQ(bzimage_plan(img, sizeof(img), 256ull << 20, 0, &p, &why), -8);
	make_bzimage();
	((struct bz_setup_header *)(img + 0x1f1))->xloadflags = 0;
	CHECK_EQ(bzimage_plan(img, sizeof(img), 256ull << 20, 0, &p, &why), -8);
	CHECK_CONTAINS(why, "64-bit");
	make_bzimage();
	((struct bz_setup_header *)(img + 0x1f1))->version = 0x200;
	CHECK_EQ(bzimage_plan(img, sizeof(img), 256ull << 20, 0, &p, &why), -8);
	make_bzimage();
	((struct bz_setup_header *)(img + 0x1f1))->setup_sects = 0xff;
	CHECK_EQ(bzimage_plan(img, 0x10000, 256ull << 20, 0, &p, &why), -8); /* 128 KiB of setup */
	CHECK_CONTAINS(why, "truncated");
	((struct bz_setup_header *)(img + 0x1f1))->setup_sects = 4;
	CHECK_EQ(bzimage_plan(img, 0x2000, 256ull << 20, 0, &p, &why), 0);
	CHECK_EQ(bzimage_plan(img, 0xa00, 256ull << 20, 0, &p, &why), -8); /* under 4 KiB */
}

int main(void)
{
	RUN(test_tables_parse);
	RUN(test_dsdt_devices);
	RUN(test_aml);
	RUN(test_bzimage);
	RUN(test_bzimage_bad);
	return check_done();
}
