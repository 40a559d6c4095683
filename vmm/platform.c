/*
 * vmm/platform.c - wiring of the platform devices of platform.h.
 *
 * Ports: 0x3f8-0x3ff COM1 (IRQ 4), 0x40-0x43 and 0x61 the 8254 timer
 * (no interrupt), 0x70-0x71 CMOS RTC, 0x600 ACPI
 * SLEEP_CONTROL_REG, 0x601 SLEEP_STATUS_REG, 0x602 RESET_REG (ACPI 6.4
 * 4.8.3.6-7), 0x64 keyboard controller (command 0xfe pulses reset), 0xcf9
 * reset control (bits 1-2 = 0x6: hard reset). MMIO: IOAPIC at
 * 0xfec00000; the local APIC page at 0xfee00000 is handled per vCPU in
 * vmm/mmio.c.
 */
#include "vmm/platform.h"

#include "drivers/rtc/cmos.h"
#include "vmm/core/time.h"
#include "vmm/dev/acpi_tables.h"
#include "vmm/dev/pit.h"
#include "vmm/dev/rtc.h"
#include "vmm/irq.h"
#include "vmm/mmio.h"
#include "vmm/vm.h"

#define SLP_EN (1u << 5)
#define SLP_TYP(v) (((v) >> 2) & 7)
#define KBD_CMD_PORT 0x64
#define  KBD_CMD_RESET 0xfe
#define RST_CNT_PORT 0xcf9
#define  RST_CNT_RST_CPU 0x04
#define RTC_PORT 0x70
#define PIT_PORT 0x40
#define PORT61 0x61

static uint64_t boot_epoch, boot_epoch_us;

void platform_init(void)
{
	boot_epoch = cmos_read_epoch();
	boot_epoch_us = time_us();
}

static uint64_t now_epoch(void)
{
	return boot_epoch + (time_us() - boot_epoch_us) / 1000000;
}

/* PIT input clocks (1.193182 MHz) since hako started, from the TSC. */
static uint64_t pit_now(void)
{
	uint64_t tsc = rdtsc() - tsc_boot;
	uint64_t ms = tsc / tsc_khz, rem = tsc % tsc_khz;
	return (ms * PIT_HZ + rem * PIT_HZ / tsc_khz) / 1000;
}

static int is_pit_port(uint16_t port)
{
	return (port >= PIT_PORT && port < PIT_PORT + 4) || port == PORT61;
}

/* The IOAPIC's messages go to the guest's local APICs. */
static void ioapic_deliver(void *ctx, const struct vioapic_msg *m)
{
	const struct vlapic_ipi ipi = { m->dest, m->logical, m->mode, m->vector, m->level,
					VLAPIC_DEST };
	vlapic_route(ctx, &ipi, 0);
}

static const struct mmio_ops ioapic_ops = { vioapic_mmio_read, vioapic_mmio_write };

int platform_attach(struct vm *vm)
{
	vioapic_reset(&vm->ioapic, ioapic_deliver, vm);
	vrtc_reset(&vm->rtc);
	vpit_reset(&vm->pit);
	vm->uart_irq_level = 0;
	return mmio_register(vm, GUEST_IOAPIC_BASE, 0x1000, &ioapic_ops, &vm->ioapic);
}

/*
 * Only a guest with the PC platform has an IOAPIC (platform_attach gave it
 * its delivery callback); the test guests' devices raise no interrupts,
 * they poll. Without this a virtio completion for such a guest called
 * through the IOAPIC's empty callback and took the host down.
 */
void vm_irq_set(struct vm *vm, unsigned gsi, int level)
{
	if (vm->linux_guest)
		vioapic_set(&vm->ioapic, gsi, level);
}

void vm_irq_pulse(struct vm *vm, unsigned gsi)
{
	vm_irq_set(vm, gsi, 1);
	vm_irq_set(vm, gsi, 0);
}

/* ---- COM1 ---- */

static void uart_sync_irq(struct vm *vm)
{
	int level = uart_model_irq(&vm->uart);
	if (level == vm->uart_irq_level)
		return;
	vm->uart_irq_level = level;
	vm_irq_set(vm, GUEST_COM1_IRQ, level);
}

