/*
 * vmm/vcpu_signal.h - asking a vCPU to act (vmm/vcpu_signal.c).
 */
#ifndef HAKO_VCPU_SIGNAL_H
#define HAKO_VCPU_SIGNAL_H

#include <stdint.h>

struct vcpu;
struct exit_info;

/* What the guest asked for through ACPI, a reset port or a triple fault (vm->power). */
enum vm_power { VM_POWER_NONE, VM_POWER_OFF, VM_POWER_RESET };

/*
 * Ends the guest: logs `why`, the exit kind, guest RIP and registers,
 * marks the guest crashed, and asks its other vCPUs to stop. The service
 * core frees its cores and memory (vm_reap). Called on the vCPU's core.
 */
void vcpu_fail(struct vcpu *v, const struct exit_info *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Makes `v` look at its pending events soon: an IPI to its core when it
 * is another core's (it exits the guest or leaves HLT). Any core.
 */
void vcpu_wake(struct vcpu *v);
/* INIT and SIPI from another vCPU's local APIC (SDM Vol. 3A 9.4.4). Any core. */
void vcpu_signal_init(struct vcpu *v);
void vcpu_signal_sipi(struct vcpu *v, uint8_t vector);

/*
 * A vCPU of `v`'s guest asked to power off or reset it: records it and
 * stops every vCPU; the service core finishes it (vm_power_poll). Any core.
 */
void vm_request_power(struct vcpu *v, enum vm_power what);

#endif
