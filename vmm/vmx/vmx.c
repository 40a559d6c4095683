/*
 * vmm/vmx/vmx.c - turning VMX on for a core (SDM Vol. 3C 24.7 "Enabling
 * and Entering VMX Operation", 24.8 "Restrictions on VMX Operation"), the
 * capabilities every VMCS is fitted to (SDM Vol. 3D Appendix A), the
 * bitmaps shared by every VMCS (25.6.4 I/O, 25.6.9 MSR), and the back
 * end's ops table. Parallel to vmm/svm/svm.c.
 *
 * Detection (CPUID.1:ECX.VMX, EPT, unrestricted guest) is in vmm/vmx/probe.c;
 * this runs only when it found VMX usable.
 */
#include "vmm/vmx/vmx.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/page.h"
#include "vmm/core/percpu.h"
#include "vmm/msr.h"
#include "vmm/vmx/ctls.h"
#include "vmm/core/lib/x86.h"

#define MSR_IA32_VMX_PINBASED_CTLS 0x481
#define MSR_IA32_VMX_EXIT_CTLS 0x483
#define MSR_IA32_VMX_ENTRY_CTLS 0x484
#define MSR_IA32_VMX_CR0_FIXED0 0x486
#define MSR_IA32_VMX_CR0_FIXED1 0x487
#define MSR_IA32_VMX_CR4_FIXED0 0x488
#define MSR_IA32_VMX_CR4_FIXED1 0x489
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x48d
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS 0x48f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS 0x490
#define  VMX_BASIC_TRUE_CTLS (1ull << 55)
#define  FEATURE_CONTROL_LOCK (1ull << 0)
#define  FEATURE_CONTROL_VMX_OUTSIDE_SMX (1ull << 2)
#define CR4_VMXE (1ull << 13)
#define EPT_VPID_CAP_INVVPID (1ull << 32)

struct vmx_caps vmx_caps;
uint64_t vmx_io_bitmap_pa, vmx_msr_bitmap_pa;

/*
 * MSRs the guest reads and writes directly, as on SVM. FS/GS base and
 * SYSENTER live in the VMCS guest state and are switched by entry and
 * exit (SDM 25.4.1); STAR, LSTAR, CSTAR, SFMASK and KERNEL_GS_BASE are
 * not, but hako never uses them (no SYSCALL, no SWAPGS), so the guest
 * owns them while it has the core (vmcs.c clears them at first load).
 */
static const uint32_t msr_passthrough[] = {
	0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, /* STAR LSTAR CSTAR SFMASK */
	0xc0000100, 0xc0000101, 0xc0000102,             /* FS_BASE GS_BASE KERNEL_GS_BASE */
	0x174, 0x175, 0x176,                            /* SYSENTER_CS/ESP/EIP */
};

/*
 * Clears the read and write exit bits of one MSR. The 4 KiB MSR bitmap
 * is read-low, read-high, write-low, write-high, 1 KiB each; "low" is
 * 0-1FFFH, "high" C0000000H-C0001FFFH (SDM 25.6.9).
 */
static void msr_bitmap_pass(uint8_t *bm, uint32_t msr)
{
	uint32_t base = msr >= 0xc0000000 ? 0x400 : 0;
	uint32_t bit = msr & 0x1fff;
	bm[base + bit / 8] &= (uint8_t)~(1u << (bit % 8));
	bm[0x800 + base + bit / 8] &= (uint8_t)~(1u << (bit % 8));
}

static int vmx_bitmaps_init(void)
{
	if (vmx_io_bitmap_pa)
		return 0;
	/* Bitmaps A (ports 0-7FFFH) and B (8000H-FFFFH), adjacent: every port exits. */
	uint64_t io = page_alloc(1, PAGE_HAKO);
	uint64_t msr = page_alloc(0, PAGE_HAKO);
	if (!io || !msr)
		return -ENOMEM;
	memset((void *)io, 0xff, 2 * PAGE_SIZE);
	memset((void *)msr, 0xff, PAGE_SIZE);
	for (unsigned i = 0; i < sizeof(msr_passthrough) / sizeof(msr_passthrough[0]); i++)
		msr_bitmap_pass((uint8_t *)msr, msr_passthrough[i]);
	uint32_t owned[MSR_GUEST_OWNED_MAX];
	for (unsigned i = 0, n = msr_guest_owned(owned, MSR_GUEST_OWNED_MAX); i < n; i++)
		msr_bitmap_pass((uint8_t *)msr, owned[i]);
	vmx_msr_bitmap_pa = msr;
	vmx_io_bitmap_pa = io;
	return 0;
}