uint8_t platform_uart_read(struct vm *vm, unsigned offset)
{
	spin_lock(&vm->pio_lock);
	uint8_t v = uart_model_read(&vm->uart, offset);
	uart_sync_irq(vm);
	spin_unlock(&vm->pio_lock);
	return v;
}

void platform_uart_write(struct vm *vm, unsigned offset, uint8_t val)
{
	spin_lock(&vm->pio_lock);
	uart_model_write(&vm->uart, offset, val);
	uart_sync_irq(vm);
	spin_unlock(&vm->pio_lock);
}

/* Console input (service core). 0, or -ENOSPC when the receive FIFO is full. */
int platform_uart_input(struct vm *vm, uint8_t c)
{
	spin_lock(&vm->pio_lock);
	int rc = uart_model_input(&vm->uart, c);
	uart_sync_irq(vm);
	spin_unlock(&vm->pio_lock);
	if (!rc && vm->nvcpus)
		vcpu_wake(vm->vcpu[0]); /* a polling guest idling in HLT */
	return rc;
}

/* ---- ports ---- */

int platform_port_claims(uint16_t port)
{
	return is_pit_port(port) || port == RTC_PORT || port == RTC_PORT + 1 || port == GUEST_ACPI_SLEEP_CTL_PORT ||
	       port == GUEST_ACPI_SLEEP_STS_PORT || port == GUEST_ACPI_RESET_PORT ||
	       port == KBD_CMD_PORT || port == RST_CNT_PORT;
}

uint32_t platform_port_read(struct vm *vm, uint16_t port, unsigned size)
{
	(void)size; /* byte registers */
	if (port == RTC_PORT || port == RTC_PORT + 1) {
		spin_lock(&vm->pio_lock); /* the CMOS index is shared by vCPUs too */
		uint8_t v = vrtc_read(&vm->rtc, port - RTC_PORT, now_epoch());
		spin_unlock(&vm->pio_lock);
		return v;
	}
	if (is_pit_port(port)) {
		spin_lock(&vm->pio_lock);
		uint8_t v = port == PORT61 ? vpit_port61_read(&vm->pit, pit_now())
					   : vpit_read(&vm->pit, port - PIT_PORT, pit_now());
		spin_unlock(&vm->pio_lock);
		return v;
	}
	if (port == KBD_CMD_PORT)
		return 0; /* status: input buffer empty, so a reset command can be sent */
	return 0;     /* sleep status (WAK_STS clear), sleep control, reset, 0xcf9 */
}

void platform_port_write(struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
	struct vm *vm = v->vm;
	(void)size; /* byte registers */
	if (port == RTC_PORT || port == RTC_PORT + 1) {
		spin_lock(&vm->pio_lock);
		vrtc_write(&vm->rtc, port - RTC_PORT, (uint8_t)val);
		spin_unlock(&vm->pio_lock);
	} else if (is_pit_port(port)) {
		spin_lock(&vm->pio_lock);
		if (port == PORT61)
			vpit_port61_write(&vm->pit, (uint8_t)val, pit_now());
		else
			vpit_write(&vm->pit, port - PIT_PORT, (uint8_t)val, pit_now());
		spin_unlock(&vm->pio_lock);
	} else if (port == GUEST_ACPI_SLEEP_CTL_PORT) {
		if ((val & SLP_EN) && SLP_TYP(val) == GUEST_ACPI_SLP_TYP_S5)
			platform_power(v, VM_POWER_OFF);
	} else if (port == GUEST_ACPI_RESET_PORT) {
		if ((val & 0xff) == GUEST_ACPI_RESET_VALUE)
			platform_power(v, VM_POWER_RESET);
	} else if (port == KBD_CMD_PORT) {
		if ((val & 0xff) == KBD_CMD_RESET)
			platform_power(v, VM_POWER_RESET);
	} else if (port == RST_CNT_PORT) {
		if (val & RST_CNT_RST_CPU)
			platform_power(v, VM_POWER_RESET);
	}
}

void platform_power(struct vcpu *v, enum vm_power what)
{
	struct vm *vm = v->vm;
	spin_lock(&vm->lock);
	if (vm->power == VM_POWER_NONE)
		vm->power = what;
	vm->stop_request = 1;
	spin_unlock(&vm->lock);
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if (vm->vcpu[i] != v)
			vcpu_wake(vm->vcpu[i]);
}
