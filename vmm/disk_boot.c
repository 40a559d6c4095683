/*
 * vmm/disk_boot.c - reading what a guest's disk boots, asynchronously
 * (see disk_boot.h for the three steps). Portable: block layer, readers
 * and the owner's ops only. Service core: every function here, and every
 * completion, runs there.
 */
#include "vmm/disk_boot.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"

#define DB_CHUNK_MIN 4096u                 /* cache unit: this or the device's block */
#define DB_CACHE_CHUNKS 1024u              /* metadata cache: 4 MiB with 4 KiB chunks */
#define DB_HASH (2 * DB_CACHE_CHUNKS)
#define DB_WINDOW 8u                       /* chunks fetched per miss (32 KiB) */
#define DB_SLOTS 4u                        /* reads in flight */
#define DB_SLOT_BYTES (256u << 10)
#define DB_RUNS 4096u                      /* pieces per file */
#define DB_KERNEL_MAX (128ull << 20)

enum db_phase { DB_FIND, DB_KERNEL, DB_INITRD, DB_DONE };

struct db_slot {
	struct blk_req req;
	struct disk_boot *db;
	uint8_t *buf;                          /* DB_SLOT_BYTES + one block */
	int busy;
	uint64_t chunk0;                       /* metadata: first chunk, count */
	unsigned nchunks;
	uint64_t file_off;                     /* file data: where buf + skip goes */
	uint32_t len, skip;
};

struct disk_boot {
	struct blockdev *bd;
	const struct disk_boot_ops *ops;
	void *ctx;
	uint32_t bs, chunk;
	uint64_t disk_bytes;
	/* the metadata cache: open addressing on chunk index + 1 */
	uint64_t key[DB_HASH];
	uint32_t where[DB_HASH];               /* chunk's slot in pool */
	uint8_t *pool;
	unsigned used;
	uint64_t want;                         /* the chunk the last run missed */
	enum db_phase phase;
	struct boot_found found;
	struct fs_run runs[2 * DB_RUNS];
	/* the file being read: cursor into its runs */
	const struct fs_map *map;
	unsigned run_i;
	uint64_t run_off, file_pos;
	uint8_t *kernel;
	uint64_t kernel_cap, initrd_gpa;
	struct db_slot slot[DB_SLOTS];
	unsigned inflight;
	int status;                            /* -EINPROGRESS, 0 or -E... */
	int abandoned;
	struct disk_boot_stats stats;
	char err[DISK_BOOT_ERR_MAX];
};

static void step(struct disk_boot *db);

static int fail(struct disk_boot *db, int rc, const char *msg, const char *arg)
{
	if (db->status == -EINPROGRESS) {
		db->status = rc;
		fmt_snprintf(db->err, sizeof(db->err), msg, arg);
	}
	return rc;
}

/* ---- the metadata cache, as the readers' disk (fs_dev.h) ---- */

static unsigned hash_of(uint64_t c) { return (unsigned)((c * 0x9e3779b97f4a7c15ull) >> 40) % DB_HASH; }

static const uint8_t *cache_get(const struct disk_boot *db, uint64_t c)
{
	for (unsigned h = hash_of(c), n = 0; n < DB_HASH && db->key[h]; h = (h + 1) % DB_HASH, n++)
		if (db->key[h] == c + 1)
			return db->pool + (uint64_t)db->where[h] * db->chunk;
	return 0;
}

static int cache_put(struct disk_boot *db, uint64_t c, const uint8_t *data)
{
	if (cache_get(db, c))
		return 0;
	if (db->used == DB_CACHE_CHUNKS)
		return -ENOSPC;
	unsigned h = hash_of(c);
	while (db->key[h])
		h = (h + 1) % DB_HASH;
	db->key[h] = c + 1;
	db->where[h] = db->used;
	memcpy(db->pool + (uint64_t)db->used++ * db->chunk, data, db->chunk);
	return 0;
}

/* The readers' read: from the cache, or -EAGAIN naming the chunk to fetch. */
static int cache_read(void *ctx, uint64_t off, uint32_t len, void *buf)
{
	struct disk_boot *db = ctx;
	uint8_t *out = buf;
	while (len) {
		uint64_t c = off / db->chunk;
		uint32_t in = (uint32_t)(off % db->chunk), n = db->chunk - in;
		const uint8_t *p = cache_get(db, c);
		if (!p) {
			db->want = c;
			return -EAGAIN;
		}
		if (n > len)
			n = len;
		memcpy(out, p + in, n);
		out += n, off += n, len -= n;
	}
	return 0;
}
static const struct disk_ops cache_ops = { cache_read };

/* ---- reads ---- */

static struct db_slot *free_slot(struct disk_boot *db)
{
	for (unsigned i = 0; i < DB_SLOTS; i++)
		if (!db->slot[i].busy)
			return &db->slot[i];
	return 0;
}

static void slot_done(struct db_slot *s);

