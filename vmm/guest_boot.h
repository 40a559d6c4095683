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

/* Loads the kernel image and hako's boot data into vm's memory. */
int guest_boot_load(struct vm *vm, const void *img, uint64_t len, const char **why);
/* Sets vCPU v's registers to the entry state. */
void guest_boot_vcpu(struct vcpu *v);

#endif
