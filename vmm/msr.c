/*
 * vmm/msr.c - the model-specific registers a guest may touch: a table of
 * the few hako implements (TSC, APIC base, EFER, PAT, MTRR default type
 * and capabilities, IA32_MISC_ENABLE on Intel, IA32_ARCH_CAPABILITIES
 * where the CPU has it), the x2APIC range for the PC platform
 * (vmm/irq.c), and #GP for every other (SDM Vol. 2B "RDMSR", "WRMSR").
 * The MSR bitmaps make every access exit (vmm/svm/svm.c, vmm/vmx/vmx.c)
 * except the few the hardware switches itself and the speculation
 * controls the guest owns while it has its core (msr_guest_owned(),
 * vmm/spec.h).
 */
#include "vmm/msr.h"

#include "vmm/backend.h"
#include "vmm/core/cpu.h"
#include "vmm/core/lib/string.h"
#include "vmm/irq.h"
#include "vmm/spec.h"
#include "vmm/vm.h"

#define MSR_IA32_TSC 0x10
#define  APIC_BASE_DEFAULT 0xfee00000ull
#define  APIC_BASE_ENABLE (1ull << 11)
#define  APIC_BASE_BSP (1ull << 8)
#define MSR_IA32_PAT 0x277
#define  PAT_RESERVED 0xf8f8f8f8f8f8f8f8ull /* each entry's bits 7:3 (SDM 11.12.2) */
#define MSR_MTRRCAP 0xfe
#define MSR_AMD_INT_PENDING 0xc0010055
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_IA32_MISC_ENABLE 0x1a0
#define  MISC_ENABLE_FAST_STRING (1ull << 0)
#define  MISC_ENABLE_BTS_UNAVAIL (1ull << 11)
#define  MISC_ENABLE_PEBS_UNAVAIL (1ull << 12)
#define  MISC_ENABLE_GUEST (MISC_ENABLE_FAST_STRING | MISC_ENABLE_BTS_UNAVAIL | \
			    MISC_ENABLE_PEBS_UNAVAIL)
#define  APIC_BASE_EXTD (1ull << 10)

struct msr_entry {
	uint32_t index;
	int (*read)(struct vcpu *v, uint64_t *val);
	int (*write)(struct vcpu *v, uint64_t val); /* nonzero: inject #GP */
};

static int msr_tsc_read(struct vcpu *v, uint64_t *val)
{
	(void)v; /* the TSC is not offset */
	*val = rdtsc();
	return 0;
}

static int msr_apic_base_read(struct vcpu *v, uint64_t *val)
{
	*val = v->lapic.apic_base;
	return 0;
}

/*
 * Only the enable bits may change; the base stays at 0xfee00000 (hako
 * does not move the APIC page), x2APIC only from enabled xAPIC (SDM
 * 11.12.5). Guests without the PC platform keep the fixed value.
 */
static int msr_apic_base_write(struct vcpu *v, uint64_t val)
{
	uint64_t fixed = APIC_BASE_DEFAULT | APIC_BASE_BSP;
	if (v->vm->platform != VM_PLATFORM_PC)
		return val == v->lapic.apic_base ? 0 : -1;
	if ((val & ~(fixed | APIC_BASE_ENABLE | APIC_BASE_EXTD)) ||
	    (val & fixed) != (v->lapic.apic_base & fixed))
		return -1;
	if ((val & APIC_BASE_EXTD) && !(val & APIC_BASE_ENABLE))
		return -1;
	v->lapic.apic_base = val;
	return 0;
}

static int msr_pat_read(struct vcpu *v, uint64_t *val)
{
	*val = v->msr_pat;
	return 0;
}

/*
 * Kept, not applied: guest memory types do not matter to hako's
 * correctness (a gap on real hardware, where VMCB g_pat/VMCS guest PAT
 * would carry it).
 */
static int msr_pat_write(struct vcpu *v, uint64_t val)
{
	if (val & PAT_RESERVED)
		return -1;
	v->msr_pat = val;
	return 0;
}

/* No variable or fixed MTRRs (MTRRCAP = 0); the default type is kept. */
static int msr_mtrrcap_read(struct vcpu *v, uint64_t *val)
{
	(void)v; /* the same for every vCPU */
	*val = 0;
	return 0;
}

/* AMD "interrupt pending message" (C1E, BKDG family 10h): no C1E here. */
static int msr_zero_read(struct vcpu *v, uint64_t *val)
{
	(void)v; /* the same for every vCPU */
	*val = 0;
	return 0;
}

static int msr_mtrr_def_read(struct vcpu *v, uint64_t *val)
{
	*val = v->msr_mtrr_def_type;
	return 0;
}

