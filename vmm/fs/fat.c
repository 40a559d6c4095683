/*
 * vmm/fs/fat.c - FAT12/16/32, read-only (see fat.h; section names from
 * Microsoft's "FAT: General Overview of On-Disk Format"). Portable.
 */
#include "vmm/fs/fat.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"

#define ATTR_LONG_NAME 0x0f
#define ATTR_VOLUME_ID 0x08
#define ATTR_DIRECTORY 0x10
#define LFN_LAST 0x40
#define LFN_PIECE 13                   /* UTF-16 characters per long-name entry */
#define FAT_PATH_MAX 512

static int fail(struct fat *fs, int code, const char *msg, uint64_t a)
{
	fmt_snprintf(fs->why, fs->whylen, msg, a);
	return code;
}

static int rd(struct fat *fs, uint64_t off, uint32_t len, void *buf)
{
	int rc = fs_dev_read(&fs->dev, off, len, buf);
	return rc == -ERANGE ? fail(fs, -EUCLEAN, "FAT: byte %lu lies beyond the partition", off) : rc;
}

static int pow2(uint32_t v) { return v && !(v & (v - 1)); }

/* "FAT Type Determination": the count of data clusters decides, nothing else. */
static int fat_geometry(struct fat *fs, const struct fat_bpb *b)
{
	uint32_t bps = b->bytes_per_sec, fatsz = b->fat_sz16 ? b->fat_sz16 : b->fat_sz32;
	uint64_t total = b->tot_sec16 ? b->tot_sec16 : b->tot_sec32;
	uint32_t root_secs = ((uint32_t)b->root_ent_cnt * 32 + bps - 1) / bps;
	uint64_t meta = b->rsvd_sec_cnt + (uint64_t)b->num_fats * fatsz + root_secs;
	if (!fatsz || total <= meta || total * bps > fs->dev.size)
		return fail(fs, -EUCLEAN, "FAT: the boot sector's sizes are inconsistent (%lu sectors)", total);
	fs->bytes_per_sec = bps;
	fs->cluster_bytes = bps * b->sec_per_clus;
	uint64_t clusters = (total - meta) / b->sec_per_clus;
	fs->bits = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
	if (!clusters || clusters > 0x0ffffff5)
		return fail(fs, -EUCLEAN, "FAT: %lu clusters", clusters);
	fs->clusters = (uint32_t)clusters;
	if ((fs->bits == 32) != (b->root_ent_cnt == 0 && b->fat_sz16 == 0))
		return fail(fs, -EUCLEAN, "FAT: a FAT%lu volume with the other type's root directory", fs->bits);
	if ((uint64_t)fatsz * bps * 8 / fs->bits < clusters + 2)
		return fail(fs, -EUCLEAN, "FAT: the FAT (%lu sectors) is too small for the volume", fatsz);
	fs->fat_off = (uint64_t)b->rsvd_sec_cnt * bps;
	fs->root_off = (b->rsvd_sec_cnt + (uint64_t)b->num_fats * fatsz) * bps;
	fs->root_bytes = (uint32_t)b->root_ent_cnt * 32;
	fs->data_off = meta * bps;
	fs->root_clus = b->root_clus;
	if (fs->bits == 32 && (fs->root_clus < 2 || fs->root_clus >= fs->clusters + 2))
		return fail(fs, -EUCLEAN, "FAT: root directory cluster %lu is invalid", fs->root_clus);
	return 0;
}

/* Reads and checks the boot sector: 0, -ENODEV (not FAT), -EUCLEAN, -EAGAIN. */
int fat_open(struct fat *fs, const struct fs_dev *dev, char *why, unsigned whylen)
{
	uint8_t sec[512];
	struct fat_bpb b;
	memset(fs, 0, sizeof(*fs));
	fs->dev = *dev;
	fs->why = why;
	fs->whylen = whylen;
	int rc = fs_dev_read(dev, 0, sizeof(sec), sec);
	if (rc)
		return rc == -ERANGE ? -ENODEV : rc;
	memcpy(&b, sec, sizeof(b));
	/* A FAT boot sector: a jump, the 55aa signature, a sane BPB. */
	if ((b.jump[0] != 0xeb && b.jump[0] != 0xe9) || sec[510] != 0x55 || sec[511] != 0xaa)
		return -ENODEV;
	if (b.bytes_per_sec < 512 || b.bytes_per_sec > 4096 || !pow2(b.bytes_per_sec) ||
	    !pow2(b.sec_per_clus) || b.sec_per_clus > 128 || !b.rsvd_sec_cnt || !b.num_fats)
		return -ENODEV;
	return fat_geometry(fs, &b);
}

