/*
 * vmm/devices_weak.c - defaults for the device hook of
 * vmm/devices.h while no virtio code is linked in: no devices. The
 * virtio-mmio code (vmm/virtio_attach.c) overrides all three.
 */
#include "vmm/devices.h"

__attribute__((weak)) int vm_devices_attach(struct vm *vm, char *err, unsigned errlen)
{
	(void)vm, (void)err, (void)errlen; /* nothing to attach */
	return 0;
}

__attribute__((weak)) void vm_devices_detach(struct vm *vm)
{
	(void)vm; /* nothing attached */
}

__attribute__((weak)) int virtio_mmio_count(struct vm *vm)
{
	(void)vm; /* no virtio devices */
	return 0;
}
