/*
 * vmm/bzimage.c - the x86 boot protocol for bzImages, 64-bit entry
 * (Linux Documentation/arch/x86/boot.rst, protocol 2.12 and later for
 * XLF_KERNEL_64, 2.14 for acpi_rsdp_addr). Portable; the image is
 * untrusted input: every field used is checked against the file length
 * and the guest's memory.
 *
 * Guest-physical layout of the low megabyte (also in the e820 map):
 *   0 - 0x9fc00          RAM (hako's boot data lives here; Linux reserves
 *                        the first megabyte itself and reuses it later)
 *   0x9fc00 - 0x100000   reserved (EBDA, VGA hole, BIOS area: ACPI tables)
 */
#include "vmm/bzimage.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/string.h"

#define HDRS_MAGIC 0x53726448u  /* "HdrS" */
#define BOOT_FLAG 0xaa55
#define XLF_KERNEL_64 (1u << 0)
#define LOADED_HIGH 0x01
#define CAN_USE_HEAP 0x80
#define LOADER_UNDEFINED 0xff
#define KERNEL_LOAD_DEFAULT 0x1000000ull  /* 16 MiB: LOAD_PHYSICAL_ADDR of distro kernels */
#define LOW_RAM_END 0x9fc00ull
#define HIGH_RAM_START 0x100000ull
#define PAGE 0x1000ull

static const struct bz_setup_header *hdr_of(const void *img)
{
	return (const struct bz_setup_header *)((const uint8_t *)img + 0x1f1);
}

int bzimage_is(const void *img, uint64_t len)
{
	return len >= 0x1000 && hdr_of(img)->header == HDRS_MAGIC;
}

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

static int fail(const char **why, const char *msg, int code)
{
	*why = msg;
	return code;
}

int bzimage_plan(const void *img, uint64_t len, uint64_t ram_top, uint64_t initrd_len,
		 struct bz_plan *p, const char **why)
{
	if (!bzimage_is(img, len))
		return fail(why, "not a bzImage (no HdrS signature)", -ENOEXEC);
	const struct bz_setup_header *h = hdr_of(img);
	if (h->boot_flag != BOOT_FLAG || h->version < 0x20c || !(h->xloadflags & XLF_KERNEL_64))
		return fail(why, "bzImage has no 64-bit entry (boot protocol 2.12+ with XLF_KERNEL_64)",
			    -ENOEXEC);
	unsigned sects = h->setup_sects ? h->setup_sects : 4;
	p->setup_len = (sects + 1ull) * 512;
	if (p->setup_len >= len)
		return fail(why, "bzImage is truncated (setup_sects beyond the file)", -ENOEXEC);
	p->kernel_len = len - p->setup_len;
	p->kernel_gpa = KERNEL_LOAD_DEFAULT;
	p->entry = p->kernel_gpa + 0x200;
	uint64_t need = h->init_size > p->kernel_len ? h->init_size : p->kernel_len;
	uint64_t kernel_end = align_up(p->kernel_gpa + need, PAGE);
	p->initrd_len = initrd_len;
	p->initrd_gpa = 0;
	if (initrd_len) {
		uint64_t top = ram_top;
		if (h->initrd_addr_max && top > (uint64_t)h->initrd_addr_max + 1)
			top = (uint64_t)h->initrd_addr_max + 1;
		if (initrd_len > top)
			return fail(why, "initrd does not fit in guest memory", -ENOMEM);
		p->initrd_gpa = (top - initrd_len) & ~(PAGE - 1);
		if (p->initrd_gpa < kernel_end)
			return fail(why, "kernel and initrd do not fit in guest memory", -ENOMEM);
	} else if (kernel_end > ram_top) {
		return fail(why, "kernel does not fit in guest memory", -ENOMEM);
	}
	return 0;
}

static unsigned e820_add(struct bz_e820_entry *m, unsigned n, unsigned max, uint64_t a,
			 uint64_t end, uint32_t type)
{
	if (n < max && end > a)
		m[n++] = (struct bz_e820_entry){ a, end - a, type };
	return n;
}

/* Returns the number of entries written (at most `max`). */
unsigned bzimage_e820(uint64_t ram_top, struct bz_e820_entry *m, unsigned max)
{
	unsigned n = e820_add(m, 0, max, 0, LOW_RAM_END, E820_RAM);
	n = e820_add(m, n, max, LOW_RAM_END, HIGH_RAM_START, E820_RESERVED);
	return e820_add(m, n, max, HIGH_RAM_START, ram_top, E820_RAM);
}

void bzimage_boot_params(struct boot_params *bp, const void *img, const struct bz_plan *p,
			 uint64_t ram_top, uint64_t cmdline_gpa, uint64_t rsdp_gpa)
{
	const uint8_t *src = (const uint8_t *)img + 0x1f1;
	/* The header runs to 0x202 + the byte at 0x201 (boot.rst "Details of header fields"). */
	unsigned hlen = 0x202 + src[0x201 - 0x1f1] - 0x1f1;
	if (hlen > sizeof(bp->hdr))
		hlen = sizeof(bp->hdr);
	memcpy(&bp->hdr, src, hlen);
	bp->hdr.type_of_loader = LOADER_UNDEFINED;
	bp->hdr.loadflags = (uint8_t)((bp->hdr.loadflags | CAN_USE_HEAP) | LOADED_HIGH);
	bp->hdr.heap_end_ptr = 0xfe00;
	bp->hdr.code32_start = (uint32_t)p->kernel_gpa;
	bp->hdr.cmd_line_ptr = (uint32_t)cmdline_gpa;
	bp->ext_cmd_line_ptr = (uint32_t)(cmdline_gpa >> 32);
	bp->hdr.ramdisk_image = (uint32_t)p->initrd_gpa;
	bp->hdr.ramdisk_size = (uint32_t)p->initrd_len;
	bp->ext_ramdisk_image = (uint32_t)(p->initrd_gpa >> 32);
	bp->ext_ramdisk_size = (uint32_t)(p->initrd_len >> 32);
	bp->acpi_rsdp_addr = rsdp_gpa;
	bp->e820_entries = (uint8_t)bzimage_e820(ram_top, bp->e820_table, BZ_E820_MAX);
}
