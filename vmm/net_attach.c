/*
 * vmm/net_attach.c - a guest's virtio-net NICs (see net_attach.h): at
 * start, one device per `net=` key on the virtio-mmio slots after the
 * disks, its MAC from the definition (vm_def_nic_mac), its interrupt the
 * slot's GSI; each is then handed to the switch through the backend that
 * net/ registered. At every stop the switch lets go of them first, then
 * they leave the guest's MMIO bus with everything else.
 *
 * The devices' memory is static (one set per guest slot): a NIC holds no
 * buffers of its own, its frames live in the guest's memory.
 */
#include "vmm/net_attach.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/service.h"
#include "vmm/devices.h"
#include "vmm/irq.h"
#include "vmm/mmio.h"
#include "vmm/vm.h"

_Static_assert(VM_MAX_DISKS + VM_MAX_NICS <= VIRTIO_MMIO_MAX,
	       "every disk and NIC has a virtio-mmio slot");

static struct vm_nics {
	unsigned n;                     /* NICs plugged in this run */
	struct virtio_net dev[VM_MAX_NICS];
	void *port[VM_MAX_NICS];
	struct nic_line { struct vm *vm; unsigned gsi; } line[VM_MAX_NICS];
} state[VM_MAX];

static const struct vm_nic_backend *backend_ops;

/* See net_attach.h. */
void vm_nic_set_backend(const struct vm_nic_backend *b)
{
	backend_ops = b;
}

static void *guest_map(void *ctx, uint64_t gpa, uint64_t len)
{
	return vm_gpa_to_hva(ctx, gpa, len);
}

/* The device's level-triggered line (any core). */
static void guest_irq(void *ctx, int level)
{
	const struct nic_line *l = ctx;
	vm_irq_set(l->vm, l->gsi, level);
}

/* The guest queued frames (its vCPU's core): the switch on the service core takes them. */
static void kick(void *ctx)
{
	(void)ctx; /* the switch looks at every port */
	service_wake();
}

static const struct mmio_ops nic_mmio_ops = { virtio_mmio_read, virtio_mmio_write };

static int attach_one(struct vm *vm, unsigned i, unsigned slot, char *err, unsigned len)
{
	struct vm_nics *st = &state[vm - vms];
	char name[48];
	struct vm_nic_info info = { vm->def.name, i, &vm->def.nic[i], vm->def.vlan, { 0 } };
	vm_def_nic_mac(&vm->def, i, info.mac);
	fmt_snprintf(name, sizeof(name), "guest %s: eth%u", vm->def.name, i);
	st->line[i] = (struct nic_line){ vm, VIRTIO_MMIO_GSI0 + slot };
	/* no kick: the switch drains the NIC in its own round */
	const struct virtio_host host = { { guest_map, vm }, guest_irq, &st->line[i], 0, 0, 0 };
	virtio_net_init(&st->dev[i], info.mac, 0, &host, kick, 0, name);
	if (!backend_ops)
		return fmt_snprintf(err, len, "guest networking is not available"), -ENODEV;
	int rc = backend_ops->attach(&info, &st->dev[i], &st->port[i], err, len);
	if (rc)
		return rc;
	st->n = i + 1;
	uint64_t base = VIRTIO_MMIO_BASE + slot * VIRTIO_MMIO_STRIDE;
	rc = mmio_register(vm, base, VIRTIO_MMIO_SIZE, &nic_mmio_ops, &st->dev[i].t);
	if (rc)
		fmt_snprintf(err, len, "cannot place eth%u at 0x%lx: %s", i, base, errno_str(rc));
	return rc;
}

/* See net_attach.h. */
int vm_nics_attach(struct vm *vm, unsigned first_slot, char *err, unsigned len)
{
	state[vm - vms].n = 0;
	for (unsigned i = 0; i < vm->def.nnics; i++) {
		int rc = attach_one(vm, i, first_slot + i, err, len);
		if (rc)
			return rc;
	}
	return 0;
}

/* See net_attach.h. */
void vm_nics_detach(struct vm *vm)
{
	struct vm_nics *st = &state[vm - vms];
	for (unsigned i = 0; i < st->n; i++)
		backend_ops->detach(st->port[i]);
	st->n = 0;
}
