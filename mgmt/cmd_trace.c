/*
 * mgmt/cmd_trace.c - `trace NAME on|off`, `trace NAME [COUNT]` and
 * `trace NAME follow`: a guest's recent VM exits, decoded, from its
 * ring (vmm/exit_trace.h); and the cycles per exit kind `stats` shows.
 *
 * `follow` keeps the terminal (shell_pend) until Ctrl-C; a service poller
 * prints what the guest's vCPUs added since, a few lines per round so the
 * shell and the network keep their turn. One session follows at a time.
 */
#include "mgmt/cmd_trace.h"

#include "mgmt/shell/shell.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/service.h"
#include "vmm/core/time.h"
#include "vmm/exit_names.h"
#include "vmm/exit_trace.h"
#include "vmm/vm.h"

#define TRACE_DEFAULT_COUNT 20
#define FOLLOW_LINES_PER_POLL 16
#define FOLLOW_MAX_BEHIND 256 /* further behind, `follow` skips to the newest exits */

void cmd_trace_exit_costs(struct shell *sh, const struct vm *vm)
{
	for (unsigned k = 0; k < EXIT_KIND_COUNT; k++) {
		uint64_t n = vm->exit_count[k];
		if (n)
			shell_printf(sh, "  in hako: %-14s mean %lu max %lu cycles\n",
				     exit_kind_name((enum exit_kind)k), vm->exit_cost[k].sum / n,
				     vm->exit_cost[k].max);
	}
}

static void print_record(struct shell *sh, const struct exit_trace_rec *r)
{
	char line[200];
	size_t n = exit_trace_format(r, tsc_boot, tsc_khz, line, sizeof(line) - 1);
	line[n++] = '\n';
	shell_write(sh, line, n);
}

/* Prints records [from, to) that are still in the ring; returns how many were gone. */
static uint64_t print_range(struct shell *sh, const struct exit_trace *t, uint64_t from, uint64_t to)
{
	uint64_t gone = 0;
	struct exit_trace_rec r;
	for (uint64_t i = from; i < to; i++) {
		if (exit_trace_read(t, i, &r))
			gone++;
		else
			print_record(sh, &r);
	}
	return gone;
}

static int trace_show(struct shell *sh, struct vm *vm, const char *count_word)
{
	uint64_t count = TRACE_DEFAULT_COUNT;
	if (count_word && fmt_parse_uint(count_word, 1, EXIT_TRACE_LEN, &count))
		return shell_error(sh, "bad COUNT '%s': a number of exits from 1 to %u", count_word,
				   EXIT_TRACE_LEN);
	struct exit_trace *t = vm->trace;
	if (!t)
		return shell_error(sh, "no exits of '%s' traced; `trace %s on` starts the trace",
				   vm->def.name, vm->def.name);
	uint64_t head = __atomic_load_n(&t->head, __ATOMIC_ACQUIRE);
	uint64_t from = head > count ? head - count : 0;
	shell_printf(sh, "trace of %s: %s, %lu exits recorded; the last %lu:\n", vm->def.name,
		     t->on ? "on" : "off", head, head - from);
	uint64_t gone = print_range(sh, t, from, head);
	if (gone)
		shell_printf(sh, "[%lu exits overwritten while printing]\n", gone);
	return 0;
}

/* ---- follow ---- */

static struct {
	struct shell_ref term;
	struct vm *vm;
	char name[VM_NAME_MAX + 1];
	uint64_t next; /* the next record to print */
} follow;

static void follow_end(void)
{
	follow.term = (struct shell_ref){ 0, 0 };
	follow.vm = 0;
}

static int follow_poll(void)
{
	struct shell *sh = shell_deref(follow.term);
	if (!follow.vm)
		return 0;
	if (!sh) {
		follow_end();
		return 0;
	}
	struct vm *vm = follow.vm;
	if (!vm->defined || strcmp(vm->def.name, follow.name) || !vm->trace) {
		shell_printf(sh, "[guest %s was undefined; trace follow ends]\n", follow.name);
		follow_end();
		shell_finish(sh);
		return 1;
	}
	uint64_t head = __atomic_load_n(&vm->trace->head, __ATOMIC_ACQUIRE);
	if (head - follow.next > FOLLOW_MAX_BEHIND) {
		uint64_t skip = head - FOLLOW_LINES_PER_POLL - follow.next;
		shell_printf(sh, "[%lu exits not shown]\n", skip);
		follow.next += skip;
	}
	uint64_t to = head - follow.next > FOLLOW_LINES_PER_POLL ? follow.next + FOLLOW_LINES_PER_POLL
								 : head;
	uint64_t gone = print_range(sh, vm->trace, follow.next, to);
	if (gone)
		shell_printf(sh, "[%lu exits not shown]\n", gone);
	int busy = to != follow.next;
	follow.next = to;
	return busy;
}
SERVICE_POLLER(trace_follow, follow_poll);

static void follow_interrupt(struct shell *sh, void *ctx)
{
	(void)ctx;
	shell_printf(sh, "[trace follow of %s ended]\n", follow.name);
	follow_end();
	shell_finish(sh);
}

static void follow_detach(struct shell *sh, void *ctx)
{
	(void)sh, (void)ctx; /* gone */
	follow_end();
}

static const struct shell_pending_ops follow_pending = { follow_interrupt, follow_detach };

static int trace_follow(struct shell *sh, struct vm *vm)
{
	if (shell_deref(follow.term))
		return shell_error(sh, "another session follows the trace of '%s'; one at a time",
				   follow.name);
	if (!vm->trace || !vm->trace->on)
		return shell_error(sh, "the trace of '%s' is off; `trace %s on` first", vm->def.name,
				   vm->def.name);
	shell_printf(sh, "[following the exits of %s; Ctrl-C ends]\n", vm->def.name);
	follow.term = shell_ref(sh);
	follow.vm = vm;
	fmt_snprintf(follow.name, sizeof(follow.name), "%s", vm->def.name);
	follow.next = __atomic_load_n(&vm->trace->head, __ATOMIC_ACQUIRE);
	return shell_pend(sh, &follow_pending, 0);
}

/* ---- the verb ---- */

static int trace_switch(struct shell *sh, struct vm *vm, int on)
{
	if (exit_trace_set(vm, on))
		return shell_error(sh, "no memory for the trace of '%s'", vm->def.name);
	shell_printf(sh, "trace of %s %s\n", vm->def.name, on ? "on" : "off");
	return 0;
}

static int cmd_trace(struct shell *sh, int argc, char **argv)
{
	if (argc < 2 || argc > 3)
		return shell_usage(sh, "trace");
	struct vm *vm = vm_find(argv[1]);
	if (!vm)
		return shell_error(sh, "unknown guest '%s'; `list` shows the defined ones", argv[1]);
	const char *w = argc == 3 ? argv[2] : 0;
	if (w && !strcmp(w, "on"))
		return trace_switch(sh, vm, 1);
	if (w && !strcmp(w, "off"))
		return trace_switch(sh, vm, 0);
	if (w && !strcmp(w, "follow"))
		return trace_follow(sh, vm);
	return trace_show(sh, vm, w);
}
SHELL_COMMAND(trace, "trace", "NAME on|off|follow|[COUNT]",
	      "a guest's recent VM exits, decoded (on/off records them; follow streams until Ctrl-C)",
	      cmd_trace);
