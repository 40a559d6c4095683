/*
 * vmm/vm.h - a guest: its definition, its memory partition, its vCPUs and
 * its state, independent of the virtualization vendor.
 *
 * Partitioning: core 0 is the service core; every other core runs at most
 * one vCPU. A guest's memory is a list of 2 MiB chunks from the scrub
 * pool (vmm/core/scrub.h: zeroed, by idle cores or by `start`), taken at
 * `start` and given back, dirty, at stop; only these chunks are ever
 * mapped into its nested page tables.
 */
#ifndef HAKO_VM_H
#define HAKO_VM_H

#include <stdint.h>

#include "vmm/core/cpu.h"
#include "vmm/dev/ioapic.h"
#include "vmm/dev/pit.h"
#include "vmm/dev/rtc.h"
#include "vmm/dev/uart.h"
#include "vmm/exit.h"
#include "vmm/mmio.h"
#include "vmm/portio.h"
#include "vmm/vcpu.h"
#include "vmm/vm_def.h"
#include "vmm/guest_mem.h"
#include "vmm/vcpu_signal.h"

#define VM_MAX 16

/*
 * VM_STARTING: cores and memory are the guest's (and, but for boot=disk,
 * its kernel is loaded), but its disks are still opening (a LUN logs in
 * over the network), or, with boot=disk, its kernel is being read from
 * disk 0 once they are; its vCPUs run after that (vm_start). `list` shows
 * it as stopped.
 */
enum vm_state { VM_STOPPED, VM_RUNNING, VM_CRASHED, VM_STARTING };

struct vm;
/*
 * How a start ends: `status` 0 once the vCPUs run, or -E... with one
 * sentence in `err`. Called once, on the service core, outside lwIP.
 */
typedef void (*vm_started_fn)(struct vm *vm, int status, const char *err, void *arg);

/*
 * What machine the guest sees, decided by what it boots (guest_boot_load):
 * a bzImage (Linux) gets a PC - local APICs, IOAPIC, ACPI tables, RTC, PIT,
 * reset and power registers; unclaimed MMIO reads all ones, as on a PC; a
 * triple fault resets it. An ELF test guest gets a bare machine - COM1 and
 * its virtio devices, no interrupts; any access outside them, and a
 * triple fault, end it.
 */
enum vm_platform { VM_PLATFORM_BARE, VM_PLATFORM_PC };

/* Guest-physical [0, size) is backed by chunk[i] at GPA i * 2 MiB. */
struct vm_mem {
	uint64_t size;
	unsigned nchunks;
	uint64_t *chunk;                /* host-physical address of each chunk */
	unsigned zeroed_at_start;       /* chunks `start` zeroed itself (the pool had none clean) */
};

/* TSC cycles hako spent on one kind of exit (vmm/exit_trace.c). */
struct exit_cost {
	uint64_t sum;
	uint64_t max;
};

struct exit_trace;

struct vm {
	int defined;
	struct vm_def def;
	enum vm_state state;
	char crash_reason[192];         /* why it crashed, for `list` and `show` */
	char start_error[192];          /* why its last start failed (its disks), or "" */
	struct vm_mem mem;
	struct vcpu *vcpu[VM_MAX_VCPUS];
	unsigned nvcpus;
	void *nested;                   /* the back end's nested page tables */
	volatile int stop_request;      /* vCPUs leave their loops at the next exit */
	volatile int failed;            /* a vCPU called vcpu_fail() */
	struct spinlock lock;           /* crash_reason, failed */
	uint64_t exit_count[EXIT_KIND_COUNT];  /* per guest, summed over vCPUs */
	struct exit_cost exit_cost[EXIT_KIND_COUNT]; /* cycles in hako per kind, summed too */
	struct exit_trace *trace;       /* its exit ring once `trace NAME on` made it, or 0 */
	struct vm_debug *debug;         /* &debug_state while a debugger is attached, or 0 */
	struct vm_debug debug_state;    /* (vmm/vcpu_debug.h) */
	uint64_t start_us;
	uint64_t run_id;                /* new at every start: which guest a core last ran (vmm/spec.c) */
	uint64_t entry;                 /* guest entry point from the ELF image */
	struct uart_model uart;         /* COM1 at 0x3F8 */
	struct mmio_bus mmio;           /* device ranges (vmm/mmio.h) */
	struct portio_bus pio;          /* port ranges (vmm/portio.h) */
	enum vm_platform platform;
	/* The PC platform (vmm/platform.c, vmm/irq.c) */
	uint64_t boot_params;           /* GPA of the zero page */
	struct vioapic ioapic;
	struct vrtc rtc;
	struct vpit pit;
	struct spinlock pio_lock;       /* COM1, CMOS and PIT, shared by vCPUs and the console */
	int uart_irq_level;
	vm_started_fn started;          /* VM_STARTING: who hears how it ends, or 0 */
	void *started_arg;
	volatile int power;             /* enum vm_power the guest asked for */
	uint64_t shutdown_deadline_us;  /* `shutdown`: destroy at this time_us(); 0 = none */
	uint64_t cpu_us[SCHED_STATE_COUNT]; /* run/wait/halted of vCPUs gone since `start` (vmm/sched.c) */
};

/* All guests (definitions and their running state). */
extern struct vm vms[VM_MAX];

/* Finds a defined guest by name, or returns 0. */
struct vm *vm_find(const char *name);
/* Creates a definition with the defaults of CLI.md. -EEXIST, -ENOSPC. */
int vm_define(const char *name, struct vm **out);
/* Deletes a stopped guest's definition. */
int vm_undefine(struct vm *vm);
/*
 * Starts a stopped or crashed guest on free cores with fresh memory.
 * Returns -E... with a message for the shell in `err` when it cannot
 * start; or 0: the guest is VM_STARTING while its disks open, without
 * anyone waiting, and `done` (may be 0) hears how the start ended.
 */
int vm_start(struct vm *vm, vm_started_fn done, void *arg, char *err, unsigned errlen);
/*
 * Ends a start under way: the guest stays stopped, its cores and memory
 * are free, and its `done` hears -ECANCELED with `why`. -EINVAL when it
 * is not starting.
 */
int vm_start_cancel(struct vm *vm, const char *why);
/* The start goes on, but nobody hears how it ends (its shell went away). */
void vm_start_forget(struct vm *vm);
/* What a VM_STARTING guest waits for (`list`, `show`): "its disks are opening" or "reading what vda boots". */
const char *vm_starting_what(const struct vm *vm);
/* 1 when the guest is neither running nor starting: its definition may change. */
int vm_stopped(const struct vm *vm);
/* Stops a running guest at once (or ends its start) and frees its cores and memory. */
int vm_destroy(struct vm *vm);
/*
 * Asks a running guest to power off (ACPI power button for Linux guests)
 * and destroys it if it still runs after `timeout_us`. 0 or -EINVAL.
 */
int vm_shutdown(struct vm *vm, uint64_t timeout_us);
/* Hard reset: stops the vCPUs and starts the guest again with fresh memory. 0 or -EINVAL. */
int vm_reset(struct vm *vm);
/* Cores not used by any vCPU (excluding the service core). */
unsigned vm_free_cores(void);
/* Is `core` held by a dedicated guest's vCPU? */
int vm_core_dedicated(unsigned core);

/* Enables the back end on every guest core (boot, after backend_select). */
void vmm_init(void);

/* The state's name as `list` prints it. */
const char *vm_state_name(enum vm_state s);

#endif