/* Reads the capability MSRs once: TRUE_ controls when BASIC[55] (SDM Vol. 3D A.2). */
static void vmx_caps_init(void)
{
	if (vmx_caps.revision)
		return;
	uint64_t basic = rdmsr(MSR_IA32_VMX_BASIC);
	int true_ctls = !!(basic & VMX_BASIC_TRUE_CTLS);
	struct vmx_caps *c = &vmx_caps;
	c->pin = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS);
	c->proc = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS);
	c->exit = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS);
	c->entry = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS);
	c->proc2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
	c->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	c->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	c->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	c->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	c->ept_vpid = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	c->vpid = ((c->proc2 >> 32) & PROC2_ENABLE_VPID) && (c->ept_vpid & EPT_VPID_CAP_INVVPID);
	__atomic_store_n(&c->revision, (uint32_t)(basic & 0x7fffffff), __ATOMIC_RELEASE);
}

/*
 * IA32_FEATURE_CONTROL must be locked with VMX-outside-SMX set, or VMXON
 * raises #GP (SDM 24.7). Firmware normally does it; OVMF on Bochs leaves
 * it unlocked, and then hako sets and locks it, on every core.
 */
static int vmx_feature_control(void)
{
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if (!(fc & FEATURE_CONTROL_LOCK)) {
		fc |= FEATURE_CONTROL_VMX_OUTSIDE_SMX | FEATURE_CONTROL_LOCK;
		wrmsr(MSR_IA32_FEATURE_CONTROL, fc);
	}
	if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
		log_err("vmx: the firmware locked VT-x off (IA32_FEATURE_CONTROL 0x%lx); enable it in "
			"the firmware setup", fc);
		return -ENODEV;
	}
	return 0;
}

/* The calling core's VMX state, 0 before vmx_cpu_enable() ran there. */
struct vmx_cpu *vmx_this_cpu(void)
{
	return this_cpu()->vmm;
}

/*
 * Enters VMX operation on the calling core: feature control, CR0/CR4
 * fixed bits (CR4.VMXE among them), then VMXON with a region carrying
 * the VMCS revision (SDM 24.7, 24.8, 25.11.5). Idempotent. 0, -ENOMEM,
 * -ENODEV (firmware locked VT-x off) or -EIO (VMXON refused).
 */
int vmx_cpu_enable(void)
{
	struct percpu *c = this_cpu();
	if (c->vmm)
		return 0;
	int err = vmx_feature_control();
	if (err)
		return err;
	vmx_caps_init();
	err = vmx_bitmaps_init();
	if (err)
		return err;
	struct vmx_cpu *x = (struct vmx_cpu *)page_alloc(0, PAGE_HAKO);
	uint64_t region = page_alloc(0, PAGE_HAKO);
	if (!x || !region)
		return -ENOMEM;
	*(volatile uint32_t *)region = vmx_caps.revision;
	/*
	 * CR4.OSXSAVE is already set where XSAVE exists (cpu_setup_tables):
	 * the host state of every VMCS carries it, so that hako can carry out
	 * a guest's XSETBV (which always exits, SDM 26.1.2) and switch its state.
	 */
	write_cr0(vmx_fix_cr(read_cr0(), vmx_caps.cr0_fixed0, vmx_caps.cr0_fixed1, 0));
	write_cr4(vmx_fix_cr(read_cr4() | CR4_VMXE, vmx_caps.cr4_fixed0, vmx_caps.cr4_fixed1, 0));
	if (vmx_on(region)) {
		log_err("vmx: VMXON failed on core %u", c->index);
		page_free(region, 0, PAGE_HAKO);
		page_free((uint64_t)x, 0, PAGE_HAKO);
		return -EIO;
	}
	x->vmxon_pa = region;
	c->vmm = x;
	return 0;
}

const struct vmm_backend vmx_backend = {
	.name = "vmx",
	.probe = vmx_probe,
	.cpu_enable = vmx_cpu_enable,
	.vcpu_create = vmx_vcpu_create,
	.vcpu_destroy = vmx_vcpu_destroy,
	.vcpu_run = vmx_vcpu_run,
	.reg_read = vmx_reg_read,
	.reg_write = vmx_reg_write,
	.seg_read = vmx_seg_read,
	.seg_write = vmx_seg_write,
	.inject = vmx_inject,
	.intr_ready = vmx_intr_ready,
	.intr_window = vmx_intr_window,
	.npt_create = vmx_ept_create,
	.npt_map = vmx_ept_map,
	.npt_protect = vmx_ept_protect,
	.npt_destroy = vmx_ept_destroy,
	.tlb_flush = vmx_tlb_flush,
};
