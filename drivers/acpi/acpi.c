/*
 * drivers/acpi/acpi.c - ACPI table parsing (ACPI 6.5 chapter 5).
 *
 * Every table is read through acpi_ops.map, its length bounded and its
 * checksum verified before a single field is used: firmware tables are
 * input like any other.
 */
#include "drivers/acpi/acpi.h"

#include <stddef.h>

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/x86.h"


struct acpi_rsdp {              /* 5.2.5.3 */
	char signature[8];      /* 0x00 "RSD PTR " */
	uint8_t checksum;       /* 0x08, over the first 20 bytes */
	char oem_id[6];         /* 0x09 */
	uint8_t revision;       /* 0x0f */
	uint32_t rsdt;          /* 0x10 */
	uint32_t length;        /* 0x14, revision >= 2 */
	uint64_t xsdt;          /* 0x18 */
	uint8_t ext_checksum;   /* 0x20 */
	uint8_t reserved[3];
} __attribute__((packed));
CHECK_OFFSET(struct acpi_rsdp, xsdt, 0x18);

struct acpi_header {            /* 5.2.6 */
	char signature[4];      /* 0x00 */
	uint32_t length;        /* 0x04 */
	uint8_t revision;       /* 0x08 */
	uint8_t checksum;       /* 0x09 */
	char oem_id[6];         /* 0x0a */
	char oem_table_id[8];   /* 0x10 */
	uint32_t oem_revision;  /* 0x18 */
	uint32_t creator_id;    /* 0x1c */
	uint32_t creator_rev;   /* 0x20 */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_header) == 36, "SDT header is 36 bytes");

/* FADT field offsets (5.2.9, Table 5.9) that hako reads. */
#define FADT_DSDT 40
#define FADT_PM1A_CNT_BLK 64
#define FADT_PM_TMR_BLK 76
#define FADT_PM1_CNT_LEN 89
#define FADT_PM_TMR_LEN 91
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_X_DSDT 140
#define FADT_X_PM1A_CNT_BLK 172
#define FADT_X_PM_TMR_BLK 208
#define FADT_SLEEP_CONTROL_REG 244

/* MADT (5.2.12) entry types. */
#define MADT_LOCAL_APIC 0
#define MADT_IOAPIC 1
#define MADT_OVERRIDE 2
#define MADT_LAPIC_ADDR_OVERRIDE 5
#define MADT_LOCAL_X2APIC 9
#define MADT_ENABLED 1u
#define MADT_ONLINE_CAPABLE 2u

static uint8_t sum(const uint8_t *p, uint32_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s;
}

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/*
 * Maps a whole table after checking its header (and, when `sig` is given,
 * its signature); 0 when unusable.
 */
static const uint8_t *map_table(const struct acpi_ops *ops, uint64_t phys, const char *sig,
				struct acpi_info *out)
{
	if (!phys)
		return 0;
	const struct acpi_header *h = ops->map(ops->ctx, phys, sizeof(*h));
	if (!h)
		return 0;
	uint32_t len = h->length;
	if (len < sizeof(*h) || len > ACPI_TABLE_MAX_LEN ||
	    (sig && __builtin_memcmp(h->signature, sig, 4))) {
		out->tables_bad++;
		return 0;
	}
	const uint8_t *t = ops->map(ops->ctx, phys, len);
	if (!t || sum(t, len) != 0) {
		out->tables_bad++;
		return 0;
	}
	out->tables_seen++;
	return t;
}

static void add_cpu(struct acpi_info *out, uint32_t apic_id, uint32_t flags)
{
	if (!(flags & (MADT_ENABLED | MADT_ONLINE_CAPABLE)))
		return;
	for (uint32_t i = 0; i < out->cpu_count; i++)
		if (out->cpu_apic_ids[i] == apic_id)
			return;
	if (out->cpu_count < ACPI_MAX_CPUS)
		out->cpu_apic_ids[out->cpu_count++] = apic_id;
}

