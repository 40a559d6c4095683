/*
 * vmm/core/paging.c - hako's own 4-level page tables (SDM Vol. 3A 4.5) and
 * their protections (SDM 4.6), built by vmm/core/lib/pgprot.c.
 *
 * Layout, the same addresses the loader hands over (vmm/core/bootinfo.h):
 *  - every physical address below identity_top at its own address, with
 *    2 MiB pages, read-write and never executable (heap, stacks, guest
 *    memory, NIC rings all live there); memory types come from the
 *    firmware's MTRRs, which make the MMIO holes uncacheable. Page 0 is
 *    not present, so a NULL dereference in hako faults (vmm/core/trap.c
 *    prints where) instead of reading the real-mode vector table;
 *  - the kernel image at KERNEL_VBASE with 4 KiB pages by section
 *    (linker.ld): text read-only and executable, rodata read-only, data
 *    and bss writable and not executable; its physical copy in the
 *    identity map is read-only and not executable;
 *  - the AP start-up page below 1 MiB: executable and read-only once
 *    vmm/core/smp.c has patched it (paging_seal_code);
 *  - MMIO above identity_top mapped on demand, uncached (PCD|PWT).
 * Execute-disable needs EFER.NXE (SDM 4.1.4) on every core: the BSP sets
 * it here, APs in boot/trampoline.S; read-only needs CR0.WP (SDM 4.6.1).
 */
#include "vmm/core/page.h"

#include "vmm/core/cpu.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/pgprot.h"
#include "vmm/core/trap.h"

/* linker.ld: the image's sections, page-aligned. */
extern const char __kernel_start[], __rodata_start[], __data_start[], __kernel_end[];

#define CPUID_EXT_FEATURES 0x80000001u
#define  CPUID_EXT_EDX_NX (1u << 20)

static struct pg_tables kpt;
static struct pgprot_expect layout;
static int nx;

static uint64_t kpt_alloc(void *ctx)
{
	(void)ctx; /* one allocator */
	return page_alloc(0, PAGE_HAKO);
}

static uint64_t *kpt_table(void *ctx, uint64_t phys)
{
	(void)ctx; /* tables are in RAM, identity-mapped */
	return (uint64_t *)phys;
}

/* Execute-disable exists (CPUID 8000_0001h EDX bit 20, SDM Vol. 3A 4.1.4): turn it on. */
static int enable_nx(void)
{
	if (cpuid(0x80000000u, 0).eax < CPUID_EXT_FEATURES ||
	    !(cpuid(CPUID_EXT_FEATURES, 0).edx & CPUID_EXT_EDX_NX))
		return 0;
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	return 1;
}

void paging_init(const struct boot_info *bi)
{
	layout = (struct pgprot_expect){
		{ (uint64_t)__kernel_start, (uint64_t)__rodata_start, (uint64_t)__data_start,
		  (uint64_t)__kernel_end },
		bi->kernel_phys, bi->identity_top, 0,
	};
	if (bi->kernel_size < layout.img.end - layout.img.text)
		hv_panic("paging: the loader placed %lu bytes of a %lu-byte kernel",
			 bi->kernel_size, layout.img.end - layout.img.text);
	nx = enable_nx();
	/* Supervisor writes honour read-only pages only with CR0.WP (SDM 4.6.1). */
	write_cr0(read_cr0() | CR0_WP);
	kpt = (struct pg_tables){ page_alloc_bytes(PAGE_SIZE), 0, kpt_alloc, kpt_table };
	int err = pgprot_build(&kpt, &layout, nx);
	if (err)
		hv_panic("paging: cannot build hako's page tables (%d)", err);
	write_cr3(kpt.root);
}

int paging_map_mmio(uint64_t phys, uint64_t size)
{
	if (phys + size < phys || phys + size > (1ull << 46))
		return -EINVAL;
	for (uint64_t a = phys & ~(PAGE_2M - 1); a < phys + size; a += PAGE_2M) {
		if (a < layout.identity_top)
			continue;
		int err = pg_map(&kpt, a, a, PAGE_2M, pgprot_flags(PG_MMIO, nx));
		if (err)
			return err;
	}
	write_cr3(read_cr3()); /* flush the TLB of this core */
	return 0;
}

int paging_seal_code(uint64_t phys)
{
	if (phys & (PAGE_SIZE - 1) || !phys || phys >= PAGE_2M || layout.exec_page)
		return -EINVAL;
	int err = pg_map(&kpt, phys, phys, PAGE_SIZE, pgprot_flags(PG_CODE, nx));
	if (err)
		return err;
	layout.exec_page = phys;
	__asm__ volatile("invlpg (%0)" ::"r"(phys) : "memory"); /* SDM Vol. 3A 4.10.4.1 */
	return 0;
}

int paging_nx(void)
{
	return nx;
}

/*
 * Reads back the tables this core runs on (CR3) and checks each rule
 * above; the boot log says what holds. A failure is a bug in hako, logged
 * loudly but not fatal: hako still runs, with weaker protection.
 */
void paging_check(void)
{
	char why[160];
	struct pg_tables live = kpt;
	live.root = read_cr3() & PTE_ADDR;
	if (pgprot_audit(&live, nx, &layout, why, sizeof(why))) {
		log_err("memory protection: %s (a bug in hako; please report it)", why);
		return;
	}
	if (nx)
		log_info("memory protection: page 0 unmapped, text RX, rodata R, data NX");
	else
		log_warn("memory protection: page 0 unmapped, text and rodata read-only; this CPU "
			 "has no execute-disable (NX), so data stays executable");
}

uint64_t paging_kernel_cr3(void)
{
	return kpt.root;
}
