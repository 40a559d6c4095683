/*
 * mgmt/catalog_fmt.h - the guest catalog's on-device form (portable).
 *
 * The catalog is a text record: a line "hako-catalog 1", then one
 * `define` line per guest exactly as `show` prints it (vm_def_format), so
 * an operator can read a dump and the parser is the shell's own. The
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
 * Writes the text of `n` definitions into buf. Returns its length, or
 * -E2BIG when it does not fit in `cap`.
 */
int catalog_encode(const struct vm_def *defs, unsigned n, char *buf, unsigned cap);

/*
 * Parses a catalog text (modified in place) into out[0..*n). 0, or -EINVAL
 * with the bad line's problem in err (nothing is trusted: a device could
 * hold anything whose CRC happens to match).
 */
int catalog_decode(char *text, unsigned len, struct vm_def *out, unsigned max, unsigned *n,
		   char *err, unsigned errlen);

/* Sets up `s` for a catalog on device d; -ENOSPC if d is too small. */
int catalog_store_init(struct slotstore *s, struct blockdev *d);

/*
 * Loads the newest catalog: 0 with the definitions, -ENOENT on a blank
 * device, or another -E... (err says what).
 */
int catalog_store_load(struct slotstore *s, struct vm_def *out, unsigned max, unsigned *n,
		       char *err, unsigned errlen);

/* Replaces the catalog with these definitions, atomically. 0 or -E... */
int catalog_store_save(struct slotstore *s, const struct vm_def *defs, unsigned n);

#endif
