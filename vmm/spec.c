/*
 * vmm/spec.c - the speculative-execution controls on the cores (policy
 * in vmm/spec.h, decisions in vmm/spec_policy.c): found at boot, used
 * when a vCPU arrives on its core and when it leaves. The L1D flush
 * before VT-x entries is the VMX back end's (vmm/vmx/exit.c).
 */
#include "vmm/spec.h"

#include "vmm/core/cpu.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/percpu.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

struct spec_caps spec;
static uint64_t host_spec_ctrl;        /* hako's own SPEC_CTRL, as the firmware left it */
static uint64_t core_last_run[MAX_CPUS]; /* per core: vm->run_id of the last guest it ran */

static void host_cpuid(void *ctx, uint32_t leaf, uint32_t sub, struct cpuid_result *r)
{
	(void)ctx; /* the CPU itself */
	struct cpuid_regs h = cpuid(leaf, sub);
	*r = (struct cpuid_result){ h.eax, h.ebx, h.ecx, h.edx };
}

/* See spec.h. Boot, service core, before any guest runs. */
void spec_init(void)
{
	int has_arch_caps = cpuid(0, 0).eax >= 7 && (cpuid(7, 0).edx & (1u << 29));
	spec_decide(host_cpuid, 0, has_arch_caps ? rdmsr(MSR_IA32_ARCH_CAPABILITIES) : 0, &spec);
	if (spec.spec_ctrl)
		host_spec_ctrl = rdmsr(MSR_IA32_SPEC_CTRL);
	char line[200];
	spec_describe(line, sizeof(line));
	log_info("spec: %s", line);
	if (spec.l1d == SPEC_L1D_UNAVAILABLE)
		log_warn("spec: this CPU is affected by L1TF and has no L1D_FLUSH: a guest may read "
			 "another's L1 data; update the CPU microcode");
}

/* See spec.h. On v's core, host interrupts on or off. */
void spec_vcpu_arrive(struct vcpu *v)
{
	struct percpu *c = this_cpu();
	if (spec.ibpb && core_last_run[c->index] != v->vm->run_id)
		wrmsr(MSR_IA32_PRED_CMD, PRED_CMD_IBPB);
	core_last_run[c->index] = v->vm->run_id;
	if (spec.spec_ctrl)
		wrmsr(MSR_IA32_SPEC_CTRL, v->spec_ctrl);
}

/* See spec.h. The guest wrote SPEC_CTRL directly (the bitmaps pass it): read it back. */
void spec_vcpu_leave(struct vcpu *v)
{
	if (!spec.spec_ctrl)
		return;
	v->spec_ctrl = rdmsr(MSR_IA32_SPEC_CTRL);
	wrmsr(MSR_IA32_SPEC_CTRL, host_spec_ctrl);
}

/* See spec.h: what `host` and the boot log say. */
void spec_describe(char *buf, unsigned len)
{
	static const char *const l1d[] = {
		[SPEC_L1D_NOT_NEEDED] = "not needed",
		[SPEC_L1D_FLUSH] = "on",
		[SPEC_L1D_UNAVAILABLE] = "needed but unavailable",
	};
	fmt_snprintf(buf, len, "IBPB between guests %s; L1D flush at VM entry %s; "
		     "SPEC_CTRL %s; ARCH_CAPABILITIES %s",
		     spec.ibpb ? "on" : "unavailable", l1d[spec.l1d],
		     spec.spec_ctrl ? "the guest's own" : "absent",
		     spec.arch_caps ? "filtered" : "absent");
}
