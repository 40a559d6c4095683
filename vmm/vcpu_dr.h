/*
 * vmm/vcpu_dr.h - a guest's DR0-DR3 and DR6, switched when its vCPU
 * arrives on and leaves its core (vmm/vcpu_dr.c).
 */
#ifndef HAKO_VCPU_DR_H
#define HAKO_VCPU_DR_H

#include <stdint.h>

struct vcpu;

/* What a vCPU keeps of them while it is off its core (struct vcpu.dr). */
struct vcpu_dr {
	uint64_t dr[4];
	uint64_t dr6;
	int saved;               /* 0: never left a core; it starts from reset values */
};

/* On v's core, before its first entry there: loads its DR0-DR3 and DR6. */
void vcpu_dr_arrive(struct vcpu *v);
/*
 * On v's core, when it leaves: keeps its DR0-DR3 and DR6, then puts the
 * core's back to their reset values so that the next vCPU there, of this
 * guest or another, finds nothing of it.
 */
void vcpu_dr_leave(struct vcpu *v);

#endif