struct fat_file fat_root(const struct fat *fs)
{
	return (struct fat_file){ fs->bits == 32 ? fs->root_clus : 0, 0, 1 };
}

/* ---- the FAT ---- */

static int valid_cluster(const struct fat *fs, uint32_t c) { return c >= 2 && c < fs->clusters + 2; }

/* The FAT entry of cluster c: the next cluster, or >= the end mark. */
static int fat_next(struct fat *fs, uint32_t c, uint32_t *next)
{
	uint8_t b[4] = { 0 };
	uint64_t off = fs->bits == 12 ? c + c / 2 : (uint64_t)c * (fs->bits / 8);
	int rc = rd(fs, fs->fat_off + off, fs->bits == 32 ? 4 : 2, b);
	if (rc)
		return rc;
	uint32_t v = b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	if (fs->bits == 12)
		v = c & 1 ? v >> 4 : v & 0xfff;
	if (fs->bits == 32)
		v &= 0x0fffffff;
	uint32_t eoc = fs->bits == 12 ? 0xff8 : fs->bits == 16 ? 0xfff8 : 0x0ffffff8;
	if (v >= eoc) {
		*next = 0;
		return 0;
	}
	if (!valid_cluster(fs, v))
		return fail(fs, -EUCLEAN, "FAT: cluster %lu's chain leads nowhere", c);
	*next = v;
	return 0;
}

static uint64_t cluster_off(const struct fat *fs, uint32_t c)
{
	return fs->data_off + (uint64_t)(c - 2) * fs->cluster_bytes;
}

/*
 * Calls step(ctx, byte offset of the cluster) along f's chain, at most
 * `clusters` steps and never more than the volume has (a loop). A file's
 * chain must cover its size.
 */
static int chain_each(struct fat *fs, const struct fat_file *f, uint64_t clusters,
		      int (*step)(void *ctx, uint64_t off), void *ctx)
{
	uint32_t c = f->cluster;
	for (uint64_t k = 0; k < clusters; k++) {
		if (!c)
			return f->dir ? 0 : fail(fs, -EUCLEAN, "FAT: a file's chain ends before its size (%lu)", f->size);
		if (!valid_cluster(fs, c) || k > fs->clusters)
			return fail(fs, -EUCLEAN, "FAT: cluster %lu is invalid or loops", c);
		int rc = step(ctx, cluster_off(fs, c));
		if (!rc)
			rc = fat_next(fs, c, &c);
		if (rc)
			return rc < 0 ? rc : 0;
	}
	return 0;
}

/* ---- reading and mapping files ---- */

struct span {
	struct fat *fs;
	uint64_t pos, off;              /* file offset of the current cluster; wanted offset */
	uint32_t len, done;
	uint8_t *buf;
	struct fs_map *map;
	uint64_t left;                  /* map: bytes of the file still to place */
};

static int read_step(void *ctx, uint64_t at)
{
	struct span *s = ctx;
	uint32_t cb = s->fs->cluster_bytes;
	if (s->off + s->done < s->pos + cb) {
		uint32_t in = (uint32_t)(s->off + s->done - s->pos), n = cb - in;
		if (n > s->len - s->done)
			n = s->len - s->done;
		int rc = rd(s->fs, at + in, n, s->buf + s->done);
		if (rc)
			return rc;
		s->done += n;
	}
	s->pos += cb;
	return s->done == s->len;       /* 1 stops the walk */
}

static uint64_t clusters_for(const struct fat *fs, uint64_t bytes)
{
	return (bytes + fs->cluster_bytes - 1) / fs->cluster_bytes;
}

