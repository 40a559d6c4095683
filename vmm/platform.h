/*
 * vmm/platform.h - the fixed PC platform hako gives Linux guests
 * (vendor-neutral): local APICs, IOAPIC, COM1 with interrupts, CMOS RTC,
 * the ACPI sleep/reset registers, and the wiring between them and the
 * vCPU loop. Guest-physical layout: vmm/bzimage.c (low memory),
 * vmm/dev/acpi_tables.h (ports, APIC addresses), vmm/devices.h
 * (virtio-mmio).
 */
#ifndef HAKO_DEV_PLATFORM_H
#define HAKO_DEV_PLATFORM_H

#include <stdint.h>

#include "vmm/core/lib/log.h"

struct vm;
struct vcpu;

/* A warning a guest can trigger: at most 5 a second per call site. */
#define LOG_WARN_RL(...)                                                        \
	do {                                                                    \
		static struct log_ratelimit rl_ = LOG_RATELIMIT_INIT(5);        \
		if (log_ratelimit_ok(&rl_))                                     \
			log_warn(__VA_ARGS__);                                  \
	} while (0)

/* What the guest asked for through ACPI or a triple fault (vm->power). */
enum vm_power { VM_POWER_NONE, VM_POWER_OFF, VM_POWER_RESET };

/* Resets the platform devices and registers their MMIO ranges (start). 0 or -E... */
int platform_attach(struct vm *vm);
/* Reads the host RTC once (boot). */
void platform_init(void);

/* Guest ports of the platform (vmm/portio.c). */
uint32_t platform_port_read(struct vm *vm, uint16_t port, unsigned size);
void platform_port_write(struct vcpu *v, uint16_t port, unsigned size, uint32_t val);
int platform_port_claims(uint16_t port);

/* COM1: guest register access and console input, with its IRQ (any core). */
uint8_t platform_uart_read(struct vm *vm, unsigned offset);
void platform_uart_write(struct vm *vm, unsigned offset, uint8_t val);
int platform_uart_input(struct vm *vm, uint8_t c);

/*
 * The vCPU asked to power off or reset the guest: records it, stops
 * every vCPU; the service core finishes it (vm_power_poll in vm.c).
 */
void platform_power(struct vcpu *v, enum vm_power what);

#endif
