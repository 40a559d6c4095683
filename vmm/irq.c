/*
 * vmm/irq.c - the kernel's side of the guest's interrupt controllers (see
 * irq.h): the local APIC and IOAPIC models are portable (vmm/dev/); this
 * file wires them to the guest's vCPUs, its MMIO bus and each other.
 * Fixed and NMI messages set bits in the target's model, which wakes the
 * vCPU; INIT and SIPI change the target vCPU's run state (SDM Vol. 3A
 * 9.4.4, 11.6.1); a level-triggered EOI reaches the IOAPIC (11.8.5).
 */
#include "vmm/irq.h"

#include "vmm/core/cpu.h"
#include "vmm/core/lib/log.h"
#include "vmm/dev/acpi_tables.h"
#include "vmm/dev/ioapic.h"
#include "vmm/dev/lapic.h"
#include "vmm/mmio.h"
#include "vmm/vm.h"

static void route(struct vm *vm, const struct vlapic_ipi *m, const struct vcpu *sender);

/* ---- each vCPU's local APIC ---- */

static void vcpu_ipi(void *ctx, const struct vlapic_ipi *m)
{
	struct vcpu *v = ctx;
	route(v->vm, m, v);
}

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

void irq_vcpu_reset(struct vcpu *v, int bsp)
{
	vlapic_reset(&v->lapic, v->id, bsp, &vcpu_lapic_ops, v);
}

/* The xAPIC page: the model takes the current TSC for its timer. */
static uint64_t lapic_page_read(void *dev, uint64_t offset, unsigned size)
{
	return vlapic_mmio_read(dev, offset, size, rdtsc());
}

static void lapic_page_write(void *dev, uint64_t offset, unsigned size, uint64_t val)
{
	vlapic_mmio_write(dev, offset, size, val, rdtsc());
}

static void *lapic_of(struct vcpu *v)
{
	return &v->lapic;
}

static const struct mmio_ops lapic_page_ops = { lapic_page_read, lapic_page_write };

int irq_x2apic_msr(uint32_t msr)
{
	return vlapic_msr_is(msr);
}

int irq_x2apic_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	return vlapic_msr_read(&v->lapic, msr, val, rdtsc());
}

int irq_x2apic_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	return vlapic_msr_write(&v->lapic, msr, val, rdtsc());
}

/* ---- routing messages to vCPUs ---- */

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
 * the same priority to hako.
 */
static void route(struct vm *vm, const struct vlapic_ipi *m, const struct vcpu *sender)
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

/* ---- the IOAPIC ---- */

static void ioapic_deliver(void *ctx, const struct vioapic_msg *m)
{
	const struct vlapic_ipi ipi = { m->dest, m->logical, m->mode, m->vector, m->level,
					VLAPIC_DEST };
	route(ctx, &ipi, 0);
}

static const struct mmio_ops ioapic_ops = { vioapic_mmio_read, vioapic_mmio_write };

int irq_attach(struct vm *vm)
{
	vioapic_reset(&vm->ioapic, ioapic_deliver, vm);
	int rc = mmio_register(vm, GUEST_IOAPIC_BASE, 0x1000, &ioapic_ops, &vm->ioapic);
	if (!rc)
		rc = mmio_register_vcpu(vm, GUEST_LAPIC_BASE, 0x1000, &lapic_page_ops, lapic_of);
	return rc;
}

/*
 * Only a guest with the PC platform has an IOAPIC (irq_attach gave it its
 * delivery callback); the test guests' devices raise no interrupts, they
 * poll. Without this check a virtio completion for such a guest called
 * through the IOAPIC's empty callback and took the host down.
 */
void vm_irq_set(struct vm *vm, unsigned gsi, int level)
{
	if (vm->platform == VM_PLATFORM_PC)
		vioapic_set(&vm->ioapic, gsi, level);
}

void vm_irq_pulse(struct vm *vm, unsigned gsi)
{
	vm_irq_set(vm, gsi, 1);
	vm_irq_set(vm, gsi, 0);
}
