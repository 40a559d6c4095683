/*
 * boot/main.c - kmain(): bring the machine under hako's control, in order,
 * then run the service core's loop (shell, and later network and storage).
 *
 * Order matters: serial first (so everything after can be reported), then
 * hako's own descriptor tables (exceptions become readable), memory, own
 * page tables, ACPI, TSC, the other cores, virtualization detection, and
 * the boot configuration.
 */
#include "vmm/core/bootinfo.h"
#include "drivers/acpi/acpi.h"
#include "vmm/core/lapic.h"
#include "drivers/uart/uart16550.h"
#include "mgmt/catalog.h"
#include "mgmt/cfg.h"
#include "mgmt/shell/shell.h"
#include "vmm/core/host.h"
#include "vmm/core/percpu.h"
#include "vmm/core/smp.h"
#include "vmm/core/time.h"
#include "vmm/core/trap.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/page.h"
#include "vmm/blk/blk.h"
#include "vmm/vm.h"

#define SERVICE_SPIN_US 500  /* the service core polls on this long after work */
#define SERVICE_TICK_US 1000 /* then halts, waking at least this often */

static void service_idle(void);
static uint64_t halted_us, halted_since_us; /* service_idle()'s account */

struct host host;
static struct shell serial_shell;
extern char boot_stack_top[];

void kmain(struct boot_info *bi);

/*
 * Log lines from other cores (a guest crashing on its vCPU core) must not
 * land in the middle of a shell line the service core is printing: they
 * wait here until the service loop flushes them between commands.
 */
static struct {
	struct spinlock lock;
	char buf[4096];
	size_t len;
	unsigned dropped;
	int enabled; /* set once GS points at a percpu on every core */
} deferred;

static void serial_sink(const char *s, size_t n)
{
	if (!deferred.enabled || this_cpu()->index == 0) {
		uart_write(s, n);
		return;
	}
	uint64_t flags = irq_save();
	spin_lock(&deferred.lock);
	if (deferred.len + n <= sizeof(deferred.buf)) {
		memcpy(deferred.buf + deferred.len, s, n);
		deferred.len += n;
	} else {
		deferred.dropped++; /* the line is still in the log ring */
	}
	spin_unlock(&deferred.lock);
	irq_restore(flags);
}

static int deferred_flush(void)
{
	char out[sizeof(deferred.buf)];
	if (!__atomic_load_n(&deferred.len, __ATOMIC_RELAXED) && !deferred.dropped)
		return 0; /* the usual case, without the lock */
	uint64_t flags = irq_save();
	spin_lock(&deferred.lock);
	size_t n = deferred.len;
	unsigned dropped = deferred.dropped;
	memcpy(out, deferred.buf, n);
	deferred.len = deferred.dropped = 0;
	spin_unlock(&deferred.lock);
	irq_restore(flags);
	uart_write(out, n);
	if (dropped)
		log_warn("%u log lines from guest cores not printed; 'log' shows them", dropped);
	return 1;
}
SERVICE_POLLER(log_deferred, deferred_flush);

static void serial_shell_write(void *ctx, const char *s, size_t n)
{
	(void)ctx; /* the serial port is a single global device */
	uart_write(s, n);
}

/*
 * The serial console's input, as a poller: so the serial shell is served
 * while a network console command waits, as that one is while a serial
 * command waits. Its own command reads the UART itself (busy).
 */
static int serial_ready, serial_busy;

/* Busy when it took input. */
static int serial_poll(void)
{
	int fed = 0;
	if (!serial_ready || serial_busy || !service_commands_allowed())
		return 0;
	serial_busy = 1;
	int saved = service_command_begin();
	for (int c; (c = uart_getc()) >= 0; fed = 1)
		shell_feed(&serial_shell, (unsigned char)c);
	service_command_end(saved);
	serial_busy = 0;
	return fed;
}
SERVICE_POLLER(serial, serial_poll);

/* A running command's input on the serial console: the UART itself. */
static int serial_shell_getc(void *ctx)
{
	(void)ctx; /* one serial port */
	int c = uart_getc();
	return c < 0 ? SHELL_NO_INPUT : c;
}

/* Ctrl-C on the serial console; other keys typed meanwhile are dropped. */
static int serial_shell_interrupted(void *ctx)
{
	(void)ctx; /* one serial port */
	for (int c; (c = uart_getc()) >= 0;)
		if (c == 3)
			return 1;
	return 0;
}

static const void *acpi_map_identity(void *ctx, uint64_t phys, uint64_t len)
{
	(void)ctx; /* all RAM is identity-mapped below identity_top */
	if (phys + len < phys || phys + len > host.bi->identity_top)
		return 0;
	return (const void *)phys;
}

static void cfg_report(void *ctx, const char *msg)
{
	(void)ctx; /* problems go to the log */
	log_warn("%s", msg);
}

static void load_config(void)
{
	const struct boot_file *f = bootfs_find("hako.cfg");
	if (!f) {
		log_warn("no hako.cfg on the boot medium: using defaults "
			 "(network console off until a password is set)");
		return;
	}
	unsigned bad = cfg_parse(&host.cfg, (const char *)f->phys, f->size, cfg_report, 0);
	log_info("hako.cfg: %u settings%s", host.cfg.count,
		 bad ? ", some lines ignored (see above)" : "");
	const char *lvl = cfg_get(&host.cfg, "log_level");
	if (lvl)
		log_set_level(!strcmp(lvl, "error") ? LOG_ERR : !strcmp(lvl, "warn") ? LOG_WARN :
			      !strcmp(lvl, "debug") ? LOG_DBG : LOG_INFO);
}

