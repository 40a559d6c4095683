/*
 * mgmt/cmd_vm.c - shell verbs for guests (shared/CLI.md): define, set,
 * show, undefine, list, start, destroy, console, stats. Each parses and
 * prints; the work is in vmm/vm.c and vmm/vm_def.c.
 */
#include "mgmt/catalog.h"
#include "mgmt/cmd_disk.h"
#include "mgmt/cmd_net.h"
#include "mgmt/policy.h"
#include "mgmt/cmd_sched.h"
#include "mgmt/cmd_trace.h"
#include "mgmt/shell/args.h"
#include "mgmt/shell/shell.h"
#include "net/crypto/rng.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/redact.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/service.h"
#include "vmm/core/smp.h"
#include "vmm/core/time.h"
#include "vmm/blk/blk.h"
#include "vmm/platform.h"
#include "vmm/virtio_attach.h"
#include "vmm/exit_names.h"
#include "vmm/vm.h"

#define CTRL_RBRACKET 0x1d

static struct vm *find_or_error(struct shell *sh, const char *name)
{
	struct vm *vm = vm_find(name);
	if (!vm)
		shell_error(sh, "unknown guest '%s'; `list` shows the defined ones", name);
	return vm;
}

/* Applies KEY=VALUE words to a copy, so a bad word changes nothing. */
static int apply_keys(struct shell *sh, struct vm_def *d, int argc, char **argv)
{
	char err[160];
	for (int i = 2; i < argc; i++)
		if (vm_def_set_arg(d, argv[i], err, sizeof(err)))
			return shell_error(sh, "%s", err);
	for (int i = 2; i < argc; i++) /* typed here: the cores must be this machine's */
		if (!strncmp(argv[i], "cores=", 6) && vm_def_check_cores(d, err, sizeof(err)))
			return shell_error(sh, "%s", err);
	return 0;
}

static int do_define(struct shell *sh, int argc, char **argv)
{
	if (argc < 2)
		return shell_usage(sh, "define");
	if (!args_valid_name(argv[1]))
		return shell_error(sh, "bad name '%s': use 1-32 of [a-z0-9_-], starting with a letter",
				   argv[1]);
	if (vm_find(argv[1]))
		return shell_error(sh, "guest '%s' already exists; use `set` to change it", argv[1]);
	struct vm_def d;
	vm_def_defaults(&d, argv[1]);
	if (apply_keys(sh, &d, argc, argv))
		return -1;
	if (!d.owner[0]) /* the definer's, unless an administrator named another owner */
		memcpy(d.owner, policy_actor(), strlen(policy_actor()) + 1);
	if (!d.instance_id[0])
		vm_def_new_instance(&d, (uint64_t)rng_u32() << 32 | rng_u32());
	struct vm *vm;
	if (vm_define(argv[1], &vm))
		return shell_error(sh, "no room for another guest (at most %u)", VM_MAX);
	vm->def = d;
	char err[200];
	if (catalog_persist(err, sizeof(err))) {
		vm_undefine(vm);
		return shell_error(sh, "%s", err);
	}
	shell_printf(sh, "defined %s\n", d.name);
	return 0;
}
static int cmd_define(struct shell *sh, int argc, char **argv)
{
	char err[200];
	if (catalog_hold(err, sizeof(err)))
		return shell_error(sh, "%s", err);
	int rc = do_define(sh, argc, argv);
	catalog_release();
	return rc;
}
SHELL_COMMAND(define, "define", "NAME KEY=VALUE...", "create a guest definition", cmd_define);

static int do_set(struct shell *sh, int argc, char **argv)
{
	if (argc < 3)
		return shell_usage(sh, "set");
	struct vm *vm = find_or_error(sh, argv[1]);
	if (!vm)
		return -1;
	if (!vm_stopped(vm)) /* weight= alone changes while it runs */
		return cmd_sched_set_running(sh, vm, argc, argv);
	struct vm_def old = vm->def, d = vm->def;
	if (apply_keys(sh, &d, argc, argv))
		return -1;
	vm->def = d;
	char err[200];
	if (catalog_persist(err, sizeof(err))) {
		vm->def = old;
		return shell_error(sh, "%s", err);
	}
	vm_disks_refresh(vm); /* disks it no longer names close now, not at its next start */
	return 0;
}
static int cmd_set(struct shell *sh, int argc, char **argv)
{
	char err[200];
	if (catalog_hold(err, sizeof(err)))
		return shell_error(sh, "%s", err);
	int rc = do_set(sh, argc, argv);
	catalog_release();
	return rc;
}
SHELL_COMMAND(set, "set", "NAME KEY=VALUE...",
	      "change a stopped guest's definition (or a running guest's weight=)", cmd_set);

