/*
 * vmm/blk/cow.c - copy-on-write block devices, the `cow:` scheme:
 *
 *   cow:ID:BASEURL   volume ID of the pool, over the read-only device BASEURL
 *   cow:ID           volume ID without base (unwritten chunks read as zeros)
 *
 * Reads of chunks the volume never wrote come from the base; a write to
 * such a chunk allocates a pool chunk, copies the rest of the chunk from
 * the base (read-modify-write), and records it in the volume's map, in
 * the order cow_pool.h gives: free-map bit, flush, data, flush, map
 * entry, flush. A write of whole unallocated chunks allocates up to
 * COW_RUN contiguous pool chunks in one such round (a full copy or a
 * guest's large write costs three flushes per MiB, not per chunk).
 * Allocations are done one at a time for the whole pool
 * (they share one chunk buffer and the free map's blocks); reads and
 * writes of allocated chunks go straight to the pool. A request is
 * served one chunk-sized segment after another.
 * Portable: only the block layer; tested in tests/unit/test_cow.c.
 */
#include "vmm/blk/cow_pool.h"

#include "vmm/blk/blk_sync.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/redact.h"
#include "vmm/core/lib/string.h"

#define COW_RUN 16                      /* chunks per allocation round: 1 MiB */

struct cow_dev {
	uint32_t id;
	uint64_t bytes;
	uint32_t bs;                    /* virtual block size */
	struct blockdev *base;          /* read-only, or 0 */
	uint32_t *map;                  /* the volume's map, as on the device */
	uint32_t map_chunk, map_chunks;
	uint32_t inflight;
	/* while opening (cow_open): the base opens, then the map is read */
	struct blockdev *dev;
	struct blk_open_req base_open;
	struct blk_req map_read;
	enum { OPEN_DONE, OPEN_BASE, OPEN_MAP } opening;
	int cancelled;                  /* cow_cancel during the map read */
	int writable;
	struct cow_dev *next_open;      /* open_devs */
};

/*
 * Every volume device from its open to its free. Two writable devices of
 * one volume would each keep their own map and allocate the same chunk
 * twice (the second map write losing the first's data), and a reader
 * beside a writer reads a stale map: a volume is open once for writing,
 * or any number of times read-only (the base of several clones).
 */
static struct cow_dev *open_devs;

/* Steps of an allocation (each waits for one child request). */
enum cow_step { STEP_IO, STEP_FLUSH, STEP_BIT, STEP_BIT_FLUSH, STEP_FILL, STEP_DATA, STEP_DATA_FLUSH,
		STEP_MAP, STEP_MAP_FLUSH };

struct cow_io {
	struct blk_req *r;
	struct cow_dev *cd;
	uint64_t off, len;              /* bytes of r done, and in all */
	uint64_t vchunk;                /* the segment: chunk, offset in it, length */
	uint32_t in, n;
	uint32_t pchunk, nalloc;        /* the chunks being allocated */
	enum cow_step step;
	struct blk_req child;
	struct cow_io *next_wait;
};

static struct cow_io *wait_head, *wait_tail;   /* allocations waiting for the pool */

static void io_next(struct cow_io *io);
static void alloc_begin(struct cow_io *io);

static void io_finish(struct cow_io *io, int status)
{
	io->cd->inflight--;
	blk_complete(io->r, status);
	blk_host()->free(io, sizeof(*io));
}

static void child_done(struct blk_req *c, int status);

static void child(struct cow_io *io, struct blockdev *d, enum blk_op op, uint64_t lba,
		  uint32_t count, void *buf)
{
	io->child = (struct blk_req){ .op = op, .lba = lba, .count = count, .buf = buf,
				      .done = child_done, .ctx = io };
	int rc = blk_submit(d, &io->child);
	if (rc)
		child_done(&io->child, rc);
}

static uint64_t pool_lba(uint32_t chunk, uint32_t in) { return cow_chunk_lba(cow_pool, chunk) + in / cow_pool->bs; }

/*
 * A read segment goes on over the following chunks while they come from
 * the same place contiguously (unwritten: the base; written: consecutive
 * pool chunks), so a sequential read is not cut into 64 KiB requests.
 */
static void extend_read(struct cow_io *io, uint32_t p, uint64_t room)
{
	const uint32_t *map = io->cd->map;
	uint32_t limit = 1u << 30;   /* keep count * block size well inside 32 bits */
	for (uint64_t k = 1; io->n < room && io->n < limit; k++) {
		uint32_t next = map[io->vchunk + k];
		if (p ? next != p + k : next != 0)
			break;
		io->n = room - io->n < COW_CHUNK ? (uint32_t)room : io->n + COW_CHUNK;
	}
}

