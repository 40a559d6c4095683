/*
 * vmm/devices.h - the hook through which per-guest devices that are
 * not part of the fixed platform (virtio-mmio, vmm/virtio_attach.c)
 * are created at start and torn down at every stop.
 *
 * Guest-physical layout of virtio-mmio device i (i < VIRTIO_MMIO_MAX), which the
 * ACPI DSDT (vmm/dev/acpi_tables.c) describes in the order of the
 * definition's disk= keys, then its net= keys:
 *   base VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE, size VIRTIO_MMIO_SIZE,
 *   GSI VIRTIO_MMIO_GSI0 + i, level-triggered, active high.
 */
#ifndef HAKO_DEV_DEVICES_H
#define HAKO_DEV_DEVICES_H

#include "vmm/dev/acpi_tables.h"

struct vm;

/*
 * Starts opening the disks behind the guest's devices (those not open
 * yet), without waiting: vm_disks_ready() says when they are. 0, or -E...
 * with a message for the shell in `err` when one cannot even start (a bad
 * URL). Service core, at start.
 */
int vm_disks_open(struct vm *vm, char *err, unsigned errlen);
/*
 * -EINPROGRESS while disks are opening, 0 once all are open, or the -E...
 * of the first that failed, with its message in `err`. Service core.
 */
int vm_disks_ready(struct vm *vm, char *err, unsigned errlen);
/*
 * Creates the guest's devices over its open disks and registers their
 * MMIO ranges (mmio_register). Service core, before the vCPUs run. 0 or
 * -E... with a message for the shell in `err`.
 */
int vm_devices_attach(struct vm *vm, char *err, unsigned errlen);
/*
 * Tears them down; called on every stop (destroy, crash, power-off,
 * reset) and after a start that failed part-way, so it must accept a
 * guest whose attach did not run or failed, and disks still opening
 * (their opens are abandoned).
 */
void vm_devices_detach(struct vm *vm);
/* How many virtio-mmio devices the guest has (0..VIRTIO_MMIO_MAX). */
int virtio_mmio_count(struct vm *vm);

#endif
