/*
 * mgmt/cmd_vm.c - shell verbs for guests (shared/CLI.md): define, set,
 * show, undefine, list, start, destroy, console, stats. Each parses and
 * prints; the work is in vmm/vm.c and vmm/vm_def.c.
 */
#include "mgmt/catalog.h"
#include "mgmt/shell/args.h"
#include "mgmt/shell/shell.h"
#include "vmm/core/cpu.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/service.h"
#include "vmm/core/smp.h"
#include "vmm/core/time.h"
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
	if (!d.instance_id[0])
		vm_def_new_instance(&d, rdtsc());
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
	if (vm->state == VM_RUNNING)
		return shell_error(sh, "guest '%s' is running; destroy it first", argv[1]);
	struct vm_def old = vm->def, d = vm->def;
	if (apply_keys(sh, &d, argc, argv))
		return -1;
	vm->def = d;
	char err[200];
	if (catalog_persist(err, sizeof(err))) {
		vm->def = old;
		return shell_error(sh, "%s", err);
	}
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
SHELL_COMMAND(set, "set", "NAME KEY=VALUE...", "change a stopped guest's definition", cmd_set);

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
	shell_printf(sh, "%-16s %-8s %4s %8s %5s\n", "NAME", "STATE", "CPUS", "MEM", "DISKS");
	for (unsigned i = 0; i < VM_MAX; i++) {
		const struct vm *vm = &vms[i];
		if (!vm->defined)
			continue;
		shell_printf(sh, "%-16s %-8s %4u %7luM %5u", vm->def.name, vm_state_name(vm->state),
			     vm->def.cpus, vm->def.mem >> 20, vm->def.ndisks);
		if (vm->state == VM_CRASHED)
			shell_printf(sh, "  (%s)", vm->crash_reason);
		shell_printf(sh, "\n");
	}
	return 0;
}
SHELL_COMMAND(list, "list", "", "every guest and its state", cmd_list);

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
	if (vm_start(vm, err, sizeof(err)))
		return shell_error(sh, "%s", err);
	shell_printf(sh, "started %s on core", vm->def.name);
	for (unsigned i = 0; i < vm->nvcpus; i++)
		shell_printf(sh, " %u", vm->vcpu[i]->core);
	shell_printf(sh, "\n");
	return 0;
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
	if (vm->state != VM_RUNNING)
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
	for (unsigned i = 0; i < vm->def.ndisks; i++) {
		if (vm_disk_stats(vm, i, &st))
			continue;
		shell_printf(sh, "  disk vd%c %s: %lu reads %lu writes %lu flushes %lu errors, "
			     "%lu bytes read, %lu bytes written\n", 'a' + i, vm->def.disk[i].url,
			     st.reads, st.writes, st.flushes, st.errors, st.bytes_read,
			     st.bytes_written);
	}
}

static int cmd_stats(struct shell *sh, int argc, char **argv)
{
	if (argc > 2)
		return shell_usage(sh, "stats");
	for (unsigned i = 0; i < VM_MAX; i++) {
		struct vm *vm = &vms[i];
		if (!vm->defined || (argc == 2 && strcmp(vm->def.name, argv[1])))
			continue;
		uint64_t total = 0;
		for (unsigned k = 0; k < EXIT_KIND_COUNT; k++)
			total += vm->exit_count[k];
		shell_printf(sh, "%s: %s, %lu exits\n", vm->def.name, vm_state_name(vm->state), total);
		for (unsigned k = 0; k < EXIT_KIND_COUNT; k++)
			if (vm->exit_count[k])
				shell_printf(sh, "  %-14s %lu\n", exit_kind_name((enum exit_kind)k),
					     vm->exit_count[k]);
		print_disk_stats(sh, vm);
	}
	if (argc == 2 && !vm_find(argv[1]))
		return shell_error(sh, "unknown guest '%s'", argv[1]);
	return 0;
}
SHELL_COMMAND(stats, "stats", "[NAME]", "VM exits by reason and disk I/O per guest", cmd_stats);

/* ---- console: the shell's input goes to the guest's UART ---- */

/*
 * Keystrokes (or a pasted block) arrive faster than a guest drains its
 * UART's receive FIFO, so they wait here and the service poller feeds
 * the FIFO as it empties; only more than CONSOLE_PENDING waiting bytes
 * are dropped.
 */
#define CONSOLE_PENDING 4096 /* power of two */

static struct console_session {
	struct shell *sh;
	struct vm *vm;
	uint64_t pos;       /* next output byte to show */
	uint8_t pending[CONSOLE_PENDING];
	uint32_t head, tail; /* pending input: written at head, fed from tail */
} console;

static int console_input(struct shell *sh, unsigned char c)
{
	struct vm *vm = console.vm;
	if (c == CTRL_RBRACKET || vm->state != VM_RUNNING) {
		console.sh = 0;
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
	if (!console.sh)
		return 0;
	uint32_t fed = console.tail;
	while (console.tail != console.head &&
	       !platform_uart_input(console.vm, console.pending[console.tail % CONSOLE_PENDING]))
		console.tail++;
	unsigned n = uart_model_output(&console.vm->uart, &console.pos, buf, sizeof(buf));
	if (n)
		shell_write(console.sh, buf, n);
	return n > 0 || console.tail != fed;
}
SERVICE_POLLER(console, console_poll);

static int cmd_console(struct shell *sh, int argc, char **argv)
{
	if (argc != 2)
		return shell_usage(sh, "console");
	struct vm *vm = find_or_error(sh, argv[1]);
	if (!vm)
		return -1;
	if (console.sh)
		return shell_error(sh, "another session is attached to a console");
	shell_printf(sh, "[attached to %s; Ctrl-] detaches]\n", vm->def.name);
	console.sh = sh;
	console.vm = vm;
	console.pos = 0; /* replay what the output ring kept */
	console.head = console.tail = 0;
	sh->input_hook = console_input;
	return 0;
}
SHELL_COMMAND(console, "console", "NAME", "attach to a guest's serial port (Ctrl-] detaches)",
	      cmd_console);