/* The next segment of io's request, or its completion. */
static void io_next(struct cow_io *io)
{
	struct cow_dev *cd = io->cd;
	struct blk_req *r = io->r;
	if (r->op == BLK_FLUSH) {   /* everything written went to the pool */
		io->step = STEP_FLUSH;
		return child(io, cow_pool->dev, BLK_FLUSH, 0, 0, 0);
	}
	for (;;) {
		if (io->off == io->len)
			return io_finish(io, 0);
		uint64_t vbyte = r->lba * cd->bs + io->off;
		uint64_t room = io->len - io->off;
		io->vchunk = vbyte / COW_CHUNK;
		io->in = (uint32_t)(vbyte % COW_CHUNK);
		io->n = (uint32_t)(COW_CHUNK - io->in < room ? COW_CHUNK - io->in : room);
		uint8_t *buf = (uint8_t *)r->buf + io->off;
		uint32_t p = cd->map[io->vchunk];
		io->step = STEP_IO;
		if (r->op == BLK_READ)
			extend_read(io, p, room);
		if (p)
			return child(io, cow_pool->dev, r->op, pool_lba(p, io->in), io->n / cow_pool->bs, buf);
		if (r->op == BLK_WRITE)
			return alloc_begin(io);
		if (cd->base)
			return child(io, cd->base, BLK_READ, vbyte / cd->bs, io->n / cd->bs, buf);
		memset(buf, 0, io->n);   /* never written, no base: zeros */
		io->off += io->n;
	}
}

/* ---- allocation (cow_pool.h: bit, flush, data, flush, map, flush) ---- */

/* Starts allocations that waited, while the pool is free. */
void cow_kick(void)
{
	while (wait_head && cow_pool && !cow_pool->busy && !cow_pool->paused) {
		struct cow_io *io = wait_head;
		wait_head = io->next_wait;
		if (!wait_head)
			wait_tail = 0;
		alloc_begin(io);
	}
}

static void alloc_end(struct cow_io *io, int status)
{
	cow_pool->busy = 0;
	if (status)
		io_finish(io, status);   /* a set bit with no map entry: reclaimed at attach */
	else {
		io->off += io->n;
		io_next(io);
	}
	cow_kick();
}

/* How many whole, unallocated chunks io's write covers from its segment on (1 if partial). */
static uint32_t run_wanted(const struct cow_io *io)
{
	uint64_t room = io->len - io->off;
	uint32_t m = 0;
	if (io->in || room < COW_CHUNK)
		return 1;
	while (m < COW_RUN && room >= (uint64_t)(m + 1) * COW_CHUNK && !io->cd->map[io->vchunk + m])
		m++;
	return m;
}

/* Writes the device blocks holding bytes [from, to) of `base` (an image of area `lba`). */
static void write_span(struct cow_io *io, uint64_t lba, uint8_t *base, uint64_t from, uint64_t to)
{
	uint32_t bs = cow_pool->bs;
	uint64_t first = from / bs, last = (to - 1) / bs;
	child(io, cow_pool->dev, BLK_WRITE, lba + first, (uint32_t)(last - first + 1), base + first * bs);
}

static void alloc_begin(struct cow_io *io)
{
	struct cow_pool *p = cow_pool;
	if (p->busy || p->paused) {
		io->next_wait = 0;
		if (wait_tail)
			wait_tail->next_wait = io;
		else
			wait_head = io;
		wait_tail = io;
		return;
	}
	if (io->cd->map[io->vchunk])   /* allocated while this one waited */
		return io_next(io);
	uint32_t hint = (uint32_t)(io->cd->map_chunk + io->cd->map_chunks + io->vchunk);
	uint32_t m = run_wanted(io), c = m > 1 ? cow_find_run(p, hint, m) : 0;
	if (!c)
		m = 1, c = cow_find_free(p, hint);
	if (!c)
		return io_finish(io, -ENOSPC);
	p->busy = 1;
	for (uint32_t k = 0; k < m; k++)
		cow_bit_set(p, c + k, 1);
	io->pchunk = c, io->nalloc = m;
	if (m > 1)
		io->n = m * COW_CHUNK;
	io->step = STEP_BIT;
	write_span(io, cow_bit_lba(p, 0), p->bitmap, c / 8, (c + m - 1) / 8 + 1);
}

