/*
 * vmm/vm.c - the guest lifecycle on the service core: define, start on
 * free cores with fresh memory (the vCPUs run once the guest's disks are
 * open, which over the network takes a while: nobody waits for it),
 * destroy, and reaping guests that crashed.
 *
 * Only the service core allocates and frees: a vCPU that fails marks its
 * guest and leaves its loop; vm_reap() (a service poller) then returns the
 * guest's cores and memory. Nothing of hako or another guest is ever
 * mapped into a guest's nested page tables: only its own 2 MiB chunks.
 */
#include "vmm/vm.h"

#include "vmm/backend.h"
#include "vmm/core/host.h"
#include "vmm/core/lapic.h"
#include "vmm/core/lib/buddy.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/page.h"
#include "vmm/core/percpu.h"
#include "vmm/core/scrub.h"
#include "vmm/core/service.h"
#include "vmm/core/smp.h"
#include "vmm/core/time.h"
#include "vmm/core/trap.h"
#include "vmm/dev/acpi_tables.h"
#include "vmm/devices.h"
#include "vmm/guest_boot.h"
#include "vmm/irq.h"
#include "vmm/platform.h"
#include "vmm/sched.h"
#include "vmm/spec.h"
#include "vmm/vcpu_fpu.h"
#include "vmm/virtio_attach.h"
#include "vmm/vm_disk_boot.h"

#define STOP_TIMEOUT_US 2000000

_Static_assert(VM_CHUNK_SIZE == SCRUB_CHUNK_SIZE, "guests are made of the scrub pool's chunks");

struct vm vms[VM_MAX];
static struct vcpu *core_owner[MAX_CPUS];

const char *vm_state_name(enum vm_state s)
{
	/* CLI.md's three states: a guest whose disks are opening is not running yet */
	return s == VM_RUNNING ? "running" : s == VM_CRASHED ? "crashed" : "stopped";
}

struct vm *vm_find(const char *name)
{
	for (unsigned i = 0; i < VM_MAX; i++)
		if (vms[i].defined && !strcmp(vms[i].def.name, name))
			return &vms[i];
	return 0;
}

int vm_define(const char *name, struct vm **out)
{
	if (vm_find(name))
		return -EEXIST;
	for (unsigned i = 0; i < VM_MAX; i++) {
		struct vm *vm = &vms[i];
		if (vm->defined)
			continue;
		memset(vm, 0, sizeof(*vm));
		vm->defined = 1;
		vm_def_defaults(&vm->def, name);
		*out = vm;
		return 0;
	}
	return -ENOSPC;
}

int vm_stopped(const struct vm *vm)
{
	return vm->state == VM_STOPPED || vm->state == VM_CRASHED;
}

int vm_undefine(struct vm *vm)
{
	if (!vm_stopped(vm))
		return -EBUSY;
	vm_disks_release(vm);
	vm->defined = 0;
	return 0;
}

unsigned vm_free_cores(void)
{
	unsigned n = 0;
	for (unsigned i = 1; i < cpu_count; i++)
		n += cpus[i].online && !core_owner[i] && !sched_core_shared(i);
	return n;
}

int vm_core_dedicated(unsigned core)
{
	return core < MAX_CPUS && core_owner[core];
}

/* ---- memory ---- */

static unsigned chunk_array_order(unsigned n)
{
	return buddy_order_for((uint64_t)n * sizeof(uint64_t));
}

static void mem_free(struct vm *vm)
{
	if (!vm->mem.chunk)
		return;
	for (unsigned i = 0; i < vm->mem.nchunks; i++)
		if (vm->mem.chunk[i])
			scrub_chunk_free(vm->mem.chunk[i]); /* dirty: zeroed before anyone sees it */
	page_free((uint64_t)vm->mem.chunk, chunk_array_order(vm->mem.nchunks), PAGE_HAKO);
	vm->mem.chunk = 0;
}