static void done_cb(struct blk_req *r, int status)
{
	struct db_slot *s = r->ctx;
	struct disk_boot *db = s->db;
	s->busy = 0;
	db->inflight--;
	if (db->abandoned) {
		if (!db->inflight)
			disk_boot_end(db);
		return;
	}
	if (status)
		fail(db, status, "reading the disk failed (%s)", errno_str(status));
	else
		slot_done(s);
	if (db->status == -EINPROGRESS)
		step(db);
}

/* Reads disk bytes [start, start + bytes) (whole blocks) into s->buf. */
static int submit(struct disk_boot *db, struct db_slot *s, uint64_t start, uint64_t bytes)
{
	s->req = (struct blk_req){ .op = BLK_READ, .lba = start / db->bs,
				   .count = (uint32_t)(bytes / db->bs), .buf = s->buf, .done = done_cb,
				   .ctx = s };
	s->busy = 1;
	db->inflight++;
	int rc = blk_submit(db->bd, &s->req);
	if (rc) {
		s->busy = 0;
		db->inflight--;
		return fail(db, rc, "reading the disk failed (%s)", errno_str(rc));
	}
	return 0;
}

/* The chunks around db->want, aligned to the window, up to the disk's end. */
static void fetch_meta(struct disk_boot *db)
{
	struct db_slot *s = free_slot(db);
	uint64_t c0 = db->want / DB_WINDOW * DB_WINDOW, last = (db->disk_bytes - 1) / db->chunk;
	unsigned n = last - c0 + 1 < DB_WINDOW ? (unsigned)(last - c0 + 1) : DB_WINDOW;
	uint64_t bytes = (uint64_t)n * db->chunk;
	if (c0 * db->chunk + bytes > db->disk_bytes)   /* the disk ends inside the last chunk */
		bytes = db->disk_bytes - c0 * db->chunk;
	s->chunk0 = c0;
	s->nchunks = n;
	db->stats.meta_reads++;
	db->stats.meta_bytes += bytes;
	/* A refused submit has set db->status: step() ends on it. */
	(void)submit(db, s, c0 * db->chunk, bytes);
}

/* Copies a finished read where it belongs. */
static void slot_done(struct db_slot *s)
{
	struct disk_boot *db = s->db;
	if (db->phase == DB_FIND) {
		for (unsigned i = 0; i < s->nchunks; i++)
			if (cache_put(db, s->chunk0 + i, s->buf + (uint64_t)i * db->chunk))
				fail(db, -ENOSPC, "the file system's metadata needs more than %s of cache", "4 MiB");
		return;
	}
	if (db->phase == DB_KERNEL)
		memcpy(db->kernel + s->file_off, s->buf + s->skip, s->len);
	else
		db->ops->put(db->ctx, db->initrd_gpa + s->file_off, s->buf + s->skip, s->len);
}

/*
 * Issues reads for the next pieces of the file being read while slots
 * are free; holes are written as zeros on the way. 1 when the whole file
 * has been issued.
 */
static int issue(struct disk_boot *db)
{
	const struct fs_map *m = db->map;
	struct db_slot *s;
	while (db->run_i < m->n && (s = free_slot(db)) && db->status == -EINPROGRESS) {
		const struct fs_run *r = &m->run[db->run_i];
		uint64_t left = r->len - db->run_off;
		if (r->disk == FS_HOLE) {
			if (db->phase == DB_INITRD)   /* the kernel's buffer is zeroed already */
				db->ops->put(db->ctx, db->initrd_gpa + db->file_pos, 0, left);
			db->file_pos += left;
			db->run_i++, db->run_off = 0;
			continue;
		}
		uint64_t at = r->disk + db->run_off, start = at / db->bs * db->bs;
		uint32_t skip = (uint32_t)(at - start);
		uint32_t n = left < DB_SLOT_BYTES - skip ? (uint32_t)left : DB_SLOT_BYTES - skip;
		uint64_t bytes = (skip + n + db->bs - 1) / db->bs * db->bs;
		if (at + n > db->disk_bytes || start + bytes > db->disk_bytes) {
			fail(db, -EUCLEAN, "a file's data lies beyond the end of the disk%s", "");
			break;
		}
		s->file_off = db->file_pos, s->len = n, s->skip = skip;
		db->stats.bulk_reads++;
		db->stats.bulk_bytes += n;
		if (submit(db, s, start, bytes))
			break;
		db->file_pos += n;
		db->run_off += n;
		if (db->run_off == r->len)
			db->run_i++, db->run_off = 0;
	}
	return db->run_i == m->n;
}

static void read_file(struct disk_boot *db, enum db_phase phase, const struct fs_map *m)
{
	db->phase = phase;
	db->map = m;
	db->run_i = 0;
	db->run_off = db->file_pos = 0;
}

/* ---- the steps ---- */

