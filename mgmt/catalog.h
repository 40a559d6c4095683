/*
 * mgmt/catalog.h - where guest definitions live: on the catalog device
 * named by `catalog=` in hako.cfg (mgmt/catalog_fmt.h), or, without one,
 * only in memory. Also the copy-on-write pool (`pool=`) and the actions
 * behind `clone` and the template rules (mgmt/clone.c).
 */
#ifndef HAKO_CATALOG_H
#define HAKO_CATALOG_H

#include <stdint.h>

#include "vmm/vm.h"

/*
 * Boot: opens pool= and catalog= from hako.cfg, loads the guests, frees
 * pool volumes no guest uses. Logs what it did; never fails the boot.
 */
void catalog_boot(void);

/*
 * Writes every definition to the catalog (atomically). 0 without a
 * catalog; -E... with a sentence in err when the write failed (the
 * caller then undoes its in-memory change).
 */
int catalog_persist(char *err, unsigned errlen);

/*
 * Guards a change of the definitions (define, set, undefine, clone,
 * start): catalog writes and full copies wait on the network, and the
 * service core meanwhile serves other shell sessions, which must not
 * change definitions underneath. 0 and held, or -EBUSY with a sentence.
 */
int catalog_hold(char *err, unsigned errlen);
void catalog_release(void);
/*
 * Did the last catalog write fail with its outcome unknown (the device
 * holding the state before or after it)? Callers then keep what either
 * state needs (clone.c keeps the new volumes for the next boot to sort out).
 */
int catalog_unsure(void);

/* One line for `host`: where definitions live. */
void catalog_describe(char *buf, unsigned len);
/* One line for `host`: the pool and its use. */
void catalog_pool_describe(char *buf, unsigned len);

/*
 * The guests whose disks are overlays on `vm`'s disks, as "a, b" in buf;
 * returns how many (0: vm is not a template).
 */
unsigned clone_dependents(const struct vm *vm, char *buf, unsigned len);

/* Frees the pool volumes of a deleted guest's clone disks (logs failures). */
void clone_free_disks(const struct vm_def *d);

struct clone_ui {
	void (*progress)(void *ctx, const char *line);   /* "\r..." updates */
	int (*cancelled)(void *ctx);                       /* Ctrl-C pressed? */
	void *ctx;
};

/*
 * Makes guest `dst` from `src` (see CLI.md `clone`): its definition with
 * a MAC from dst's name, each disk an overlay on src's (or, with `full`,
 * a copy). Nothing is left behind on failure or cancel. 0, or -E... with
 * a sentence in err.
 */
int catalog_clone(const char *src, const char *dst, int full, const struct clone_ui *ui, char *err,
		  unsigned errlen);

#endif
