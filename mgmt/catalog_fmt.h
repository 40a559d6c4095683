/*
 * mgmt/catalog_fmt.h - the guest catalog's on-device form (portable).
 *
 * The catalog is a text record: a line "hako-catalog 2 id=HEX", then one
 * `define` line per guest exactly as `show` prints it (vm_def_format), so
 * an operator can read a dump and the parser is the shell's own. The id
 * is the catalog's identity, made when it is first written, which the
 * pool records too (cow_pool_claim): a pool's unnamed volumes are freed
 * only by its own catalog. Version 1 ("hako-catalog 1", no id) is still
 * read; it gets an id at its first write. The
 * record lives in a slotstore (vmm/blk/slotstore.h) at the start of the
 * catalog device, so every update is atomic across power cuts.
 */
#ifndef HAKO_CATALOG_FMT_H
#define HAKO_CATALOG_FMT_H

#include "vmm/blk/slotstore.h"
#include "vmm/vm_def.h"

#define CATALOG_MAGIC 0x474c544b4f4b4148ull   /* "HAKOKTLG" */
#define CATALOG_VERSION 1
#define CATALOG_SLOT_BYTES (64u << 10)       /* header block + payload */
#define CATALOG_GUESTS_MAX 16                 /* VM_MAX */

/*
 * Writes the text of catalog `id` (nonzero) holding `n` definitions into
 * buf. Returns its length, or -E2BIG when it does not fit in `cap`.
 */
int catalog_encode(uint64_t id, const struct vm_def *defs, unsigned n, char *buf, unsigned cap);

/*
 * Parses a catalog text (modified in place) into *id (0 for a version 1
 * catalog) and out[0..*n). 0, or -EINVAL with the bad line's problem in
 * err (nothing is trusted: a device could hold anything whose CRC
 * happens to match).
 */
int catalog_decode(char *text, unsigned len, uint64_t *id, struct vm_def *out, unsigned max,
		   unsigned *n, char *err, unsigned errlen);

/* Sets up `s` for a catalog on device d; -ENOSPC if d is too small. */
int catalog_store_init(struct slotstore *s, struct blockdev *d);

/*
 * Loads the newest catalog: 0 with its id and definitions, -ENOENT on a
 * device holding no catalog (catalog_store_blank says whether it may be
 * made one), or another -E... (err says what).
 */
int catalog_store_load(struct slotstore *s, uint64_t *id, struct vm_def *out, unsigned max,
		       unsigned *n, char *err, unsigned errlen);

/*
 * May a device without a catalog become one? 1 when both slot headers are
 * zero and the rest is zero too or holds the start of a catalog (a first
 * write cut short); 0 when it holds something else (a wrong LUN: never
 * written); or -E...
 */
int catalog_store_blank(struct slotstore *s);

/* Replaces the catalog with catalog `id` holding these definitions, atomically. 0 or -E... */
int catalog_store_save(struct slotstore *s, uint64_t id, const struct vm_def *defs, unsigned n);

#endif
