/*
 * mgmt/cfg.h - hako.cfg, the boot configuration on the boot medium.
 *
 * Format: one KEY=VALUE per line; '#' starts a comment line; blank lines
 * are fine; spaces around KEY and VALUE are trimmed. Unknown keys and
 * malformed lines are reported with their line number and ignored. Keys
 * and their checks live in one table (cfg.c); subsystems read values with
 * cfg_get(). Portable.
 */
#ifndef HAKO_CFG_H
#define HAKO_CFG_H

#include <stddef.h>

#define CFG_MAX_ENTRIES 64
#define CFG_KEY_MAX 32
#define CFG_VALUE_MAX 256

struct cfg_entry {
	char key[CFG_KEY_MAX];
	char value[CFG_VALUE_MAX];
	unsigned line;
};

struct cfg {
	struct cfg_entry entries[CFG_MAX_ENTRIES];
	unsigned count;
	unsigned errors;
	int present; /* a hako.cfg was found */
};

/* hako.cfg as read at boot (boot/main.c); empty when the stick has none. */
extern struct cfg hako_cfg;

/*
 * Parses `len` bytes of `text` into `cfg`. Each problem is reported once
 * through `report(ctx, message)` as "hako.cfg:LINE: ..." and skipped.
 * Returns the number of problems.
 */
unsigned cfg_parse(struct cfg *cfg, const char *text, size_t len,
		   void (*report)(void *ctx, const char *msg), void *ctx);

/* The last value given for `key`, or 0. */
const char *cfg_get(const struct cfg *cfg, const char *key);
/* The n-th value (0-based) of a key that may repeat (such as `user`). */
const char *cfg_get_nth(const struct cfg *cfg, const char *key, unsigned n);

/* Checks "A.B.C.D" and, with `prefix` set, "A.B.C.D/N". Returns 0 when good. */
int cfg_check_ipv4(const char *s, int prefix);

#endif
