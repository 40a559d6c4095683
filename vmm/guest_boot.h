/*
 * vmm/guest_boot.h - the 64-bit entry state hako gives an ELF64 guest
 * (documented for guest authors in guests/README.md).
 */
#ifndef HAKO_GUEST_BOOT_H
#define HAKO_GUEST_BOOT_H

#include <stdint.h>

#include "vmm/vm.h"

/* Guest-physical layout of what hako writes below 1 MiB. */
#define GB_PML4 0x1000ull
#define GB_PDPT 0x2000ull
#define GB_PD 0x3000ull        /* four pages: identity map of 0-4 GiB */
#define GB_GDT 0x7000ull
#define GB_CMDLINE 0x7800ull   /* NUL-terminated, at most 2 KiB */
#define GB_STACK_TOP 0x10000ull /* vCPU n starts with RSP = top - n * 4 KiB */
#define GB_SEL_CODE 0x08
#define GB_SEL_DATA 0x10

/* Linux guests (x86 boot protocol, vmm/bzimage.h): the same page tables, then */
#define GB_LINUX_BOOT_PARAMS 0x8000ull  /* the zero page */
#define GB_LINUX_CMDLINE 0x9000ull      /* at most 2 KiB */
#define GB_LINUX_CMDLINE_MAX 2048
#define GB_LINUX_ACPI 0xe0000ull        /* ACPI tables, in the reserved 0x9fc00-0xfffff */
#define GB_LINUX_ACPI_SIZE 0x10000u
#define GB_LINUX_SEL_CODE 0x10          /* __BOOT_CS */
#define GB_LINUX_SEL_DATA 0x18          /* __BOOT_DS */
/* Linux guests' RAM ends below the MMIO hole (virtio-mmio at 0xd0000000). */
#define GB_LINUX_MEM_MAX 0xd0000000ull

/*
 * Loads a Linux bzImage with its initrd: `initrd` is copied into place,
 * or when 0 the caller has put initrd_len bytes at guest_boot_initrd_gpa()
 * already (boot=disk reads it there). `head` (or 0) starts the command
 * line: what the guest's disk names. 0 or -E... with *why set.
 */
int guest_boot_linux(struct vm *vm, const void *img, uint64_t len, const void *initrd,
		     uint64_t initrd_len, const char *head, const char **why);
/* Where guest_boot_linux() wants an initrd of initrd_len bytes (checks the bzImage). */
int guest_boot_initrd_gpa(struct vm *vm, const void *img, uint64_t len, uint64_t initrd_len,
			  uint64_t *gpa, const char **why);
/* Copies n bytes (src 0: zeros) into the guest's RAM at gpa. */
void guest_boot_put(struct vm *vm, uint64_t gpa, const void *src, uint64_t n);
/* Loads the kernel image and hako's boot data into vm's memory. */
int guest_boot_load(struct vm *vm, const void *img, uint64_t len, const char **why);
/*
 * Sets vCPU v's registers to the entry state. For Linux guests only the
 * bootstrap processor starts; the others wait for a SIPI.
 */
void guest_boot_vcpu(struct vcpu *v);
/* The state after INIT-SIPI-SIPI (SDM Vol. 3A 9.1.1, 9.4.4): real mode at vector * 4 KiB. */
void guest_boot_sipi(struct vcpu *v, uint8_t vector);

#endif
