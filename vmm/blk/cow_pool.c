/*
 * vmm/blk/cow_pool.c - the copy-on-write pool's metadata: format, load,
 * reclaim, volume create and delete (see cow_pool.h for the layout and
 * the write ordering). Management work runs synchronously on the service
 * core, with the data path's allocations paused. Portable; tested with
 * power cuts in tests/unit/test_cow.c.
 */
#include "vmm/blk/cow_pool.h"

#include "vmm/blk/blk_sync.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"

struct cow_pool *cow_pool;

/* FNV-1a 64 of a NUL-terminated string (a base URL's fingerprint). */
uint64_t cow_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 0x100000001b3ull;
	return h;
}

int cow_bit(const struct cow_pool *p, uint32_t c) { return p->bitmap[c / 8] >> (c % 8) & 1; }

/* Marks chunk c used or free in memory, keeping p->used; the caller writes the block. */
void cow_bit_set(struct cow_pool *p, uint32_t c, int used)
{
	if (cow_bit(p, c) == !!used)
		return;
	p->bitmap[c / 8] ^= (uint8_t)(1u << (c % 8));
	p->used += used ? 1 : (uint32_t)-1;
}

/* Pool-device LBA where chunk c starts. */
uint64_t cow_chunk_lba(const struct cow_pool *p, uint32_t c)
{
	return (uint64_t)c * (COW_CHUNK / p->bs);
}

/* Pool-device LBA of the free-map block holding chunk c's bit. */
uint64_t cow_bit_lba(const struct cow_pool *p, uint32_t c)
{
	return cow_chunk_lba(p, 1) + c / 8 / p->bs;
}

/* A free chunk, searching from hint and wrapping; 0 when the pool is full. */
uint32_t cow_find_free(const struct cow_pool *p, uint32_t hint)
{
	for (uint32_t i = 0; i < p->chunks; i++) {
		uint32_t c = (hint + i) % p->chunks;
		if (!cow_bit(p, c))
			return c;
	}
	return 0;
}

/*
 * May a volume's map point at chunk c? Only when it is inside the pool,
 * past the volume table and the free map, marked used, and no volume's map.
 */
int cow_data_chunk(const struct cow_pool *p, uint32_t c)
{
	if (c <= p->bitmap_chunks || c >= p->chunks || !cow_bit(p, c))
		return 0;
	for (uint32_t i = 0; i < p->hdr.nvols; i++)
		if (c >= p->vol[i].map_chunk && c - p->vol[i].map_chunk < p->vol[i].map_chunks)
			return 0;
	return 1;
}

/* The attached pool's volume `id`, or 0 (also when no pool is attached). */
struct cow_vol_rec *cow_pool_find(uint32_t id)
{
	for (uint32_t i = 0; cow_pool && id && i < cow_pool->hdr.nvols; i++)
		if (cow_pool->vol[i].id == id)
			return &cow_pool->vol[i];
	return 0;
}

/* ---- device I/O helpers ---- */

static int flush(struct cow_pool *p) { return blk_sync_io(p->dev, BLK_FLUSH, 0, 0, 0); }

/* Writes the free-map blocks holding bits [first, first + n) and flushes. */
static int write_bits(struct cow_pool *p, uint32_t first, uint32_t n)
{
	uint64_t lo = cow_bit_lba(p, first), hi = cow_bit_lba(p, first + n - 1);
	uint8_t *src = p->bitmap + (lo - cow_bit_lba(p, 0)) * p->bs;
	int rc = blk_sync_io(p->dev, BLK_WRITE, lo, (uint32_t)(hi - lo + 1), src);
	return rc ? rc : flush(p);
}

static int write_table(struct cow_pool *p)
{
	uint32_t len = sizeof(p->hdr) + p->hdr.nvols * sizeof(struct cow_vol_rec);
	uint8_t *buf = blk_host()->alloc(COW_TABLE_SLOT);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, &p->hdr, sizeof(p->hdr));
	memcpy(buf + sizeof(p->hdr), p->vol, p->hdr.nvols * sizeof(struct cow_vol_rec));
	int rc = slot_commit(&p->table_store, buf, len);
	blk_host()->free(buf, COW_TABLE_SLOT);
	return rc;
}

/* Reads a volume's map (map_chunks * COW_CHUNK bytes, caller frees). */
static int read_map(struct cow_pool *p, const struct cow_vol_rec *v, uint32_t **out)
{
	uint64_t bytes = (uint64_t)v->map_chunks * COW_CHUNK;
	uint32_t *map = blk_host()->alloc(bytes);
	if (!map)
		return -ENOMEM;
	int rc = blk_sync_io(p->dev, BLK_READ, cow_chunk_lba(p, v->map_chunk),
			     (uint32_t)(bytes / p->bs), map);
	if (rc) {
		blk_host()->free(map, bytes);
		return rc;
	}
	*out = map;
	return 0;
}

