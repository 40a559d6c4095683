/*
 * mgmt/catalog.c - the catalog and the pool at run time: opened at boot
 * from hako.cfg's `catalog=` and `pool=`, and written after every change
 * to the definitions (define, set, undefine, clone). The format and its
 * atomic update are mgmt/catalog_fmt.c and vmm/blk/slotstore.c; this
 * file only holds the devices and moves definitions between vms[] and
 * the catalog.
 */
#include "mgmt/catalog.h"

#include "mgmt/audit.h"
#include "mgmt/catalog_fmt.h"
#include "mgmt/cfg.h"
#include "net/crypto/rng.h"
#include "vmm/blk/blk_sync.h"
#include "vmm/blk/cow_pool.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/redact.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/service.h"

static struct {
	struct blockdev *dev;           /* 0: definitions live in memory */
	struct slotstore store;
	uint64_t id;                    /* the catalog's identity (catalog_fmt.h) */
	int id_durable;                 /* the device holds it (a pool may record it) */
	const char *why_none;           /* for `host` when dev is 0 */
} cat = { 0, { 0 }, 0, 0, "no catalog= in hako.cfg" };

static struct vm_def defs_buf[VM_MAX];  /* service core only */
static int held;                        /* a definition change is under way */

static int persist(char *err, unsigned len);

/*
 * Takes the guard of definition changes (see catalog.h). After a catalog
 * write that failed with its outcome unknown (slotstore.h, `unsure`) the
 * device may hold the definitions before or after that change: a guest
 * started now could be one the device no longer has, its writes freed with
 * its pool volume at the next boot. So nothing proceeds until a write of
 * the definitions in memory succeeds, tried again here each time.
 */
int catalog_hold(char *err, unsigned len)
{
	if (held) {
		fmt_snprintf(err, len, "another session is changing guest definitions (a clone or a "
			     "catalog write); try again when it ends");
		return -EBUSY;
	}
	if (cat.dev && cat.store.unsure && persist(err, len)) {
		fmt_snprintf(err, len, "a catalog write on %s failed and its outcome is unknown; guest "
			     "definitions cannot change and guests cannot start until a write succeeds "
			     "(tried again just now)", cat.dev->url);
		return -EIO;
	}
	held = 1;
	return 0;
}

/* Did the last catalog write fail with its outcome unknown? */
int catalog_unsure(void) { return cat.dev && cat.store.unsure; }

/* Gives the guard back. */
void catalog_release(void) { held = 0; }

static unsigned collect(struct vm_def *out)
{
	unsigned n = 0;
	for (unsigned i = 0; i < VM_MAX; i++)
		if (vms[i].defined)
			out[n++] = vms[i].def;
	return n;
}

/* A device's URL as people may see it: CHAP secrets masked (redact.h). Service core only. */
static const char *shown(const char *url)
{
	static char buf[BLK_URL_MAX];
	redact_url(url, buf, sizeof(buf));
	return buf;
}

/*
 * Writes vms[]'s definitions to the catalog device (no-op without one):
 * 0, or -E... with a sentence in err; the caller undoes its change.
 */
int catalog_persist(char *err, unsigned len)
{
	return cat.dev ? persist(err, len) : 0;
}

static int persist(char *err, unsigned len)
{
	int rc = catalog_store_save(&cat.store, cat.id, defs_buf, collect(defs_buf));
	cat.id_durable |= !rc;
	if (!rc)
		audit_saved(); /* the write carried the audit entries too */
	if (rc)
		fmt_snprintf(err, len, "could not write the catalog on %s (%s); nothing changed%s",
			     shown(cat.dev->url), errno_str(rc), cat.store.unsure ? " in memory, and the "
			     "device may hold either state until the next write" : "");
	return rc;
}

/* `host`'s catalog line: the device and its update count, or why there is none. */
void catalog_describe(char *buf, unsigned len)
{
	if (cat.dev)
		fmt_snprintf(buf, len, "%s (update %lu)", shown(cat.dev->url), cat.store.seq);
	else
		fmt_snprintf(buf, len, "none (%s): definitions live in memory and are lost at reboot",
			     cat.why_none);
}

