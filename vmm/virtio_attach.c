/*
 * vmm/virtio_attach.c - a guest's virtio devices (vmm/devices.h):
 * at start, one virtio-blk device per `disk=` key, its registers at
 * VIRTIO_MMIO_BASE + i * STRIDE on GSI VIRTIO_MMIO_GSI0 + i; at every
 * stop, the devices go.
 *
 * The disks behind them stay open from the first start until the guest is
 * undefined or its disk= keys change, so what a guest writes to a ram: or
 * esp: disk survives a reboot, a power-off or a destroy, as on a real disk.
 * Service core only.
 */
#include "vmm/devices.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"
#include "vmm/dev/virtio_blk.h"
#include "vmm/irq.h"
#include "vmm/mmio.h"
#include "vmm/virtio_attach.h"
#include "vmm/vm.h"

_Static_assert(VM_MAX_DISKS <= VIRTIO_MMIO_MAX, "every disk has a virtio-mmio slot");

/* Per guest, indexed like vms[]. */
static struct vm_virtio {
	unsigned n;                                     /* devices of this run */
	struct virtio_blk *blk[VM_MAX_DISKS];
	struct irq_line { struct vm *vm; unsigned gsi; } line[VM_MAX_DISKS];
	struct blockdev *bd[VM_MAX_DISKS];              /* kept across runs */
	struct vm_disk opened[VM_MAX_DISKS];            /* what bd[i] was opened as */
} state[VM_MAX];

static struct vm_virtio *of(struct vm *vm) { return &state[vm - vms]; }

static void *guest_map(void *ctx, uint64_t gpa, uint64_t len)
{
	return vm_gpa_to_hva(ctx, gpa, len);
}

/* The device's level-triggered line (any core). */
static void guest_irq(void *ctx, int level)
{
	const struct irq_line *l = ctx;
	vm_irq_set(l->vm, l->gsi, level);
}

static const struct mmio_ops virtio_mmio_bus_ops = { virtio_mmio_read, virtio_mmio_write };

static void close_disk(struct vm_virtio *st, unsigned i)
{
	if (st->bd[i])
		blk_close(st->bd[i]);
	st->bd[i] = 0;
}

/* Opens disk i unless it is open already as the definition says. */
static int open_disk(struct vm *vm, unsigned i, char *err, unsigned len)
{
	struct vm_virtio *st = of(vm);
	const struct vm_disk *dk = &vm->def.disk[i];
	if (st->bd[i] && !memcmp(&st->opened[i], dk, sizeof(*dk)))
		return 0;
	close_disk(st, i);
	int rc = blk_open(dk->url, dk->ro, &st->bd[i], err, len);
	if (rc) {
		st->bd[i] = 0;
		return rc;
	}
	st->opened[i] = *dk;
	return 0;
}

/* Makes disk i's device and puts it on the guest's MMIO bus. */
static int attach_disk(struct vm *vm, unsigned i, char *err, unsigned len)
{
	struct vm_virtio *st = of(vm);
	char name[48], id[VIRTIO_BLK_ID_BYTES + 1];
	int rc = open_disk(vm, i, err, len);
	if (rc)
		return rc;
	fmt_snprintf(name, sizeof(name), "guest %s: vd%c", vm->def.name, 'a' + i);
	fmt_snprintf(id, sizeof(id), "hako-%s-vd%c", vm->def.name, 'a' + i);
	st->line[i] = (struct irq_line){ vm, VIRTIO_MMIO_GSI0 + i };
	struct virtio_host host = { { guest_map, vm }, guest_irq, &st->line[i] };
	rc = virtio_blk_create(st->bd[i], &host, name, id, &st->blk[i]);
	if (rc)
		return fmt_snprintf(err, len, "not enough memory for disk %s", vm->def.disk[i].url), rc;
	st->n = i + 1;
	rc = mmio_register(vm, VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE, VIRTIO_MMIO_SIZE,
			   &virtio_mmio_bus_ops, virtio_blk_transport(st->blk[i]));
	if (rc)
		fmt_snprintf(err, len, "cannot place disk %u at 0x%llx: %s", i,
			     VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE, errno_str(rc));
	return rc;
}

/*
 * Creates the guest's virtio-blk devices in `disk=` order (vda first),
 * opening the disks not open yet and closing those the definition no
 * longer has. Service core, at start; on failure the caller's
 * vm_devices_detach() frees the devices made.
 */
int vm_devices_attach(struct vm *vm, char *err, unsigned len)
{
	struct vm_virtio *st = of(vm);
	st->n = 0;
	for (unsigned i = vm->def.ndisks; i < VM_MAX_DISKS; i++)
		close_disk(st, i);
	for (unsigned i = 0; i < vm->def.ndisks; i++) {
		int rc = attach_disk(vm, i, err, len);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * Removes the devices (requests in flight are dropped). Disks in memory
 * stay open with their data; remote ones (iSCSI LUNs) close, which logs
 * their sessions out, and open again at the next start.
 */
void vm_devices_detach(struct vm *vm)
{
	struct vm_virtio *st = of(vm);
	for (unsigned i = 0; i < st->n; i++) {
		if (st->blk[i])
			virtio_blk_destroy(st->blk[i]);
		st->blk[i] = 0;
	}
	st->n = 0;
	for (unsigned i = 0; i < VM_MAX_DISKS; i++)
		if (st->bd[i] && st->bd[i]->ops->remote)
			close_disk(st, i);
}

/* Closes the guest's disks, freeing their memory (undefine). Stopped guests only. */
void vm_disks_release(struct vm *vm)
{
	struct vm_virtio *st = of(vm);
	for (unsigned i = 0; i < VM_MAX_DISKS; i++)
		close_disk(st, i);
}

int virtio_mmio_count(struct vm *vm)
{
	return (int)vm->def.ndisks;
}

/* Counters of disk i since it was opened. 0, or -ENOENT when it is not open. */
int vm_disk_stats(struct vm *vm, unsigned i, struct blk_stats *out)
{
	struct vm_virtio *st = of(vm);
	if (i >= VM_MAX_DISKS || !st->bd[i])
		return -ENOENT;
	*out = *blk_stats(st->bd[i]);
	return 0;
}

struct blockdev *vm_disk_dev(struct vm *vm, unsigned i)
{
	return i < VM_MAX_DISKS ? of(vm)->bd[i] : 0;
}
