/*
 * vmm/vcpu_fpu.h - a guest's x87/SSE/AVX state and XCR0, switched when
 * its vCPU arrives on and leaves its core (vmm/vcpu_fpu.c).
 */
#ifndef HAKO_VCPU_FPU_H
#define HAKO_VCPU_FPU_H

#include <stdint.h>

struct vcpu;

/* Boot, service core: how this CPU saves the state (XSAVEOPT, XSAVE or FXSAVE). */
void vcpu_fpu_init(void);
/*
 * Service core, after the back end's vcpu_create: a save area for the
 * components v's CPUID offers, holding the state of a processor just
 * out of reset; XCR0 = 1. 0 or -ENOMEM.
 */
int vcpu_fpu_create(struct vcpu *v);
void vcpu_fpu_destroy(struct vcpu *v);
/* On v's core, before its first entry there: loads its XCR0 and its state. */
void vcpu_fpu_arrive(struct vcpu *v);
/*
 * On v's core, when it leaves: saves its state, puts every component in
 * its initial state and XCR0 back to hako's (x87 only), so that nothing
 * of it reaches whoever runs there next.
 */
void vcpu_fpu_leave(struct vcpu *v);
/*
 * A guest's XSETBV, already checked against what its CPUID offers
 * (cr_xsetbv_check): loads it on the core and keeps it. On v's core.
 * 0, or -1 when the CPU has no XSAVE.
 */
int vcpu_fpu_set_xcr0(struct vcpu *v, uint64_t xcr0);
/* One line for `host`: the method, the components and the area size. */
void vcpu_fpu_describe(char *buf, unsigned len);

#endif
