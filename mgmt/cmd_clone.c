/*
 * mgmt/cmd_clone.c - the `clone` verb (shared/CLI.md): parses and prints;
 * the work is catalog_clone() in mgmt/clone.c. A full copy shows a
 * progress line and stops at Ctrl-C typed on the serial console.
 */
#include "drivers/uart/uart16550.h"
#include "mgmt/catalog.h"
#include "mgmt/shell/shell.h"
#include "vmm/lib/string.h"

#define CTRL_C 0x03

static void progress(void *ctx, const char *line)
{
	shell_printf(ctx, "%s", line);
}

/* Ctrl-C on the serial console; other keys typed during a copy are dropped. */
static int cancelled(void *ctx)
{
	(void)ctx; /* the serial console is the one input polled during a command */
	for (int c; (c = uart_getc()) >= 0;)
		if (c == CTRL_C)
			return 1;
	return 0;
}

static int cmd_clone(struct shell *sh, int argc, char **argv)
{
	int full = argc == 4 && !strcmp(argv[3], "full");
	if (argc != 3 && !full)
		return shell_usage(sh, "clone");
	struct clone_ui ui = { progress, cancelled, sh };
	char err[200];
	if (catalog_clone(argv[1], argv[2], full, &ui, err, sizeof(err)))
		return shell_error(sh, "%s", err);
	shell_printf(sh, "cloned %s to %s%s\n", argv[1], argv[2], full ? " (full copy)" : "");
	return 0;
}
SHELL_COMMAND(clone, "clone", "SRC DST [full]",
	      "new guest from SRC with copy-on-write disks (full: copied disks)", cmd_clone);
