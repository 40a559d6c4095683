/*
 * vmm/virtio_attach.c - a guest's virtio devices (vmm/devices.h):
 * at start, its disks open (asynchronously: vm_disks_open() starts the
 * opens, blk_poll() reports each in disk_opened(), vm_start_poll() in
 * vmm/vm.c asks vm_disks_ready()), then one virtio-blk device per `disk=`
 * key, its registers at VIRTIO_MMIO_BASE + i * STRIDE on GSI
 * VIRTIO_MMIO_GSI0 + i, then its NICs on the slots after them
 * (vmm/net_attach.c); at every stop, the devices go.
 *
 * The disks behind them stay open from the first start until the guest is
 * undefined or its disk= keys change, so what a guest writes to a ram: or
 * esp: disk survives a reboot, a power-off or a destroy, as on a real disk.
 * Service core only, but for the devices' own kicks.
 *
 * Every service-core round lets each device take the next
 * VIRTIO_POLL_BUDGET chains of a queue that a notify or a completion left
 * with work (virtio_poll below): a guest that floods its queue gets its
 * requests served a budget at a time while the shell and the other
 * guests' disks get their turn.
 */
#include "vmm/devices.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/redact.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/service.h"
#include "vmm/core/smp.h"
#include "vmm/dev/virtio_blk.h"
#include "vmm/irq.h"
#include "vmm/mmio.h"
#include "vmm/net_attach.h"
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
	/* opens under way (vm_disks_open) and the first failure */
	struct blk_open_req open[VM_MAX_DISKS];
	struct vm_disk want[VM_MAX_DISKS];              /* what open[i] opens */
	int opening[VM_MAX_DISKS];
	int open_rc;
	char open_err[BLK_ERR_MAX];
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

/* A queue has work left (any core, the transport's lock held): poll soon. */
static void device_kick(void *ctx)
{
	(void)ctx; /* every device is polled */
	service_wake();
}

static const struct mmio_ops virtio_mmio_bus_ops = { virtio_mmio_read, virtio_mmio_write };

static void close_disk(struct vm_virtio *st, unsigned i)
{
	if (st->bd[i])
		blk_close(st->bd[i]);
	st->bd[i] = 0;
}

static void cancel_open(struct vm_virtio *st, unsigned i)
{
	if (st->opening[i])
		blk_open_cancel(&st->open[i]);
	st->opening[i] = 0;
}

/* blk_poll reports disk i's open (vm_start_poll then reads vm_disks_ready). */
static void disk_opened(struct blk_open_req *o)
{
	struct vm_virtio *st = o->ctx;
	unsigned i = (unsigned)(o - st->open);
	st->opening[i] = 0;
	if (o->status) {
		if (!st->open_rc) {
			st->open_rc = o->status;
			fmt_snprintf(st->open_err, sizeof(st->open_err), "%s", o->err);
		}
		return;
	}
	st->bd[i] = o->dev;
	st->opened[i] = st->want[i];
}

/* Starts opening disk i unless it is open already as the definition says. */
static int open_disk(struct vm *vm, unsigned i, char *err, unsigned len)
{
	struct vm_virtio *st = of(vm);
	const struct vm_disk *dk = &vm->def.disk[i];
	if (st->bd[i] && !memcmp(&st->opened[i], dk, sizeof(*dk)))
		return 0;
	close_disk(st, i);
	st->want[i] = *dk;
	st->open[i].done = disk_opened;
	st->open[i].ctx = st;
	int rc = blk_open(dk->url, dk->ro, &st->open[i]);
	if (rc) {
		fmt_snprintf(err, len, "%s", st->open[i].err);
		return rc;
	}
	st->opening[i] = 1;
	return 0;
}

/*
 * Starts opening the disks of the guest's definition that are not open
 * (see devices.h), and closes those it no longer names. A URL that cannot
 * even start opening fails the start at once; the caller's teardown
 * (vm_devices_detach) abandons the others.
 */
int vm_disks_open(struct vm *vm, char *err, unsigned len)
{
	struct vm_virtio *st = of(vm);
	st->open_rc = 0;
	st->open_err[0] = 0;
	vm_disks_refresh(vm);
	for (unsigned i = 0; i < vm->def.ndisks; i++) {
		int rc = open_disk(vm, i, err, len);
		if (rc)
			return rc;
	}
	return 0;
}

/* See devices.h. */
int vm_disks_ready(struct vm *vm, char *err, unsigned len)
{
	struct vm_virtio *st = of(vm);
	if (st->open_rc) {
		fmt_snprintf(err, len, "%s", st->open_err);
		return st->open_rc;
	}
	for (unsigned i = 0; i < vm->def.ndisks; i++)
		if (st->opening[i])
			return -EINPROGRESS;
	return 0;
}

