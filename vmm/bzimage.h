/*
 * vmm/bzimage.h - the Linux x86 boot protocol (Documentation/arch/x86/
 * boot.rst in the kernel tree, "64-bit boot protocol"): checking a bzImage,
 * placing kernel and initrd in guest memory, and filling the zero page
 * (struct boot_params) with the setup header, command line, initrd, e820
 * map and the ACPI RSDP. Portable: guest memory comes in as addresses and
 * the caller copies.
 */
#ifndef HAKO_BZIMAGE_H
#define HAKO_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

#define BZ_CHECK_OFFSET(t, f, off) _Static_assert(offsetof(t, f) == (off), #t "." #f)

struct bz_setup_header {        /* boot.rst "The real-mode kernel header", at 0x1f1 */
	uint8_t  setup_sects;       /* 0x1f1 */
	uint16_t root_flags;        /* 0x1f2 */
	uint32_t syssize;           /* 0x1f4 */
	uint16_t ram_size;          /* 0x1f8 */
	uint16_t vid_mode;          /* 0x1fa */
	uint16_t root_dev;          /* 0x1fc */
	uint16_t boot_flag;         /* 0x1fe: 0xaa55 */
	uint16_t jump;              /* 0x200 */
	uint32_t header;            /* 0x202: "HdrS" */
	uint16_t version;           /* 0x206 */
	uint32_t realmode_swtch;    /* 0x208 */
	uint16_t start_sys_seg;     /* 0x20c */
	uint16_t kernel_version;    /* 0x20e */
	uint8_t  type_of_loader;    /* 0x210 */
	uint8_t  loadflags;         /* 0x211 */
	uint16_t setup_move_size;   /* 0x212 */
	uint32_t code32_start;      /* 0x214 */
	uint32_t ramdisk_image;     /* 0x218 */
	uint32_t ramdisk_size;      /* 0x21c */
	uint32_t bootsect_kludge;   /* 0x220 */
	uint16_t heap_end_ptr;      /* 0x224 */
	uint8_t  ext_loader_ver;    /* 0x226 */
	uint8_t  ext_loader_type;   /* 0x227 */
	uint32_t cmd_line_ptr;      /* 0x228 */
	uint32_t initrd_addr_max;   /* 0x22c */
	uint32_t kernel_alignment;  /* 0x230 */
	uint8_t  relocatable_kernel;/* 0x234 */
	uint8_t  min_alignment;     /* 0x235 */
	uint16_t xloadflags;        /* 0x236 */
	uint32_t cmdline_size;      /* 0x238 */
	uint32_t hardware_subarch;  /* 0x23c */
	uint64_t hardware_subarch_data; /* 0x240 */
	uint32_t payload_offset;    /* 0x248 */
	uint32_t payload_length;    /* 0x24c */
	uint64_t setup_data;        /* 0x250 */
	uint64_t pref_address;      /* 0x258 */
	uint32_t init_size;         /* 0x260 */
	uint32_t handover_offset;   /* 0x264 */
	uint32_t kernel_info_offset;/* 0x268 */
} __attribute__((packed));

struct bz_e820_entry {          /* boot.rst "e820_table" */
	uint64_t addr;              /* 0x00 */
	uint64_t size;              /* 0x08 */
	uint32_t type;              /* 0x10 */
} __attribute__((packed));
_Static_assert(sizeof(struct bz_e820_entry) == 20, "e820 entries are 20 bytes");

#define E820_RAM 1
#define E820_RESERVED 2
#define E820_ACPI 3
#define BZ_E820_MAX 128

struct boot_params {            /* boot.rst "Zero page" (arch/x86/include/uapi/asm/bootparam.h) */
	uint8_t  pad0[0x070];       /* 0x000 */
	uint64_t acpi_rsdp_addr;    /* 0x070 */
	uint8_t  pad1[0x0c0 - 0x078];
	uint32_t ext_ramdisk_image; /* 0x0c0 */
	uint32_t ext_ramdisk_size;  /* 0x0c4 */
	uint32_t ext_cmd_line_ptr;  /* 0x0c8 */
	uint8_t  pad2[0x1e8 - 0x0cc];
	uint8_t  e820_entries;      /* 0x1e8 */
	uint8_t  pad3[0x1f1 - 0x1e9];
	struct bz_setup_header hdr; /* 0x1f1 */
	uint8_t  pad4[0x2d0 - 0x26c];
	struct bz_e820_entry e820_table[BZ_E820_MAX]; /* 0x2d0 */
	uint8_t  pad5[0x1000 - 0xcd0];
} __attribute__((packed));
BZ_CHECK_OFFSET(struct boot_params, acpi_rsdp_addr, 0x070);
BZ_CHECK_OFFSET(struct boot_params, ext_cmd_line_ptr, 0x0c8);
BZ_CHECK_OFFSET(struct boot_params, e820_entries, 0x1e8);
BZ_CHECK_OFFSET(struct boot_params, hdr.header, 0x202);
BZ_CHECK_OFFSET(struct boot_params, hdr.cmd_line_ptr, 0x228);
BZ_CHECK_OFFSET(struct boot_params, hdr.init_size, 0x260);
BZ_CHECK_OFFSET(struct boot_params, e820_table, 0x2d0);
_Static_assert(sizeof(struct boot_params) == 4096, "the zero page is one page");

/* Where things go in the guest, chosen by bzimage_plan(). */
struct bz_plan {
	uint64_t setup_len;     /* bytes of the real-mode part (not loaded) */
	uint64_t kernel_gpa;    /* protected-mode kernel, loaded here */
	uint64_t kernel_len;
	uint64_t entry;         /* 64-bit entry: kernel_gpa + 0x200 */
	uint64_t initrd_gpa;    /* 0 when there is no initrd */
	uint64_t initrd_len;
};

/* Is this a bzImage (the "HdrS" signature at 0x202)? */
int bzimage_is(const void *img, uint64_t len);

/*
 * Checks a bzImage for a guest with `ram_top` bytes of RAM at GPA 0 (below
 * any MMIO hole) and an initrd of `initrd_len` bytes (0: none), and plans
 * where kernel and initrd go. 0 or -ENOEXEC/-ENOMEM with *why set.
 */
int bzimage_plan(const void *img, uint64_t len, uint64_t ram_top, uint64_t initrd_len,
		 struct bz_plan *plan, const char **why);

/* The e820 map of a guest with `ram_top` bytes of RAM (see bzimage.c). */
unsigned bzimage_e820(uint64_t ram_top, struct bz_e820_entry *map, unsigned max);

/*
 * Fills the zero page `bp` (zeroed by the caller): the image's setup
 * header, loader fields, command line and initrd addresses, e820, RSDP.
 */
void bzimage_boot_params(struct boot_params *bp, const void *img, const struct bz_plan *plan,
			 uint64_t ram_top, uint64_t cmdline_gpa, uint64_t rsdp_gpa);

#endif
