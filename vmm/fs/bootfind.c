/*
 * vmm/fs/bootfind.c - what an installed system boots (see bootfind.h):
 * partitions, then per file system Boot Loader Specification entries,
 * extlinux.conf, or Debian's /vmlinuz and /initrd.img links. Portable.
 *
 * When nothing bootable is found the caller gets one sentence: the most
 * telling problem met on the way (a damaged file system, a link pointing
 * nowhere, an entry naming no kernel) rather than the last one.
 */
#include "vmm/fs/bootfind.h"

#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"
#include "vmm/fs/fs.h"
#include "vmm/fs/part.h"

#define CONF_MAX (16u << 10)            /* configuration files larger than this are refused */
#define PATH_MAX_BF 512

enum rank { RANK_NONE, RANK_EMPTY, RANK_BROKEN };

struct finder {
	struct fs fs;
	struct part parts[PART_MAX];
	const struct part *p;
	struct boot_found *out;
	char *why;
	unsigned whylen;
	enum rank rank;
	char conf[CONF_MAX];
	char best[256];                 /* the loader entry chosen */
	char path[PATH_MAX_BF];
};

/* The service core's (one boot_find at a time), or the test's. */
static struct finder finder;

/* Keeps the most telling problem: the first of the highest rank. */
static void note(struct finder *f, enum rank r, const char *fmt, const char *a, const char *b)
{
	if (r <= f->rank)
		return;
	f->rank = r;
	int n = f->p->index ? fmt_snprintf(f->why, f->whylen, "partition %u (%s): ", f->p->index,
					   fs_name(&f->fs))
			    : fmt_snprintf(f->why, f->whylen, "%s on the whole disk: ", fs_name(&f->fs));
	if (n >= 0 && (unsigned)n < f->whylen)
		fmt_snprintf(f->why + n, f->whylen - n, fmt, a, b);
}

static int lookup(struct finder *f, const char *path, struct fs_node *n, int *via_link)
{
	if (strlen(path) >= sizeof(f->path))
		return -ENAMETOOLONG;
	memcpy(f->path, path, strlen(path) + 1);
	return fs_lookup(&f->fs, f->path, n, via_link);
}

/*
 * Maps the file at `path` and appends its runs to m (after a hole that
 * aligns it to 4 bytes: concatenated initrds, as boot loaders lay them out).
 */
static int map_file(struct finder *f, const char *path, struct fs_map *m, const char *role)
{
	struct fs_node n;
	int via_link;
	int rc = lookup(f, path, &n, &via_link);
	if (rc == -EAGAIN)
		return rc;
	if (rc == -ENOENT && via_link)
		return note(f, RANK_BROKEN, "%s points nowhere (%s)", path, f->fs.why), -ENOENT;
	if (rc == -ENOENT)
		return note(f, RANK_BROKEN, "%s %s is missing", role, path), -ENOENT;
	if (rc)
		return note(f, RANK_BROKEN, "%s: %s", path, f->fs.why), rc;
	if (n.dir || !n.size)
		return note(f, RANK_BROKEN, "%s %s is not a file with data", role, path), -ENOEXEC;
	if (m->size % 4 && (rc = fs_map_add(m, FS_HOLE, 4 - m->size % 4)))
		return note(f, RANK_BROKEN, "%s %s: too many pieces", role, path), rc;
	struct fs_map part = { m->run + m->n, 0, m->max - m->n, 0 };
	rc = fs_map(&f->fs, &n, &part);
	if (rc && rc != -EAGAIN)
		note(f, RANK_BROKEN, "%s: %s", path, f->fs.why);
	if (!rc) {
		m->n += part.n;
		m->size += part.size;
	}
	return rc;
}

/* Reads a whole small file into f->conf (NUL-terminated). 0, -ENOENT, -E... */
static int read_conf(struct finder *f, const char *path)
{
	struct fs_node n;
	int via_link;
	int rc = lookup(f, path, &n, &via_link);
	if (rc == -ENOENT && !via_link)
		return rc;
	if (rc)
		return rc == -EAGAIN ? rc : (note(f, RANK_BROKEN, "%s: %s", path, f->fs.why), rc);
	if (n.dir || n.size >= CONF_MAX)
		return note(f, RANK_BROKEN, "%s is a directory or larger than 16 KiB%s", path, ""), -E2BIG;
	rc = fs_read(&f->fs, &n, 0, (uint32_t)n.size, f->conf);
	if (rc < 0)
		return rc == -EAGAIN ? rc : (note(f, RANK_BROKEN, "%s: %s", path, f->fs.why), rc);
	f->conf[rc] = 0;
	return 0;
}