static int cmd_show(struct shell *sh, int argc, char **argv)
{
	if (argc != 2)
		return shell_usage(sh, "show");
	struct vm *vm = find_or_error(sh, argv[1]);
	if (!vm)
		return -1;
	static char line[VM_DEF_LINE_MAX]; /* service core only */
	vm_def_format_masked(&vm->def, line, sizeof(line)); /* CLI.md: secrets print as **** */
	shell_printf(sh, "%s\nstate=%s\n", line, vm_state_name(vm->state));
	if (vm->state == VM_CRASHED)
		shell_printf(sh, "reason=%s\n", vm->crash_reason);
	if (vm->state == VM_STARTING)
		shell_printf(sh, "starting=%s\n", vm_starting_what(vm));
	if (vm->state == VM_STOPPED && vm->start_error[0])
		shell_printf(sh, "reason=start failed: %s\n", vm->start_error);
	char id[VM_INSTANCE_MAX + 1];
	vm_def_instance(&vm->def, id, sizeof(id));
	shell_printf(sh, "hostname=%s\ninstance-id=%s\n", vm_def_hostname(&vm->def), id);
	return 0;
}
SHELL_COMMAND(show, "show", "NAME", "a guest's definition and state", cmd_show);

static int do_undefine(struct shell *sh, int argc, char **argv)
{
	if (argc != 2)
		return shell_usage(sh, "undefine");
	struct vm *vm = find_or_error(sh, argv[1]);
	if (!vm)
		return -1;
	char users[160], err[200];
	if (clone_dependents(vm, users, sizeof(users)))
		return shell_error(sh, "guest '%s' is the template of %s; undefine them first", argv[1],
				   users);
	struct vm_def d = vm->def;
	if (vm_undefine(vm))
		return shell_error(sh, "guest '%s' is running; destroy it first", argv[1]);
	if (catalog_persist(err, sizeof(err))) {
		vm->defined = 1;   /* nothing else touched the slot in between */
		return shell_error(sh, "%s", err);
	}
	clone_free_disks(&d);   /* after the catalog no longer names them */
	shell_printf(sh, "undefined %s\n", argv[1]);
	return 0;
}
static int cmd_undefine(struct shell *sh, int argc, char **argv)
{
	char err[200];
	if (catalog_hold(err, sizeof(err)))
		return shell_error(sh, "%s", err);
	int rc = do_undefine(sh, argc, argv);
	catalog_release();
	return rc;
}
SHELL_COMMAND(undefine, "undefine", "NAME", "delete a stopped guest's definition", cmd_undefine);

static int cmd_list(struct shell *sh, int argc, char **argv)
{
	(void)argv; /* no arguments */
	if (argc != 1)
		return shell_usage(sh, "list");
	int admin = shell_is_admin(sh); /* sees every guest, with its owner */
	shell_printf(sh, "%-16s %-8s %4s %8s %5s", "NAME", "STATE", "CPUS", "MEM", "DISKS");
	if (admin)
		shell_printf(sh, " %-16s", "OWNER");
	shell_printf(sh, " %8s\n", "CPU-S");
	for (unsigned i = 0; i < VM_MAX; i++) {
		const struct vm *vm = &vms[i];
		if (!vm->defined || !may_act(sh, vm))
			continue;
		shell_printf(sh, "%-16s %-8s %4u %7luM %5u", vm->def.name, vm_state_name(vm->state),
			     vm->def.cpus, vm->def.mem >> 20, vm->def.ndisks);
		if (admin)
			shell_printf(sh, " %-16s", vm->def.owner[0] ? vm->def.owner : "admin");
		char cpu_s[24];
		cmd_sched_cpu_seconds(vm, cpu_s, sizeof(cpu_s));
		shell_printf(sh, " %8s", cpu_s);
		if (vm->state == VM_CRASHED)
			shell_printf(sh, "  (%s)", vm->crash_reason);
		if (vm->state == VM_STARTING)
			shell_printf(sh, "  (starting: %s)", vm_starting_what(vm));
		if (vm->state == VM_STOPPED && vm->start_error[0])
			shell_printf(sh, "  (start failed: %s)", vm->start_error);
		shell_printf(sh, "\n");
	}
	return 0;
}
SHELL_COMMAND(list, "list", "", "every guest and its state", cmd_list);