/*
 * Allocates the guest's memory and maps it at GPA 0 in its nested tables.
 * Chunks come zeroed from the scrub pool (vmm/core/scrub.h) when idle
 * cores got there first; vm->mem.zeroed_at_start counts those it had to
 * zero itself.
 */
static int mem_alloc(struct vm *vm)
{
	unsigned n = (unsigned)(vm->def.mem / VM_CHUNK_SIZE);
	vm->mem.size = vm->def.mem;
	vm->mem.nchunks = n;
	vm->mem.zeroed_at_start = 0;
	vm->mem.chunk = (uint64_t *)page_alloc(chunk_array_order(n), PAGE_HAKO);
	if (!vm->mem.chunk)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		int zeroed_here;
		vm->mem.chunk[i] = scrub_chunk_alloc(&zeroed_here);
		if (!vm->mem.chunk[i])
			return -ENOMEM;
		vm->mem.zeroed_at_start += zeroed_here;
		int err = backend->npt_map(vm, (uint64_t)i * VM_CHUNK_SIZE, vm->mem.chunk[i],
					   VM_CHUNK_SIZE, NPT_RWX);
		if (err)
			return err;
	}
	return 0;
}

/* ---- vCPUs ---- */

static void vcpus_free(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = vm->vcpu[i];
		vcpu_fpu_destroy(v);
		backend->vcpu_destroy(v);
		sched_vcpu_retire(v);
		if (v->shared)
			sched_unplace(v);
		else
			core_owner[v->core] = 0;
		page_free((uint64_t)v, buddy_order_for(sizeof(*v)), PAGE_HAKO);
		vm->vcpu[i] = 0;
	}
	vm->nvcpus = 0;
}

static unsigned free_core(void)
{
	for (unsigned i = 1; i < cpu_count; i++)
		if (cpus[i].online && !core_owner[i] && !sched_core_shared(i))
			return i;
	return 0;
}

static int vcpus_create(struct vm *vm)
{
	for (unsigned i = 0; i < vm->def.cpus; i++) {
		struct vcpu *v = (struct vcpu *)page_alloc(buddy_order_for(sizeof(*v)), PAGE_HAKO);
		if (!v)
			return -ENOMEM;
		v->vm = vm;
		v->id = i;
		vm->vcpu[vm->nvcpus++] = v;
		int err = vm->def.shared ? sched_place(v, vm->def.cores) : 0;
		if (err)
			return err;
		if (!vm->def.shared) {
			v->core = free_core();
			core_owner[v->core] = v;
		}
		err = backend->vcpu_create(v);
		if (err)
			return err;
		err = vcpu_fpu_create(v); /* the boot state comes with the kernel: vm_boot_ready */
		if (err)
			return err;
	}
	return 0;
}

static void vm_teardown(struct vm *vm)
{
	vm_disk_boot_cancel(vm);
	vm_devices_detach(vm);
	mmio_reset(vm);
	portio_reset(vm);
	vcpus_free(vm);
	mem_free(vm);
	backend->npt_destroy(vm);
}

/* ---- start, destroy, reap ---- */