/* Boot phase timing, logged once the TSC rate is known. */
static struct {
	const char *name;
	uint64_t tsc;
} phases[12];
static unsigned nphases;

static void phase(const char *name)
{
	if (nphases < sizeof(phases) / sizeof(phases[0]))
		phases[nphases].name = name, phases[nphases++].tsc = rdtsc();
}

static void log_phases(void)
{
	char line[256];
	int n = 0;
	uint64_t prev = tsc_boot;
	for (unsigned i = 0; i < nphases; i++) {
		n += fmt_snprintf(line + n, sizeof(line) - n, "%s%s %lu us", i ? ", " : "",
				  phases[i].name, (phases[i].tsc - prev) * 1000 / tsc_khz);
		if (n >= (int)sizeof(line))
			break;
		prev = phases[i].tsc;
	}
	log_info("boot phases: %s", line);
}

static void bsp_setup(void)
{
	struct percpu *c = &cpus[0];
	c->index = 0;
	c->kstack_top = (uint64_t)boot_stack_top;
	idt_init();
	cpu_setup_tables(c);
	c->apic_id = 0;
	c->online = 1;
}

void kmain(struct boot_info *bi)
{
	uart_init(COM1_PORT, 115200);
	log_set_sink(serial_sink);
	log_set_clock(time_us);
	if (bi->magic != BOOT_INFO_MAGIC || bi->version != BOOT_INFO_VERSION) {
		log_err("boot info from the loader is not recognised; stopping");
		return;
	}
	host.bi = bi;
	log_info("hako %s starting (loader %s, %u files from the boot medium)", HAKO_VERSION,
		 bi->loader_name, bi->file_count);

	phase("serial");
	page_init(bi);
	phase("memory");
	bsp_setup();
	paging_init(bi);
	phase("tables");
	if (acpi_parse(&(struct acpi_ops){ acpi_map_identity, 0 }, bi->acpi_rsdp, &host.acpi))
		log_warn("acpi: no usable RSDP (firmware gave 0x%lx); no power-off", bi->acpi_rsdp);
	phase("acpi");
	tsc_calibrate(&host.acpi);
	log_info("tsc: %lu kHz (measured against the %s)", tsc_khz, tsc_source());
	phase("tsc");
	lapic_init();
	cpus[0].apic_id = lapic_id();
	smp_init(bi, &host.acpi);
	deferred.enabled = 1;
	phase("smp");

	virt_detect(&host.virt);
	if (host.virt.backend == VIRT_NONE)
		log_warn("virtualization: none usable: %s. The shell works; guests cannot start.",
			 host.virt.detail);
	else
		log_info("virtualization: %s back end: %s", virt_backend_name(host.virt.backend),
			 host.virt.detail);
	vmm_init();
	blk_init();
	load_config();
	phase("config");
	catalog_boot();
	phase("catalog");
	log_phases();

	shell_init(&serial_shell, serial_shell_write, 0);
	shell_set_input(&serial_shell, serial_shell_getc, serial_shell_interrupted);
	host.prompt_us = time_us();
	log_info("ready: %lu ms from kernel entry to prompt", host.prompt_us / 1000);
	shell_prompt(&serial_shell);
	uint64_t last_work = time_us();
	halted_since_us = last_work;
	serial_ready = 1;
	for (;;) {
		if (service_poll())
			last_work = time_us();
		else if (time_us() - last_work > SERVICE_SPIN_US)
			service_idle();
		else
			cpu_relax();
	}
}

extern const struct service_poller __start_hako_pollers[], __stop_hako_pollers[];

static int poll_depth, command_depth;

int service_poll(void)
{
	int busy = 0;
	poll_depth++;
	for (const struct service_poller *p = __start_hako_pollers; p < __stop_hako_pollers; p++)
		busy |= p->poll() != 0;
	poll_depth--;
	return busy;
}

/* See host.h: the main loop's poll, or the poll of a running command's wait. */
int service_commands_allowed(void)
{
	return poll_depth == command_depth + 1;
}

int service_command_begin(void)
{
	int saved = command_depth;
	command_depth = poll_depth;
	return saved;
}

void service_command_end(int saved)
{
	command_depth = saved;
}

/*
 * An idle service core halts instead of spinning: a core that spins
 * costs a real PC power, and under an emulator (nested QEMU, CI) it takes
 * host CPU from the guests. It wakes on its LAPIC timer every
 * SERVICE_TICK_US (serial input, network frames and timers wait at most
 * that long) or at once when another core calls service_wake().
 * Both sides write their flag before reading the other's, so a wake-up
 * is never lost between the check and the HLT.
 */
static int service_halted, service_woken;

static void service_idle(void)
{
	irq_disable();
	__atomic_store_n(&service_halted, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_exchange_n(&service_woken, 0, __ATOMIC_SEQ_CST)) {
		uint64_t t0 = time_us();
		lapic_timer_arm(SERVICE_TICK_US * tsc_khz / 1000);
		__asm__ volatile("sti; hlt; cli" ::: "memory"); /* STI's shadow covers HLT */
		halted_us += time_us() - t0;
	}
	__atomic_store_n(&service_halted, 0, __ATOMIC_SEQ_CST);
}

void service_halted_share(uint64_t *since_us, uint64_t *halted)
{
	*since_us = halted_since_us;
	*halted = halted_us;
}

void service_wake(void)
{
	__atomic_store_n(&service_woken, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&service_halted, __ATOMIC_SEQ_CST))
		smp_kick(0);
}