/* Reads up to len bytes of f at off (a FAT12/16 root: its fixed region): the count, or -E... */
int fat_read(struct fat *fs, const struct fat_file *f, uint64_t off, uint32_t len, void *buf)
{
	uint64_t size = f->dir ? (f->cluster ? UINT64_MAX : fs->root_bytes) : f->size;
	if (off >= size)
		return 0;
	if (len > size - off)
		len = (uint32_t)(size - off);
	if (!f->cluster) {
		int rc = f->dir ? rd(fs, fs->root_off + off, len, buf) : 0;
		return rc ? rc : (f->dir ? (int)len : 0);
	}
	struct span s = { .fs = fs, .off = off, .len = len, .buf = buf };
	int rc = chain_each(fs, f, clusters_for(fs, off + len), read_step, &s);
	return rc ? rc : (int)s.done;
}

static int map_step(void *ctx, uint64_t at)
{
	struct span *s = ctx;
	uint64_t n = s->left < s->fs->cluster_bytes ? s->left : s->fs->cluster_bytes;
	s->left -= n;
	return fs_map_add(s->map, s->fs->dev.base + at, n);
}

/* The runs of file f on the disk: 0, -E2BIG, -EUCLEAN, -EAGAIN. */
int fat_map(struct fat *fs, const struct fat_file *f, struct fs_map *m)
{
	struct span s = { .fs = fs, .map = m, .left = f->size };
	m->n = 0;
	m->size = 0;
	if (f->dir || (!f->cluster && f->size))
		return fail(fs, -EUCLEAN, "FAT: not a file with data (cluster %lu)", f->cluster);
	int rc = chain_each(fs, f, clusters_for(fs, f->size), map_step, &s);
	if (rc == -E2BIG)
		return fail(fs, rc, "FAT: a file is in more than %lu pieces", m->max);
	return rc;
}

/* ---- directories ---- */

/* The short name's checksum that its long-name entries carry ("Long Directory Entries"). */
static uint8_t short_sum(const char name[11])
{
	uint8_t sum = 0;
	for (int i = 0; i < 11; i++)
		sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + (uint8_t)name[i]);
	return sum;
}

struct dir_walk {
	struct fat *fs;
	int (*each)(void *, const char *, unsigned, const struct fat_file *);
	void *ctx;
	uint8_t *ent;                   /* a cluster's worth of entries at a time: 32 */
	char lfn[FAT_NAME_MAX + 1 + LFN_PIECE];
	unsigned lfn_parts;             /* pieces expected, 0: none being collected */
	uint8_t lfn_sum;
	int ended;
	int result;                     /* what `each` returned to stop the walk */
};

/* A long-name piece: its 13 UTF-16 characters at 0x01, 0x0e and 0x1c; non-ASCII as '?'. */
static void lfn_piece(struct dir_walk *w, const uint8_t *e)
{
	static const uint8_t at[LFN_PIECE] = { 1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30 };
	unsigned ord = e[0] & 0x1f;
	if (e[0] & LFN_LAST) {
		w->lfn_parts = ord;
		w->lfn_sum = e[13];
		memset(w->lfn, 0, sizeof(w->lfn));
	}
	if (!ord || ord > 20 || !w->lfn_parts || e[13] != w->lfn_sum) {
		w->lfn_parts = 0;
		return;
	}
	for (unsigned i = 0; i < LFN_PIECE; i++) {
		uint16_t ch = (uint16_t)(e[at[i]] | e[at[i] + 1] << 8);
		w->lfn[(ord - 1) * LFN_PIECE + i] = ch == 0xffff ? 0 : ch < 0x80 ? (char)ch : '?';
	}
}

/* The 8.3 name as text: "NAME.EXT", trailing blanks dropped. */
static unsigned short_name(const struct fat_dirent *d, char *out)
{
	unsigned n = 0;
	for (int i = 0; i < 8 && d->name[i] != ' '; i++)
		out[n++] = (char)(i == 0 && (uint8_t)d->name[0] == 0x05 ? 0xe5 : d->name[i]);
	if (d->name[8] != ' ')
		out[n++] = '.';
	for (int i = 8; i < 11 && d->name[i] != ' '; i++)
		out[n++] = d->name[i];
	out[n] = 0;
	return n;
}