/* ---- pausing the data path's allocations ---- */

static void pool_pause(struct cow_pool *p)
{
	p->paused = 1;
	while (p->busy)
		blk_sync_pump();
}

static void pool_resume(struct cow_pool *p)
{
	p->paused = 0;
	cow_kick();
}

/* ---- attach: format or load, then reclaim ---- */

static int fail(char *err, unsigned len, int rc, const char *msg)
{
	fmt_snprintf(err, len, "pool: %s", msg);
	return rc;
}

/*
 * May this device be formatted? Yes when its first chunk is all zeros,
 * or when it holds exactly what an interrupted format leaves (no valid
 * slot header, slot 0's payload an empty table for this size). 1, 0 or -E...
 */
static int blank(struct cow_pool *p)
{
	uint8_t *buf = blk_host()->alloc(COW_CHUNK);
	if (!buf)
		return -ENOMEM;
	int rc = blk_sync_io(p->dev, BLK_READ, 0, COW_CHUNK / p->bs, buf);
	struct cow_table_hdr empty = { .next_id = 1, .nvols = 0, .chunks = p->chunks };
	int zero = 1, headers = 1;
	for (uint32_t i = 0; !rc && i < COW_CHUNK; i++) {
		int in_hdr = i < p->bs || (i >= COW_TABLE_SLOT && i < COW_TABLE_SLOT + p->bs);
		zero &= !buf[i];
		headers &= !in_hdr || !buf[i];
	}
	int formatting = headers && !memcmp(buf + p->bs, &empty, sizeof(empty));
	blk_host()->free(buf, COW_CHUNK);
	return rc ? rc : zero || formatting;
}

static int format(struct cow_pool *p)
{
	for (uint32_t c = 0; c <= p->bitmap_chunks; c++)
		cow_bit_set(p, c, 1);
	int rc = blk_sync_io(p->dev, BLK_WRITE, cow_chunk_lba(p, 1),
			     p->bitmap_chunks * (COW_CHUNK / p->bs), p->bitmap);
	if (!rc)
		rc = flush(p);
	p->hdr = (struct cow_table_hdr){ .next_id = 1, .nvols = 0, .chunks = p->chunks };
	return rc ? rc : write_table(p);
}

static int vol_ok(const struct cow_pool *p, const struct cow_vol_rec *v)
{
	uint64_t vchunks = (v->bytes + COW_CHUNK - 1) / COW_CHUNK;
	return v->id && v->id < p->hdr.next_id && v->block_size >= 512 && v->block_size <= COW_CHUNK &&
	       !(v->block_size & (v->block_size - 1)) && v->bytes && !(v->bytes % v->block_size) &&
	       v->map_chunk > p->bitmap_chunks && v->map_chunks <= p->chunks &&
	       v->map_chunk <= p->chunks - v->map_chunks &&
	       (uint64_t)v->map_chunks * (COW_CHUNK / 4) >= vchunks;
}

/* Parses the table record (version `version`); nothing in it is trusted. */
static int parse_table(struct cow_pool *p, uint32_t version, const uint8_t *buf, uint32_t len)
{
	uint32_t hdr_len = version == 1 ? COW_TABLE_HDR_V1 : sizeof(p->hdr);
	if (len < hdr_len)
		return -EINVAL;
	p->hdr = (struct cow_table_hdr){ 0 };   /* version 1: bound to no catalog */
	memcpy(&p->hdr, buf, hdr_len);
	if (p->hdr.nvols > COW_VOLS_MAX || len != hdr_len + p->hdr.nvols * sizeof(p->vol[0]) ||
	    p->hdr.chunks > p->chunks || p->hdr.chunks <= p->bitmap_chunks + 1)
		return -EINVAL;
	p->chunks = (uint32_t)p->hdr.chunks;
	memcpy(p->vol, buf + hdr_len, p->hdr.nvols * sizeof(p->vol[0]));
	for (uint32_t i = 0; i < p->hdr.nvols; i++)
		if (!vol_ok(p, &p->vol[i]))
			return -EINVAL;
	return 0;
}

