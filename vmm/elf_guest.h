/*
 * vmm/elf_guest.h - checking and loading an ELF64 guest image into guest
 * memory (System V gABI "Program Header"). Portable: guest memory is
 * reached through a copy callback.
 */
#ifndef HAKO_ELF_GUEST_H
#define HAKO_ELF_GUEST_H

#include <stdint.h>

/* Lowest guest-physical address a segment may use (below: hako's boot data). */
#define ELF_GUEST_LOAD_MIN 0x100000ull

/*
 * Checks the image for a guest of `mem_size` bytes. Returns 0, or -ENOEXEC
 * with *why saying what is wrong.
 */
int elf_guest_check(const void *img, uint64_t len, uint64_t mem_size, const char **why);
/*
 * Copies every PT_LOAD segment's file bytes to its physical address
 * (memory is zero already, which covers .bss). Call after a successful
 * check. Returns the entry point.
 */
uint64_t elf_guest_load(const void *img, void *ctx,
			void (*copy)(void *ctx, uint64_t gpa, const void *src, uint64_t n));

#endif
