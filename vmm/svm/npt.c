/*
 * vmm/svm/npt.c - nested page tables for SVM (APM Vol. 2 15.25).
 *
 * NPT entries are ordinary long-mode page-table entries (APM 5.3) walked
 * as if at CPL 3, so every level needs P, RW and US (a missing U bit
 * faults every guest access, and QEMU's TCG checks it). The portable
 * walker in vmm/pagetable.c builds the tree; this file only gives it the
 * entry format and hako's page allocator. NX is not used: host EFER.NXE
 * decides whether bit 63 is even valid, and guests may execute anywhere
 * in their own memory.
 */
#include "vmm/backend.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/page.h"
#include "vmm/pagetable.h"
#include "vmm/svm/svm.h"
#include "vmm/vm.h"

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_PS (1ull << 7)

static uint64_t npt_alloc(void *ctx)
{
	(void)ctx; /* one global allocator */
	return page_alloc(0, PAGE_HAKO);
}

static void npt_free(void *ctx, uint64_t phys)
{
	(void)ctx; /* one global allocator */
	page_free(phys, 0, PAGE_HAKO);
}

static uint64_t *npt_table(void *ctx, uint64_t phys)
{
	(void)ctx; /* hako identity-maps all RAM */
	return (uint64_t *)phys;
}

static uint64_t npt_make_table(uint64_t phys) { return phys | PTE_P | PTE_RW | PTE_US; }

static uint64_t npt_set_prot(uint64_t e, unsigned prot)
{
	e &= ~(PTE_P | PTE_RW);
	if (prot & (NPT_R | NPT_X))
		e |= PTE_P;
	if (prot & NPT_W)
		e |= PTE_P | PTE_RW;
	return e;
}

static uint64_t npt_make_leaf(uint64_t phys, unsigned prot, int large)
{
	return npt_set_prot(phys | PTE_US | (large ? PTE_PS : 0), prot);
}

static int npt_present(uint64_t e) { return !!(e & PTE_P); }
static int npt_is_large(uint64_t e) { return !!(e & PTE_PS); }

static const struct pt_ops npt_ops = {
	.alloc = npt_alloc, .free = npt_free, .table = npt_table,
	.make_table = npt_make_table, .make_leaf = npt_make_leaf,
	.present = npt_present, .is_large = npt_is_large, .set_prot = npt_set_prot,
};

int svm_npt_create(struct vm *vm)
{
	struct pt *pt = (struct pt *)page_alloc(0, PAGE_HAKO);
	if (!pt)
		return -ENOMEM;
	int err = pt_init(pt, &npt_ops);
	if (err) {
		page_free((uint64_t)pt, 0, PAGE_HAKO);
		return err;
	}
	vm->nested = pt;
	return 0;
}

int svm_npt_map(struct vm *vm, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned prot)
{
	return pt_map(vm->nested, gpa, hpa, size, prot);
}

int svm_npt_protect(struct vm *vm, uint64_t gpa, uint64_t size, unsigned prot)
{
	return pt_protect(vm->nested, gpa, size, prot);
}

void svm_npt_destroy(struct vm *vm)
{
	if (!vm->nested)
		return;
	pt_destroy(vm->nested);
	page_free((uint64_t)vm->nested, 0, PAGE_HAKO);
	vm->nested = 0;
}

/* N_CR3 for a VMCB: the root of the guest's nested tables. */
uint64_t svm_npt_root(struct vm *vm)
{
	return ((struct pt *)vm->nested)->root;
}