/* How a pending `start` ends (vm_started_fn): its result, then the prompt. */
static void start_done(struct vm *vm, int status, const char *err, void *arg)
{
	struct shell *sh = arg;
	if (status) {
		shell_error(sh, "%s", err);
	} else {
		shell_printf(sh, "started %s on core", vm->def.name);
		for (unsigned i = 0; i < vm->nvcpus; i++)
			shell_printf(sh, " %u", vm->vcpu[i]->core);
		shell_printf(sh, "\n");
	}
	shell_finish(sh);
}

/* Ctrl-C while the disks open: the guest stays stopped (start_done says so). */
static void start_interrupt(struct shell *sh, void *ctx)
{
	struct vm *vm = ctx;
	(void)sh; /* start_done prints to it */
	char why[96];
	fmt_snprintf(why, sizeof(why), "start of '%s' interrupted; it stays stopped", vm->def.name);
	vm_start_cancel(vm, why);
}

/* The terminal went away: the guest starts anyway; the log tells how it went. */
static void start_detach(struct shell *sh, void *ctx)
{
	(void)sh; /* gone */
	vm_start_forget(ctx);
}

static const struct shell_pending_ops start_pending = { start_interrupt, start_detach };

static int do_start(struct shell *sh, int argc, char **argv)
{
	if (argc != 2)
		return shell_usage(sh, "start");
	struct vm *vm = find_or_error(sh, argv[1]);
	if (!vm)
		return -1;
	char err[200], users[160];
	if (clone_dependents(vm, users, sizeof(users)))
		return shell_error(sh, "guest '%s' is a template: the clones %s read its disks, which "
				   "must not change; start a clone (or `clone %s NEW full` for a "
				   "writable copy)", argv[1], users, argv[1]);
	if (vm_start(vm, start_done, sh, err, sizeof(err)))
		return shell_error(sh, "%s", err);
	/* Its disks open over the network while the service core goes on: the
	 * result prints when start_done hears it, then the prompt. */
	return shell_pend(sh, &start_pending, vm);
}
static int cmd_start(struct shell *sh, int argc, char **argv)
{
	char err[200];
	if (catalog_hold(err, sizeof(err)))
		return shell_error(sh, "%s", err);
	int rc = do_start(sh, argc, argv);
	catalog_release();
	return rc;
}
SHELL_COMMAND(start, "start", "NAME", "start a guest on free cores and memory", cmd_start);

static int cmd_destroy(struct shell *sh, int argc, char **argv)
{
	if (argc != 2)
		return shell_usage(sh, "destroy");
	struct vm *vm = find_or_error(sh, argv[1]);
	if (!vm)
		return -1;
	if (vm_stopped(vm))
		return shell_error(sh, "guest '%s' is not running", argv[1]);
	int err = vm_destroy(vm);
	if (err)
		return shell_error(sh, "guest '%s' did not stop (%s); see `log`", argv[1],
				   errno_str(err));
	shell_printf(sh, "destroyed %s\n", argv[1]);
	return 0;
}
SHELL_COMMAND(destroy, "destroy", "NAME", "stop a guest at once and free its resources", cmd_destroy);

#define SHUTDOWN_TIMEOUT_S 30

static int cmd_shutdown(struct shell *sh, int argc, char **argv)
{
	if (argc != 2)
		return shell_usage(sh, "shutdown");
	struct vm *vm = find_or_error(sh, argv[1]);
	if (!vm)
		return -1;
	if (vm_shutdown(vm, SHUTDOWN_TIMEOUT_S * 1000000ull))
		return shell_error(sh, "guest '%s' is not running", argv[1]);
	shell_printf(sh, "shutting down %s (destroyed if still running in %u s)\n", argv[1],
		     SHUTDOWN_TIMEOUT_S);
	return 0;
}
SHELL_COMMAND(shutdown, "shutdown", "NAME",
	      "ask a guest to power off (ACPI power button); destroy it after a timeout", cmd_shutdown);

