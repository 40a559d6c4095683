/*
 * vmm/dev/acpi_tables.c - building a guest's ACPI tables (ACPI 6.4:
 * 5.2.5 RSDP, 5.2.8 XSDT, 5.2.9 FADT, 5.2.12 MADT, 5.2.11.1 DSDT).
 * Portable. The FADT is hardware-reduced (5.2.9 flag HW_REDUCED_ACPI,
 * chapter 4.1): no PM timer, GPEs or fixed events; power-off goes
 * through SLEEP_CONTROL_REG (4.8.3.7) with the \_S5 sleep type, reboot
 * through RESET_REG (4.8.3.6).
 */
#include "vmm/dev/acpi_tables.h"

#include <stddef.h>

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/string.h"
#include "vmm/dev/aml.h"
#include "vmm/core/lib/x86.h"


struct acpi_rsdp {              /* 5.2.5.3 */
	char     signature[8];      /* 0x00 "RSD PTR " */
	uint8_t  checksum;          /* 0x08: first 20 bytes */
	char     oem_id[6];         /* 0x09 */
	uint8_t  revision;          /* 0x0f: 2 */
	uint32_t rsdt;              /* 0x10 */
	uint32_t length;            /* 0x14 */
	uint64_t xsdt;              /* 0x18 */
	uint8_t  ext_checksum;      /* 0x20: all 36 bytes */
	uint8_t  reserved[3];       /* 0x21 */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP is 36 bytes");

struct acpi_header {            /* 5.2.6 */
	char     signature[4];      /* 0x00 */
	uint32_t length;            /* 0x04 */
	uint8_t  revision;          /* 0x08 */
	uint8_t  checksum;          /* 0x09 */
	char     oem_id[6];         /* 0x0a */
	char     oem_table_id[8];   /* 0x10 */
	uint32_t oem_revision;      /* 0x18 */
	char     creator_id[4];     /* 0x1c */
	uint32_t creator_revision;  /* 0x20 */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_header) == 36, "SDT header is 36 bytes");

struct acpi_gas {               /* 5.2.3.2 Generic Address Structure */
	uint8_t  space_id;          /* 0x0: 1 = system I/O */
	uint8_t  bit_width;         /* 0x1 */
	uint8_t  bit_offset;        /* 0x2 */
	uint8_t  access_size;       /* 0x3: 1 = byte */
	uint64_t address;           /* 0x4 */
} __attribute__((packed));

struct acpi_fadt {              /* 5.2.9, revision 6.4 */
	struct acpi_header h;       /* 0x00 */
	uint32_t firmware_ctrl;     /* 0x24 */
	uint32_t dsdt;              /* 0x28 */
	uint8_t  reserved0;         /* 0x2c */
	uint8_t  pm_profile;        /* 0x2d */
	uint8_t  legacy[0x6c - 0x2e]; /* 0x2e: SCI_INT .. fixed-hardware blocks, unused */
	uint8_t  century;           /* 0x6c */
	uint16_t iapc_boot_arch;    /* 0x6d */
	uint8_t  reserved1;         /* 0x6f */
	uint32_t flags;             /* 0x70 */
	struct acpi_gas reset_reg;  /* 0x74 */
	uint8_t  reset_value;       /* 0x80 */
	uint16_t arm_boot_arch;     /* 0x81 */
	uint8_t  minor_version;     /* 0x83 */
	uint64_t x_firmware_ctrl;   /* 0x84 */
	uint64_t x_dsdt;            /* 0x8c */
	uint8_t  x_blocks[0xf4 - 0x94]; /* 0x94: X_PM1a_EVT_BLK .. X_GPE1_BLK, unused */
	struct acpi_gas sleep_control; /* 0xf4 */
	struct acpi_gas sleep_status;  /* 0x100 */
	uint64_t hypervisor_vendor; /* 0x10c */
} __attribute__((packed));
CHECK_OFFSET(struct acpi_fadt, flags, 0x70);
CHECK_OFFSET(struct acpi_fadt, reset_reg, 0x74);
CHECK_OFFSET(struct acpi_fadt, x_dsdt, 0x8c);
CHECK_OFFSET(struct acpi_fadt, sleep_control, 0xf4);
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT 6.x is 276 bytes");

#define FADT_PWR_BUTTON (1u << 4)   /* no fixed power button */
#define FADT_SLP_BUTTON (1u << 5)   /* no fixed sleep button */
#define FADT_RESET_REG_SUP (1u << 10)
#define FADT_HW_REDUCED_ACPI (1u << 20)
#define BOOT_ARCH_VGA_NOT_PRESENT (1u << 2)
#define CMOS_CENTURY_INDEX 0x32