static void found(struct disk_boot *db)
{
	const struct fs_map *k = &db->found.kernel;
	if (k->size > DB_KERNEL_MAX) {
		fail(db, -E2BIG, "the kernel (%s) is larger than 128 MiB", db->found.what);
		return;
	}
	db->kernel_cap = k->size;
	db->kernel = blk_host()->alloc(k->size);
	if (!db->kernel) {
		fail(db, -ENOMEM, "no memory for the kernel (%s)", db->found.what);
		return;
	}
	/* The cache has done its work. */
	blk_host()->free(db->pool, (uint64_t)DB_CACHE_CHUNKS * db->chunk);
	db->pool = 0;
	read_file(db, DB_KERNEL, k);
}

static void kernel_read(struct disk_boot *db)
{
	const char *why = "";
	uint64_t ilen = db->found.initrd.size;
	int rc = db->ops->plan(db->ctx, db->kernel, db->found.kernel.size, ilen, &db->initrd_gpa, &why);
	if (rc) {
		fail(db, rc, "the kernel cannot be loaded: %s", why);
		return;
	}
	if (ilen)
		read_file(db, DB_INITRD, &db->found.initrd);
	else
		db->phase = DB_DONE;
}

/* Advances as far as the data at hand allows; reads continue it. */
static void step(struct disk_boot *db)
{
	while (db->status == -EINPROGRESS) {
		if (db->phase == DB_FIND) {
			if (db->inflight)
				return;
			struct fs_dev dev = { &cache_ops, db, 0, db->disk_bytes };
			db->stats.finds++;
			int rc = boot_find(&dev, db->bs, &db->found, db->err, sizeof(db->err));
			if (rc == -EAGAIN) {
				fetch_meta(db);
				return;
			}
			if (rc) {
				db->status = rc;   /* boot_find's sentence is in err already */
				return;
			}
			found(db);
			continue;
		}
		if (db->phase == DB_DONE) {
			db->status = 0;
			return;
		}
		if (!issue(db) || db->inflight)
			return;
		if (db->phase == DB_KERNEL)
			kernel_read(db);
		else
			db->phase = DB_DONE;
	}
}

/* Starts reading bd (kept open by the caller): 0 and *out, or -ENOMEM. Service core. */
int disk_boot_begin(struct blockdev *bd, const struct disk_boot_ops *ops, void *ctx,
		    struct disk_boot **out)
{
	const struct blk_host_ops *h = blk_host();
	struct disk_boot *db = h->alloc(sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->bd = bd, db->ops = ops, db->ctx = ctx;
	db->bs = blk_block_size(bd);
	db->chunk = db->bs > DB_CHUNK_MIN ? db->bs : DB_CHUNK_MIN;
	db->disk_bytes = blk_blocks(bd) * db->bs;
	db->status = -EINPROGRESS;
	db->found.kernel = (struct fs_map){ db->runs, 0, DB_RUNS, 0 };
	db->found.initrd = (struct fs_map){ db->runs + DB_RUNS, 0, DB_RUNS, 0 };
	db->pool = h->alloc((uint64_t)DB_CACHE_CHUNKS * db->chunk);
	int ok = db->pool != 0;
	for (unsigned i = 0; ok && i < DB_SLOTS; i++) {
		db->slot[i].db = db;
		db->slot[i].buf = h->alloc(DB_SLOT_BYTES + db->chunk);
		ok = db->slot[i].buf != 0;
	}
	if (!ok) {
		disk_boot_end(db);
		return -ENOMEM;
	}
	*out = db;
	step(db);
	return 0;
}

/* -EINPROGRESS, 0 when kernel and initrd are in place, or -E... with err. */
int disk_boot_poll(struct disk_boot *db, char *err, unsigned len)
{
	if (db->status != -EINPROGRESS && db->status)
		fmt_snprintf(err, len, "%s", db->err);
	/* A failure waits for its reads in flight to drain before it is final. */
	return db->status == -EINPROGRESS || db->inflight ? -EINPROGRESS : db->status;
}

const struct boot_found *disk_boot_found(const struct disk_boot *db) { return &db->found; }
const struct disk_boot_stats *disk_boot_stats(const struct disk_boot *db) { return &db->stats; }

const void *disk_boot_kernel(const struct disk_boot *db, uint64_t *len)
{
	*len = db->found.kernel.size;
	return db->kernel;
}

/* Frees db now, or after its last read in flight completes. Service core. */
void disk_boot_end(struct disk_boot *db)
{
	const struct blk_host_ops *h = blk_host();
	db->abandoned = 1;
	if (db->inflight)
		return;   /* done_cb frees it after the last read */
	for (unsigned i = 0; i < DB_SLOTS; i++)
		if (db->slot[i].buf)
			h->free(db->slot[i].buf, DB_SLOT_BYTES + db->chunk);
	if (db->pool)
		h->free(db->pool, (uint64_t)DB_CACHE_CHUNKS * db->chunk);
	if (db->kernel)
		h->free(db->kernel, db->kernel_cap);
	h->free(db, sizeof(*db));
}
