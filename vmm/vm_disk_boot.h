/*
 * vmm/vm_disk_boot.h - `boot=disk` at a guest's start (vm_disk_boot.c):
 * read what its first disk boots, asynchronously, and load it.
 */
#ifndef HAKO_VM_DISK_BOOT_H
#define HAKO_VM_DISK_BOOT_H

#include "vmm/vm.h"

/* An error line: which guest and disk (its URL masked), then the disk's reason. */
#define VM_DISK_BOOT_ERR_MAX 640

/* Does this definition boot from its disk? boot=disk without kernel= (kernel= wins). */
static inline int vm_boots_disk(const struct vm_def *d) { return d->boot_disk && !d->kernel[0]; }

int vm_disk_boot_begin(struct vm *vm, char *err, unsigned len);
int vm_disk_boot_poll(struct vm *vm, char *err, unsigned len);
int vm_disk_boot_reading(const struct vm *vm);
void vm_disk_boot_cancel(struct vm *vm);

#endif