/* `host`'s pool line: the device, use and volume count, or how to get one. */
void catalog_pool_describe(char *buf, unsigned len)
{
	const struct cow_pool *p = cow_pool;
	if (!p) {
		fmt_snprintf(buf, len, "none: set pool= in hako.cfg for clones");
		return;
	}
	fmt_snprintf(buf, len, "%s, %lu KiB of %lu MiB used, %u volumes", shown(p->dev->url),
		     (uint64_t)p->used * COW_CHUNK >> 10, (uint64_t)p->chunks * COW_CHUNK >> 20,
		     p->hdr.nvols);
}

/* ---- boot ---- */

static struct blockdev *open_cfg_dev(const char *key)
{
	const char *url = cfg_get(&hako_cfg, key);
	if (!url)
		return 0;
	char err[200];
	struct blockdev *d;
	int rc = blk_sync_open(url, 0, &d, err, sizeof(err));
	if (rc) {
		log_err("%s: cannot open %s: %s", key, shown(url), err);
		return 0;
	}
	return d;
}

static void pool_boot(void)
{
	struct blockdev *d = open_cfg_dev("pool");
	if (!d)
		return;
	char err[200];
	uint32_t leaked;
	if (cow_pool_attach(d, &leaked, err, sizeof(err))) {
		log_err("pool: %s: %s; clones are not possible", shown(d->url), err);
		blk_close(d);
		return;
	}
	log_info("pool: %s, %u volumes, %u of %u chunks used%s", shown(d->url), cow_pool->hdr.nvols,
		 cow_pool->used, cow_pool->chunks, leaked ? " (freed chunks left by a power cut)" : "");
}

/* Puts loaded definitions into vms[]. */
static void install(const struct vm_def *defs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct vm *vm;
		if (vm_define(defs[i].name, &vm)) {
			log_err("catalog: no room for guest '%s'", defs[i].name);
			continue;
		}
		vm->def = defs[i];
	}
}

/* A new catalog's identity: 64 bits from the DRBG (net/crypto/rng.c), never 0. */
static uint64_t new_id(void)
{
	uint64_t z = 0;
	while (!z)
		rng_bytes(&z, sizeof(z));
	return z;
}

/* Loads the catalog: 0, -ENOENT (none yet, may be made), or -E... (leave the device alone). */
static int load(struct blockdev *d, unsigned *n, char *err, unsigned len)
{
	int rc = catalog_store_init(&cat.store, d);
	if (!rc)
		rc = catalog_store_load(&cat.store, &cat.id, defs_buf, VM_MAX, n, err, len);
	if (rc != -ENOENT)
		return rc;
	int blank = catalog_store_blank(&cat.store);
	if (blank == 0)
		fmt_snprintf(err, len, "the device holds something that is not a hako catalog (its "
			     "slot headers are not zero); not touching it");
	return blank == 1 ? -ENOENT : blank ? blank : -EINVAL;
}

static void catalog_open(void)
{
	struct blockdev *d = open_cfg_dev("catalog");
	if (!d) {
		if (cfg_get(&hako_cfg, "catalog"))
			cat.why_none = "the catalog device did not open; see `log`";
		return;
	}
	char err[200] = "";
	unsigned n = 0;
	int rc = load(d, &n, err, sizeof(err));
	if (rc && rc != -ENOENT) {
		/* never overwrite what we cannot read: stay in memory */
		log_err("catalog: %s: %s", shown(d->url), err[0] ? err : errno_str(rc));
		cat.why_none = "the catalog device is unreadable; see `log`";
		blk_close(d);
		return;
	}
	cat.dev = d;
	install(defs_buf, n);
	log_info("catalog: %s: %u guests%s", shown(d->url), n, rc == -ENOENT ? " (a new catalog)" : "");
	cat.id_durable = cat.id != 0;
	if (cat.id_durable)
		return;
	/* A new or version 1 catalog gets its identity now, before any pool
	 * records it (catalog_fmt.h): written first, so a pool never names
	 * an id its catalog lacks. */
	cat.id = new_id();
	if (persist(err, sizeof(err)))
		log_err("catalog: %s", err);
}