static int msr_mtrr_def_write(struct vcpu *v, uint64_t val)
{
	if (val & ~0xcffull)
		return -1;
	v->msr_mtrr_def_type = val;
	return 0;
}

/*
 * IA32_MISC_ENABLE exists on Intel processors only (SDM Vol. 4 Table
 * 2-2); Linux reads it early, before it has an IDT (verify_cpu, for the
 * XD-disable bit). The guest sees fast strings on, no BTS, no PEBS, XD
 * not disabled; it may write that value back, nothing else.
 */
static int msr_misc_enable_read(struct vcpu *v, uint64_t *val)
{
	(void)v; /* the same for every vCPU */
	if (strcmp(virt.vendor, "GenuineIntel"))
		return -1;
	*val = MISC_ENABLE_GUEST;
	return 0;
}

static int msr_misc_enable_write(struct vcpu *v, uint64_t val)
{
	uint64_t cur;
	return msr_misc_enable_read(v, &cur) || val != cur ? -1 : 0;
}

static int msr_efer_read(struct vcpu *v, uint64_t *val)
{
	*val = backend->reg_read(v, VREG_EFER);
	return 0;
}

/*
 * SCE and NXE may change; LME only while paging is off (the AP start-up
 * path enters long mode this way; SDM Vol. 3A 10.8.5); LMA is the CPU's.
 */
static int msr_efer_write(struct vcpu *v, uint64_t val)
{
	uint64_t old = backend->reg_read(v, VREG_EFER);
	int paging = !!(backend->reg_read(v, VREG_CR0) & (1ull << 31));
	if ((val & ~(EFER_LME | EFER_LMA | EFER_SCE | EFER_NXE)) ||
	    (paging && (val & EFER_LME) != (old & EFER_LME)))
		return -1;
	backend->reg_write(v, VREG_EFER, (old & EFER_LMA) | (val & (EFER_LME | EFER_SCE | EFER_NXE)));
	return 0;
}

/*
 * The host's processor description, filtered (vmm/spec_policy.c); #GP
 * where CPUID.(7,0):EDX[29] says the CPU has none, as the guest's CPUID
 * says too. Read-only (SDM Vol. 4 Table 2-2).
 */
static int msr_arch_caps_read(struct vcpu *v, uint64_t *val)
{
	(void)v; /* the same for every vCPU */
	if (!spec.arch_caps)
		return -1;
	*val = spec_guest_arch_caps(spec.arch_caps_host);
	return 0;
}

static const struct msr_entry msr_table[] = {
	{ MSR_IA32_TSC, msr_tsc_read, 0 },
	{ MSR_IA32_APIC_BASE, msr_apic_base_read, msr_apic_base_write },
	{ MSR_EFER, msr_efer_read, msr_efer_write },
	{ MSR_IA32_PAT, msr_pat_read, msr_pat_write },
	{ MSR_MTRRCAP, msr_mtrrcap_read, 0 },
	{ MSR_MTRR_DEF_TYPE, msr_mtrr_def_read, msr_mtrr_def_write },
	{ MSR_AMD_INT_PENDING, msr_zero_read, 0 },
	{ MSR_IA32_MISC_ENABLE, msr_misc_enable_read, msr_misc_enable_write },
	{ MSR_IA32_ARCH_CAPABILITIES, msr_arch_caps_read, 0 },
};

static const struct msr_entry *msr_find(uint32_t index)
{
	for (unsigned i = 0; i < sizeof(msr_table) / sizeof(msr_table[0]); i++)
		if (msr_table[i].index == index)
			return &msr_table[i];
	return 0;
}

/* See msr.h. */
unsigned msr_guest_owned(uint32_t *list, unsigned max)
{
	unsigned n = 0;
	if (spec.spec_ctrl && n < max)
		list[n++] = MSR_IA32_SPEC_CTRL;
	if (spec.ibpb && n < max)
		list[n++] = MSR_IA32_PRED_CMD;
	return n;
}

int msr_read(struct vcpu *v, uint32_t index, uint64_t *val)
{
	if (v->vm->platform == VM_PLATFORM_PC && irq_x2apic_msr(index))
		return irq_x2apic_read(v, index, val);
	const struct msr_entry *m = msr_find(index);
	return m && m->read ? m->read(v, val) : -1;
}

int msr_write(struct vcpu *v, uint32_t index, uint64_t val)
{
	if (v->vm->platform == VM_PLATFORM_PC && irq_x2apic_msr(index))
		return irq_x2apic_write(v, index, val);
	const struct msr_entry *m = msr_find(index);
	return m && m->write ? m->write(v, val) : -1;
}