static int start_refusal(struct vm *vm, char *err, unsigned len)
{
	struct page_stats ps;
	if (vm->state == VM_RUNNING)
		return fmt_snprintf(err, len, "guest '%s' is already running", vm->def.name), -EBUSY;
	if (vm->state == VM_STARTING)
		return fmt_snprintf(err, len, "guest '%s' is already starting (%s)", vm->def.name,
				    vm_starting_what(vm)), -EBUSY;
	if (!backend)
		return fmt_snprintf(err, len, "no usable hardware virtualization: %s",
				    virt.detail), -ENODEV;
	if (vm_boots_disk(&vm->def) && !vm->def.ndisks)
		return fmt_snprintf(err, len, "guest '%s' has boot=disk but no disk; add disk=URL",
				    vm->def.name), -EINVAL;
	if (!vm->def.kernel[0] && !vm_boots_disk(&vm->def))
		return fmt_snprintf(err, len, "guest '%s' has no kernel; set kernel=esp:FILE or boot=disk",
				    vm->def.name), -EINVAL;
	if (vm->def.kernel[0] && !bootfs_find(vm->def.kernel))
		return fmt_snprintf(err, len, "kernel file '%s' is not on the boot medium (\\hako\\)",
				    vm->def.kernel), -ENOENT;
	if (vm->def.initrd[0] && !bootfs_find(vm->def.initrd))
		return fmt_snprintf(err, len, "initrd file '%s' is not on the boot medium (\\hako\\)",
				    vm->def.initrd), -ENOENT;
	if (vm->def.shared && !sched_can_place(vm->def.cores))
		return fmt_snprintf(err, len, "no core to share for '%s': every guest core%s is "
				    "dedicated to a guest", vm->def.name,
				    vm->def.cores ? " its cores= names" : ""), -EBUSY;
	if (!vm->def.shared && vm_free_cores() < vm->def.cpus)
		return fmt_snprintf(err, len, "not enough free cores: '%s' needs %u, %u free",
				    vm->def.name, vm->def.cpus, vm_free_cores()), -EBUSY;
	page_stats(&ps);
	if (ps.free_bytes < vm->def.mem + (1ull << 20))
		return fmt_snprintf(err, len, "not enough free memory: '%s' needs %lu MiB, %lu MiB free",
				    vm->def.name, vm->def.mem >> 20, ps.free_bytes >> 20), -ENOMEM;
	return 0;
}

/*
 * Once the kernel is in memory (from the boot medium at start, or read
 * from disk 0 once the disks are open): each vCPU's boot state, and the
 * platform's devices, which both depend on the kind of kernel.
 */
static int vm_boot_ready(struct vm *vm, char *err, unsigned len)
{
	for (unsigned i = 0; i < vm->nvcpus; i++)
		guest_boot_vcpu(vm->vcpu[i]);
	int rc = platform_attach(vm);
	if (rc)
		return fmt_snprintf(err, len, "cannot set up the platform devices of '%s': %s",
				    vm->def.name, errno_str(rc)), rc;
	return 0;
}

static int vm_build(struct vm *vm, char *err, unsigned len)
{
	const char *why = 0;
	int rc = backend->npt_create(vm);
	if (!rc)
		rc = mem_alloc(vm);
	if (rc)
		return fmt_snprintf(err, len, "not enough free memory for '%s' (%lu MiB)",
				    vm->def.name, vm->def.mem >> 20), rc;
	/* the cores are the guest's from now on, also while a boot=disk guest reads */
	rc = vcpus_create(vm);
	if (rc)
		return fmt_snprintf(err, len, "cannot create vCPUs for '%s': %s", vm->def.name,
				    errno_str(rc)), rc;
	if (!vm_boots_disk(&vm->def)) {
		const struct boot_file *f = bootfs_find(vm->def.kernel);
		rc = guest_boot_load(vm, (const void *)f->phys, f->size, &why);
		if (rc)
			return fmt_snprintf(err, len, "kernel '%s' cannot be loaded: %s",
					    vm->def.kernel, why), rc;
		if ((rc = vm_boot_ready(vm, err, len)))
			return rc;
	}
	/* virtio disks for every guest (the vblk test guest drives them without
	 * Linux): they open now, and the devices appear once they are open */
	return vm_disks_open(vm, err, len);
}

/*
 * Starts a stopped or crashed guest (see vm.h): memory, nested tables,
 * vCPUs on free cores and (but for boot=disk) the kernel now, then
 * VM_STARTING until vm_start_poll() finds its disks open and, with
 * boot=disk, the kernel read from disk 0. On failure nothing stays
 * allocated and `err` says why. Service core.
 */
