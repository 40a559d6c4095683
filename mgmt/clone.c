/*
 * mgmt/clone.c - `clone` and templates (CLI.md, issue 8): a clone's disk
 * is `cow:ID:BASEURL`, a pool volume over its source's disk; a full clone's
 * disk is `cow:ID`, a pool volume holding a copy. A guest whose disks are
 * the base of another guest's overlay is a template: it may not start
 * (its disks must not change under its clones) or be undefined.
 * Order for crash safety: pool volumes first, then the catalog commit;
 * undefine commits the catalog first, then frees the volumes. Volumes a
 * power cut orphans are freed at the next boot (catalog.c, pool_gc).
 */
#include "mgmt/catalog.h"
#include "mgmt/policy.h"

#include "mgmt/shell/args.h"
#include "vmm/blk/blk_sync.h"
#include "vmm/blk/cow_pool.h"
#include "net/crypto/rng.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"

/* The base URL of an overlay disk URL ("cow:ID:BASE" -> BASE), or 0. */
static const char *overlay_base(const char *url)
{
	if (strncmp(url, "cow:", 4))
		return 0;
	const char *colon = strchr(url + 4, ':');
	return colon ? colon + 1 : 0;
}

/* The pool volume of a clone disk URL, or 0. */
static uint32_t overlay_id(const char *url)
{
	uint32_t id = 0;
	if (strncmp(url, "cow:", 4))
		return 0;
	for (const char *p = url + 4; *p >= '0' && *p <= '9' && id < 100000000u; p++)
		id = id * 10 + (uint32_t)(*p - '0');
	return id;
}

static int disk_of(const struct vm *vm, const char *url)
{
	for (unsigned k = 0; k < vm->def.ndisks; k++)
		if (!strcmp(vm->def.disk[k].url, url))
			return 1;
	return 0;
}

/* Guests with an overlay on one of vm's disks, listed in buf; returns their count. */
unsigned clone_dependents(const struct vm *vm, char *buf, unsigned len)
{
	unsigned n = 0, pos = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < VM_MAX; i++) {
		const struct vm *o = &vms[i];
		int uses = 0;
		for (unsigned k = 0; o != vm && o->defined && k < o->def.ndisks; k++) {
			const char *base = overlay_base(o->def.disk[k].url);
			uses |= base && disk_of(vm, base);
		}
		if (!uses)
			continue;
		if (pos < len)
			pos += fmt_snprintf(buf + pos, len - pos, "%s%s", n ? ", " : "", o->def.name);
		n++;
	}
	return n;
}

/* Deletes the pool volumes of d's cow: disks (call after the catalog forgot d). */
void clone_free_disks(const struct vm_def *d)
{
	for (unsigned k = 0; k < d->ndisks; k++) {
		uint32_t id = overlay_id(d->disk[k].url);
		int rc = id ? cow_pool_delete(id) : 0;
		if (rc)
			log_err("pool: could not free volume %u of '%s' (%s); it is freed at the next boot",
				id, d->name, errno_str(rc));
	}
}

/* Size and block size of a disk, by opening it read-only. */
static int disk_geometry(const char *url, uint64_t *bytes, uint32_t *bs, char *err, unsigned len)
{
	struct blockdev *d;
	int rc = blk_sync_open(url, 1, &d, err, len);
	if (rc)
		return rc;
	*bs = blk_block_size(d);
	*bytes = blk_blocks(d) * *bs;
	blk_close(d);
	return 0;
}