static int cmd_reset(struct shell *sh, int argc, char **argv)
{
	if (argc != 2)
		return shell_usage(sh, "reset");
	struct vm *vm = find_or_error(sh, argv[1]);
	if (!vm)
		return -1;
	if (vm_reset(vm))
		return shell_error(sh, "guest '%s' is not running", argv[1]);
	shell_printf(sh, "resetting %s\n", argv[1]);
	return 0;
}
SHELL_COMMAND(reset, "reset", "NAME", "hard reset a running guest", cmd_reset);

/* One line per disk: requests and bytes since the disk was opened. */
static void print_disk_stats(struct shell *sh, struct vm *vm)
{
	struct blk_stats st;
	char url[VM_DISK_URL_MAX];
	for (unsigned i = 0; i < vm->def.ndisks; i++) {
		if (vm_disk_stats(vm, i, &st))
			continue;
		redact_url(vm->def.disk[i].url, url, sizeof(url));
		shell_printf(sh, "  disk vd%c %s: %lu reads %lu writes %lu flushes %lu errors, "
			     "%lu bytes read, %lu bytes written\n", 'a' + i, url,
			     st.reads, st.writes, st.flushes, st.errors, st.bytes_read,
			     st.bytes_written);
		struct blockdev *d = vm_disk_dev(vm, i);
		if (d)
			cmd_disk_latency(sh, "    ", blk_latency(d));
	}
}

static int cmd_stats(struct shell *sh, int argc, char **argv)
{
	if (argc > 2)
		return shell_usage(sh, "stats");
	for (unsigned i = 0; i < VM_MAX; i++) {
		struct vm *vm = &vms[i];
		if (!vm->defined || !may_act(sh, vm) || (argc == 2 && strcmp(vm->def.name, argv[1])))
			continue;
		uint64_t total = 0;
		for (unsigned k = 0; k < EXIT_KIND_COUNT; k++)
			total += vm->exit_count[k];
		shell_printf(sh, "%s: %s, %lu exits\n", vm->def.name, vm_state_name(vm->state), total);
		for (unsigned k = 0; k < EXIT_KIND_COUNT; k++)
			if (vm->exit_count[k])
				shell_printf(sh, "  %-14s %lu\n", exit_kind_name((enum exit_kind)k),
					     vm->exit_count[k]);
		if (vm->mem.chunk) /* vmm/core/scrub.h: who zeroed it */
			shell_printf(sh, "  memory %lu MiB, %lu MiB of it zeroed by start, the rest "
				     "ahead by idle cores\n", vm->mem.size >> 20,
				     (unsigned long)(vm->mem.zeroed_at_start * VM_CHUNK_SIZE >> 20));
		cmd_sched_guest_stats(sh, vm);
		cmd_trace_exit_costs(sh, vm);
		print_disk_stats(sh, vm);
		cmd_net_guest_stats(sh, vm->def.name);
	}
	if (argc == 2 && !vm_find(argv[1]))
		return shell_error(sh, "unknown guest '%s'", argv[1]);
	return 0;
}
SHELL_COMMAND(stats, "stats", "[NAME]",
	      "VM exits by reason, CPU time, disk I/O and network counters per guest",
	      cmd_stats);

/* ---- console: the shell's input goes to the guest's UART ---- */

/*
 * One session at a time is attached to one guest's console. The attach
 * outlives the `console` command, so it names its session by a
 * shell_ref, never by a bare pointer: a network session that ends
 * (disconnect, timeout) detaches through its end hook, and a session
 * slot that serves another client afterwards no longer matches the ref.
 *
 * Keystrokes (or a pasted block) arrive faster than a guest drains its
 * UART's receive FIFO, so they wait here and the service poller feeds
 * the FIFO as it empties; only more than CONSOLE_PENDING waiting bytes
 * are dropped.
 */
#define CONSOLE_PENDING 4096 /* power of two */

