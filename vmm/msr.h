/*
 * vmm/msr.h - a guest's RDMSR and WRMSR, carried out (vmm/msr.c).
 */
#ifndef HAKO_MSR_H
#define HAKO_MSR_H

#include <stdint.h>

#define MSR_GUEST_OWNED_MAX 4

struct vcpu;

/*
 * MSRs the guest reads and writes directly, without exits, where the CPU
 * has them: IA32_SPEC_CTRL (switched when its vCPU arrives and leaves,
 * vmm/spec.c) and IA32_PRED_CMD (a command). The back ends clear their
 * bitmap bits for these, once, after spec_init(). Fills list, returns how
 * many (at most max).
 */
unsigned msr_guest_owned(uint32_t *list, unsigned max);

/* 0 with *val, or -1: the guest gets #GP(0) (an MSR it may not read). */
int msr_read(struct vcpu *v, uint32_t index, uint64_t *val);
/* 0, or -1: #GP(0) (an MSR it may not write, or a value it may not hold). */
int msr_write(struct vcpu *v, uint32_t index, uint64_t val);

#endif
