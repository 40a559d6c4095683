/*
 * vmm/guest_pt.h - walking the guest's own page tables (portable), to fetch
 * the instruction at a guest RIP for MMIO decoding (vmm/mmio.c).
 *
 * Paging modes (SDM Vol. 3A 4.1, APM Vol. 2 5.1): off (CR0.PG = 0),
 * 32-bit, PAE, 4-level and 5-level. Guest memory is read through `read`, so a
 * table outside the guest's RAM is an error, never a host access.
 */
#ifndef HAKO_GUEST_PT_H
#define HAKO_GUEST_PT_H

#include <stdint.h>

struct guest_pt_ops {
	void *ctx;
	/* Reads `size` (4 or 8) bytes of guest-physical memory. 0 or -EFAULT. */
	int (*read)(void *ctx, uint64_t gpa, unsigned size, uint64_t *val);
};

struct guest_pt_mode {
	uint64_t cr0, cr3, cr4, efer;
};

/*
 * Translates linear address `la` to a guest-physical address for a
 * supervisor instruction fetch. Returns 0, -EFAULT (a table outside guest
 * memory or a non-present entry).
 */
int guest_pt_translate(const struct guest_pt_ops *ops, const struct guest_pt_mode *m, uint64_t la,
		  uint64_t *gpa);

#endif
