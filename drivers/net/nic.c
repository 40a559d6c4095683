/*
 * drivers/net/nic.c - the table of NIC drivers and probing.
 */
#include "drivers/net/nic.h"

#include "vmm/core/lib/log.h"

struct nic nics[NIC_MAX];
unsigned nic_count;

/* The drivers hako has; a new driver adds itself here. */
static const struct nic_driver *const nic_drivers[] = {
	&virtio_net_driver,
	&e1000_driver,
};

static void probe_one(struct pci_dev *d)
{
	for (unsigned i = 0; i < sizeof(nic_drivers) / sizeof(nic_drivers[0]); i++) {
		const struct nic_driver *drv = nic_drivers[i];
		if (!drv->match(d))
			continue;
		char addr[16];
		pci_addr_str(d, addr, sizeof(addr));
		struct nic *n = &nics[nic_count];
		int err = drv->probe(d, n);
		if (err) {
			log_warn("%s: %s: probe failed (%d); device left alone", drv->name, addr, err);
			return;
		}
		n->pci = d;
		nic_count++;
		log_info("%s: %s: MAC %02x:%02x:%02x:%02x:%02x:%02x", n->model, addr, n->mac[0],
			 n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
		return;
	}
}

unsigned nic_probe_all(void)
{
	for (unsigned i = 0; i < pci_count && nic_count < NIC_MAX; i++)
		probe_one(&pci_devs[i]);
	return nic_count;
}