static int load_table(struct cow_pool *p, char *err, unsigned len)
{
	uint8_t *buf = blk_host()->alloc(COW_TABLE_SLOT);
	if (!buf)
		return -ENOMEM;
	uint32_t n = 0;
	int rc = slot_load(&p->table_store, buf, COW_TABLE_SLOT, &n);
	if (!rc && parse_table(p, p->table_store.found, buf, n))
		rc = fail(err, len, -EINVAL, "the volume table is inconsistent; not touching it");
	else if (rc == -ENOENT && (rc = blank(p)) >= 0)
		rc = rc ? format(p) : fail(err, len, -EINVAL, "the device holds something that is not "
					   "a hako pool (its first 64 KiB are not zero); not formatting it");
	else if (rc)
		fmt_snprintf(err, len, "pool: cannot read the volume table (%s)", errno_str(rc));
	blk_host()->free(buf, COW_TABLE_SLOT);
	return rc;
}

/* Marks what volume v uses in `used`; -EINVAL when a map entry is bad or shared. */
static int mark_volume(struct cow_pool *p, const struct cow_vol_rec *v, uint8_t *used)
{
	uint32_t *map;
	int rc = read_map(p, v, &map);
	if (rc)
		return rc;
	uint64_t vchunks = (v->bytes + COW_CHUNK - 1) / COW_CHUNK;
	for (uint64_t i = 0; i < v->map_chunks + vchunks && !rc; i++) {
		uint32_t c = i < v->map_chunks ? v->map_chunk + (uint32_t)i : map[i - v->map_chunks];
		if (i >= v->map_chunks && !c)
			continue;
		if (c >= p->chunks || c <= p->bitmap_chunks || (used[c / 8] >> (c % 8) & 1))
			rc = -EINVAL;
		used[c / 8] |= (uint8_t)(1u << (c % 8));
	}
	blk_host()->free(map, (uint64_t)v->map_chunks * COW_CHUNK);
	return rc;
}

/* Frees chunks the free map holds that no volume uses (left by a power cut). */
static int reclaim(struct cow_pool *p, uint32_t *leaked, char *err, unsigned len)
{
	uint64_t bytes = (uint64_t)p->bitmap_chunks * COW_CHUNK;
	uint8_t *used = blk_host()->alloc(bytes);
	if (!used)
		return -ENOMEM;
	for (uint32_t c = 0; c <= p->bitmap_chunks; c++)
		used[c / 8] |= (uint8_t)(1u << (c % 8));
	int rc = 0;
	for (uint32_t i = 0; i < p->hdr.nvols && !rc; i++)
		rc = mark_volume(p, &p->vol[i], used);
	*leaked = 0;
	for (uint32_t c = 0; c < p->chunks && !rc; c++) {
		int u = used[c / 8] >> (c % 8) & 1;
		if (u && !cow_bit(p, c))      /* never happens with the write order above */
			rc = fail(err, len, -EINVAL, "a volume uses a chunk the free map calls free");
		if (!u && cow_bit(p, c))
			cow_bit_set(p, c, 0), (*leaked)++;
	}
	if (!rc && *leaked)
		rc = write_bits(p, 0, p->chunks);
	if (rc == -EINVAL && !err[0])
		fail(err, len, rc, "a volume map points outside the pool or at a shared chunk");
	blk_host()->free(used, bytes);
	return rc;
}

static void pool_free(struct cow_pool *p)
{
	const struct blk_host_ops *h = blk_host();
	if (p->bitmap)
		h->free(p->bitmap, (uint64_t)p->bitmap_chunks * COW_CHUNK);
	if (p->chunk_buf)
		h->free(p->chunk_buf, COW_CHUNK);
	h->free(p, sizeof(*p));
}

static int pool_geometry(struct cow_pool *p, struct blockdev *dev, char *err, unsigned len)
{
	p->dev = dev;
	p->bs = blk_block_size(dev);
	if (p->bs > COW_CHUNK)
		return fail(err, len, -EINVAL, "the device's blocks are larger than 64 KiB");
	uint64_t chunks = blk_blocks(dev) * p->bs / COW_CHUNK;
	p->chunks = chunks > 0xffffffffull ? 0xffffffffu : (uint32_t)chunks;
	p->bitmap_chunks = (p->chunks + COW_CHUNK * 8 - 1) / (COW_CHUNK * 8);
	if (p->chunks < p->bitmap_chunks + 3)
		return fail(err, len, -ENOSPC, "the device is too small (at least 256 KiB)");
	p->table_store = (struct slotstore){ .dev = dev, .lba = 0, .slot_blocks = COW_TABLE_SLOT / p->bs,
					     .magic = COW_POOL_MAGIC, .version = COW_POOL_VERSION,
					     .oldest = 1, .cur = -1 };
	p->bitmap = blk_host()->alloc((uint64_t)p->bitmap_chunks * COW_CHUNK);
	p->chunk_buf = blk_host()->alloc(COW_CHUNK);
	return p->bitmap && p->chunk_buf ? 0 : -ENOMEM;
}

