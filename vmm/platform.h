/*
 * vmm/platform.h - the fixed devices hako gives a guest on its port bus:
 * COM1 for every guest, and for a guest with the PC platform (Linux) the
 * rest of a small PC: CMOS RTC, 8254 timer and port 0x61, the ACPI sleep
 * and reset registers, the keyboard controller's and port 0xCF9's reset.
 * Interrupt routing is vmm/irq.c; the guest-physical layout is
 * vmm/dev/acpi_tables.h and vmm/bzimage.c.
 */
#ifndef HAKO_PLATFORM_H
#define HAKO_PLATFORM_H

#include <stdint.h>

struct vm;

/* Reads the host's RTC once (boot). */
void platform_init(void);
/*
 * Resets the platform devices and registers their ports (and, for the PC
 * platform, the interrupt controllers: irq_attach) at start. 0 or -E...
 */
int platform_attach(struct vm *vm);

/* Console input for the guest's COM1 (service core). 0, or -ENOSPC when its FIFO is full. */
int platform_uart_input(struct vm *vm, uint8_t c);

#endif
