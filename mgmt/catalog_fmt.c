/*
 * mgmt/catalog_fmt.c - encoding, parsing and storing the guest catalog
 * (see catalog_fmt.h). Portable; unit-tested with power cuts in
 * tests/unit/test_catalog.c.
 */
#include "mgmt/catalog_fmt.h"

#include "mgmt/audit.h"
#include "mgmt/shell/args.h"
#include "mgmt/users_fmt.h"
#include "vmm/blk/blk_sync.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"

/*
 * Version 2 ("hako-catalog 2 id=HEX") adds the catalog's identity (which a
 * pool records, vmm/blk/cow_pool.h), the account and audit lines
 * (mgmt/users_fmt.h) and the owner= and template= keys; version 1
 * catalogs read as before, their guests the administrators'.
 */
#define CATALOG_V1_LINE "hako-catalog 1\n"
#define CATALOG_V2_PREFIX "hako-catalog 2 id="

static char *find_byte(char *p, char c, unsigned n)
{
	for (; n; p++, n--)
		if (*p == c)
			return p;
	return 0;
}

/* The catalog text of catalog id's n definitions: its length, or -E2BIG. */
int catalog_encode(uint64_t id, const struct vm_def *defs, unsigned n, char *buf, unsigned cap)
{
	int len = fmt_snprintf(buf, cap, "%s%lx\n", CATALOG_V2_PREFIX, id);
	static char line[VM_DEF_LINE_MAX];   /* service core only */
	for (unsigned i = 0; i < n && len < (int)cap; i++) {
		vm_def_format(&defs[i], line, sizeof(line));
		len += fmt_snprintf(buf + len, cap - len, "%s\n", line);
	}
	return len < (int)cap ? users_encode(buf, len, cap) : -E2BIG;
}

/* One `define NAME KEY=VALUE...` line into d. */
static int decode_line(char *line, struct vm_def *d, char *err, unsigned errlen)
{
	char *argv[ARGS_MAX];
	int argc = args_split(line, argv);
	if (argc < 2 || strcmp(argv[0], "define") || !args_valid_name(argv[1])) {
		fmt_snprintf(err, errlen, "catalog line is not a `define NAME ...` line");
		return -EINVAL;
	}
	vm_def_defaults(d, argv[1]);
	for (int i = 2; i < argc; i++)
		if (vm_def_set_arg(d, argv[i], err, errlen))
			return -EINVAL;
	return 0;
}

static int decode_lines(char *text, unsigned first, unsigned len, struct vm_def *out, unsigned max,
			unsigned *n, char *err, unsigned errlen);

static int duplicate(const struct vm_def *out, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(out[i].name, name))
			return 1;
	return 0;
}

/*
 * The first line: "hako-catalog 1" (no id) or "hako-catalog 2 id=HEX"
 * (1 to 16 hex digits, not all zero). Its length, or 0 when it is neither.
 */
