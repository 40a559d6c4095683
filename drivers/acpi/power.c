/*
 * drivers/acpi/power.c - host reset and power-off through ACPI (ACPI 6.5
 * 4.8.3.6 reset register, 7.4.2 \_S5 and 16.1.7 SLP_TYP/SLP_EN).
 */
#include "drivers/acpi/power.h"

#include "vmm/core/cpu.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/time.h"

struct acpi_info acpi_host;

#define PM1_SLP_EN (1u << 13)
#define PM1_SLP_TYP_SHIFT 10
#define SLEEP_CTL_SLP_EN (1u << 5)
#define SLEEP_CTL_SLP_TYP_SHIFT 2

static void gas_write(const struct acpi_gas *g, uint32_t v, int width)
{
	if (g->space_id == ACPI_GAS_IO) {
		if (width == 8)
			outb((uint16_t)g->address, (uint8_t)v);
		else
			outw((uint16_t)g->address, (uint16_t)v);
	} else if (g->space_id == ACPI_GAS_MEMORY && g->address) {
		if (width == 8)
			*(volatile uint8_t *)g->address = (uint8_t)v;
		else
			*(volatile uint16_t *)g->address = (uint16_t)v;
	}
}

void acpi_reboot(void)
{
	const struct acpi_info *a = &acpi_host;
	irq_disable();
	if (a->have_reset) {
		gas_write(&a->reset_reg, a->reset_value, 8);
		delay_us(100000);
	}
	outb(0x64, 0xfe); /* 8042: pulse the reset line */
	delay_us(100000);
	outb(0xcf9, 0x06); /* reset control register: full reset */
	delay_us(100000);
	/* Last resort: an empty IDT turns the next exception into a triple fault. */
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) none = { 0, 0 };
	__asm__ volatile("lidt %0; int3" ::"m"(none));
	for (;;)
		cpu_halt();
}

int acpi_poweroff(void)
{
	const struct acpi_info *a = &acpi_host;
	if (!a->have_s5)
		return -ENOTSUP;
	irq_disable();
	if (a->fadt_flags & FADT_HW_REDUCED_ACPI) {
		if (!a->sleep_ctl.address)
			return -ENOTSUP;
		gas_write(&a->sleep_ctl, (a->s5_slp_typ << SLEEP_CTL_SLP_TYP_SHIFT) | SLEEP_CTL_SLP_EN, 8);
	} else {
		if (!a->pm1a_cnt.address)
			return -ENOTSUP;
		gas_write(&a->pm1a_cnt, (a->s5_slp_typ << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN, 16);
	}
	delay_us(1000000);
	return -EIO;
}