int vm_start(struct vm *vm, vm_started_fn done, void *arg, char *err, unsigned len)
{
	int rc = start_refusal(vm, err, len);
	if (rc)
		return rc;
	vm->stop_request = vm->failed = 0;
	vm->power = VM_POWER_NONE;
	vm->shutdown_deadline_us = 0;
	vm->crash_reason[0] = 0;
	vm->start_error[0] = 0;
	memset(vm->exit_count, 0, sizeof(vm->exit_count));
	memset(vm->cpu_us, 0, sizeof(vm->cpu_us));
	memset(vm->exit_cost, 0, sizeof(vm->exit_cost));
	uart_model_reset(&vm->uart);
	static uint64_t runs;
	vm->run_id = ++runs; /* never 0: a core that ran nothing has 0 */
	rc = vm_build(vm, err, len);
	if (rc) {
		vm_teardown(vm);
		return rc;
	}
	vm->started = done;
	vm->started_arg = arg;
	vm->state = VM_STARTING;
	return 0;
}

/* Tells whoever waits how the start ended (once). */
static void start_report(struct vm *vm, int status, const char *err)
{
	vm_started_fn fn = vm->started;
	vm->started = 0;
	if (fn)
		fn(vm, status, err, vm->started_arg);
}

static void start_failed(struct vm *vm, int status, const char *err)
{
	vm_teardown(vm);
	vm->state = VM_STOPPED;
	if (status == -ECANCELED) {
		log_info("guest %s: start ended: %s", vm->def.name, err); /* asked for */
	} else {
		/* kept for `list` and `show`: after a reset nobody else hears it */
		fmt_snprintf(vm->start_error, sizeof(vm->start_error), "%s", err);
		log_err("guest %s: start failed: %s", vm->def.name, err);
	}
	start_report(vm, status, err);
}

/* The disks are open: the devices appear and the vCPUs run. */
static void vm_launch(struct vm *vm)
{
	char err[BLK_ERR_MAX];
	int rc = vm_devices_attach(vm, err, sizeof(err));
	if (rc)
		return start_failed(vm, rc, err);
	vm->state = VM_RUNNING;
	vm->start_us = time_us();
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = vm->vcpu[i];
		v->running = 1;
		if (v->shared) {
			sched_launch(v);
			continue;
		}
		/* its accounting starts here: `stats` may read it before its core runs it */
		sched_ent_init(&v->se, vm->def.weight, 0, vm->start_us);
		sched_ent_enter(&v->se, SCHED_RUNNING, vm->start_us);
		if (smp_run_on(v->core, vcpu_loop, v))
			hv_panic("core %u was free but would not take work", v->core);
	}
	log_info("guest %s: started on %u %score(s), %lu MiB", vm->def.name, vm->nvcpus,
		 vm->def.shared ? "shared " : "", vm->def.mem >> 20);
	start_report(vm, 0, "");
}

const char *vm_starting_what(const struct vm *vm)
{
	return vm_disk_boot_reading(vm) ? "reading what vda boots" : "its disks are opening";
}

/*
 * Where a start stands once its disks may be open: -EINPROGRESS while they
 * open or while a boot=disk guest reads what disk 0 boots (begun here, then
 * one look per poll: the reads go on from their completions); 0 once the
 * kernel is in memory and the vCPUs have their boot state; or -E... with err.
 */
static int start_step(struct vm *vm, char *err, unsigned len)
{
	int rc = vm_disks_ready(vm, err, len);
	if (rc || !vm_boots_disk(&vm->def))
		return rc;
	if (!vm_disk_boot_reading(vm) && (rc = vm_disk_boot_begin(vm, err, len)))
		return rc;
	if ((rc = vm_disk_boot_poll(vm, err, len)))
		return rc;
	return vm_boot_ready(vm, err, len);
}

/*
 * Service poller: launches the guests whose disks finished opening (and,
 * with boot=disk, whose kernel was read from them), and ends the starts
 * that failed. Nothing here waits: a guest's reset (vm_power_poll) starts
 * it again the same way.
 */