static unsigned first_line(const char *text, unsigned len, uint64_t *id)
{
	unsigned v1 = sizeof(CATALOG_V1_LINE) - 1, v2 = sizeof(CATALOG_V2_PREFIX) - 1, i;
	*id = 0;
	if (len >= v1 && !memcmp(text, CATALOG_V1_LINE, v1))
		return v1;
	if (len <= v2 || memcmp(text, CATALOG_V2_PREFIX, v2))
		return 0;
	for (i = v2; i < len && i - v2 < 16; i++) {
		char c = text[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			break;
		*id = *id << 4 | (uint64_t)d;
	}
	return i > v2 && i < len && text[i] == '\n' && *id ? i + 1 : 0;
}

/*
 * Parses a catalog text, trusting nothing: 0, *id and out[0..*n), or
 * -EINVAL and a sentence in err. `text` is modified.
 */
int catalog_decode(char *text, unsigned len, uint64_t *id, struct vm_def *out, unsigned max,
		   unsigned *n, char *err, unsigned errlen)
{
	unsigned first = first_line(text, len, id);
	*n = 0;
	users_decode_begin();
	if (!first || find_byte(text, 0, len)) {
		fmt_snprintf(err, errlen, "the catalog does not start with 'hako-catalog 1' or "
			     "'hako-catalog 2 id=...'");
		return -EINVAL;
	}
	int rc = decode_lines(text, first, len, out, max, n, err, errlen);
	if (rc)
		users_decode_begin(); /* nothing half-loaded */
	audit_saved();
	return rc;
}

/* The lines after the first: definitions into out, accounts and audit entries loaded. */
static int decode_lines(char *text, unsigned first, unsigned len, struct vm_def *out, unsigned max,
			unsigned *n, char *err, unsigned errlen)
{
	for (unsigned pos = first; pos < len;) {
		char *nl = find_byte(text + pos, '\n', len - pos);
		if (!nl) {
			fmt_snprintf(err, errlen, "the catalog's last line is cut short");
			return -EINVAL;
		}
		*nl = 0;
		if (strncmp(text + pos, "define ", 7)) {
			if (users_decode_line(text + pos, err, errlen))
				return -EINVAL;
			pos = (unsigned)(nl - text) + 1;
			continue;
		}
		if (*n == max) {
			fmt_snprintf(err, errlen, "the catalog holds too many guests");
			return -EINVAL;
		}
		if (decode_line(text + pos, &out[*n], err, errlen))
			return -EINVAL;
		if (duplicate(out, *n, out[*n].name)) {
			fmt_snprintf(err, errlen, "the catalog defines '%s' twice", out[*n].name);
			return -EINVAL;
		}
		(*n)++;
		pos = (unsigned)(nl - text) + 1;
	}
	return 0;
}

/* The catalog's slotstore at the start of d: 64 KiB slots; -ENOSPC if d is smaller. */
int catalog_store_init(struct slotstore *s, struct blockdev *d)
{
	uint32_t bs = blk_block_size(d);
	*s = (struct slotstore){ .dev = d, .lba = 0, .magic = CATALOG_MAGIC,
				 .version = CATALOG_VERSION, .cur = -1 };
	s->slot_blocks = CATALOG_SLOT_BYTES / bs > 2 ? CATALOG_SLOT_BYTES / bs : 2;
	return blk_blocks(d) < 2ull * s->slot_blocks ? -ENOSPC : 0;
}

/* Loads and parses the newest catalog: 0, -ENOENT (no catalog) or -E... with err. */
int catalog_store_load(struct slotstore *s, uint64_t *id, struct vm_def *out, unsigned max,
		       unsigned *n, char *err, unsigned errlen)
{
	uint32_t cap = slot_capacity(s), len = 0;
	char *text = blk_host()->alloc(cap);
	if (!text)
		return -ENOMEM;
	*n = 0;
	*id = 0;
	int rc = slot_load(s, text, cap, &len);
	if (rc && rc != -ENOENT)
		fmt_snprintf(err, errlen, "cannot read the catalog (%s)", errno_str(rc));
	if (!rc)
		rc = catalog_decode(text, len, id, out, max, n, err, errlen);
	blk_host()->free(text, cap);
	return rc;
}

/* Does the device hold nothing, or only a first catalog write cut short? 1, 0 or -E... */
int catalog_store_blank(struct slotstore *s)
{
	uint32_t bs = blk_block_size(s->dev);
	uint64_t bytes = 2ull * s->slot_blocks * bs;
	uint8_t *buf = blk_host()->alloc(bytes);
	if (!buf)
		return -ENOMEM;
	int rc = blk_sync_io(s->dev, BLK_READ, s->lba, 2 * s->slot_blocks, buf);
	int zero = 1, headers = 1;
	for (uint64_t i = 0; !rc && i < bytes; i++) {
		int in_hdr = i < bs || (i >= (uint64_t)s->slot_blocks * bs &&
					i < (uint64_t)(s->slot_blocks + 1) * bs);
		zero &= !buf[i];
		headers &= !in_hdr || !buf[i];
	}
	int cut_short = headers && !memcmp(buf + bs, "hako-catalog ", 13);
	blk_host()->free(buf, bytes);
	return rc ? rc : zero || cut_short;
}

/* Commits the text of catalog id's definitions atomically: 0 or -E... */
int catalog_store_save(struct slotstore *s, uint64_t id, const struct vm_def *defs, unsigned n)
{
	uint32_t cap = slot_capacity(s);
	char *text = blk_host()->alloc(cap);
	if (!text)
		return -ENOMEM;
	int len = catalog_encode(id, defs, n, text, cap);
	int rc = len < 0 ? len : slot_commit(s, text, (uint32_t)len);
	blk_host()->free(text, cap);
	return rc;
}
