/*
 * mgmt/cmd_sched.c - the scheduling part of `stats`, `list` and `host`:
 * CPU time per guest and per vCPU, and the shared cores' run queues
 * (vmm/sched.c keeps them); and `set NAME weight=N` of a running guest,
 * which vmm/sched.c applies at once.
 */
#include "mgmt/cmd_sched.h"

#include "mgmt/catalog.h"
#include "mgmt/shell/shell.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/percpu.h"
#include "vmm/sched.h"
#include "vmm/vcpu_debug.h"
#include "vmm/vm.h"

/* Microseconds as seconds with milliseconds: "12.345". */
static const char *secs(uint64_t us, char *buf, unsigned len)
{
	fmt_snprintf(buf, len, "%lu.%03lu", us / 1000000, us / 1000 % 1000);
	return buf;
}

/* A vCPU a debugger holds is blocked as a halted one is (vmm/vcpu_debug.h), but says so. */
static const char *state_name(const struct vcpu *v)
{
	enum sched_state s = v->se.state;
	if (s == SCHED_BLOCKED && vcpu_debug_held(v))
		return "held";
	return s == SCHED_RUNNING ? "running" : s == SCHED_READY ? "waiting" :
	       s == SCHED_BLOCKED ? "halted" : "stopped";
}

static void print_times(struct shell *sh, const char *what, uint64_t run, uint64_t wait,
			uint64_t halted)
{
	char a[24], b[24], c[24];
	shell_printf(sh, "  %s run %s s, wait %s s, halted %s s\n", what, secs(run, a, sizeof(a)),
		     secs(wait, b, sizeof(b)), secs(halted, c, sizeof(c)));
}

void cmd_sched_guest_stats(struct shell *sh, const struct vm *vm)
{
	char cores[3 * VM_CORES_MAX];
	vm_def_format_cores(vm->def.cores, cores, sizeof(cores));
	if (vm->def.shared)
		shell_printf(sh, "  sched shared, weight %u, cores %s\n", vm->def.weight, cores);
	else
		shell_printf(sh, "  sched dedicated\n");
	print_times(sh, "cpu:", sched_vm_us(vm, SCHED_RUNNING), sched_vm_us(vm, SCHED_READY),
		    sched_vm_us(vm, SCHED_BLOCKED));
	if (vm->state != VM_RUNNING)
		return;
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		const struct vcpu *v = vm->vcpu[i];
		char what[48];
		fmt_snprintf(what, sizeof(what), "vcpu%u on core %u (%s):", v->id, v->core,
			     state_name(v));
		print_times(sh, what, sched_vcpu_us(v, SCHED_RUNNING), sched_vcpu_us(v, SCHED_READY),
			    sched_vcpu_us(v, SCHED_BLOCKED));
	}
}

void cmd_sched_cpu_seconds(const struct vm *vm, char *buf, unsigned len)
{
	uint64_t us = sched_vm_us(vm, SCHED_RUNNING);
	fmt_snprintf(buf, len, "%lu.%lu", us / 1000000, us / 100000 % 10);
}

/* One shared core: its vCPUs, and how often and how fast it switched between them. */
static void print_core(struct shell *sh, unsigned core, const struct sched_core_info *in)
{
	shell_printf(sh, "core %u: shared, %u vCPUs, %lu switches (%lu ns each on average):", core,
		     in->nvcpus, in->switches, in->switch_ns);
	for (unsigned i = 0; i < in->nvcpus; i++) {
		const struct vcpu *v = in->vcpu[i];
		shell_printf(sh, " %s/%u(w%u,%s)", v->vm->def.name, v->id, v->se.weight,
			     state_name(v));
	}
	if (in->placed > in->nvcpus)
		shell_printf(sh, " +%u starting", in->placed - in->nvcpus);
	shell_printf(sh, "\n");
}

void cmd_sched_host(struct shell *sh)
{
	struct sched_core_info in;
	unsigned nshared = 0;
	shell_printf(sh, "scheduling: time slice %u ms; shared cores:", sched_slice_ms());
	for (unsigned c = 1; c < cpu_count; c++) {
		sched_core_info(c, &in);
		if (in.shared) {
			shell_printf(sh, " %u", c);
			nshared++;
		}
	}
	shell_printf(sh, "%s\n", nshared ? "" : " none");
	for (unsigned c = 1; c < cpu_count; c++) {
		sched_core_info(c, &in);
		if (in.shared)
			print_core(sh, c, &in);
	}
}

/*
 * A running guest's weight changes at once, as with `xl sched-credit2 -w`
 * or `virsh schedinfo --live`; every other key changes what the guest is
 * built from and waits until it is stopped.
 */
int cmd_sched_set_running(struct shell *sh, struct vm *vm, int argc, char **argv)
{
	const char *what = vm->state == VM_STARTING ? "starting" : "running";
	for (int i = 2; i < argc; i++)
		if (strncmp(argv[i], "weight=", 7))
			return shell_error(sh, "guest '%s' is %s; destroy it first (only weight= "
					   "changes while it runs)", vm->def.name, what);
	struct vm_def d = vm->def;
	char err[200];
	for (int i = 2; i < argc; i++)
		if (vm_def_set_arg(&d, argv[i], err, sizeof(err)))
			return shell_error(sh, "%s", err);
	uint16_t old = vm->def.weight;
	sched_vm_set_weight(vm, d.weight);
	if (catalog_persist(err, sizeof(err))) {
		sched_vm_set_weight(vm, old);
		return shell_error(sh, "%s", err);
	}
	return 0;
}
