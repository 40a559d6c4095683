/*
 * vmm/core/host.h - what the kernel core keeps of the boot: the loader's
 * hand-off (memory map, the files it read from the stick's \hako\ folder)
 * and when the prompt came up. What the rest of hako learned lives with
 * its owner: the ACPI tables in drivers/acpi (acpi_host), the
 * virtualization back end in vmm/backend.h, hako.cfg in mgmt/cfg.h.
 */
#ifndef HAKO_HOST_H
#define HAKO_HOST_H

#include <stdint.h>

#include "vmm/core/bootinfo.h"

#define HAKO_VERSION "0.1.0"

struct host {
	const struct boot_info *bi;
	uint64_t prompt_us; /* kernel entry to first prompt */
};
extern struct host host;

/* A file from the boot medium's \hako\ folder (names compare case-blind), or 0. */
const struct boot_file *bootfs_find(const char *name);

#endif