static int load_bitmap(struct cow_pool *p)
{
	int rc = blk_sync_io(p->dev, BLK_READ, cow_chunk_lba(p, 1),
			     p->bitmap_chunks * (COW_CHUNK / p->bs), p->bitmap);
	p->used = 0;
	for (uint32_t c = 0; !rc && c < p->chunks; c++)
		p->used += cow_bit(p, c);
	return rc;
}

/*
 * Makes `dev` the pool (see cow_pool.h): 0, or -E... with a sentence in
 * err and nothing attached. Service core, synchronous.
 */
int cow_pool_attach(struct blockdev *dev, uint32_t *leaked, char *err, unsigned len)
{
	if (cow_pool)
		return fail(err, len, -EBUSY, "a pool is attached already");
	struct cow_pool *p = blk_host()->alloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	err[0] = 0;
	*leaked = 0;
	int rc = pool_geometry(p, dev, err, len);
	if (!rc)
		rc = load_bitmap(p);
	if (!rc)
		rc = load_table(p, err, len);
	if (!rc)
		rc = reclaim(p, leaked, err, len);
	if (rc) {
		if (!err[0])
			fmt_snprintf(err, len, "pool: %s", errno_str(rc));
		pool_free(p);
		return rc;
	}
	cow_pool = p;
	return 0;
}

/* Binds the pool to catalog `catalog` (see cow_pool.h). */
int cow_pool_claim(uint64_t catalog, int vouched, char *err, unsigned len)
{
	struct cow_pool *p = cow_pool;
	uint64_t was = p->hdr.catalog;
	if (was == catalog)
		return 0;
	if (was && p->hdr.nvols) {
		fmt_snprintf(err, len, "pool: it belongs to another catalog (id %lx; this catalog's is "
			     "%lx): a wrong catalog= LUN?", was, catalog);
		return -EPERM;
	}
	if (p->hdr.nvols && !vouched) {
		fmt_snprintf(err, len, "pool: it records no catalog and this catalog does not vouch "
			     "for it (it names none of the pool's %u volumes, or one the pool lacks)",
			     p->hdr.nvols);
		return -EAGAIN;
	}
	pool_pause(p);
	p->hdr.catalog = catalog;
	int rc = write_table(p);
	if (rc) {
		p->hdr.catalog = was;
		fmt_snprintf(err, len, "pool: cannot record its catalog (%s)", errno_str(rc));
	}
	pool_resume(p);
	return rc;
}

/* Forgets the pool (no cow: device may be open); the caller closes its device. */
void cow_pool_detach(void)
{
	if (cow_pool)
		pool_free(cow_pool);
	cow_pool = 0;
}

/* ---- volumes ---- */

/* The first of `n` contiguous free chunks at or after `from`, or 0. */
static uint32_t run_from(const struct cow_pool *p, uint32_t from, uint32_t n)
{
	for (uint32_t c = from, run = 0; c < p->chunks; c++) {
		run = cow_bit(p, c) ? 0 : run + 1;
		if (run == n)
			return c + 1 - n;
	}
	return 0;
}

static uint32_t find_run(const struct cow_pool *p, uint32_t n)
{
	return run_from(p, p->bitmap_chunks + 1, n);
}

/* The first of n contiguous free chunks, from hint on, then from the start; or 0. */
uint32_t cow_find_run(const struct cow_pool *p, uint32_t hint, uint32_t n)
{
	uint32_t c = hint > p->bitmap_chunks && hint < p->chunks ? run_from(p, hint, n) : 0;
	return c ? c : find_run(p, n);
}

/* Free-map bits, flush, zeroed map, flush (cow_pool.h "create"). */
static int make_map(struct cow_pool *p, uint32_t first, uint32_t n)
{
	for (uint32_t c = first; c < first + n; c++)
		cow_bit_set(p, c, 1);
	int rc = write_bits(p, first, n);
	uint8_t *zero = blk_host()->alloc(COW_CHUNK);
	if (!zero)
		return -ENOMEM;
	for (uint32_t c = first; c < first + n && !rc; c++)
		rc = blk_sync_io(p->dev, BLK_WRITE, cow_chunk_lba(p, c), COW_CHUNK / p->bs, zero);
	blk_host()->free(zero, COW_CHUNK);
	return rc ? rc : flush(p);
}

