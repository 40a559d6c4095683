/*
 * vmm/guest_pt.c - the guest page-table walker of vmm/guest_pt.h (SDM Vol. 3A
 * 4.3 32-bit, 4.4 PAE, 4.5 4-level and 5-level paging). Portable. Accessed/dirty bits
 * are not set and permissions are not checked: the walk only finds the
 * bytes the guest CPU has just fetched from.
 */
#include "vmm/guest_pt.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/x86.h"

#define PTE_P 0x1ull
#define PTE_PS 0x80ull
#define ADDR_MASK 0x000ffffffffff000ull

/* Walks 64-bit-entry tables from `table` through `levels` levels. */
static int walk64(const struct guest_pt_ops *ops, uint64_t table, unsigned levels, uint64_t la,
		  uint64_t *gpa)
{
	for (unsigned l = levels; l >= 1; l--) {
		unsigned shift = 12 + 9 * (l - 1);
		uint64_t e;
		if (ops->read(ops->ctx, table + ((la >> shift) & 511) * 8, 8, &e) || !(e & PTE_P))
			return -EFAULT;
		if (l == 1 || (l <= 3 && (e & PTE_PS))) {
			uint64_t page = 1ull << shift;
			*gpa = (e & ADDR_MASK & ~(page - 1)) | (la & (page - 1));
			return 0;
		}
		table = e & ADDR_MASK;
	}
	return -EFAULT;
}

static int walk_pae(const struct guest_pt_ops *ops, uint64_t cr3, uint64_t la, uint64_t *gpa)
{
	uint64_t pdpte;
	la &= 0xffffffffull;
	if (ops->read(ops->ctx, (cr3 & 0xffffffe0ull) + (la >> 30) * 8, 8, &pdpte) ||
	    !(pdpte & PTE_P))
		return -EFAULT;
	return walk64(ops, pdpte & ADDR_MASK, 2, la, gpa);
}

static int walk32(const struct guest_pt_ops *ops, const struct guest_pt_mode *m, uint64_t la,
		  uint64_t *gpa)
{
	uint64_t pde, pte;
	la &= 0xffffffffull;
	if (ops->read(ops->ctx, (m->cr3 & 0xfffff000ull) + (la >> 22) * 4, 4, &pde) ||
	    !(pde & PTE_P))
		return -EFAULT;
	if ((pde & PTE_PS) && (m->cr4 & CR4_PSE)) {
		*gpa = (pde & 0xffc00000ull) | ((pde & 0x1fe000ull) << 19) | (la & 0x3fffff);
		return 0;
	}
	if (ops->read(ops->ctx, (pde & 0xfffff000ull) + ((la >> 12) & 1023) * 4, 4, &pte) ||
	    !(pte & PTE_P))
		return -EFAULT;
	*gpa = (pte & 0xfffff000ull) | (la & 0xfff);
	return 0;
}

int guest_pt_translate(const struct guest_pt_ops *ops, const struct guest_pt_mode *m, uint64_t la,
		  uint64_t *gpa)
{
	if (!(m->cr0 & CR0_PG)) {
		*gpa = la;
		return 0;
	}
	if (m->efer & EFER_LMA) /* CR4.LA57 adds the PML5 table above the PML4 */
		return walk64(ops, m->cr3 & ADDR_MASK, (m->cr4 & CR4_LA57) ? 5 : 4, la, gpa);
	if (m->cr4 & CR4_PAE)
		return walk_pae(ops, m->cr3, la, gpa);
	return walk32(ops, m, la, gpa);
}
