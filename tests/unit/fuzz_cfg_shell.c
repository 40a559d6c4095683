/*
 * tests/unit/fuzz_cfg_shell.c - libFuzzer target for the text hako reads:
 * the input is parsed as a hako.cfg (mgmt/cfg.c) and then typed, byte by
 * byte, into a shell session (mgmt/shell/line.c, args.c, shell.c) that has
 * the built-in `help` and a test verb that splits and echoes its words.
 *   make fuzz && build/fuzz/fuzz_cfg_shell -max_total_time=60
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt/cfg.h"
#include "mgmt/shell/args.h"
#include "mgmt/shell/shell.h"
#include "vmm/core/lib/fmt.h"

static size_t written;

static void sink(void *ctx, const char *s, size_t n)
{
	(void)ctx, (void)s;
	written += n;
}

static int cmd_fz(struct shell *sh, int argc, char **argv)
{
	uint64_t v;
	for (int i = 1; i < argc; i++) {
		fmt_parse_size(argv[i], &v);
		shell_printf(sh, "%s %d\n", argv[i], args_valid_name(argv[i]));
	}
	return argc > 3 ? shell_error(sh, "too many") : 0;
}
SHELL_COMMAND(fz, "fz", "WORD...", "fuzz test verb", cmd_fz);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cfg cfg;
	char *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	cfg_parse(&cfg, copy, size, 0, 0);
	if (cfg.count > CFG_MAX_ENTRIES)
		abort();
	free(copy);

	static struct shell sh;
	shell_init(&sh, sink, 0);
	for (size_t i = 0; i < size; i++) {
		shell_feed(&sh, data[i]);
		if (sh.ed.len > LINE_MAX)
			abort();
	}
	return 0;
}
