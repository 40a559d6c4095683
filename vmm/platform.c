/*
 * vmm/platform.c - the devices of platform.h on the guest's port bus.
 *
 * Ports: 0x3f8-0x3ff COM1 (IRQ 4), 0x40-0x43 and 0x61 the 8254 timer (no
 * interrupt), 0x70-0x71 CMOS RTC, 0x600 ACPI SLEEP_CONTROL_REG, 0x601
 * SLEEP_STATUS_REG, 0x602 RESET_REG (ACPI 6.4 4.8.3.6-7), 0x64 keyboard
 * controller (command 0xfe pulses reset), 0xcf9 reset control (bit 2:
 * reset the CPU). The models behind them are portable (vmm/dev/); COM1,
 * the RTC and the PIT share the guest's pio_lock because vCPUs and the
 * service core's console reach them concurrently.
 */
#include "vmm/platform.h"

#include "drivers/rtc/cmos.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/time.h"
#include "vmm/dev/acpi_tables.h"
#include "vmm/dev/pit.h"
#include "vmm/dev/rtc.h"
#include "vmm/irq.h"
#include "vmm/portio.h"
#include "vmm/vm.h"

#define COM1_PORT 0x3f8
#define PIT_PORT 0x40
#define PORT61 0x61
#define KBD_CMD_PORT 0x64
#define  KBD_CMD_RESET 0xfe
#define RTC_PORT 0x70
#define RST_CNT_PORT 0xcf9
#define  RST_CNT_RST_CPU 0x04
#define SLP_EN (1u << 5)
#define SLP_TYP(v) (((v) >> 2) & 7)

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

/* ---- COM1: the 16550 model, its IRQ line follows its state ---- */

static void uart_sync_irq(struct vm *vm)
{
	int level = uart_model_irq(&vm->uart);
	if (level == vm->uart_irq_level)
		return;
	vm->uart_irq_level = level;
	vm_irq_set(vm, GUEST_COM1_IRQ, level);
}

static uint32_t com1_read(void *dev, struct vcpu *v, uint16_t offset, unsigned size)
{
	struct vm *vm = dev;
	(void)v, (void)size; /* byte registers; wider reads see the low byte */
	spin_lock(&vm->pio_lock);
	uint8_t val = uart_model_read(&vm->uart, offset);
	uart_sync_irq(vm);
	spin_unlock(&vm->pio_lock);
	return val;
}

static void com1_write(void *dev, struct vcpu *v, uint16_t offset, unsigned size, uint32_t val)
{
	struct vm *vm = dev;
	(void)v, (void)size; /* byte registers */
	spin_lock(&vm->pio_lock);
	uart_model_write(&vm->uart, offset, (uint8_t)val);
	uart_sync_irq(vm);
	spin_unlock(&vm->pio_lock);
}

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

/* ---- CMOS RTC ---- */

static uint32_t rtc_read(void *dev, struct vcpu *v, uint16_t offset, unsigned size)
{
	struct vm *vm = dev;
	(void)v, (void)size; /* byte registers */
	spin_lock(&vm->pio_lock); /* the CMOS index is shared by vCPUs too */
	uint8_t val = vrtc_read(&vm->rtc, offset, now_epoch());
	spin_unlock(&vm->pio_lock);
	return val;
}

static void rtc_write(void *dev, struct vcpu *v, uint16_t offset, unsigned size, uint32_t val)
{
	struct vm *vm = dev;
	(void)v, (void)size; /* byte registers */
	spin_lock(&vm->pio_lock);
	vrtc_write(&vm->rtc, offset, (uint8_t)val);
	spin_unlock(&vm->pio_lock);
}

/* ---- 8254 timer at 0x40-0x43, and port 0x61 (its counter 2 gate) ---- */

static uint32_t pit_read(void *dev, struct vcpu *v, uint16_t offset, unsigned size)
{
	struct vm *vm = dev;
	(void)v, (void)size; /* byte registers */
	spin_lock(&vm->pio_lock);
	uint8_t val = vpit_read(&vm->pit, offset, pit_now());
	spin_unlock(&vm->pio_lock);
	return val;
}

static void pit_write(void *dev, struct vcpu *v, uint16_t offset, unsigned size, uint32_t val)
{
	struct vm *vm = dev;
	(void)v, (void)size; /* byte registers */
	spin_lock(&vm->pio_lock);
	vpit_write(&vm->pit, offset, (uint8_t)val, pit_now());
	spin_unlock(&vm->pio_lock);
}

