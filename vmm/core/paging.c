/*
 * vmm/core/paging.c - hako's own 4-level page tables (SDM Vol. 3A 4.5).
 *
 * Layout, the same the loader hands over (vmm/core/bootinfo.h):
 *  - every physical address below identity_top at its own address, with
 *    2 MiB pages; memory types come from the firmware's MTRRs, which make
 *    the MMIO holes uncacheable;
 *  - the kernel image at KERNEL_VBASE;
 *  - MMIO above identity_top mapped on demand, uncached (PCD|PWT).
 */
#include "vmm/core/page.h"

#include "vmm/core/cpu.h"
#include "vmm/core/lib/errno.h"

#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_PS (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull

static uint64_t *pml4;
static uint64_t identity_top;

static uint64_t *table_at(uint64_t *parent, unsigned idx)
{
	if (!(parent[idx] & PTE_P))
		parent[idx] = page_alloc_bytes(PAGE_SIZE) | PTE_P | PTE_W;
	return (uint64_t *)(parent[idx] & PTE_ADDR);
}

static void map_2m(uint64_t va, uint64_t pa, uint64_t flags)
{
	uint64_t *pdpt = table_at(pml4, (va >> 39) & 511);
	uint64_t *pd = table_at(pdpt, (va >> 30) & 511);
	pd[(va >> 21) & 511] = pa | PTE_P | PTE_W | PTE_PS | flags;
}

void paging_init(const struct boot_info *bi)
{
	pml4 = (uint64_t *)page_alloc_bytes(PAGE_SIZE);
	identity_top = bi->identity_top;
	for (uint64_t a = 0; a < identity_top; a += PAGE_2M)
		map_2m(a, a, 0);
	for (uint64_t off = 0; off < bi->kernel_size; off += PAGE_2M)
		map_2m(KERNEL_VBASE + off, bi->kernel_phys + off, 0);
	write_cr3((uint64_t)pml4);
}

int paging_map_mmio(uint64_t phys, uint64_t size)
{
	if (phys + size < phys || phys + size > (1ull << 46))
		return -EINVAL;
	for (uint64_t a = phys & ~(PAGE_2M - 1); a < phys + size; a += PAGE_2M) {
		if (a < identity_top)
			continue;
		map_2m(a, a, PTE_PCD | PTE_PWT);
	}
	write_cr3(read_cr3()); /* flush the TLB of this core */
	return 0;
}

uint64_t paging_kernel_cr3(void)
{
	return (uint64_t)pml4;
}