/* The whole chunk for the pool: the base's data (or zeros) around the new bytes. */
static void alloc_fill(struct cow_io *io)
{
	struct cow_dev *cd = io->cd;
	uint64_t start = io->vchunk * COW_CHUNK;
	uint64_t have = cd->bytes - start < COW_CHUNK ? cd->bytes - start : COW_CHUNK;
	io->step = STEP_FILL;
	if (!(io->n % COW_CHUNK))             /* whole chunks: nothing to merge */
		return child_done(&io->child, 0);
	if (!cd->base) {
		memset(cow_pool->chunk_buf, 0, COW_CHUNK);
		return child_done(&io->child, 0);
	}
	memset(cow_pool->chunk_buf + have, 0, COW_CHUNK - have);
	child(io, cd->base, BLK_READ, start / cd->bs, (uint32_t)(have / cd->bs), cow_pool->chunk_buf);
}

/*
 * Writes the map blocks holding the new entries, from a copy in the chunk
 * buffer (free again once the data is durable): the in-memory map changes
 * only after this write is durable (alloc_step, STEP_MAP_FLUSH).
 */
static void write_map(struct cow_io *io)
{
	struct cow_pool *p = cow_pool;
	const struct cow_dev *cd = io->cd;
	uint32_t bs = p->bs;
	uint64_t first = io->vchunk * 4 / bs, last = ((io->vchunk + io->nalloc) * 4 - 1) / bs;
	uint8_t *img = p->chunk_buf;
	memcpy(img, (const uint8_t *)cd->map + first * bs, (last - first + 1) * bs);
	uint32_t *entry = (uint32_t *)(img + (io->vchunk * 4 - first * bs));
	for (uint32_t k = 0; k < io->nalloc; k++)
		entry[k] = io->pchunk + k;
	child(io, p->dev, BLK_WRITE, cow_chunk_lba(p, cd->map_chunk) + first, (uint32_t)(last - first + 1),
	      img);
}

static void alloc_step(struct cow_io *io)
{
	struct cow_pool *p = cow_pool;
	struct cow_dev *cd = io->cd;
	switch (io->step) {
	case STEP_BIT:
		io->step = STEP_BIT_FLUSH;
		return child(io, p->dev, BLK_FLUSH, 0, 0, 0);
	case STEP_BIT_FLUSH:
		return alloc_fill(io);
	case STEP_FILL:
		io->step = STEP_DATA;
		if (!io->in && !(io->n % COW_CHUNK))   /* whole chunks: straight from the request */
			return child(io, p->dev, BLK_WRITE, pool_lba(io->pchunk, 0), io->n / p->bs,
				     (uint8_t *)io->r->buf + io->off);
		memcpy(p->chunk_buf + io->in, (uint8_t *)io->r->buf + io->off, io->n);
		return child(io, p->dev, BLK_WRITE, pool_lba(io->pchunk, 0), COW_CHUNK / p->bs, p->chunk_buf);
	case STEP_DATA:
		io->step = STEP_DATA_FLUSH;
		return child(io, p->dev, BLK_FLUSH, 0, 0, 0);
	case STEP_DATA_FLUSH:
		io->step = STEP_MAP;
		return write_map(io);
	case STEP_MAP:
		io->step = STEP_MAP_FLUSH;
		return child(io, p->dev, BLK_FLUSH, 0, 0, 0);
	case STEP_MAP_FLUSH:
		/* Only now may later requests use the chunks: a write to them is
		 * acknowledged without an allocation, so the map entry pointing
		 * at them must be durable first. */
		for (uint32_t k = 0; k < io->nalloc; k++)
			cd->map[io->vchunk + k] = io->pchunk + k;
		return alloc_end(io, 0);
	case STEP_IO:
	case STEP_FLUSH:
		return alloc_end(io, 0);
	}
}

static void child_done(struct blk_req *c, int status)
{
	struct cow_io *io = c->ctx;
	if (io->step == STEP_FLUSH)
		return io_finish(io, status);
	if (io->step == STEP_IO) {
		if (status)
			return io_finish(io, status);
		io->off += io->n;
		return io_next(io);
	}
	if (status)
		return alloc_end(io, status);
	alloc_step(io);
}

/* ---- the backend ---- */

static void cow_start(struct blockdev *d, struct blk_req *r)
{
	struct cow_dev *cd = d->priv;
	struct cow_io *io = blk_host()->alloc(sizeof(*io));
	if (!io)
		return blk_complete(r, -ENOMEM);
	*io = (struct cow_io){ .r = r, .cd = cd, .len = (uint64_t)r->count * cd->bs };
	cd->inflight++;
	io_next(io);
}