/* Does any guest's disk use pool volume `id`? */
static int volume_used(uint32_t id)
{
	char prefix[16];
	int n = fmt_snprintf(prefix, sizeof(prefix), "cow:%u", id);
	for (unsigned i = 0; i < VM_MAX; i++)
		for (unsigned k = 0; vms[i].defined && k < vms[i].def.ndisks; k++) {
			const char *u = vms[i].def.disk[k].url;
			for (; !strncmp(u, "cow:", 4); u = strchr(u + 4, ':') ? strchr(u + 4, ':') + 1 : "")
				if (!strncmp(u, prefix, n) && (u[n] == ':' || !u[n]))
					return 1;
		}
	return 0;
}

/* Is every volume the definitions name in the pool, and at least one named? */
static int vouched(void)
{
	unsigned named = 0;
	for (unsigned i = 0; i < VM_MAX; i++)
		for (unsigned k = 0; vms[i].defined && k < vms[i].def.ndisks; k++)
			for (const char *u = vms[i].def.disk[k].url; !strncmp(u, "cow:", 4);) {
				uint32_t id = 0;
				for (u += 4; *u >= '0' && *u <= '9' && id < 100000000u; u++)
					id = id * 10 + (uint32_t)(*u - '0');
				if (!cow_pool_find(id))
					return 0;
				named++;
				u = *u == ':' ? u + 1 : "";
			}
	return named > 0;
}

/* Volumes made for a clone whose catalog commit never happened (a power cut). */
static void pool_gc(void)
{
	for (uint32_t i = 0; cow_pool && i < cow_pool->hdr.nvols;) {
		uint32_t id = cow_pool->vol[i].id;
		if (volume_used(id)) {
			i++;
			continue;
		}
		char owner[sizeof(cow_pool->vol[i].owner)];
		memcpy(owner, cow_pool->vol[i].owner, sizeof(owner));
		owner[sizeof(owner) - 1] = 0;
		int rc = cow_pool_delete(id);
		log_info("pool: volume %u (made for '%s') is in no definition: %s", id, owner,
			 rc ? errno_str(rc) : "freed");
		if (rc)
			i++;
	}
}

/*
 * Frees the volumes no definition names, but only in this catalog's own
 * pool (cow_pool_claim): a catalog LUN that reads blank or is another
 * hako's must never empty a pool. A pool of another catalog is not used.
 */
static void pool_check_and_gc(void)
{
	char err[200];
	struct blockdev *d = cow_pool->dev;
	int rc = cat.id_durable ? cow_pool_claim(cat.id, vouched(), err, sizeof(err)) : -EAGAIN;
	if (!cat.id_durable)
		fmt_snprintf(err, sizeof(err), "pool: the catalog has no identity on its device yet "
			     "(its write failed)");
	if (!rc) {
		pool_gc();
		return;
	}
	log_err("%s; not freeing any of its %u volumes%s", err, cow_pool->hdr.nvols,
		rc == -EPERM ? " and not using it: clones are not possible" : "");
	if (rc == -EPERM) {
		cow_pool_detach();
		blk_close(d);
	}
}

/*
 * Boot, service core, after hako.cfg: attaches the pool, loads the catalog
 * into vms[], frees volumes no definition names. Never fails the boot.
 */
void catalog_boot(void)
{
	blk_sync_set_pump(service_poll);
	pool_boot();
	catalog_open();
	if (!cat.dev)
		log_warn("catalog: %s: guest definitions live in memory and are lost at reboot",
			 cat.why_none);
	else if (cow_pool)
		pool_check_and_gc();
	else
		log_info("pool: no pool= in hako.cfg: `clone` needs one");
}
