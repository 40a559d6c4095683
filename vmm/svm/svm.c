/*
 * vmm/svm/svm.c - turning SVM on for a core (APM Vol. 2 15.4 "Enabling
 * SVM", 15.30.4 VM_HSAVE_PA), the permission maps shared by every VMCB
 * (15.10.1 I/O, 15.11 MSR), and the back end's ops table.
 *
 * Detection (CPUID 8000_0001/8000_000A, VM_CR.SVMDIS) is in vmm/svm/probe.c;
 * this runs only when it found SVM with nested paging.
 */
#include "vmm/svm/svm.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/page.h"
#include "vmm/core/percpu.h"
#include "vmm/msr.h"

#define MSR_VM_HSAVE_PA 0xc0010117
#define IOPM_ORDER 2   /* 12 KiB used of 16 KiB (APM 15.10.1) */
#define MSRPM_ORDER 1  /* 8 KiB (APM 15.11) */

uint64_t svm_iopm_pa, svm_msrpm_pa;

/*
 * MSRs the guest reads and writes directly: their guest values live in
 * the VMCB and VMLOAD/VMSAVE switch them (APM 15.5.2).
 */
static const uint32_t msr_passthrough[] = {
	0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, /* STAR LSTAR CSTAR SFMASK */
	0xc0000100, 0xc0000101, 0xc0000102,             /* FS_BASE GS_BASE KERNEL_GS_BASE */
	0x174, 0x175, 0x176,                            /* SYSENTER_CS/ESP/EIP */
};

/* Clears both intercept bits of one MSR (APM Table 15-9: 2 bits per MSR). */
static void msrpm_pass(uint8_t *pm, uint32_t msr)
{
	uint32_t base = msr < 0x2000 ? 0 : msr >= 0xc0010000 ? 0x1000 : 0x800;
	uint32_t bit = (msr & 0x1fff) * 2;
	pm[base + bit / 8] &= (uint8_t)~(3u << (bit % 8));
}

static int svm_maps_init(void)
{
	if (svm_iopm_pa)
		return 0;
	uint64_t io = page_alloc(IOPM_ORDER, PAGE_HAKO);
	uint64_t msr = page_alloc(MSRPM_ORDER, PAGE_HAKO);
	if (!io || !msr)
		return -ENOMEM; /* boot-time, panics the caller's way */
	memset((void *)io, 0xff, PAGE_SIZE << IOPM_ORDER);
	memset((void *)msr, 0xff, PAGE_SIZE << MSRPM_ORDER);
	for (unsigned i = 0; i < sizeof(msr_passthrough) / sizeof(msr_passthrough[0]); i++)
		msrpm_pass((uint8_t *)msr, msr_passthrough[i]);
	uint32_t owned[MSR_GUEST_OWNED_MAX];
	for (unsigned i = 0, n = msr_guest_owned(owned, MSR_GUEST_OWNED_MAX); i < n; i++)
		msrpm_pass((uint8_t *)msr, owned[i]);
	svm_msrpm_pa = msr;
	svm_iopm_pa = io;
	return 0;
}

struct svm_cpu *svm_this_cpu(void)
{
	return this_cpu()->vmm;
}

/*
 * Enables SVM on the calling core: EFER.SVME and a host save area
 * (APM 15.4, 15.30.4). Idempotent. 0 or -ENOMEM.
 */
int svm_cpu_enable(void)
{
	struct percpu *c = this_cpu();
	if (c->vmm)
		return 0;
	int err = svm_maps_init();
	if (err)
		return err;
	struct svm_cpu *s = (struct svm_cpu *)page_alloc(0, PAGE_HAKO);
	uint64_t hsave = page_alloc(0, PAGE_HAKO), vmsave = page_alloc(0, PAGE_HAKO);
	if (!s || !hsave || !vmsave)
		return -ENOMEM;
	s->hsave_pa = hsave;
	s->host_vmsave_pa = vmsave;
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, hsave);
	c->vmm = s;
	return 0;
}

const struct vmm_backend svm_backend = {
	.name = "svm",
	.probe = svm_probe,
	.cpu_enable = svm_cpu_enable,
	.vcpu_create = svm_vcpu_create,
	.vcpu_destroy = svm_vcpu_destroy,
	.vcpu_run = svm_vcpu_run,
	.reg_read = svm_reg_read,
	.reg_write = svm_reg_write,
	.seg_read = svm_seg_read,
	.seg_write = svm_seg_write,
	.inject = svm_inject,
	.intr_ready = svm_intr_ready,
	.intr_window = svm_intr_window,
	.npt_create = svm_npt_create,
	.npt_map = svm_npt_map,
	.npt_protect = svm_npt_protect,
	.npt_destroy = svm_npt_destroy,
	.tlb_flush = svm_tlb_flush,
	.debug_set = svm_debug_set,
	.step_tf = 1,
};
