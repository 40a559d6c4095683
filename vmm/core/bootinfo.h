/*
 * vmm/core/bootinfo.h - the hand-off from a boot loader to the hako kernel.
 *
 * A loader (boot/efi/loader.c today; any other loader tomorrow) fills one
 * struct boot_info, puts the machine in 64-bit long mode with the paging
 * described below, and jumps to the kernel's ELF entry point with the
 * physical address of the structure in RDI (System V calling convention).
 *
 * State at entry:
 *  - long mode, interrupts disabled, firmware services no longer usable;
 *  - CR3 maps every physical address below `identity_top` 1:1 (2 MiB
 *    pages, read/write), and the kernel image at its link address
 *    (KERNEL_VBASE + offset) onto `kernel_phys`;
 *  - the stack is the loader's; the kernel switches to its own at once.
 *
 * Everything here uses plain fixed-width fields so that the structure
 * reads the same in the loader (built against gnu-efi) and the kernel.
 */
#ifndef HAKO_BOOTINFO_H
#define HAKO_BOOTINFO_H

#include <stdint.h>

#define BOOT_INFO_MAGIC 0x4f4b4148424f4f54ull /* "TOOBHAKO" */
#define BOOT_INFO_VERSION 1

#define KERNEL_VBASE 0xffffffff80000000ull

/* Memory range types, loader-neutral (UEFI types are folded into these). */
enum boot_mem_type {
	BOOT_MEM_USABLE = 1,       /* free RAM once the kernel is running */
	BOOT_MEM_RESERVED = 2,     /* never touch */
	BOOT_MEM_ACPI_RECLAIM = 3, /* ACPI tables: keep, we parse them */
	BOOT_MEM_ACPI_NVS = 4,
	BOOT_MEM_FIRMWARE = 5,     /* UEFI runtime code/data */
	BOOT_MEM_HAKO = 6,         /* kernel image, boot info, files, tables */
	BOOT_MEM_MMIO = 7,
};

struct boot_mem_range {
	uint64_t base;
	uint64_t length;
	uint32_t type; /* enum boot_mem_type */
	uint32_t pad;
};

#define BOOT_FILE_NAME_MAX 64
#define BOOT_FILES_MAX 128
#define BOOT_MEM_RANGES_MAX 512

/* One file from the boot medium's \hako\ folder, loaded into memory. */
struct boot_file {
	char name[BOOT_FILE_NAME_MAX]; /* relative to \hako\, '/' separated */
	uint64_t phys;
	uint64_t size;
};

struct boot_info {
	uint64_t magic;
	uint32_t version;
	uint32_t size; /* sizeof(struct boot_info) as the loader saw it */

	uint64_t kernel_phys;  /* where the kernel image starts in RAM */
	uint64_t kernel_size;  /* bytes, including .bss */
	uint64_t identity_top; /* loader's identity map covers [0, this) */
	uint64_t acpi_rsdp;    /* physical address of the RSDP, 0 if none */
	uint64_t loader_tsc;   /* TSC when the loader started */

	uint32_t mem_count;
	uint32_t file_count;
	struct boot_mem_range mem[BOOT_MEM_RANGES_MAX];
	struct boot_file files[BOOT_FILES_MAX];
	char loader_name[32];
};

#endif