static void cow_free(struct cow_dev *cd)
{
	for (struct cow_dev **pp = &open_devs; *pp; pp = &(*pp)->next_open)
		if (*pp == cd) {
			*pp = cd->next_open;
			break;
		}
	if (cd->base)
		blk_close(cd->base);
	if (cd->map)
		blk_host()->free(cd->map, (uint64_t)cd->map_chunks * COW_CHUNK);
	blk_host()->free(cd, sizeof(*cd));
}

/* Child requests cannot be recalled: wait for them (service core). */
static void cow_close(struct blockdev *d)
{
	struct cow_dev *cd = d->priv;
	while (cd->inflight)
		blk_sync_pump();
	cow_free(cd);
}

static const struct blk_backend_ops cow_ops = { cow_start, cow_close, 0 };

/* "ID" or "ID:BASE": 0 and the parts, or -EINVAL. */
static int parse(const char *spec, uint32_t *id, const char **base)
{
	uint64_t n = 0;
	const char *p = spec;
	for (; *p >= '0' && *p <= '9' && n <= 0xffffffffull; p++)
		n = n * 10 + (uint64_t)(*p - '0');
	if (p == spec || !n || n > 0xffffffffull || (*p && *p != ':') || (*p == ':' && !p[1]))
		return -EINVAL;
	*id = (uint32_t)n;
	*base = *p ? p + 1 : 0;
	return 0;
}

static int cow_check(const char *spec, char *err, unsigned len)
{
	uint32_t id;
	const char *base;
	if (parse(spec, &id, &base)) {
		char shown[BLK_URL_MAX];
		redact_url(spec, shown, sizeof(shown));
		fmt_snprintf(err, len, "bad disk 'cow:%s': use cow:ID or cow:ID:BASEURL (made by `clone`)",
			     shown);
		return -EINVAL;
	}
	return base ? blk_url_check(base, err, len) : 0;
}

/*
 * Opening a volume (the device of a guest's clone disk) waits twice, each
 * time without holding up the service core: for its base to open (a LUN's
 * login), then for its map to be read from the pool. Each step ends in a
 * callback; the last calls blk_opened().
 */
static void open_fail(struct cow_dev *cd, int rc, const char *msg)
{
	blk_open_failed(cd->dev, rc, msg, cd->id);
	cow_free(cd);
}

/*
 * The map was checked when the pool was attached, but the device may have
 * changed since, and a bad entry would send a guest's writes into the
 * volume table, the free map, another map, or another entry's chunk.
 * Every entry must be 0 or a used data chunk of the pool, each at most
 * once. 0, -EIO (a bad map) or -ENOMEM.
 */
static int map_check(const struct cow_pool *p, const struct cow_dev *cd)
{
	uint64_t vchunks = (cd->bytes + COW_CHUNK - 1) / COW_CHUNK, seen_bytes = (p->chunks + 7) / 8;
	uint8_t *seen = blk_host()->alloc(seen_bytes);
	if (!seen)
		return -ENOMEM;
	int rc = 0;
	for (uint64_t i = 0; i < vchunks && !rc; i++) {
		uint32_t c = cd->map[i];
		if (!c)
			continue;
		if (!cow_data_chunk(p, c) || (seen[c / 8] >> (c % 8) & 1))
			rc = -EIO;
		else
			seen[c / 8] |= (uint8_t)(1u << (c % 8));
	}
	blk_host()->free(seen, seen_bytes);
	return rc;
}

static void map_read_done(struct blk_req *r, int status)
{
	struct cow_dev *cd = r->ctx;
	struct cow_pool *p = cow_pool;
	if (cd->cancelled) {
		cow_free(cd);
		return;
	}
	if (status)
		return open_fail(cd, status, "cannot read the map of volume %u");
	if ((status = map_check(p, cd)))
		return open_fail(cd, status, "the map of volume %u points outside its data (into pool "
				 "metadata, outside the pool, or twice at one chunk); not using it");
	struct blockdev *d = cd->dev;
	cd->opening = OPEN_DONE;
	d->ops = &cow_ops;
	d->blocks = cd->bytes / cd->bs;
	d->block_size = cd->bs;
	blk_opened(d, 0);
}