static int vm_start_poll(void)
{
	int acted = 0;
	char err[VM_DISK_BOOT_ERR_MAX]; /* longer than a disk's: see start_step */
	for (unsigned i = 0; i < VM_MAX; i++) {
		struct vm *vm = &vms[i];
		if (vm->state != VM_STARTING)
			continue;
		int rc = start_step(vm, err, sizeof(err));
		if (rc == -EINPROGRESS)
			continue;
		if (rc)
			start_failed(vm, rc, err);
		else
			vm_launch(vm);
		acted = 1;
	}
	return acted;
}
SERVICE_POLLER(vm_start, vm_start_poll);

int vm_start_cancel(struct vm *vm, const char *why)
{
	if (vm->state != VM_STARTING)
		return -EINVAL;
	start_failed(vm, -ECANCELED, why);
	return 0;
}

void vm_start_forget(struct vm *vm)
{
	vm->started = 0;
}

/* Asks every vCPU to leave its loop and waits. 0 or -ETIMEDOUT. */
static int vm_stop_vcpus(struct vm *vm)
{
	vm->stop_request = 1;
	for (unsigned i = 0; i < vm->nvcpus; i++)
		smp_kick(vm->vcpu[i]->core);
	uint64_t t0 = time_us();
	for (unsigned i = 0; i < vm->nvcpus; i++)
		while (__atomic_load_n(&vm->vcpu[i]->running, __ATOMIC_ACQUIRE)) {
			if (time_us() - t0 > STOP_TIMEOUT_US)
				return -ETIMEDOUT;
			cpu_relax();
		}
	return 0;
}

/* Power cut: stops the vCPUs (or the start), frees cores and memory. 0, -EINVAL, -ETIMEDOUT. */
int vm_destroy(struct vm *vm)
{
	if (vm->state == VM_STARTING) {
		vm_start_cancel(vm, vm_disk_boot_reading(vm) ? "destroyed while it read what vda boots"
							     : "destroyed while its disks were opening");
		log_info("guest %s: destroyed", vm->def.name);
		return 0;
	}
	if (vm->state != VM_RUNNING)
		return -EINVAL;
	int err = vm_stop_vcpus(vm);
	if (err) {
		log_err("guest %s: a vCPU did not stop within %u ms; its resources stay allocated",
			vm->def.name, STOP_TIMEOUT_US / 1000);
		return err;
	}
	vm_teardown(vm);
	vm->state = VM_STOPPED;
	log_info("guest %s: destroyed", vm->def.name);
	return 0;
}

/* Whether any of the guest's vCPU cores is still in its loop. */
static int vcpus_running(const struct vm *vm)
{
	for (unsigned j = 0; j < vm->nvcpus; j++)
		if (__atomic_load_n(&vm->vcpu[j]->running, __ATOMIC_ACQUIRE))
			return 1;
	return 0;
}

/* Service poller: frees the cores and memory of guests that failed. */
static int vm_reap(void)
{
	int acted = 0;
	for (unsigned i = 0; i < VM_MAX; i++) {
		struct vm *vm = &vms[i];
		if (vm->state != VM_RUNNING || !vm->failed)
			continue;
		if (vcpus_running(vm))
			continue;
		vm_teardown(vm);
		vm->state = VM_CRASHED;
		log_warn("guest %s: cores and memory freed after crash", vm->def.name);
		acted = 1;
	}
	return acted;
}
SERVICE_POLLER(vm_reap, vm_reap);

/*
 * Service poller: finishes a power-off (state `stopped`) or reset (start
 * again with fresh memory) the guest asked for, once its vCPUs are out.
 */
static int vm_power_poll(void)
{
	int acted = 0;
	for (unsigned i = 0; i < VM_MAX; i++) {
		struct vm *vm = &vms[i];
		if (vm->state != VM_RUNNING || vm->power == VM_POWER_NONE || vm->failed)
			continue;
		if (vcpus_running(vm))
			continue;
		int reset = vm->power == VM_POWER_RESET;
		vm_teardown(vm);
		vm->state = VM_STOPPED;
		log_info("guest %s: %s", vm->def.name, reset ? "reset" : "powered off");
		/* The start goes on in vm_start_poll (a LUN logs in again): no waiting here. */
		char err[160];
		if (reset && vm_start(vm, 0, 0, err, sizeof(err)))
			log_err("guest %s: restart after reset failed: %s", vm->def.name, err);
		acted = 1;
	}
	return acted;
}
SERVICE_POLLER(vm_power, vm_power_poll);