struct acpi_madt {              /* 5.2.12 */
	struct acpi_header h;       /* 0x00 */
	uint32_t lapic_addr;        /* 0x24 */
	uint32_t flags;             /* 0x28: PCAT_COMPAT = 0, no 8259 */
} __attribute__((packed));

struct madt_lapic {             /* 5.2.12.2, type 0 */
	uint8_t  type, length;      /* 0x0 */
	uint8_t  uid;               /* 0x2 */
	uint8_t  apic_id;           /* 0x3 */
	uint32_t flags;             /* 0x4: bit 0 enabled */
} __attribute__((packed));

struct madt_ioapic {            /* 5.2.12.3, type 1 */
	uint8_t  type, length;      /* 0x0 */
	uint8_t  id;                /* 0x2 */
	uint8_t  reserved;          /* 0x3 */
	uint32_t address;           /* 0x4 */
	uint32_t gsi_base;          /* 0x8 */
} __attribute__((packed));

static uint8_t checksum(const void *p, unsigned n)
{
	uint8_t s = 0;
	for (unsigned i = 0; i < n; i++)
		s = (uint8_t)(s + ((const uint8_t *)p)[i]);
	return (uint8_t)-s;
}

static void header(struct acpi_header *h, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, "HAKO  ", 6);
	memcpy(h->oem_table_id, "HAKOVM  ", 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, "HAKO", 4);
	h->creator_revision = 1;
	h->checksum = 0;
	h->checksum = checksum(h, len);
}

/* A bump allocator over the caller's buffer; 16-byte aligned pieces. */
struct area {
	uint8_t *buf;
	unsigned cap, used;
	uint64_t gpa;
};

static void *take(struct area *a, unsigned len, uint64_t *gpa)
{
	unsigned at = (a->used + 15) & ~15u;
	if (at > a->cap || len > a->cap - at)
		return 0;
	a->used = at + len;
	*gpa = a->gpa + at;
	return a->buf + at;
}

static void dsdt_com1(struct aml *m)
{
	aml_device_begin(m, "COM1");
	aml_name_begin(m, "_HID"), aml_eisaid(m, "PNP0501");
	aml_name_begin(m, "_UID"), aml_int(m, 1);
	aml_name_begin(m, "_CRS");
	aml_buffer_begin(m);
	aml_res_io(m, 0x3f8, 8);
	aml_res_irq_noflags(m, GUEST_COM1_IRQ);
	aml_res_end(m);
	aml_end(m);
	aml_end(m);
}

static void dsdt_virtio(struct aml *m, unsigned i)
{
	char name[5] = { 'V', 'R', (char)('0' + i / 10), (char)('0' + i % 10), 0 };
	aml_device_begin(m, name);
	aml_name_begin(m, "_HID"), aml_string(m, "LNRO0005");
	aml_name_begin(m, "_UID"), aml_int(m, i);
	aml_name_begin(m, "_CRS");
	aml_buffer_begin(m);
	aml_res_mem32_fixed(m, (uint32_t)(VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE),
			    (uint32_t)VIRTIO_MMIO_SIZE);
	aml_res_interrupt(m, VIRTIO_MMIO_GSI0 + i, 1, 0);
	aml_res_end(m);
	aml_end(m);
	aml_end(m);
}

/*
 * The power button of a hardware-reduced platform: a Generic Event
 * Device (ACPI 6.4 5.6.9) whose interrupt runs _EVT, which notifies the
 * power button device (PNP0C0C, 4.8.2.2.1.2) with 0x80 "pressed".
 */
static void dsdt_power_button(struct aml *m)
{
	aml_device_begin(m, "PWRB");
	aml_name_begin(m, "_HID"), aml_eisaid(m, "PNP0C0C");
	aml_end(m);
	aml_device_begin(m, "GED0");
	aml_name_begin(m, "_HID"), aml_string(m, "ACPI0013");
	aml_name_begin(m, "_UID"), aml_int(m, 0);
	aml_name_begin(m, "_CRS");
	aml_buffer_begin(m);
	aml_res_interrupt(m, GUEST_GED_GSI, 0, 0);
	aml_res_end(m);
	aml_end(m);
	aml_method_begin(m, "_EVT", 1);
	aml_notify(m, "\\_SB_.PWRB", 0x80);
	aml_end(m);
	aml_end(m);
}

