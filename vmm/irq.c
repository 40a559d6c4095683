/*
 * vmm/irq.c - the kernel's side of the local APIC model
 * (vmm/dev/lapic.c is portable): wires each vCPU's model to its guest,
 * and routes interrupt messages - ICR writes and IOAPIC redirection
 * entries - to the guest's vCPUs. Fixed and NMI messages set bits in the
 * target's model, which wakes the vCPU (a kick to its core when it runs
 * elsewhere); INIT and SIPI change the target vCPU's run state (SDM Vol.
 * 3A 9.4.4, 11.6.1).
 */
#include "vmm/dev/lapic.h"

#include "vmm/platform.h"
#include "vmm/vm.h"

static void vcpu_ipi(void *ctx, const struct vlapic_ipi *m)
{
	struct vcpu *v = ctx;
	vlapic_route(v->vm, m, v);
}

/* A level-triggered EOI reaches the IOAPIC (SDM 11.8.5). */
static void vcpu_eoi(void *ctx, uint8_t vector)
{
	struct vcpu *v = ctx;
	vioapic_eoi(&v->vm->ioapic, vector);
}

static void vcpu_lapic_wake(void *ctx)
{
	vcpu_wake(ctx);
}

static const struct vlapic_ops vcpu_lapic_ops = { vcpu_ipi, vcpu_eoi, vcpu_lapic_wake };

/* Resets `v`'s local APIC model to power-on state, wired to `v` (own core). */
void vlapic_vcpu_reset(struct vcpu *v, int bsp)
{
	vlapic_reset(&v->lapic, v->id, bsp, &vcpu_lapic_ops, v);
}

static void deliver_one(struct vcpu *t, const struct vlapic_ipi *m)
{
	switch (m->mode) {
	case VLAPIC_FIXED:
	case VLAPIC_LOWEST:
		vlapic_accept(&t->lapic, m->vector, m->level);
		return;
	case VLAPIC_NMI:
		vlapic_nmi(&t->lapic);
		return;
	case VLAPIC_INIT:
		vcpu_signal_init(t);
		return;
	case VLAPIC_SIPI:
		vcpu_signal_sipi(t, m->vector);
		return;
	default:
		LOG_WARN_RL("guest %s: APIC delivery mode %u ignored", t->vm->def.name, m->mode);
		return;
	}
}

/*
 * Delivers `m` to each vCPU of `vm` it selects (vlapic_ipi_accepts);
 * `sender` wrote the ICR, or is 0 for the IOAPIC. Lowest priority to a
 * destination goes to the first vCPU that matches: all of the set have
 * the same priority to hako. Any core.
 */
void vlapic_route(struct vm *vm, const struct vlapic_ipi *m, const struct vcpu *sender)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *t = vm->vcpu[i];
		if (!vlapic_ipi_accepts(&t->lapic, m, t == sender))
			continue;
		deliver_one(t, m);
		if (m->mode == VLAPIC_LOWEST && m->shorthand == VLAPIC_DEST)
			return; /* one of the set is enough */
	}
}
