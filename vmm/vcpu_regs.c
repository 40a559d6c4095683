/*
 * vmm/vcpu_regs.c - a vCPU's registers as exit handlers need them: by
 * their number in instruction encodings, RIP past an emulated
 * instruction, exceptions to inject; and CPUID as the guest sees it.
 * The state itself lives in
 * struct guest_regs and in the back end's VMCB/VMCS (vmm/vcpu.h).
 */
#include "vmm/vcpu_regs.h"

#include "vmm/backend.h"
#include "vmm/core/time.h"
#include "vmm/cpuid_policy.h"
#include "vmm/vcpu.h"
#include "vmm/vcpu_signal.h"
#include "vmm/vm.h"

void vcpu_skip_insn(struct vcpu *v, const struct exit_info *e)
{
	backend->reg_write(v, VREG_RIP, e->rip + e->insn_len);
}

/* GPR number in instruction encodings (SDM Vol. 2A Table 2-2) -> hako's slot. */
static uint64_t *gpr_slot(struct vcpu *v, unsigned enc)
{
	struct guest_regs *r = &v->regs;
	uint64_t *const map[16] = { &r->rax, &r->rcx, &r->rdx, &r->rbx, 0, &r->rbp, &r->rsi,
				    &r->rdi, &r->r8, &r->r9, &r->r10, &r->r11, &r->r12,
				    &r->r13, &r->r14, &r->r15 };
	return map[enc & 15];
}

uint64_t vcpu_gpr_get(struct vcpu *v, unsigned enc)
{
	return (enc & 15) == 4 ? backend->reg_read(v, VREG_RSP) : *gpr_slot(v, enc);
}

void vcpu_gpr_set(struct vcpu *v, unsigned enc, uint64_t val)
{
	if ((enc & 15) == 4)
		backend->reg_write(v, VREG_RSP, val);
	else
		*gpr_slot(v, enc) = val;
}

void vcpu_inject_exception(struct vcpu *v, uint8_t vector, int has_error, uint32_t error)
{
	const struct vevent ev = { .type = VEVENT_EXCEPTION, .vector = vector,
				   .has_error = (uint8_t)!!has_error, .error = error };
	if (backend->inject(v, &ev))
		vcpu_fail(v, &v->last_exit, "exception %u while another event is pending", vector);
}

static void host_cpuid(void *ctx, uint32_t leaf, uint32_t sub, struct cpuid_result *r)
{
	(void)ctx; /* the CPU itself */
	struct cpuid_regs h = cpuid(leaf, sub);
	*r = (struct cpuid_result){ h.eax, h.ebx, h.ecx, h.edx };
}

/* See vcpu_regs.h. */
void vcpu_cpuid(struct vcpu *v, uint32_t leaf, uint32_t sub, struct cpuid_result *r)
{
	const struct cpuid_ctx c = { (uint32_t)tsc_khz, host_cpuid, 0, v->lapic.id,
				     v->vm->platform == VM_PLATFORM_PC,
				     !!(backend->reg_read(v, VREG_CR4) & CR4_OSXSAVE) };
	cpuid_policy(&c, leaf, sub, r);
}