static void parse_madt(const uint8_t *t, struct acpi_info *out)
{
	uint32_t len = rd32(t + 4);
	if (len < 44)
		return;
	out->lapic_addr = rd32(t + 36);
	for (uint32_t off = 44; off + 2 <= len;) {
		uint8_t type = t[off], elen = t[off + 1];
		if (elen < 2 || off + elen > len)
			break; /* a malformed entry ends the walk */
		const uint8_t *e = t + off;
		if (type == MADT_LOCAL_APIC && elen >= 8)
			add_cpu(out, e[3], rd32(e + 4));
		else if (type == MADT_LOCAL_X2APIC && elen >= 16)
			add_cpu(out, rd32(e + 4), rd32(e + 8));
		else if (type == MADT_IOAPIC && elen >= 12 && out->ioapic_count < ACPI_MAX_IOAPICS) {
			struct acpi_ioapic *io = &out->ioapics[out->ioapic_count++];
			io->id = e[2];
			io->addr = rd32(e + 4);
			io->gsi_base = rd32(e + 8);
		} else if (type == MADT_OVERRIDE && elen >= 10 &&
			   out->override_count < ACPI_MAX_OVERRIDES) {
			struct acpi_override *o = &out->overrides[out->override_count++];
			o->source = e[3];
			o->gsi = rd32(e + 4);
			o->flags = rd16(e + 8);
		} else if (type == MADT_LAPIC_ADDR_OVERRIDE && elen >= 12) {
			out->lapic_addr = rd64(e + 4);
		}
		off += elen;
	}
}

static void read_gas(const uint8_t *t, uint32_t len, uint32_t off, struct acpi_gas *g)
{
	if (off + sizeof(*g) > len)
		return;
	const uint8_t *p = t + off;
	g->space_id = p[0];
	g->bit_width = p[1];
	g->bit_offset = p[2];
	g->access_size = p[3];
	g->address = rd64(p + 4);
}

/* A 32-bit I/O block as a GAS, when the extended field is absent. */
static void legacy_io(struct acpi_gas *g, uint32_t port, uint8_t width)
{
	if (g->address || !port)
		return;
	g->space_id = ACPI_GAS_IO;
	g->bit_width = width;
	g->address = port;
}

/*
 * Finds SLP_TYPa of \_S5 in the DSDT without an AML interpreter: the
 * name, a PackageOp (0x12), its PkgLength, the element count, then the
 * first element as ZeroOp, OneOp, or BytePrefix + byte (ACPI 20.2.5.4).
 */
static void find_s5(const uint8_t *d, uint32_t len, struct acpi_info *out)
{
	for (uint32_t i = 36; i + 8 < len; i++) {
		if (d[i] != '_' || d[i + 1] != 'S' || d[i + 2] != '5' || d[i + 3] != '_')
			continue;
		uint32_t p = i + 4;
		if (d[p] != 0x12)
			continue;
		p++;
		p += 1 + (d[p] >> 6); /* PkgLength: lead byte + 0-3 more */
		p++;                  /* NumElements */
		if (p + 1 >= len)
			return;
		if (d[p] == 0x0a) {
			out->s5_slp_typ = d[p + 1];
		} else if (d[p] == 0x00 || d[p] == 0x01) {
			out->s5_slp_typ = d[p];
		} else {
			continue;
		}
		out->have_s5 = 1;
		return;
	}
}

