/*
 * vmm/blk/blk_mem.c - memory-backed disks for the block layer:
 *
 *   ram:SIZE    a zeroed disk of SIZE bytes (K/M/G suffixes, a multiple of 512)
 *   esp:PATH    a copy of the file PATH from the boot medium's \hako\ folder;
 *               writes change the copy only, never the stick
 *
 * The data lives in 2 MiB chunks, so large disks need no contiguous memory.
 * Requests complete at once, inside blk_poll() on the service core.
 * Portable; memory and files come through blk_host().
 */
#include "vmm/blk/blk.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"

#define MEM_CHUNK (2ull << 20)
#define MEM_SECTOR 512u
#define MEM_MAX (64ull << 30)
#define ESP_PATH_MAX 96

struct mem_disk {
	uint64_t bytes;
	uint64_t nchunks;
	uint8_t **chunk;
};

static void mem_free(struct mem_disk *m)
{
	const struct blk_host_ops *h = blk_host();
	for (uint64_t i = 0; i < m->nchunks && m->chunk; i++)
		if (m->chunk[i])
			h->free(m->chunk[i], MEM_CHUNK);
	if (m->chunk)
		h->free(m->chunk, m->nchunks * sizeof(*m->chunk));
	h->free(m, sizeof(*m));
}

/* A zeroed disk of `bytes` (a multiple of 512), or 0 without memory. */
static struct mem_disk *mem_alloc(uint64_t bytes)
{
	const struct blk_host_ops *h = blk_host();
	struct mem_disk *m = h->alloc(sizeof(*m));
	if (!m)
		return 0;
	m->bytes = bytes;
	m->nchunks = (bytes + MEM_CHUNK - 1) / MEM_CHUNK;
	m->chunk = h->alloc(m->nchunks * sizeof(*m->chunk));
	for (uint64_t i = 0; m->chunk && i < m->nchunks; i++)
		if (!(m->chunk[i] = h->alloc(MEM_CHUNK)))
			break;
	if (!m->chunk || !m->chunk[m->nchunks - 1]) {
		mem_free(m);
		return 0;
	}
	return m;
}

/* Copies between the disk at byte `off` and buf; the block layer checked the range. */
static void mem_copy(struct mem_disk *m, uint64_t off, uint8_t *buf, uint64_t len, int to_disk)
{
	while (len) {
		uint64_t in = off % MEM_CHUNK, n = MEM_CHUNK - in;
		if (n > len)
			n = len;
		uint8_t *p = m->chunk[off / MEM_CHUNK] + in;
		if (to_disk)
			memcpy(p, buf, n);
		else
			memcpy(buf, p, n);
		off += n, buf += n, len -= n;
	}
}

static void mem_start(struct blockdev *d, struct blk_req *r)
{
	if (r->op != BLK_FLUSH)   /* memory needs no flush */
		mem_copy(d->priv, r->lba * MEM_SECTOR, r->buf, (uint64_t)r->count * MEM_SECTOR,
			 r->op == BLK_WRITE);
	blk_complete(r, 0);
}

static void mem_close(struct blockdev *d)
{
	mem_free(d->priv);  /* nothing is ever in flight: requests finish in start */
}

static const struct blk_backend_ops mem_ops = { mem_start, mem_close, 0 };

static void mem_attach(struct blockdev *d, struct mem_disk *m)
{
	d->ops = &mem_ops;
	d->priv = m;
	d->blocks = m->bytes / MEM_SECTOR;
	d->block_size = MEM_SECTOR;
}

/* ---- ram:SIZE ---- */

static int ram_size(const char *spec, uint64_t *bytes, char *err, unsigned len)
{
	if (fmt_parse_size(spec, bytes) || !*bytes || *bytes % MEM_SECTOR || *bytes > MEM_MAX) {
		fmt_snprintf(err, len, "bad disk size 'ram:%s': use ram:SIZE, a multiple of 512 "
			     "bytes up to 64G (e.g. ram:64M)", spec);
		return -EINVAL;
	}
	return 0;
}

static int ram_check(const char *spec, char *err, unsigned len)
{
	uint64_t bytes;
	return ram_size(spec, &bytes, err, len);
}

static int ram_open(const char *spec, struct blockdev *d, char *err, unsigned len)
{
	uint64_t bytes;
	int rc = ram_size(spec, &bytes, err, len);
	if (rc)
		return rc;
	struct mem_disk *m = mem_alloc(bytes);
	if (!m) {
		fmt_snprintf(err, len, "not enough free memory for disk ram:%s", spec);
		return -ENOMEM;
	}
	mem_attach(d, m);
	return 0;
}
BLK_SCHEME(ram, "ram:", ram_check, ram_open, 0);

/* ---- esp:PATH ---- */

static int esp_check(const char *spec, char *err, unsigned len)
{
	if (!*spec || strlen(spec) >= ESP_PATH_MAX || strchr(spec, ',')) {
		fmt_snprintf(err, len, "bad disk 'esp:%s': use esp:PATH, a file in the boot "
			     "medium's \\hako\\ folder", spec);
		return -EINVAL;
	}
	return 0;
}

static int esp_open(const char *spec, struct blockdev *d, char *err, unsigned len)
{
	uint64_t size = 0;
	const void *data = blk_host()->file(spec, &size);
	if (!data) {
		fmt_snprintf(err, len, "disk file '%s' is not on the boot medium (\\hako\\)", spec);
		return -ENOENT;
	}
	if (!size || size > MEM_MAX) {
		fmt_snprintf(err, len, "disk file '%s' is empty or larger than 64G", spec);
		return -EINVAL;
	}
	/* a partial last sector reads as zeros after the file's end */
	struct mem_disk *m = mem_alloc((size + MEM_SECTOR - 1) / MEM_SECTOR * MEM_SECTOR);
	if (!m) {
		fmt_snprintf(err, len, "not enough free memory for a copy of '%s'", spec);
		return -ENOMEM;
	}
	mem_copy(m, 0, (uint8_t *)data, size, 1);
	mem_attach(d, m);
	return 0;
}
BLK_SCHEME(esp, "esp:", esp_check, esp_open, 0);
