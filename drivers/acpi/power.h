/*
 * drivers/acpi/power.h - the machine's ACPI facts, and resetting
 * and powering off the host.
 */
#ifndef HAKO_POWER_H
#define HAKO_POWER_H

#include "drivers/acpi/acpi.h"

/* The machine's ACPI tables as boot parsed them (all zero without an RSDP). */
extern struct acpi_info acpi_host;

/* Tries the FADT reset register, the 8042, port 0xCF9, then a triple fault. */
void acpi_reboot(void) __attribute__((noreturn));
/* Enters ACPI S5. Returns -ENOTSUP when the tables give no way to. */
int acpi_poweroff(void);

#endif