static uint32_t port61_read(void *dev, struct vcpu *v, uint16_t offset, unsigned size)
{
	struct vm *vm = dev;
	(void)v, (void)offset, (void)size; /* one byte register */
	spin_lock(&vm->pio_lock);
	uint8_t val = vpit_port61_read(&vm->pit, pit_now());
	spin_unlock(&vm->pio_lock);
	return val;
}

static void port61_write(void *dev, struct vcpu *v, uint16_t offset, unsigned size, uint32_t val)
{
	struct vm *vm = dev;
	(void)v, (void)offset, (void)size; /* one byte register */
	spin_lock(&vm->pio_lock);
	vpit_port61_write(&vm->pit, (uint8_t)val, pit_now());
	spin_unlock(&vm->pio_lock);
}

/* ---- reset and power: ACPI registers, 8042 and 0xCF9 ---- */

/* Reads as 0: WAK_STS clear, an 8042 whose input buffer is empty, and so on. */
static uint32_t zero_read(void *dev, struct vcpu *v, uint16_t offset, unsigned size)
{
	(void)dev, (void)v, (void)offset, (void)size; /* write-mostly registers */
	return 0;
}

static void acpi_write(void *dev, struct vcpu *v, uint16_t offset, unsigned size, uint32_t val)
{
	(void)dev, (void)size; /* byte registers */
	uint16_t port = (uint16_t)(GUEST_ACPI_SLEEP_CTL_PORT + offset);
	if (port == GUEST_ACPI_SLEEP_CTL_PORT && (val & SLP_EN) &&
	    SLP_TYP(val) == GUEST_ACPI_SLP_TYP_S5)
		vm_request_power(v, VM_POWER_OFF);
	else if (port == GUEST_ACPI_RESET_PORT && (val & 0xff) == GUEST_ACPI_RESET_VALUE)
		vm_request_power(v, VM_POWER_RESET);
}

static void kbd_write(void *dev, struct vcpu *v, uint16_t offset, unsigned size, uint32_t val)
{
	(void)dev, (void)offset, (void)size; /* the command port */
	if ((val & 0xff) == KBD_CMD_RESET)
		vm_request_power(v, VM_POWER_RESET);
}

static void rst_cnt_write(void *dev, struct vcpu *v, uint16_t offset, unsigned size, uint32_t val)
{
	(void)dev, (void)offset, (void)size; /* one byte register */
	if (val & RST_CNT_RST_CPU)
		vm_request_power(v, VM_POWER_RESET);
}

static const struct portio_ops com1_ops = { com1_read, com1_write };
static const struct portio_ops rtc_ops = { rtc_read, rtc_write };
static const struct portio_ops pit_ops = { pit_read, pit_write };
static const struct portio_ops port61_ops = { port61_read, port61_write };
static const struct portio_ops acpi_ops = { zero_read, acpi_write };
static const struct portio_ops kbd_ops = { zero_read, kbd_write };
static const struct portio_ops rst_cnt_ops = { zero_read, rst_cnt_write };

/* The PC platform's ports beyond COM1. */
static const struct pc_port {
	uint16_t base, len;
	const char *name;
	const struct portio_ops *ops;
} pc_ports[] = {
	{ PIT_PORT, 4, "pit", &pit_ops },
	{ PORT61, 1, "port61", &port61_ops },
	{ KBD_CMD_PORT, 1, "kbd", &kbd_ops },
	{ RTC_PORT, 2, "rtc", &rtc_ops },
	{ GUEST_ACPI_SLEEP_CTL_PORT, 3, "acpi", &acpi_ops },
	{ RST_CNT_PORT, 1, "rst-cnt", &rst_cnt_ops },
};

int platform_attach(struct vm *vm)
{
	vm->uart_irq_level = 0;
	int rc = portio_register(vm, COM1_PORT, 8, "com1", &com1_ops, vm);
	if (rc || vm->platform != VM_PLATFORM_PC)
		return rc;
	vrtc_reset(&vm->rtc);
	vpit_reset(&vm->pit);
	for (unsigned i = 0; i < sizeof(pc_ports) / sizeof(pc_ports[0]) && !rc; i++)
		rc = portio_register(vm, pc_ports[i].base, pc_ports[i].len, pc_ports[i].name,
				     pc_ports[i].ops, vm);
	return rc ? rc : irq_attach(vm);
}