int vm_shutdown(struct vm *vm, uint64_t timeout_us)
{
	if (vm->state != VM_RUNNING)
		return -EINVAL;
	vm->shutdown_deadline_us = time_us() + timeout_us;
	if (vm->platform == VM_PLATFORM_PC)
		vm_irq_pulse(vm, GUEST_GED_GSI);
	log_info("guest %s: power button pressed; destroy in %lu s unless it powers off",
		 vm->def.name, timeout_us / 1000000);
	return 0;
}

/* Service poller: `shutdown` timeouts. */
static int vm_shutdown_poll(void)
{
	int acted = 0;
	for (unsigned i = 0; i < VM_MAX; i++) {
		struct vm *vm = &vms[i];
		if (vm->state != VM_RUNNING || !vm->shutdown_deadline_us ||
		    time_us() < vm->shutdown_deadline_us)
			continue;
		vm->shutdown_deadline_us = 0;
		log_warn("guest %s: did not power off in time; destroying it", vm->def.name);
		if (vm_destroy(vm))
			log_err("guest %s: destroy after shutdown timeout failed", vm->def.name);
		acted = 1;
	}
	return acted;
}
SERVICE_POLLER(vm_shutdown, vm_shutdown_poll);

int vm_reset(struct vm *vm)
{
	if (vm->state != VM_RUNNING)
		return -EINVAL;
	spin_lock(&vm->lock);
	if (vm->power == VM_POWER_NONE)
		vm->power = VM_POWER_RESET;
	vm->stop_request = 1;
	spin_unlock(&vm->lock);
	for (unsigned i = 0; i < vm->nvcpus; i++)
		smp_kick(vm->vcpu[i]->core);
	return 0;
}

static void kick_irq(struct trap_frame *f)
{
	(void)f; /* the kick only makes the vCPU exit; its loop checks why */
	lapic_eoi();
}

static void enable_here(void *arg)
{
	*(volatile int *)arg = backend->cpu_enable() ? -1 : 1;
}

/*
 * The scrubber's hint (vmm/core/scrub.h): the memory of the largest
 * stopped guest, which a start may ask for next. Read on the scrubbing
 * core while the service core may change definitions: an aligned 64-bit
 * load, and a stale answer only zeroes a little more or less ahead.
 */
static uint64_t largest_stopped_mem(void)
{
	uint64_t most = 0;
	for (unsigned i = 0; i < VM_MAX; i++) {
		const volatile struct vm *vm = &vms[i];
		if (vm->defined && vm->state != VM_RUNNING && vm->state != VM_STARTING &&
		    vm->def.mem > most)
			most = vm->def.mem;
	}
	return most;
}

/*
 * Enables the chosen back end on every guest core now, so that the
 * per-core state is allocated once at boot. Call after backend_select().
 */
void vmm_init(void)
{
	irq_register(VEC_KICK, kick_irq);
	vm_def_core_count = cpu_count; /* what cores= may name */
	lapic_timer_calibrate();
	vcpu_fpu_init();
	spec_init(); /* before the back ends build their MSR bitmaps (vmm/msr.c) */
	platform_init();
	scrub_set_demand(largest_stopped_mem);
	if (!backend)
		return;
	for (unsigned i = 1; i < cpu_count; i++) {
		volatile int done = 0;
		if (smp_run_on(i, enable_here, (void *)&done))
			continue;
		for (uint64_t t0 = time_us(); !done && time_us() - t0 < 1000000;)
			cpu_relax();
		if (done != 1)
			log_err("%s: cannot enable on core %u", backend->name, i);
	}
	log_info("vmm: %s back end enabled on %u guest cores", backend->name, cpu_count - 1);
}
