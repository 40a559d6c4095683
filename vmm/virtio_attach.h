/*
 * vmm/virtio_attach.h - what the shell asks of a guest's virtio disks
 * (vmm/virtio_attach.c); attach/detach are in vmm/dev/devices.h.
 */
#ifndef HAKO_VIRTIO_ATTACH_H
#define HAKO_VIRTIO_ATTACH_H

#include "vmm/blk/blk.h"

struct vm;

/* The open device behind disk i (vda = 0), or 0 (boot=disk reads disk 0 at start). */
struct blockdev *vm_disk_dev(struct vm *vm, unsigned i);
/* Counters of disk i (vda = 0) since it was opened. 0, or -ENOENT when it is not open. */
int vm_disk_stats(struct vm *vm, unsigned i, struct blk_stats *out);
/*
 * Closes a stopped guest's disks (they stay open across its runs, so that
 * data written to ram: and esp: disks survives reboots). vm_undefine.
 */
void vm_disks_release(struct vm *vm);
/* Closes the disks a stopped guest's definition no longer names (after `set`). */
void vm_disks_refresh(struct vm *vm);

#endif
