/*
 * mgmt/cmd_clone.c - the `clone` verb (shared/CLI.md): parses and prints;
 * the work is catalog_clone() in mgmt/clone.c. A full copy shows a
 * progress line and stops at Ctrl-C typed on the terminal that started
 * it (serial or network console). Also
 * `diskread`, a sequential-read benchmark of any disk URL (bench_clone.py
 * compares a LUN with an overlay over it).
 */
#include "mgmt/catalog.h"
#include "mgmt/shell/args.h"
#include "mgmt/shell/shell.h"
#include "vmm/blk/blk_sync.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/time.h"

#define READ_CHUNK (256u << 10)


static void progress(void *ctx, const char *line)
{
	shell_printf(ctx, "%s", line);
}

/* Ctrl-C on the command's terminal (mgmt/shell: serial or network). */
static int cancelled(void *ctx)
{
	(void)ctx; /* the running command's shell is known to the shell layer */
	return shell_interrupted();
}

static int cmd_clone(struct shell *sh, int argc, char **argv)
{
	int full = argc == 4 && !strcmp(argv[3], "full");
	if (argc != 3 && !full)
		return shell_usage(sh, "clone");
	struct clone_ui ui = { progress, cancelled, sh };
	char err[200];
	if (catalog_hold(err, sizeof(err)))
		return shell_error(sh, "%s", err);
	int rc = catalog_clone(argv[1], argv[2], full, &ui, err, sizeof(err));
	catalog_release();
	if (rc)
		return shell_error(sh, "%s", err);
	shell_printf(sh, "cloned %s to %s%s\n", argv[1], argv[2], full ? " (full copy)" : "");
	return 0;
}
SHELL_COMMAND(clone, "clone", "SRC DST [full]",
	      "new guest from SRC with copy-on-write disks (full: copied disks)", cmd_clone);

/* Reads [0, bytes) of d in READ_CHUNK requests, one at a time. */
static int read_all(struct blockdev *d, uint64_t bytes, uint8_t *buf)
{
	uint32_t bs = blk_block_size(d);
	for (uint64_t off = 0; off < bytes; off += READ_CHUNK) {
		if (cancelled(0))
			return -ECANCELED;
		uint64_t n = bytes - off < READ_CHUNK ? bytes - off : READ_CHUNK;
		int rc = blk_sync_io(d, BLK_READ, off / bs, (uint32_t)(n / bs), buf);
		if (rc)
			return rc;
	}
	return 0;
}

static int cmd_diskread(struct shell *sh, int argc, char **argv)
{
	uint64_t size = 0;
	if (argc < 2 || argc > 3 || (argc == 3 && (fmt_parse_size(argv[2], &size) || !size)))
		return shell_usage(sh, "diskread");
	char err[200];
	struct blockdev *d;
	if (blk_sync_open(argv[1], 1, &d, err, sizeof(err)))
		return shell_error(sh, "%s", err);
	uint64_t all = blk_blocks(d) * blk_block_size(d);
	size = size && size < all ? size / blk_block_size(d) * blk_block_size(d) : all;
	uint8_t *buf = blk_host()->alloc(READ_CHUNK);
	uint64_t t0 = time_us();
	int rc = buf ? read_all(d, size, buf) : -ENOMEM;
	uint64_t us = time_us() - t0 + 1;
	if (buf)
		blk_host()->free(buf, READ_CHUNK);
	blk_close(d);
	if (rc)
		return shell_error(sh, "reading %s failed (%s)", argv[1], errno_str(rc));
	shell_printf(sh, "read %lu MiB in %lu ms: %lu MB/s\n", size >> 20, us / 1000, size / us);
	return 0;
}
SHELL_COMMAND(diskread, "diskread", "URL [SIZE]",
	      "benchmark: read a disk sequentially (256 KiB requests) and print MB/s", cmd_diskread);
