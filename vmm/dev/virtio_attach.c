/*
 * vmm/dev/virtio_attach.c - a guest's virtio devices (vmm/dev/devices.h):
 * at start, one virtio-blk device per `disk=` key, its disk opened through
 * the block layer and its registers at VIRTIO_MMIO_BASE + i * STRIDE on
 * GSI VIRTIO_MMIO_GSI0 + i; at every stop, all of it closed and freed.
 * The disk counters of the last run stay for `stats`.
 */
#include "vmm/dev/devices.h"

#include "vmm/dev/irq.h"
#include "vmm/dev/virtio_attach.h"
#include "vmm/dev/virtio_blk.h"
#include "vmm/lib/errno.h"
#include "vmm/lib/fmt.h"
#include "vmm/lib/string.h"
#include "vmm/mmio.h"
#include "vmm/vm.h"

_Static_assert(VM_MAX_DISKS <= VIRTIO_MMIO_MAX, "every disk has a virtio-mmio slot");

/* Per guest (indexed like vms[]): service core only. */
static struct vm_virtio {
	unsigned n;
	struct virtio_blk *blk[VM_MAX_DISKS];
	struct irq_line { struct vm *vm; unsigned gsi; } line[VM_MAX_DISKS];
	struct blk_stats last[VM_MAX_DISKS];    /* counters kept after stop */
	unsigned nlast;
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

/* Opens disk i and puts its device on the guest's MMIO bus. */
static int attach_disk(struct vm *vm, unsigned i, char *err, unsigned len)
{
	struct vm_virtio *st = of(vm);
	const struct vm_disk *dk = &vm->def.disk[i];
	struct blockdev *bd;
	char name[48], id[VIRTIO_BLK_ID_BYTES + 1];
	int rc = blk_open(dk->url, dk->ro, &bd, err, len);
	if (rc)
		return rc;
	fmt_snprintf(name, sizeof(name), "guest %s: vd%c", vm->def.name, 'a' + i);
	fmt_snprintf(id, sizeof(id), "hako-%s-vd%c", vm->def.name, 'a' + i);
	st->line[i] = (struct irq_line){ vm, VIRTIO_MMIO_GSI0 + i };
	struct virtio_host host = { { guest_map, vm }, guest_irq, &st->line[i] };
	rc = virtio_blk_create(bd, &host, name, id, &st->blk[i]);
	if (rc) {
		blk_close(bd);
		return fmt_snprintf(err, len, "not enough memory for disk %s", dk->url), rc;
	}
	st->n = i + 1;
	rc = mmio_register(vm, VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE, VIRTIO_MMIO_SIZE,
			   &virtio_mmio_bus_ops, virtio_blk_transport(st->blk[i]));
	if (rc)
		fmt_snprintf(err, len, "cannot place disk %u at 0x%llx: %s", i,
			     VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE, errno_str(rc));
	return rc;
}

/*
 * Creates the guest's virtio-blk devices in `disk=` order (vda first).
 * Service core, at start. On failure the caller's vm_devices_detach()
 * frees what was made.
 */
int vm_devices_attach(struct vm *vm, char *err, unsigned len)
{
	struct vm_virtio *st = of(vm);
	memset(st, 0, sizeof(*st));
	for (unsigned i = 0; i < vm->def.ndisks; i++) {
		int rc = attach_disk(vm, i, err, len);
		if (rc)
			return rc;
	}
	return 0;
}

/* Closes every disk (requests in flight are dropped); keeps their counters. */
void vm_devices_detach(struct vm *vm)
{
	struct vm_virtio *st = of(vm);
	for (unsigned i = 0; i < st->n; i++) {
		if (!st->blk[i])
			continue;
		st->last[i] = *virtio_blk_stats(st->blk[i]);
		virtio_blk_destroy(st->blk[i]);
		st->blk[i] = 0;
	}
	st->nlast = st->n;
	st->n = 0;
}

int virtio_mmio_count(struct vm *vm)
{
	return (int)vm->def.ndisks;
}

/* Counters of disk i: live while running, else from the last run. 0 or -ENOENT. */
int vm_disk_stats(struct vm *vm, unsigned i, struct blk_stats *out)
{
	struct vm_virtio *st = of(vm);
	if (i < st->n && st->blk[i]) {
		*out = *virtio_blk_stats(st->blk[i]);
		return 0;
	}
	if (i < st->nlast) {
		*out = st->last[i];
		return 0;
	}
	return -ENOENT;
}