static int all_zero(const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

struct copy {
	struct blockdev *from, *to;
	uint8_t *buf;
	uint64_t bytes;
	uint32_t bs;
	unsigned disk;
};

static void copy_progress(const struct clone_ui *ui, const struct copy *c, uint64_t done)
{
	char line[96];
	fmt_snprintf(line, sizeof(line), "\rcopying disk %u: %lu of %lu MiB", c->disk, done >> 20,
		     c->bytes >> 20);
	ui->progress(ui->ctx, line);
}

/* Copies every non-zero MiB (a new volume reads zeros elsewhere). */
#define COPY_PIECE (1u << 20)

static int copy_loop(struct copy *c, const struct clone_ui *ui)
{
	uint64_t step = c->bytes / 20 > (1u << 20) ? c->bytes / 20 : (1u << 20), shown = 0;
	for (uint64_t off = 0; off < c->bytes; off += COPY_PIECE) {
		if (ui->cancelled(ui->ctx))
			return -ECANCELED;
		uint32_t n = c->bytes - off < COPY_PIECE ? (uint32_t)(c->bytes - off) : COPY_PIECE;
		int rc = blk_sync_io(c->from, BLK_READ, off / c->bs, n / c->bs, c->buf);
		if (!rc && !all_zero(c->buf, n))
			rc = blk_sync_io(c->to, BLK_WRITE, off / c->bs, n / c->bs, c->buf);
		if (rc)
			return rc;
		if (off + n - shown >= step || off + n == c->bytes)
			copy_progress(ui, c, shown = off + n);
	}
	ui->progress(ui->ctx, "\n");
	return blk_sync_io(c->to, BLK_FLUSH, 0, 0, 0);
}

static int full_copy(const char *from, uint32_t id, uint64_t bytes, uint32_t bs, unsigned disk,
		     const struct clone_ui *ui, char *err, unsigned len)
{
	struct copy c = { .bytes = bytes, .bs = bs, .disk = disk };
	char to[24];
	fmt_snprintf(to, sizeof(to), "cow:%u", id);
	int rc = blk_sync_open(from, 1, &c.from, err, len);
	if (rc)
		return rc;
	rc = blk_sync_open(to, 0, &c.to, err, len);
	if (!rc && !(c.buf = blk_host()->alloc(COPY_PIECE)))
		rc = -ENOMEM;
	if (!rc)
		rc = copy_loop(&c, ui);
	if (c.buf)
		blk_host()->free(c.buf, COPY_PIECE);
	if (c.to)
		blk_close(c.to);
	blk_close(c.from);
	if (rc == -ECANCELED)
		fmt_snprintf(err, len, "interrupted; nothing was made");
	else if (rc && !err[0])
		fmt_snprintf(err, len, "copying disk %u failed (%s)", disk, errno_str(rc));
	return rc;
}

/* Makes dst's disk k: a new pool volume, over src's disk or holding its copy. */
static int clone_disk(struct vm_def *d, unsigned k, int full, const struct clone_ui *ui,
		      uint32_t *id, char *err, unsigned len)
{
	char from[VM_DISK_URL_MAX];
	uint64_t bytes;
	uint32_t bs;
	memcpy(from, d->disk[k].url, sizeof(from));
	int rc = disk_geometry(from, &bytes, &bs, err, len);
	if (rc)
		return rc;
	if (bs % cow_pool->bs || bs > COW_CHUNK)
		return fmt_snprintf(err, len, "disk %u has %u-byte blocks, the pool device %u-byte ones: "
				    "the pool's must not be larger", k, bs, cow_pool->bs), -EINVAL;
	rc = cow_pool_create(bytes, bs, full ? 0 : from, d->name, id);
	if (rc) {
		fmt_snprintf(err, len, "could not make a pool volume for disk %u (%s)", k,
			     rc == -ENOSPC ? "the pool is full" : errno_str(rc));
		return rc;
	}
	int n = full ? fmt_snprintf(d->disk[k].url, VM_DISK_URL_MAX, "cow:%u", *id)
		     : fmt_snprintf(d->disk[k].url, VM_DISK_URL_MAX, "cow:%u:%s", *id, from);
	if (n >= VM_DISK_URL_MAX) {
		fmt_snprintf(err, len, "disk %u's URL would be too long: clone the clone with `full`", k);
		return -ENAMETOOLONG;
	}
	return full ? full_copy(from, *id, bytes, bs, k, ui, err, len) : 0;
}

static int clone_check(const struct vm *s, const char *src, const char *dst, char *err,
		       unsigned len)
{
	if (!s)
		return fmt_snprintf(err, len, "unknown guest '%s'; `list` shows the defined ones", src),
		       -ENOENT;
	if (!args_valid_name(dst))
		return fmt_snprintf(err, len, "bad name '%s': use 1-32 of [a-z0-9_-], starting with a "
				    "letter", dst), -EINVAL;
	if (vm_find(dst))
		return fmt_snprintf(err, len, "guest '%s' already exists", dst), -EEXIST;
	if (!vm_stopped(s))
		return fmt_snprintf(err, len, "guest '%s' is running; destroy it first", src), -EBUSY;
	if (s->def.ndisks && !cow_pool)
		return fmt_snprintf(err, len, "no copy-on-write pool: set pool= in hako.cfg"), -ENODEV;
	return 0;
}

/*
 * `clone SRC DST [full]` (see catalog.h): volumes first, then the catalog
 * commit; on any failure the volumes made are deleted again.
 */
int catalog_clone(const char *src, const char *dst, int full, const struct clone_ui *ui, char *err,
		  unsigned len)
{
	const struct vm *s = vm_find(src);
	err[0] = 0;
	int rc = clone_check(s, src, dst, err, len);
	if (rc)
		return rc;
	struct vm_def d = s->def;
	memset(d.name, 0, sizeof(d.name));
	memcpy(d.name, dst, strlen(dst));
	d.has_mac = 1;
	vm_def_mac_from_name(dst, d.mac);
	/* The clone is the cloner's, and no template until its owner says so. */
	memset(d.owner, 0, sizeof(d.owner));
	memcpy(d.owner, policy_actor(), strlen(policy_actor()));
	d.template_public = 0;
	/* A new machine: its own instance id, and its own name as hostname. */
	d.hostname[0] = 0;
	vm_def_new_instance(&d, (uint64_t)rng_u32() << 32 | rng_u32());
	uint32_t made[VM_MAX_DISKS] = { 0 };
	for (unsigned k = 0; k < d.ndisks && !rc; k++)
		rc = clone_disk(&d, k, full, ui, &made[k], err, len);
	struct vm *vm = 0;
	if (!rc && vm_define(dst, &vm))
		rc = -ENOSPC, fmt_snprintf(err, len, "no room for another guest (at most %u)", VM_MAX);
	if (!rc) {
		vm->def = d;
		if ((rc = catalog_persist(err, len)))
			vm_undefine(vm);
	}
	/* An unsure catalog write may have named them: the next boot frees them if not. */
	for (unsigned k = 0; rc && !catalog_unsure() && k < VM_MAX_DISKS; k++)
		if (made[k] && cow_pool_delete(made[k]))
			log_err("pool: could not free volume %u; it is freed at the next boot", made[k]);
	return rc;
}