static void parse_fadt(const struct acpi_ops *ops, const uint8_t *t, struct acpi_info *out)
{
	uint32_t len = rd32(t + 4);
	if (len < 116)
		return;
	out->have_fadt = 1;
	out->fadt_flags = rd32(t + FADT_FLAGS);
	read_gas(t, len, FADT_X_PM_TMR_BLK, &out->pm_timer);
	legacy_io(&out->pm_timer, rd32(t + FADT_PM_TMR_BLK), 32);
	if (t[FADT_PM_TMR_LEN] != 4 && !out->pm_timer.address)
		out->pm_timer.space_id = 0xff;
	out->pm_timer_32bit = !!(out->fadt_flags & FADT_TMR_VAL_EXT);
	read_gas(t, len, FADT_X_PM1A_CNT_BLK, &out->pm1a_cnt);
	legacy_io(&out->pm1a_cnt, rd32(t + FADT_PM1A_CNT_BLK), 16);
	if (len >= FADT_RESET_VALUE + 1 && (out->fadt_flags & FADT_RESET_REG_SUP)) {
		read_gas(t, len, FADT_RESET_REG, &out->reset_reg);
		out->reset_value = t[FADT_RESET_VALUE];
		out->have_reset = out->reset_reg.address != 0;
	}
	read_gas(t, len, FADT_SLEEP_CONTROL_REG, &out->sleep_ctl);

	uint64_t dsdt = 0;
	if (len >= FADT_X_DSDT + 8)
		dsdt = rd64(t + FADT_X_DSDT);
	if (!dsdt)
		dsdt = rd32(t + FADT_DSDT);
	const uint8_t *d = map_table(ops, dsdt, "DSDT", out);
	if (d)
		find_s5(d, rd32(d + 4), out);
}

static void parse_mcfg(const uint8_t *t, struct acpi_info *out)
{
	uint32_t len = rd32(t + 4);
	/* 36-byte header, 8 reserved, then 16-byte allocations (PCI FW 3.2 4.1.2). */
	for (uint32_t off = 44; off + 16 <= len; off += 16) {
		if (rd16(t + off + 8) != 0)
			continue; /* only segment group 0 */
		out->mcfg_base = rd64(t + off);
		out->mcfg_bus_start = t[off + 10];
		out->mcfg_bus_end = t[off + 11];
		return;
	}
}

static void parse_table(const struct acpi_ops *ops, uint64_t phys, struct acpi_info *out)
{
	const uint8_t *t = map_table(ops, phys, 0, out);
	if (!t)
		return;
	if (!__builtin_memcmp(t, "APIC", 4))
		parse_madt(t, out);
	else if (!__builtin_memcmp(t, "FACP", 4))
		parse_fadt(ops, t, out);
	else if (!__builtin_memcmp(t, "MCFG", 4))
		parse_mcfg(t, out);
}

int acpi_parse(const struct acpi_ops *ops, uint64_t rsdp_phys, struct acpi_info *out)
{
	__builtin_memset(out, 0, sizeof(*out));
	out->pm_timer.space_id = 0xff;
	/* ACPI 1.0 RSDPs are only 20 bytes: map the rest once revision says it exists. */
	const struct acpi_rsdp *r = rsdp_phys ? ops->map(ops->ctx, rsdp_phys, 20) : 0;
	if (!r || __builtin_memcmp(r->signature, "RSD PTR ", 8) ||
	    sum((const uint8_t *)r, 20) != 0)
		return -EINVAL;
	out->revision = r->revision;
	__builtin_memcpy(out->oem_id, r->oem_id, 6);

	const struct acpi_rsdp *r2 = r->revision >= 2 ? ops->map(ops->ctx, rsdp_phys, sizeof(*r2)) : 0;
	int wide = r2 && r2->xsdt && sum((const uint8_t *)r2, sizeof(*r2)) == 0;
	const uint8_t *sdt = wide ? map_table(ops, r2->xsdt, "XSDT", out) : 0;
	if (!sdt) {
		/* No usable XSDT: the RSDT, which firmware must still provide. */
		wide = 0;
		sdt = map_table(ops, r->rsdt, "RSDT", out);
	}
	if (!sdt)
		return -EINVAL;
	uint32_t len = rd32(sdt + 4), step = wide ? 8 : 4;
	for (uint32_t off = 36; off + step <= len; off += step)
		parse_table(ops, wide ? rd64(sdt + off) : rd32(sdt + off), out);
	return 0;
}