static int entry(struct dir_walk *w, const uint8_t *e)
{
	struct fat_dirent d;
	memcpy(&d, e, sizeof(d));
	if (!d.name[0])
		return w->ended = 1;
	if ((uint8_t)d.name[0] == 0xe5) {
		w->lfn_parts = 0;
		return 0;
	}
	if ((d.attr & 0x3f) == ATTR_LONG_NAME) {
		lfn_piece(w, e);
		return 0;
	}
	char name[16];
	unsigned len = short_name(&d, name);
	int long_ok = w->lfn_parts && short_sum(d.name) == w->lfn_sum && w->lfn[0];
	w->lfn_parts = 0;
	if (d.attr & ATTR_VOLUME_ID)
		return 0;
	/* The high half of the cluster number exists on FAT32 only. */
	uint32_t hi = w->fs->bits == 32 ? (uint32_t)d.fst_clus_hi << 16 : 0;
	struct fat_file f = { hi | d.fst_clus_lo, d.file_size, !!(d.attr & ATTR_DIRECTORY) };
	if (f.dir)
		f.size = 0;
	w->result = long_ok ? w->each(w->ctx, w->lfn, (unsigned)strlen(w->lfn), &f)
			    : w->each(w->ctx, name, len, &f);
	return w->result;
}

/* Every entry of one cluster (or of the fixed root region) at byte `at`. */
static int entries_at(struct dir_walk *w, uint64_t at, uint32_t bytes)
{
	for (uint32_t i = 0; i < bytes; i += sizeof(struct fat_dirent)) {
		uint8_t e[sizeof(struct fat_dirent)];
		int rc = rd(w->fs, at + i, sizeof(e), e);
		if (!rc)
			rc = entry(w, e);
		if (rc || w->ended)
			return rc ? rc : 1;
	}
	return 0;
}

static int dir_step(void *ctx, uint64_t at)
{
	struct dir_walk *w = ctx;
	return entries_at(w, at, w->fs->cluster_bytes);
}

/* Calls each() per entry of directory dir: 0, each's nonzero value, or -E... */
int fat_dir_each(struct fat *fs, const struct fat_file *dir,
		 int (*each)(void *ctx, const char *name, unsigned len, const struct fat_file *f),
		 void *ctx)
{
	static struct dir_walk w; /* the service core's, one walk at a time */
	if (!dir->dir)
		return fail(fs, -ENOTDIR, "FAT: cluster %lu is not a directory", dir->cluster);
	memset(&w, 0, sizeof(w));
	w.fs = fs, w.each = each, w.ctx = ctx;
	int rc = dir->cluster ? chain_each(fs, dir, fs->clusters + 1ull, dir_step, &w)
			      : entries_at(&w, fs->root_off, fs->root_bytes);
	if (rc < 0)
		return rc;
	return w.result;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

struct find {
	const char *name;
	unsigned len;
	struct fat_file f;
};

static int match(void *ctx, const char *name, unsigned len, const struct fat_file *f)
{
	struct find *fd = ctx;
	if (len != fd->len)
		return 0;
	for (unsigned i = 0; i < len; i++)
		if (lower((uint8_t)name[i]) != lower((uint8_t)fd->name[i]))
			return 0;
	fd->f = *f;
	return 1;
}

/* Resolves an absolute path, names compared without ASCII case: 0 and *f, or -E... with why.
 * "." is skipped; ".." is the entry every subdirectory has (cluster 0: the root). */
int fat_lookup(struct fat *fs, const char *path, struct fat_file *f)
{
	struct fat_file cur = fat_root(fs);
	if (path[0] != '/' || strlen(path) >= FAT_PATH_MAX)
		return fail(fs, -EINVAL, "FAT: bad path", 0);
	for (const char *p = path;;) {
		while (*p == '/')
			p++;
		if (!*p) {
			*f = cur;
			return 0;
		}
		const char *comp = p;
		while (*p && *p != '/')
			p++;
		if (p - comp == 1 && comp[0] == '.')
			continue;
		if (!cur.dir) {
			fmt_snprintf(fs->why, fs->whylen, "%.*s: not a directory", (int)(comp - path), path);
			return -ENOTDIR;
		}
		struct find fd = { comp, (unsigned)(p - comp), { 0, 0, 0 } };
		int rc = p - comp > FAT_NAME_MAX ? -ENAMETOOLONG : fat_dir_each(fs, &cur, match, &fd);
		if (rc < 0)
			return rc;
		if (!rc) {
			fmt_snprintf(fs->why, fs->whylen, "%.*s: not found", (int)(p - path), path);
			return -ENOENT;
		}
		cur = fd.f;
		if (cur.dir && !cur.cluster)
			cur = fat_root(fs);
	}
}
