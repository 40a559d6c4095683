/*
 * boot/main.c - kmain(): bring the machine under hako's control, in order,
 * wire the parts together (configuration from hako.cfg goes to the network,
 * iSCSI and the consoles; the serial port becomes the log's sink and the
 * serial shell's terminal), then hand the service core to its loop
 * (vmm/core/service.c).
 *
 * Order matters: serial first (so everything after can be reported), then
 * hako's own descriptor tables (exceptions become readable), memory, own
 * page tables, ACPI, TSC, the other cores, virtualization detection, and
 * the boot configuration.
 */
#include "drivers/acpi/acpi.h"
#include "drivers/acpi/power.h"
#include "drivers/pci/pci.h"
#include "drivers/uart/uart16550.h"
#include "mgmt/catalog.h"
#include "mgmt/cfg.h"
#include "mgmt/console/console.h"
#include "mgmt/policy.h"
#include "mgmt/shell/shell.h"
#include "net/crypto/rng.h"
#include "net/iscsi/tcp.h"
#include "net/net.h"
#include "vmm/backend.h"
#include "vmm/blk/blk.h"
#include "vmm/core/bootinfo.h"
#include "vmm/core/host.h"
#include "vmm/core/lapic.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/page.h"
#include "vmm/core/scrub.h"
#include "vmm/core/percpu.h"
#include "vmm/core/service.h"
#include "vmm/core/smp.h"
#include "vmm/core/stack_guard.h"
#include "vmm/core/time.h"
#include "vmm/core/trap.h"
#include "vmm/sched.h"
#include "vmm/vm.h"

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
	fed = shell_resume(&serial_shell); /* typed while a command finished later */
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
	unsigned bad = cfg_parse(&hako_cfg, (const char *)f->phys, f->size, cfg_report, 0);
	log_info("hako.cfg: %u settings%s", hako_cfg.count,
		 bad ? ", some lines ignored (see above)" : "");
	const char *lvl = cfg_get(&hako_cfg, "log_level");
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

/* scrub= and scrub_ahead= (vmm/core/scrub.h); cfg.c checked both. */
static void configure_scrub(void)
{
	const char *mode = cfg_get(&hako_cfg, "scrub"), *ahead = cfg_get(&hako_cfg, "scrub_ahead");
	uint64_t bytes = SCRUB_AHEAD_DEFAULT;
	if (ahead && fmt_parse_size(ahead, &bytes))
		bytes = SCRUB_AHEAD_DEFAULT;
	scrub_configure(!mode || strcmp(mode, "start"), bytes);
}

/* The network and iSCSI settings of hako.cfg, handed to their owners. */
static struct net_config net_conf;

static void configure_services(void)
{
	static char initiator[ISCSI_NAME_MAX];
	const char *hn = cfg_get(&hako_cfg, "hostname"), *ini = cfg_get(&hako_cfg, "initiator");
	uint64_t timeout_s = 0;
	const char *to = cfg_get(&hako_cfg, "iscsi_timeout");
	if (to)
		fmt_parse_uint(to, 1, UINT32_MAX, &timeout_s); /* cfg.c checked it */
	fmt_snprintf(initiator, sizeof(initiator), "%s", ini ? ini : "");
	if (!ini)
		fmt_snprintf(initiator, sizeof(initiator), "iqn.2026-11.org.hako:%s", hn ? hn : "hako");
	iscsi_tcp_configure(initiator, timeout_s * 1000000ull);
	uint64_t slice_ms = 0;
	const char *ts = cfg_get(&hako_cfg, "timeslice");
	if (ts && !fmt_parse_uint(ts, 1, 1000, &slice_ms)) /* cfg.c checked it */
		sched_set_slice_ms((unsigned)slice_ms);
	configure_scrub();

	pci_init(acpi_host.mcfg_base, acpi_host.mcfg_bus_start, acpi_host.mcfg_bus_end);
	net_conf = (struct net_config){ cfg_get(&hako_cfg, "net"), cfg_get(&hako_cfg, "nic"),
					cfg_get(&hako_cfg, "ip"), cfg_get(&hako_cfg, "gw"), hn,
					cfg_get(&hako_cfg, "dns"), console_start };
	net_init(&net_conf);
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
	trap_set_console(uart_write);
	log_set_sink(serial_sink);
	log_set_clock(time_us);
	if (bi->magic != BOOT_INFO_MAGIC || bi->version != BOOT_INFO_VERSION) {
		log_err("boot info from the loader is not recognised; stopping");
		return;
	}
	host.bi = bi;
	log_info("hako %s starting (loader %s, %u files from the boot medium)", HAKO_VERSION,
		 bi->loader_name, bi->file_count);
	log_info("stack protector: on (strong, global guard from %s)", stack_guard_source);

	phase("serial");
	page_init(bi);
	phase("memory");
	bsp_setup();
	paging_init(bi);
	phase("tables");
	if (acpi_parse(&(struct acpi_ops){ acpi_map_identity, 0 }, bi->acpi_rsdp, &acpi_host))
		log_warn("acpi: no usable RSDP (firmware gave 0x%lx); no power-off", bi->acpi_rsdp);
	phase("acpi");
	const struct pm_timer pm = { acpi_host.pm_timer.address,
				     acpi_host.pm_timer.space_id == ACPI_GAS_IO,
				     acpi_host.pm_timer_32bit };
	tsc_calibrate(&pm);
	log_info("tsc: %lu kHz (measured against the %s)", tsc_khz, tsc_source());
	phase("tsc");
	rng_init();
	phase("rng");
	lapic_init();
	cpus[0].apic_id = lapic_id();
	smp_init(bi, acpi_host.cpu_apic_ids, acpi_host.cpu_count);
	paging_check();
	deferred.enabled = 1;
	phase("smp");

	backend_select();
	if (!backend)
		log_warn("virtualization: %s not usable: %s. The shell works; guests cannot start.",
			 virt.kind, virt.detail);
	else
		log_info("virtualization: %s back end: %s", backend->name, virt.detail);
	vmm_init();
	blk_init();
	load_config();
	policy_init();   /* roles and the audit log guard every command from here on */
	configure_services();
	phase("config");
	catalog_boot();
	phase("catalog");
	log_phases();

	shell_init(&serial_shell, serial_shell_write, 0);
	shell_set_input(&serial_shell, serial_shell_getc, serial_shell_interrupted);
	host.prompt_us = time_us();
	log_info("ready: %lu ms from kernel entry to prompt", host.prompt_us / 1000);
	shell_prompt(&serial_shell);
	serial_ready = 1;
	service_loop();
}