/* ---- configuration text ---- */

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }
static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* The next line of *text (modified): its keyword and the rest, trimmed. 0 at the end. */
static int next_line(char **text, char **key, char **val)
{
	while (**text) {
		char *line = *text, *nl = strchr(line, '\n');
		*text = nl ? nl + 1 : line + strlen(line);
		if (nl)
			*nl = 0;
		while (is_space(*line))
			line++;
		if (!*line || *line == '#')
			continue;
		*key = line;
		while (*line && !is_space(*line))
			line++;
		if (*line)
			*line++ = 0;
		while (is_space(*line))
			line++;
		char *end = line + strlen(line);
		while (end > line && is_space(end[-1]))
			*--end = 0;
		*val = line;
		return 1;
	}
	return 0;
}

static int key_is(const char *key, const char *want)
{
	while (*key && lower((uint8_t)*key) == *want)
		key++, want++;
	return !*key && !*want;
}

/*
 * A configuration's path on the file system: an absolute one under
 * `abs` (a loader entry's paths count from its /boot), a relative one
 * under `rel` (extlinux's, from the configuration's folder).
 */
struct dirs {
	const char *abs, *rel;
};
static void join(char *out, unsigned len, const struct dirs *d, const char *p)
{
	if (p[0] == '/')
		fmt_snprintf(out, len, "%s%s", d->abs, p);
	else
		fmt_snprintf(out, len, "%s/%s", d->rel, p);
}

static int add_cmdline(struct boot_found *out, const char *s)
{
	unsigned n = (unsigned)strlen(out->cmdline);
	if (n + 1 + strlen(s) >= sizeof(out->cmdline))
		return -E2BIG;
	fmt_snprintf(out->cmdline + n, sizeof(out->cmdline) - n, "%s%s", n ? " " : "", s);
	out->has_cmdline = 1;
	return 0;
}

/* Maps each of a comma- or space-separated list of initrds. */
static int map_initrds(struct finder *f, const struct dirs *dir, char *list)
{
	char path[PATH_MAX_BF];
	for (char *p = list; *p;) {
		while (*p == ',' || is_space(*p))
			p++;
		char *end = p;
		while (*end && *end != ',' && !is_space(*end))
			end++;
		char c = *end;
		*end = 0;
		int rc = 0;
		if (*p) {
			join(path, sizeof(path), dir, p);
			rc = map_file(f, path, &f->out->initrd, "initrd");
		}
		*end = c;
		if (rc)
			return rc;
		p = end;
	}
	return 0;
}

/* ---- Boot Loader Specification entries ---- */

/* Version order: runs of digits compare as numbers (5.10 > 5.9). */
static int vercmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
			while (*a == '0')
				a++;
			while (*b == '0')
				b++;
			unsigned la = 0, lb = 0;
			while (a[la] >= '0' && a[la] <= '9')
				la++;
			while (b[lb] >= '0' && b[lb] <= '9')
				lb++;
			if (la != lb)
				return la < lb ? -1 : 1;
			int c = strncmp(a, b, la);
			if (c)
				return c;
			a += la, b += lb;
			continue;
		}
		if (*a != *b)
			return (uint8_t)*a - (uint8_t)*b;
		a++, b++;
	}
	return (uint8_t)*a - (uint8_t)*b;
}

static int pick_entry(void *ctx, const char *name, unsigned len)
{
	struct finder *f = ctx;
	if (len < 6 || len >= sizeof(f->best) || strcmp(name + len - 5, ".conf"))
		return 0;
	if (!f->best[0] || vercmp(name, f->best) > 0)
		memcpy(f->best, name, len + 1);
	return 0;
}