/*
 * Closes the disks a stopped guest's definition no longer names as they
 * were opened (after `set` changed its disk= keys), so they go with the
 * definition that had them rather than at the next start.
 */
void vm_disks_refresh(struct vm *vm)
{
	struct vm_virtio *st = of(vm);
	for (unsigned i = 0; i < VM_MAX_DISKS; i++)
		if (st->bd[i] && (i >= vm->def.ndisks ||
				  memcmp(&st->opened[i], &vm->def.disk[i], sizeof(st->opened[i]))))
			close_disk(st, i);
}

/* Makes disk i's device and puts it on the guest's MMIO bus. */
static int attach_disk(struct vm *vm, unsigned i, char *err, unsigned len)
{
	struct vm_virtio *st = of(vm);
	char name[48], id[VIRTIO_BLK_ID_BYTES + 1], url[VM_DISK_URL_MAX];
	int rc;
	redact_url(vm->def.disk[i].url, url, sizeof(url));
	if (!st->bd[i])
		return fmt_snprintf(err, len, "disk %s is not open", url), -ENODEV;
	fmt_snprintf(name, sizeof(name), "guest %s: vd%c", vm->def.name, 'a' + i);
	fmt_snprintf(id, sizeof(id), "hako-%s-vd%c", vm->def.name, 'a' + i);
	st->line[i] = (struct irq_line){ vm, VIRTIO_MMIO_GSI0 + i };
	struct virtio_host host = { { guest_map, vm }, guest_irq, &st->line[i], device_kick,
				    smp_hold_kicks, smp_release_kicks };
	rc = virtio_blk_create(st->bd[i], &host, name, id, &st->blk[i]);
	if (rc)
		return fmt_snprintf(err, len, "not enough memory for disk %s", url), rc;
	st->n = i + 1;
	rc = mmio_register(vm, VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE, VIRTIO_MMIO_SIZE,
			   &virtio_mmio_bus_ops, virtio_blk_transport(st->blk[i]));
	if (rc)
		fmt_snprintf(err, len, "cannot place disk %u at 0x%llx: %s", i,
			     VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE, errno_str(rc));
	return rc;
}

/*
 * Creates the guest's virtio-blk devices in `disk=` order (vda first) over
 * the disks vm_disks_open() opened. Service core, at start; on failure the
 * caller's vm_devices_detach() frees the devices made.
 */
int vm_devices_attach(struct vm *vm, char *err, unsigned len)
{
	struct vm_virtio *st = of(vm);
	st->n = 0;
	for (unsigned i = 0; i < vm->def.ndisks; i++) {
		int rc = attach_disk(vm, i, err, len);
		if (rc)
			return rc;
	}
	return vm_nics_attach(vm, vm->def.ndisks, err, len);
}

/*
 * Removes the devices (requests in flight are dropped). Disks in memory
 * stay open with their data; remote ones (iSCSI LUNs) close, which logs
 * their sessions out, and open again at the next start.
 */
void vm_devices_detach(struct vm *vm)
{
	struct vm_virtio *st = of(vm);
	vm_nics_detach(vm);
	for (unsigned i = 0; i < st->n; i++) {
		if (st->blk[i])
			virtio_blk_destroy(st->blk[i]);
		st->blk[i] = 0;
	}
	st->n = 0;
	for (unsigned i = 0; i < VM_MAX_DISKS; i++) {
		cancel_open(st, i);
		if (st->bd[i] && st->bd[i]->ops->remote)
			close_disk(st, i);
	}
}

/* Closes the guest's disks, freeing their memory (undefine). Stopped guests only. */
void vm_disks_release(struct vm *vm)
{
	struct vm_virtio *st = of(vm);
	for (unsigned i = 0; i < VM_MAX_DISKS; i++) {
		cancel_open(st, i);
		close_disk(st, i);
	}
}

/* Service poller: the next budget of every queue left with work. Busy while any is. */
static int virtio_poll(void)
{
	int busy = 0;
	for (unsigned v = 0; v < VM_MAX; v++)
		for (unsigned i = 0; i < state[v].n; i++)
			if (state[v].blk[i])
				busy |= virtio_mmio_poll(virtio_blk_transport(state[v].blk[i]));
	return busy;
}
SERVICE_POLLER(virtio, virtio_poll);

int virtio_mmio_count(struct vm *vm)
{
	return (int)(vm->def.ndisks + vm->def.nnics);
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