/* Reads the volume's map from the pool; map_read_done goes on. */
static void load_map(struct cow_dev *cd)
{
	struct cow_pool *p = cow_pool;
	uint64_t bytes = (uint64_t)cd->map_chunks * COW_CHUNK;
	cd->opening = OPEN_MAP;
	cd->map = blk_host()->alloc(bytes);
	if (!cd->map)
		return open_fail(cd, -ENOMEM, "no memory for the map of volume %u");
	cd->map_read = (struct blk_req){ .op = BLK_READ, .lba = cow_chunk_lba(p, cd->map_chunk),
					 .count = (uint32_t)(bytes / p->bs), .buf = cd->map,
					 .done = map_read_done, .ctx = cd };
	int rc = blk_submit(p->dev, &cd->map_read);
	if (rc)
		open_fail(cd, rc, "cannot read the map of volume %u");
}

/* The base is open (or not): check it is the disk the volume was made over. */
static void base_opened(struct blk_open_req *o)
{
	struct cow_dev *cd = o->ctx;
	if (o->status) {
		blk_open_failed(cd->dev, o->status, "%s", o->err);
		cow_free(cd);
		return;
	}
	cd->base = o->dev;
	if (blk_block_size(cd->base) != cd->bs || blk_blocks(cd->base) * cd->bs != cd->bytes)
		return open_fail(cd, -EINVAL, "the base disk of volume %u changed size");
	load_map(cd);
}

/* Abandons an open (blk_open_cancel): a map read in flight frees cd when it ends. */
static void cow_cancel(struct blockdev *d)
{
	struct cow_dev *cd = d->priv;
	if (cd->opening == OPEN_MAP) {
		cd->cancelled = 1;
		return;
	}
	blk_open_cancel(&cd->base_open);
	cow_free(cd);
}

static int refuse(char *err, unsigned len, int rc, const char *msg, uint32_t id)
{
	fmt_snprintf(err, len, msg, id);
	return rc;
}

/* Is volume id open (or opening): for writing when `writers` only, else at all? */
static int volume_open(uint32_t id, int writers)
{
	for (const struct cow_dev *cd = open_devs; cd; cd = cd->next_open)
		if (cd->id == id && (cd->writable || !writers))
			return 1;
	return 0;
}

/* Is pool volume id open (cow_pool_delete refuses then)? */
int cow_volume_busy(uint32_t id) { return volume_open(id, 0); }

static int cow_open(const char *spec, struct blockdev *d, char *err, unsigned len)
{
	uint32_t id;
	const char *base;
	if (parse(spec, &id, &base))
		return cow_check(spec, err, len);
	if (!cow_pool)
		return refuse(err, len, -ENODEV, "no copy-on-write pool for volume %u: set pool= in hako.cfg", id);
	const struct cow_vol_rec *v = cow_pool_find(id);
	if (!v)
		return refuse(err, len, -ENOENT, "the pool has no volume %u", id);
	if (v->block_size % cow_pool->bs)
		return refuse(err, len, -EINVAL, "volume %u has smaller blocks than the pool device", id);
	int want_base = base || !(v->flags & COW_VOL_NO_BASE);
	if (want_base && (!base || (v->flags & COW_VOL_NO_BASE) || cow_hash(base) != v->base_hash))
		return refuse(err, len, -EINVAL, "volume %u of the pool was made over another disk", id);
	int writable = !d->opening->readonly;
	if (volume_open(id, !writable))
		return refuse(err, len, -EBUSY, "volume %u of the pool is open already (a guest's disk, a "
			      "clone's base or a disk check) and may have only one writer", id);
	struct cow_dev *cd = blk_host()->alloc(sizeof(*cd));
	if (!cd)
		return -ENOMEM;
	*cd = (struct cow_dev){ .id = id, .bytes = v->bytes, .bs = v->block_size,
				.map_chunk = v->map_chunk, .map_chunks = v->map_chunks, .dev = d,
				.writable = writable, .next_open = open_devs };
	open_devs = cd;
	d->priv = cd;
	if (!want_base) {
		load_map(cd);
		return BLK_OPEN_LATER;
	}
	cd->opening = OPEN_BASE;
	cd->base_open.done = base_opened;
	cd->base_open.ctx = cd;
	int rc = blk_open(base, 1, &cd->base_open);
	if (rc) {
		fmt_snprintf(err, len, "%s", cd->base_open.err);
		cow_free(cd);
		return rc;
	}
	return BLK_OPEN_LATER;
}
BLK_SCHEME(cow, "cow:", cow_check, cow_open, cow_cancel);
