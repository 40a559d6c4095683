/*
 * vmm/vm_disk_boot.c - `boot=disk` at a guest's start: once its disks are
 * open (its memory and cores are already its own), vm_start_poll() in
 * vmm/vm.c begins the read and then looks at it once per poll; the kernel,
 * initrd and command line the installed system names are read
 * (vmm/disk_boot.c, every step from a completion, nothing waits) and
 * loaded as guest_boot_linux() loads a kernel from the boot medium, with
 * what the disk names at the head of the command line.
 * Service core.
 */
#include "vmm/vm_disk_boot.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/redact.h"
#include "vmm/core/time.h"
#include "vmm/disk_boot.h"
#include "vmm/guest_boot.h"
#include "vmm/virtio_attach.h"

/* Per guest, indexed like vms[]. */
static struct vm_disk_boot {
	struct disk_boot *db;
	uint64_t t0_us;
} state[VM_MAX];

static struct vm_disk_boot *of(struct vm *vm) { return &state[vm - vms]; }

static int plan(void *ctx, const void *kernel, uint64_t klen, uint64_t ilen, uint64_t *gpa,
		const char **why)
{
	return guest_boot_initrd_gpa(ctx, kernel, klen, ilen, gpa, why);
}

static void put(void *ctx, uint64_t gpa, const void *src, uint64_t n)
{
	guest_boot_put(ctx, gpa, src, n);
}

static const struct disk_boot_ops ops = { plan, put };

/* The error line's start: which disk of which guest. */
static int disk_fail(struct vm *vm, int rc, char *err, unsigned len, const char *why)
{
	char url[VM_DISK_URL_MAX];
	redact_url(vm->def.disk[0].url, url, sizeof(url));
	fmt_snprintf(err, len, "guest '%s' has nothing to boot on vda (%s): %s", vm->def.name, url, why);
	return rc;
}

/*
 * Starts reading disk 0 of `vm` (open, memory allocated). 0, or -E... with
 * the error line in err.
 */
int vm_disk_boot_begin(struct vm *vm, char *err, unsigned len)
{
	struct vm_disk_boot *st = of(vm);
	struct blockdev *bd = vm_disk_dev(vm, 0);
	if (!bd)
		return disk_fail(vm, -ENODEV, err, len, "the disk is not open");
	st->t0_us = time_us();
	int rc = disk_boot_begin(bd, &ops, vm, &st->db);
	if (rc)
		return disk_fail(vm, rc, err, len, "no memory to read it");
	return 0;
}

static void log_found(struct vm *vm, struct vm_disk_boot *st, const struct boot_found *f)
{
	const struct disk_boot_stats *s = disk_boot_stats(st->db);
	log_info("guest %s: boot=disk: %s (kernel %lu KiB, initrd %lu KiB) read in %lu ms: "
		 "%u metadata reads (%lu KiB), %u data reads",
		 vm->def.name, f->what, f->kernel.size >> 10, f->initrd.size >> 10,
		 (time_us() - st->t0_us) / 1000, s->meta_reads, s->meta_bytes >> 10, s->bulk_reads);
}

/*
 * -EINPROGRESS while reading; 0 once the kernel, initrd and command line
 * are in guest memory (vm->entry and vm->platform set, as
 * guest_boot_load() leaves them); or -E... with the error line in err.
 */
int vm_disk_boot_poll(struct vm *vm, char *err, unsigned len)
{
	static char why[DISK_BOOT_ERR_MAX], head[BOOT_CMDLINE_MAX + 16];
	struct vm_disk_boot *st = of(vm);
	if (!st->db)
		return disk_fail(vm, -EINVAL, err, len, "no read under way");
	int rc = disk_boot_poll(st->db, why, sizeof(why));
	if (rc == -EINPROGRESS)
		return rc;
	if (!rc) {
		const struct boot_found *f = disk_boot_found(st->db);
		uint64_t klen;
		const void *k = disk_boot_kernel(st->db, &klen);
		const char *bad = "";
		log_found(vm, st, f);
		/* Debian's links name no command line: root= the partition found, read-only
		 * until the system remounts it (what GRUB's Debian entry passes). */
		if (f->has_cmdline)
			fmt_snprintf(head, sizeof(head), "%s", f->cmdline);
		else
			fmt_snprintf(head, sizeof(head), "root=%s ro", f->root);
		rc = guest_boot_linux(vm, k, klen, 0, f->initrd.size, head, &bad);
		if (rc)
			fmt_snprintf(why, sizeof(why), "%s: the kernel cannot be loaded: %s", f->what, bad);
	}
	disk_boot_end(st->db);
	st->db = 0;
	return rc ? disk_fail(vm, rc, err, len, why) : 0;
}

/* 1 between vm_disk_boot_begin() and the poll that ends the read (or a cancel). */
int vm_disk_boot_reading(const struct vm *vm)
{
	return state[vm - vms].db != 0;
}

/* Stops a read under way (the start was cancelled); safe with none. */
void vm_disk_boot_cancel(struct vm *vm)
{
	struct vm_disk_boot *st = of(vm);
	if (st->db)
		disk_boot_end(st->db);
	st->db = 0;
}
