/*
 * vmm/vcpu_regs.h - a vCPU's registers for exit handlers (vmm/vcpu_regs.c).
 * Called on the vCPU's own core.
 */
#ifndef HAKO_VCPU_REGS_H
#define HAKO_VCPU_REGS_H

#include <stdint.h>

struct vcpu;
struct exit_info;
struct cpuid_result;

/* Advances RIP past the instruction the exit reported. */
void vcpu_skip_insn(struct vcpu *v, const struct exit_info *e);
/*
 * A general-purpose register by its number in instruction encodings
 * (0 RAX, 1 RCX, 2 RDX, 3 RBX, 4 RSP, ... 15 R15; SDM Vol. 2A Table 2-2).
 */
uint64_t vcpu_gpr_get(struct vcpu *v, unsigned enc);
void vcpu_gpr_set(struct vcpu *v, unsigned enc, uint64_t val);
/*
 * CPUID(leaf, sub) as this guest sees it: the host's answer through
 * cpuid_policy() (vmm/cpuid_policy.c). Any core; on the service core
 * before the first run too (guest CR4 from the back end's copy).
 */
void vcpu_cpuid(struct vcpu *v, uint32_t leaf, uint32_t sub, struct cpuid_result *r);
/* Queues a hardware exception (#GP(0), #UD) for the next entry. */
void vcpu_inject_exception(struct vcpu *v, uint8_t vector, int has_error, uint32_t error);

#endif