static int try_entries(struct finder *f, const char *dir)
{
	char path[PATH_MAX_BF];
	struct fs_node d;
	int via_link;
	fmt_snprintf(path, sizeof(path), "%s/loader/entries", dir);
	f->best[0] = 0;
	int rc = lookup(f, path, &d, &via_link);
	if (!rc && d.dir)
		rc = fs_list(&f->fs, &d, pick_entry, f);
	if (rc == -ENOENT || (!rc && (!d.dir || !f->best[0])))
		return -ENOENT;
	if (rc)
		return rc == -EAGAIN ? rc : (note(f, RANK_BROKEN, "%s: %s", path, f->fs.why), rc);
	fmt_snprintf(path, sizeof(path), "%s/loader/entries/%s", dir, f->best);
	if ((rc = read_conf(f, path)))
		return rc;
	char *text = f->conf, *key, *val, kernel[PATH_MAX_BF] = "", *initrds[8];
	const struct dirs dirs = { dir, dir };
	unsigned ni = 0;
	while (!rc && next_line(&text, &key, &val)) {
		if (key_is(key, "linux"))
			join(kernel, sizeof(kernel), &dirs, val);
		else if (key_is(key, "initrd") && ni < 8)
			initrds[ni++] = val;
		else if (key_is(key, "options"))
			rc = add_cmdline(f->out, val);
	}
	if (rc)
		return note(f, RANK_BROKEN, "%s: the options are longer than %s bytes", path, "1023"), rc;
	if (!kernel[0])
		return note(f, RANK_BROKEN, "%s names no kernel (no `linux` line)%s", path, ""), -ENOEXEC;
	rc = map_file(f, kernel, &f->out->kernel, "kernel");
	for (unsigned i = 0; !rc && i < ni; i++)
		rc = map_initrds(f, &dirs, initrds[i]);
	if (!rc)
		fmt_snprintf(f->out->what, sizeof(f->out->what), "%s", path);
	return rc;
}

/* ---- extlinux.conf ---- */

/* The LABEL that DEFAULT names, else the first: its kernel, initrds and APPEND. */
static int try_extlinux(struct finder *f, const char *conf, const char *dir)
{
	int rc = read_conf(f, conf);
	if (rc)
		return rc;
	char def[64] = "", *text = f->conf, *key, *val;
	while (next_line(&text, &key, &val))
		if (key_is(key, "default") && strlen(val) < sizeof(def))
			memcpy(def, val, strlen(val) + 1);
	/* next_line cut the text into lines: read it again from a fresh copy. */
	if ((rc = read_conf(f, conf)))
		return rc;
	char kernel[PATH_MAX_BF] = "", *initrd = 0;
	const struct dirs dirs = { "", dir };
	int in = 0, done = 0;
	for (text = f->conf; !done && !rc && next_line(&text, &key, &val);) {
		if (key_is(key, "label")) {
			done = in;
			in = !in && (!def[0] || !strcmp(val, def));
		} else if (in && (key_is(key, "linux") || key_is(key, "kernel"))) {
			join(kernel, sizeof(kernel), &dirs, val);
		} else if (in && key_is(key, "initrd")) {
			initrd = val;
		} else if (in && key_is(key, "append")) {
			rc = add_cmdline(f->out, val);
		}
	}
	if (rc)
		return note(f, RANK_BROKEN, "%s: APPEND is longer than %s bytes", conf, "1023"), rc;
	if (!kernel[0])
		return note(f, RANK_BROKEN, "%s names no kernel for label '%s'", conf, def), -ENOEXEC;
	rc = map_file(f, kernel, &f->out->kernel, "kernel");
	if (!rc && initrd)
		rc = map_initrds(f, &dirs, initrd);
	if (!rc)
		fmt_snprintf(f->out->what, sizeof(f->out->what), "%s", conf);
	return rc;
}

/* ---- Debian's links ---- */

static int try_links(struct finder *f, const char *dir)
{
	char kernel[64], initrd[64];
	struct fs_node n;
	int via_link;
	fmt_snprintf(kernel, sizeof(kernel), "%s/vmlinuz", dir);
	fmt_snprintf(initrd, sizeof(initrd), "%s/initrd.img", dir);
	int rc = lookup(f, kernel, &n, &via_link);
	if (rc == -ENOENT && !via_link)
		return rc;
	rc = map_file(f, kernel, &f->out->kernel, "kernel");
	if (rc)
		return rc;
	rc = lookup(f, initrd, &n, &via_link);
	if (rc != -ENOENT || via_link)
		rc = map_file(f, initrd, &f->out->initrd, "initrd");
	else
		rc = 0;   /* a system without an initrd */
	if (!rc)
		fmt_snprintf(f->out->what, sizeof(f->out->what), "%s%s", kernel,
			     f->out->initrd.size ? ", initrd.img" : "");
	return rc;
}

/* ---- partitions ---- */