/* DSDT: \_SB.COM1, \_SB.VRnn, the power button, and \_S5 for power-off (7.4.2). */
static int build_dsdt(struct area *ar, const struct acpi_guest *g, uint64_t *gpa)
{
	struct acpi_header *h = take(ar, 0, gpa);
	struct aml m;
	if (!h)
		return -ENOSPC;
	aml_init(&m, (uint8_t *)h + sizeof(*h), ar->cap - ar->used - (unsigned)sizeof(*h));
	aml_scope_begin(&m, "\\_SB_");
	dsdt_com1(&m);
	for (unsigned i = 0; i < g->nvirtio && i < VIRTIO_MMIO_MAX; i++)
		dsdt_virtio(&m, i);
	dsdt_power_button(&m);
	aml_end(&m);
	aml_name_begin(&m, "\\_S5_");
	aml_package_begin(&m, 4);
	aml_int(&m, GUEST_ACPI_SLP_TYP_S5), aml_int(&m, 0), aml_int(&m, 0), aml_int(&m, 0);
	aml_end(&m);
	if (aml_finish(&m) || !take(ar, (unsigned)sizeof(*h) + m.len, gpa))
		return -ENOSPC;
	header(h, "DSDT", (uint32_t)sizeof(*h) + m.len, 2);
	return 0;
}

static struct acpi_gas gas_port8(uint16_t port)
{
	return (struct acpi_gas){ 1, 8, 0, 1, port };
}

static int build_fadt(struct area *ar, uint64_t dsdt, uint64_t *gpa)
{
	struct acpi_fadt *f = take(ar, sizeof(*f), gpa);
	if (!f)
		return -ENOSPC;
	memset(f, 0, sizeof(*f));
	f->dsdt = (uint32_t)dsdt;
	f->x_dsdt = dsdt;
	f->century = CMOS_CENTURY_INDEX;
	f->iapc_boot_arch = BOOT_ARCH_VGA_NOT_PRESENT;
	f->flags = FADT_HW_REDUCED_ACPI | FADT_RESET_REG_SUP | FADT_PWR_BUTTON | FADT_SLP_BUTTON;
	f->reset_reg = gas_port8(GUEST_ACPI_RESET_PORT);
	f->reset_value = GUEST_ACPI_RESET_VALUE;
	f->minor_version = 4;
	f->sleep_control = gas_port8(GUEST_ACPI_SLEEP_CTL_PORT);
	f->sleep_status = gas_port8(GUEST_ACPI_SLEEP_STS_PORT);
	memcpy(&f->hypervisor_vendor, "HAKO    ", 8);
	header(&f->h, "FACP", sizeof(*f), 6);
	return 0;
}

static int build_madt(struct area *ar, const struct acpi_guest *g, uint64_t *gpa)
{
	unsigned len = (unsigned)(sizeof(struct acpi_madt) + g->ncpus * sizeof(struct madt_lapic) +
				  sizeof(struct madt_ioapic));
	struct acpi_madt *t = take(ar, len, gpa);
	if (!t)
		return -ENOSPC;
	memset(t, 0, len);
	t->lapic_addr = (uint32_t)GUEST_LAPIC_BASE;
	struct madt_lapic *l = (struct madt_lapic *)(t + 1);
	for (unsigned i = 0; i < g->ncpus; i++)
		l[i] = (struct madt_lapic){ 0, sizeof(*l), (uint8_t)i, (uint8_t)i, 1 };
	struct madt_ioapic *io = (struct madt_ioapic *)(l + g->ncpus);
	*io = (struct madt_ioapic){ 1, sizeof(*io), GUEST_IOAPIC_ID, 0, (uint32_t)GUEST_IOAPIC_BASE, 0 };
	header(&t->h, "APIC", len, 5);
	return 0;
}

static int build_xsdt(struct area *ar, const uint64_t *entries, unsigned n, uint64_t *gpa)
{
	unsigned len = (unsigned)sizeof(struct acpi_header) + 8 * n;
	struct acpi_header *h = take(ar, len, gpa);
	if (!h)
		return -ENOSPC;
	memcpy(h + 1, entries, 8 * n);
	header(h, "XSDT", len, 1);
	return 0;
}

int acpi_tables_build(uint8_t *buf, unsigned cap, uint64_t gpa, const struct acpi_guest *g,
		      uint64_t *rsdp_gpa)
{
	struct area ar = { buf, cap, 0, gpa };
	uint64_t dsdt, tables[2], xsdt;
	struct acpi_rsdp *r = take(&ar, sizeof(*r), rsdp_gpa);
	if (!r || build_dsdt(&ar, g, &dsdt) || build_fadt(&ar, dsdt, &tables[0]) ||
	    build_madt(&ar, g, &tables[1]) || build_xsdt(&ar, tables, 2, &xsdt))
		return -ENOSPC;
	memset(r, 0, sizeof(*r));
	memcpy(r->signature, "RSD PTR ", 8);
	memcpy(r->oem_id, "HAKO  ", 6);
	r->revision = 2;
	r->length = sizeof(*r);
	r->xsdt = xsdt;
	r->checksum = checksum(r, 20);
	r->ext_checksum = checksum(r, sizeof(*r));
	return 0;
}