static void set_owner(struct cow_vol_rec *v, const char *owner)
{
	size_t n = strnlen(owner, sizeof(v->owner) - 1);
	memcpy(v->owner, owner, n);
}

/*
 * Creates a volume (see cow_pool.h). The table commit is the moment it
 * exists; a cut before it leaves only leaked chunks.
 */
int cow_pool_create(uint64_t bytes, uint32_t block_size, const char *base, const char *owner,
		    uint32_t *id)
{
	struct cow_pool *p = cow_pool;
	if (!p)
		return -ENODEV;
	uint64_t vchunks = (bytes + COW_CHUNK - 1) / COW_CHUNK;
	uint64_t map_chunks = (vchunks * 4 + COW_CHUNK - 1) / COW_CHUNK;
	if (!bytes || block_size < 512 || block_size > COW_CHUNK || bytes % block_size ||
	    map_chunks >= p->chunks)
		return -EINVAL;
	if (p->hdr.nvols == COW_VOLS_MAX)
		return -ENOSPC;
	uint32_t first = find_run(p, (uint32_t)map_chunks);
	if (!first)
		return -ENOSPC;
	pool_pause(p);
	int rc = make_map(p, first, (uint32_t)map_chunks);
	struct cow_vol_rec *v = &p->vol[p->hdr.nvols];
	*v = (struct cow_vol_rec){ .id = p->hdr.next_id, .flags = base ? 0 : COW_VOL_NO_BASE,
				   .bytes = bytes, .block_size = block_size, .map_chunk = first,
				   .map_chunks = (uint32_t)map_chunks, .base_hash = base ? cow_hash(base) : 0 };
	set_owner(v, owner);
	if (!rc) {
		p->hdr.nvols++, p->hdr.next_id++;
		rc = write_table(p);
		/* The chunks stay marked: reclaimed at the next attach. The id
		 * stays used: the table on the device may hold it (an unsure commit). */
		if (rc)
			p->hdr.nvols--;
	}
	if (!rc)
		*id = v->id;
	pool_resume(p);
	return rc;
}

/* Clears the free-map bits of a deleted volume's chunks (after its table commit). */
static int free_volume(struct cow_pool *p, const struct cow_vol_rec *v, const uint32_t *map)
{
	uint64_t vchunks = (v->bytes + COW_CHUNK - 1) / COW_CHUNK;
	for (uint32_t c = 0; c < v->map_chunks; c++)
		cow_bit_set(p, v->map_chunk + c, 0);
	for (uint64_t i = 0; i < vchunks; i++)
		if (map[i] > p->bitmap_chunks && map[i] < p->chunks)
			cow_bit_set(p, map[i], 0);
	return write_bits(p, 0, p->chunks);
}

/* Deletes a volume: table commit first, then its chunks go free. */
int cow_pool_delete(uint32_t id)
{
	struct cow_pool *p = cow_pool;
	struct cow_vol_rec *v = cow_pool_find(id);
	if (!v)
		return -ENOENT;
	if (cow_volume_busy(id))   /* its device would write into chunks freed under it */
		return -EBUSY;
	pool_pause(p);
	uint32_t *map;
	int rc = read_map(p, v, &map);
	if (rc)
		goto out;
	struct cow_vol_rec gone = *v;
	uint32_t i = (uint32_t)(v - p->vol);
	memmove(v, v + 1, (p->hdr.nvols - i - 1) * sizeof(*v));
	p->hdr.nvols--;
	rc = write_table(p);
	if (rc) {   /* still there as far as we know: put it back */
		memmove(&p->vol[i + 1], &p->vol[i], (p->hdr.nvols - i) * sizeof(*v));
		p->vol[i] = gone;
		p->hdr.nvols++;
	} else {
		rc = free_volume(p, &gone, map);
	}
	blk_host()->free(map, (uint64_t)gone.map_chunks * COW_CHUNK);
out:
	pool_resume(p);
	return rc;
}

/* Chunks volume id holds (map and data), read from its map: 0, -ENOENT or -E... */
int cow_pool_usage(uint32_t id, uint32_t *chunks)
{
	struct cow_vol_rec *v = cow_pool_find(id);
	if (!v)
		return -ENOENT;
	uint32_t *map;
	int rc = read_map(cow_pool, v, &map);
	if (rc)
		return rc;
	uint64_t vchunks = (v->bytes + COW_CHUNK - 1) / COW_CHUNK;
	*chunks = v->map_chunks;
	for (uint64_t i = 0; i < vchunks; i++)
		*chunks += map[i] != 0;
	blk_host()->free(map, (uint64_t)v->map_chunks * COW_CHUNK);
	return 0;
}
