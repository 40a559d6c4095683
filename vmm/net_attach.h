/*
 * vmm/net_attach.h - a guest's NICs (vmm/net_attach.c): one virtio-net
 * device per `net=` key, placed after its disks on the virtio-mmio slots
 * (vmm/devices.h), each plugged into hako's switch as a port.
 *
 * The switch lives in net/, a layer above this one, so the VM core cannot
 * call it: net/guest_port.c registers a `struct vm_nic_backend` at boot
 * with vm_nic_set_backend(), and the VM core calls through it at every
 * start and stop. Service core only.
 */
#ifndef HAKO_NET_ATTACH_H
#define HAKO_NET_ATTACH_H

#include <stdint.h>

#include "vmm/dev/virtio_net.h"
#include "vmm/vm_def.h"

struct vm;

/* What the switch needs to know about one guest NIC. */
struct vm_nic_info {
	const char *guest;              /* the guest's name */
	unsigned index;                 /* eth0 = 0 */
	const struct vm_nic *nic;       /* its `net=` key */
	uint16_t vlan;                  /* 0 = untagged */
	uint8_t mac[6];
};

struct vm_nic_backend {
	/*
	 * Plugs the started guest's NIC into the switch; *port is the
	 * backend's handle for detach. Sets the device's link state. 0, or
	 * -E... with a sentence for the shell in err.
	 */
	int (*attach)(const struct vm_nic_info *info, struct virtio_net *dev, void **port,
		      char *err, unsigned errlen);
	/* Unplugs it: no frame reaches or leaves the device afterwards. */
	void (*detach)(void *port);
};

/* Registers the switch's side (once, at boot). */
void vm_nic_set_backend(const struct vm_nic_backend *b);

/*
 * Creates the guest's NICs in `net=` order on virtio-mmio slots
 * first_slot, first_slot + 1, ... and plugs them into the switch. 0 or
 * -E... with a message in err; vm_nics_detach() undoes a partial attach.
 */
int vm_nics_attach(struct vm *vm, unsigned first_slot, char *err, unsigned errlen);
/* Unplugs and removes them; safe for a guest whose attach did not run. */
void vm_nics_detach(struct vm *vm);

#endif