static void reset_found(struct boot_found *out)
{
	out->kernel.n = out->initrd.n = 0;
	out->kernel.size = out->initrd.size = 0;
	out->has_cmdline = 0;
	out->cmdline[0] = out->root[0] = out->what[0] = 0;
}

/* Asks one file system; -ENOENT when it holds nothing bootable. */
static int try_fs(struct finder *f)
{
	static const char *const extlinux[][2] = {
		{ "/extlinux/extlinux.conf", "/extlinux" },
		{ "/boot/extlinux/extlinux.conf", "/boot/extlinux" },
		{ "/extlinux.conf", "" },
	};
	int rc = try_entries(f, "");
	if (rc == -ENOENT)
		rc = try_entries(f, "/boot");
	for (unsigned i = 0; rc == -ENOENT && i < 3; i++) {
		reset_found(f->out);
		rc = try_extlinux(f, extlinux[i][0], extlinux[i][1]);
	}
	if (rc == -ENOENT)
		reset_found(f->out), rc = try_links(f, "");
	if (rc == -ENOENT)
		reset_found(f->out), rc = try_links(f, "/boot");
	return rc;
}

static int try_part(struct finder *f, const struct fs_dev *disk, const struct part *p)
{
	struct fs_dev dev = { disk->ops, disk->ctx, disk->base + p->start, p->size };
	f->p = p;
	reset_found(f->out);
	int rc = fs_open(&f->fs, &dev);
	if (rc == -ENODEV || rc == -EAGAIN)
		return rc;
	if (rc) {
		note(f, RANK_BROKEN, "%s%s", f->fs.why, "");
		return rc;
	}
	rc = try_fs(f);
	if (rc == -ENOENT)
		note(f, RANK_EMPTY, "no /vmlinuz, extlinux.conf or loader entries%s%s", "", "");
	if (rc)
		return rc;
	f->out->part = p->index;
	if (p->partuuid[0])
		fmt_snprintf(f->out->root, sizeof(f->out->root), "PARTUUID=%s", p->partuuid);
	else
		fmt_snprintf(f->out->root, sizeof(f->out->root), p->index ? "/dev/vda%u" : "/dev/vda",
			     p->index);
	char what[BOOT_WHAT_MAX];
	memcpy(what, f->out->what, sizeof(what));
	int n = p->index ? fmt_snprintf(f->out->what, sizeof(what), "partition %u (%s): ", p->index,
					fs_name(&f->fs))
			 : fmt_snprintf(f->out->what, sizeof(what), "%s on the whole disk: ", fs_name(&f->fs));
	if (n >= 0 && (unsigned)n < sizeof(what))
		fmt_snprintf(f->out->what + n, sizeof(what) - n, "%s", what);
	return 0;
}

static void nothing_found(struct finder *f, enum part_scheme scheme, unsigned n)
{
	if (f->rank != RANK_NONE)
		return;
	if (scheme == PART_NONE)
		fmt_snprintf(f->why, f->whylen, "no partition table and no file system on the disk "
			     "(hako reads GPT, MBR, ext2/3/4 and FAT)");
	else
		fmt_snprintf(f->why, f->whylen, "none of its %u %s partitions holds a file system hako "
			     "reads (ext2/3/4, FAT)", n, scheme == PART_GPT ? "GPT" : "MBR");
}

/* Finds what the disk boots (bootfind.h): 0, -EAGAIN, -ENOENT or -EUCLEAN with why. */
int boot_find(const struct fs_dev *disk, uint32_t block, struct boot_found *out, char *why,
	      unsigned whylen)
{
	struct finder *f = &finder;
	enum part_scheme scheme;
	unsigned n;
	f->out = out;
	f->why = why;
	f->whylen = whylen;
	f->rank = RANK_NONE;
	why[0] = 0;
	reset_found(out);
	int rc = part_scan(disk, block, f->parts, PART_MAX, &n, &scheme, why, whylen);
	if (rc)
		return rc;
	/* The EFI system and extended-boot partitions first: that is where loaders look. */
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < n; i++) {
			const struct part *p = &f->parts[i];
			if ((p->esp || p->xbootldr) != !pass)
				continue;
			rc = try_part(f, disk, p);
			if (!rc || rc == -EAGAIN)
				return rc;
		}
	nothing_found(f, scheme, n);
	return f->rank == RANK_BROKEN ? -EUCLEAN : -ENOENT;
}
