/*
 * vmm/dev/virtio_attach.h - what the shell asks of a guest's virtio disks
 * (vmm/dev/virtio_attach.c); attach/detach are in vmm/dev/devices.h.
 */
#ifndef HAKO_VIRTIO_ATTACH_H
#define HAKO_VIRTIO_ATTACH_H

#include "vmm/blk/blk.h"

struct vm;

/* Counters of disk i (vda = 0): live while running, else from the last run. 0 or -ENOENT. */
int vm_disk_stats(struct vm *vm, unsigned i, struct blk_stats *out);

#endif
