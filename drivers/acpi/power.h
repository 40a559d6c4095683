/*
 * drivers/acpi/power.h - resetting and powering off the host.
 */
#ifndef HAKO_POWER_H
#define HAKO_POWER_H

#include "drivers/acpi/acpi.h"

/* Tries the FADT reset register, the 8042, port 0xCF9, then a triple fault. */
void platform_reboot(const struct acpi_info *a) __attribute__((noreturn));
/* Enters ACPI S5. Returns -ENOTSUP when the tables give no way to. */
int platform_poweroff(const struct acpi_info *a);

#endif