static struct console_attach {
	struct shell_ref term; /* the attached session */
	struct vm *vm;         /* 0 when nobody is attached */
	uint64_t pos;          /* next output byte to show */
	uint8_t pending[CONSOLE_PENDING];
	uint32_t head, tail; /* pending input: written at head, fed from tail */
} console;

static void console_clear(void)
{
	console.term = (struct shell_ref){ 0, 0 };
	console.vm = 0;
	console.head = console.tail = 0;
}

/*
 * The attached session, or 0. A session that ended without its end hook
 * running would be a bug in its console; the ref keeps it harmless.
 */
static struct shell *console_term(void)
{
	struct shell *sh = shell_deref(console.term);
	if (!sh && console.vm) {
		log_warn("console: guest %s detached: its session is gone", console.vm->def.name);
		console_clear();
	}
	return sh;
}

/* End hook: the attached session's terminal went away. */
static void console_session_ended(struct shell *sh)
{
	if (console.term.sh != sh || !console.vm)
		return;
	log_info("console: guest %s detached: its session ended", console.vm->def.name);
	console_clear();
}

static int console_input(struct shell *sh, unsigned char c)
{
	struct vm *vm = console.vm;
	if (console_term() != sh)
		return 1; /* no longer attached: give the terminal back */
	if (c == CTRL_RBRACKET || vm->state != VM_RUNNING) {
		console_clear();
		shell_printf(sh, "\n[detached from %s]\n", vm->def.name);
		return 1;
	}
	if (console.head - console.tail < CONSOLE_PENDING)
		console.pending[console.head++ % CONSOLE_PENDING] = c;
	return 0;
}

/* Service poller: feeds waiting input to the guest, copies its output to the shell. */
static int console_poll(void)
{
	char buf[256];
	struct shell *sh = console_term();
	if (!sh)
		return 0;
	uint32_t fed = console.tail;
	while (console.tail != console.head &&
	       !platform_uart_input(console.vm, console.pending[console.tail % CONSOLE_PENDING]))
		console.tail++;
	unsigned n = uart_model_output(&console.vm->uart, &console.pos, buf, sizeof(buf));
	if (n)
		shell_write(sh, buf, n);
	return n > 0 || console.tail != fed;
}
SERVICE_POLLER(console, console_poll);

/* `force`: the serial console (or an administrator) takes the console from `other`. */
static int console_take_over(struct shell *sh, struct shell *other)
{
	if (!shell_is_admin(sh))
		return shell_error(sh, "only the serial console or an administrator can take a "
				   "console over");
	const char *name = console.vm->def.name;
	log_info("console: guest %s taken over by %s", name,
		 sh->remote ? "a network session" : "the serial console");
	shell_printf(other, "\n[detached from %s: taken over by %s]\n", name,
		     sh->remote ? "another session" : "the serial console");
	console_clear();
	shell_give_back(other);
	return 0;
}

static int cmd_console(struct shell *sh, int argc, char **argv)
{
	int force = argc == 3 && !strcmp(argv[2], "force");
	if (argc < 2 || argc > 3 || (argc == 3 && !force))
		return shell_usage(sh, "console");
	struct vm *vm = find_or_error(sh, argv[1]);
	if (!vm)
		return -1;
	struct shell *other = console_term();
	if (other && !force && !may_act(sh, console.vm)) /* not even its name */
		return shell_error(sh, "another session has a guest console attached (one at a time); "
				   "try again later");
	if (other && !force)
		return shell_error(sh, "the console of '%s' is attached from another session; "
				   "`console %s force` takes it over", console.vm->def.name, argv[1]);
	if (other && console_take_over(sh, other))
		return -1;
	shell_printf(sh, "[attached to %s; Ctrl-] detaches]\n", vm->def.name);
	console.term = shell_ref(sh);
	console.vm = vm;
	console.pos = 0; /* replay what the output ring kept */
	console.head = console.tail = 0;
	sh->input_hook = console_input;
	sh->end_hook = console_session_ended;
	return 0;
}
SHELL_COMMAND(console, "console", "NAME [force]",
	      "attach to a guest's serial port (Ctrl-] detaches; force takes it from another session)",
	      cmd_console);
