/*
 * vmm/vmx/share.c - what a shared core (vmm/sched.c) needs of the VMX
 * back end: making one of several vCPUs' VMCS current, letting a vCPU go
 * for good, and the VMX-preemption timer that ends a slice. SVM needs
 * none of this: VMRUN takes the VMCB's address each time, VMLOAD and
 * VMSAVE switch the MSRs below, and the host's LAPIC timer ends a slice.
 * The same timer is, on any core, the kick's fallback for a guest
 * entered with interrupts off (vmx_kick_fallback, at the end).
 *
 * A core keeps one current VMCS (SDM Vol. 3C 25.11.1); any number may be
 * active on it. Switching vCPUs is VMPTRLD of the next one's VMCS: it
 * stays launched, so VMRESUME goes on (25.11.3). STAR, LSTAR, CSTAR,
 * SFMASK and KERNEL_GS_BASE are the guest's while it has the core (the
 * MSR bitmap passes them, vmx.c) and the VMCS does not hold them: they
 * are saved and loaded here, so no guest sees another's.
 */
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/x86.h"
#include "vmm/core/percpu.h"
#include "vmm/core/time.h"
#include "vmm/vm.h"
#include "vmm/vmx/vmx.h"

static const uint32_t guest_msrs[5] = { 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084,
					0xc0000102 }; /* STAR LSTAR CSTAR SFMASK KERNEL_GS_BASE */

static void msrs_save(struct vmx_vcpu *s)
{
	for (unsigned i = 0; i < 5; i++)
		s->guest_msr[i] = rdmsr(guest_msrs[i]);
}

static void msrs_load(const struct vmx_vcpu *s)
{
	for (unsigned i = 0; i < 5; i++)
		wrmsr(guest_msrs[i], s->guest_msr[i]);
}

/*
 * On v's core, before anything else touches v there: saves the guest
 * MSRs of the vCPU whose VMCS is current, then makes v's current and
 * loads its MSRs. A VMCS not loaded yet is set up by its first run
 * (vmx_vmcs_load, which starts the MSRs at zero).
 */
void vmx_vcpu_switch_in(struct vcpu *v)
{
	struct vmx_cpu *x = vmx_this_cpu();
	struct vmx_vcpu *s = vmx_vcpu(v);
	if (x->current == v)
		return;
	if (x->current)
		msrs_save(vmx_vcpu(x->current));
	x->current = 0;
	if (!s->loaded)
		return;
	if (vmx_ptrld(s->vmcs_pa))
		s->loaded = 0; /* its next run loads it afresh and says so if that fails */
	else
		x->current = v;
	msrs_load(s);
}

/*
 * On v's core, its last act there: VMCLEAR writes the VMCS back to memory
 * and makes it inactive (25.11.3), so the service core may free it
 * without asking this core, which is busy running others.
 */
void vmx_vcpu_unload(struct vcpu *v)
{
	struct vmx_cpu *x = vmx_this_cpu();
	struct vmx_vcpu *s = vmx_vcpu(v);
	if (x->current == v)
		x->current = 0;
	if (s->active && !vmx_clear(s->vmcs_pa)) {
		s->active = 0;
		s->loaded = 0;
	}
}

/*
 * The VMX-preemption timer (SDM 26.5.1): loaded at every entry, it counts
 * down at the TSC's rate divided by 2^IA32_VMX_MISC[4:0] while the guest
 * runs and makes it exit (basic reason 52) at zero. `tsc_ticks` 0 turns
 * it off. -ENOTSUP when the processor has none or v's VMCS is not
 * current yet (its first entry): the caller uses the LAPIC timer.
 */
int vmx_preempt_arm(struct vcpu *v, uint64_t tsc_ticks)
{
	struct vmx_vcpu *s = vmx_vcpu(v);
	if (!vmx_caps.preempt || !s->loaded || vmx_this_cpu()->current != v)
		return -ENOTSUP;
	uint32_t pin = vmcs_read32(VMCS_PIN_BASED_CTLS);
	if (!tsc_ticks) {
		if (pin & PIN_PREEMPT_TIMER)
			vmcs_write32(VMCS_PIN_BASED_CTLS, pin & ~PIN_PREEMPT_TIMER);
		return 0;
	}
	uint64_t count = tsc_ticks >> vmx_caps.preempt_shift;
	vmcs_write32(VMCS_PREEMPTION_TIMER_VALUE, count > 0xffffffffull ? 0xffffffffu :
		     (uint32_t)count);
	if (!(pin & PIN_PREEMPT_TIMER))
		vmcs_write32(VMCS_PIN_BASED_CTLS, pin | PIN_PREEMPT_TIMER);
	return 0;
}

/*
 * The kick's second way out, for a guest entered with RFLAGS.IF = 0.
 * With external-interrupt exiting a physical interrupt makes the guest
 * exit whatever its IF (SDM 26.2), so hako's kick (VEC_KICK) is enough on
 * a real CPU. Bochs 2.7 masks it instead: its VM entry loads the guest's
 * RFLAGS (setEFlags, then handleCpuContextChange) before it marks the CPU
 * as in VMX non-root operation, so the check that exempts a guest with
 * external-interrupt exiting from IF (handleInterruptMaskChange,
 * bochs/cpu/flag_ctrl_pro.cc) does not apply and the interrupt stays
 * masked until the guest itself sets or clears IF. A guest that loops
 * with IF = 0 and no exits (the probe's `gdb` loop) then never left the
 * guest on `destroy` or a debugger's stop. So an entry with IF = 0 arms
 * the VMX-preemption timer, which nothing masks, to end the run within
 * KICK_FALLBACK_US; an entry with IF = 1 turns it off again on a
 * dedicated core (a shared core's scheduler arms it before every entry,
 * and only a shorter time is kept). On a real CPU it costs an exit per
 * 10 ms of a guest's run with interrupts off and no other exit.
 */
#define KICK_FALLBACK_US 10000

void vmx_kick_fallback(struct vcpu *v)
{
	if (!vmx_caps.preempt)
		return;
	uint32_t pin = vmcs_read32(VMCS_PIN_BASED_CTLS);
	int armed = !!(pin & PIN_PREEMPT_TIMER);
	if (vmcs_readnat(VMCS_GUEST_RFLAGS) & RFLAGS_IF) {
		if (armed && !v->shared)
			vmx_preempt_arm(v, 0);
		return;
	}
	uint64_t ticks = tsc_khz * KICK_FALLBACK_US / 1000;
	if (!armed || vmcs_read32(VMCS_PREEMPTION_TIMER_VALUE) > (ticks >> vmx_caps.preempt_shift))
		vmx_preempt_arm(v, ticks);
}
