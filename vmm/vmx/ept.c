/*
 * vmm/vmx/ept.c - extended page tables for VMX (SDM Vol. 3C 29.3).
 * Parallel to vmm/svm/npt.c.
 *
 * EPT entries are not long-mode entries: bits 2:0 are read, write and
 * execute permission (an entry is present when any is set), a leaf
 * carries its memory type in bits 5:3, and bit 7 marks a 2 MiB leaf in a
 * page directory (SDM Tables 29-4 to 29-6). Write without read is a
 * misconfiguration (29.3.3.1), so write implies read here. Guest memory
 * is write-back; IPAT stays 0 so the guest's PAT still applies, as on
 * real hardware. The portable walker in vmm/pagetable.c builds the tree.
 */
#include "vmm/backend.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/page.h"
#include "vmm/pagetable.h"
#include "vmm/vm.h"
#include "vmm/vmx/vmx.h"

#define EPT_R (1ull << 0)
#define EPT_W (1ull << 1)
#define EPT_X (1ull << 2)
#define EPT_MEMTYPE_WB (6ull << 3)
#define EPT_LARGE (1ull << 7)

/* EPTP: write-back paging structures, 4-level walk (SDM 25.6.11). */
#define EPTP_MEMTYPE_WB 6ull
#define EPTP_WALK_4 (3ull << 3)

static uint64_t ept_alloc(void *ctx)
{
	(void)ctx; /* one global allocator */
	return page_alloc(0, PAGE_HAKO);
}

static void ept_free(void *ctx, uint64_t phys)
{
	(void)ctx; /* one global allocator */
	page_free(phys, 0, PAGE_HAKO);
}

static uint64_t *ept_table(void *ctx, uint64_t phys)
{
	(void)ctx; /* hako identity-maps all RAM */
	return (uint64_t *)phys;
}

static uint64_t ept_make_table(uint64_t phys) { return phys | EPT_R | EPT_W | EPT_X; }

static uint64_t ept_set_prot(uint64_t e, unsigned prot)
{
	e &= ~(EPT_R | EPT_W | EPT_X);
	if (prot & NPT_R)
		e |= EPT_R;
	if (prot & NPT_W)
		e |= EPT_R | EPT_W;
	if (prot & NPT_X)
		e |= EPT_X;
	return e;
}

static uint64_t ept_make_leaf(uint64_t phys, unsigned prot, int large)
{
	return ept_set_prot(phys | EPT_MEMTYPE_WB | (large ? EPT_LARGE : 0), prot);
}

static int ept_present(uint64_t e) { return !!(e & (EPT_R | EPT_W | EPT_X)); }
static int ept_is_large(uint64_t e) { return !!(e & EPT_LARGE); }

static const struct pt_ops ept_ops = {
	.alloc = ept_alloc, .free = ept_free, .table = ept_table,
	.make_table = ept_make_table, .make_leaf = ept_make_leaf,
	.present = ept_present, .is_large = ept_is_large, .set_prot = ept_set_prot,
};

/*
 * The backend's nested-paging ops (vmm/backend.h) on EPT: create an empty
 * tree, map and protect ranges, free every table page. Service core.
 */
int vmx_ept_create(struct vm *vm)
{
	struct pt *pt = (struct pt *)page_alloc(0, PAGE_HAKO);
	if (!pt)
		return -ENOMEM;
	int err = pt_init(pt, &ept_ops);
	if (err) {
		page_free((uint64_t)pt, 0, PAGE_HAKO);
		return err;
	}
	vm->nested = pt;
	return 0;
}

int vmx_ept_map(struct vm *vm, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned prot)
{
	return pt_map(vm->nested, gpa, hpa, size, prot);
}

int vmx_ept_protect(struct vm *vm, uint64_t gpa, uint64_t size, unsigned prot)
{
	return pt_protect(vm->nested, gpa, size, prot);
}

void vmx_ept_destroy(struct vm *vm)
{
	if (!vm->nested)
		return;
	pt_destroy(vm->nested);
	page_free((uint64_t)vm->nested, 0, PAGE_HAKO);
	vm->nested = 0;
}

/* The EPT pointer for a VMCS: the root of the guest's tables (SDM 25.6.11). */
uint64_t vmx_eptp(struct vm *vm)
{
	return ((struct pt *)vm->nested)->root | EPTP_WALK_4 | EPTP_MEMTYPE_WB;
}
