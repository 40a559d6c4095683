/*
 * mgmt/cmd_system.c - shell verbs about the host itself: version, host,
 * log, reboot, poweroff (shared/CLI.md).
 */
#include "drivers/acpi/power.h"
#include "mgmt/audit.h"
#include "mgmt/catalog.h"
#include "mgmt/policy.h"
#include "mgmt/cmd_sched.h"
#include "mgmt/shell/shell.h"
#include "net/crypto/rng.h"
#include "net/net.h"
#include "vmm/backend.h"
#include "vmm/core/host.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/page.h"
#include "vmm/core/percpu.h"
#include "vmm/core/scrub.h"
#include "vmm/core/service.h"
#include "vmm/core/stack_guard.h"
#include "vmm/core/time.h"
#include "vmm/spec.h"
#include "vmm/vcpu_fpu.h"
#include "vmm/vm.h"

static int cmd_version(struct shell *sh, int argc, char **argv)
{
	(void)argv; /* no arguments */
	if (argc != 1)
		return shell_usage(sh, "version");
	shell_printf(sh, "hako %s (%s)\n", HAKO_VERSION, virt.kind);
	return 0;
}
SHELL_COMMAND(version, "version", "", "print hako's version and back end", cmd_version);

static void print_network(struct shell *sh)
{
	struct net_status st;
	net_get_status(&st);
	if (!st.configured) {
		shell_printf(sh, "network: not configured (%s)\n", st.why);
		return;
	}
	char ip[16];
	net_ip_str(st.ip, ip, sizeof(ip));
	int prefix = 0;
	for (uint32_t m = st.mask; m; m &= m - 1)
		prefix++;
	const uint8_t *m = st.nic->mac;
	shell_printf(sh, "network: %s/%d on %s %02x:%02x:%02x:%02x:%02x:%02x (%s), link %s\n", ip,
		     prefix, st.nic->model, m[0], m[1], m[2], m[3], m[4], m[5], st.mode,
		     st.link ? "up" : "down");
}

/* What keeps guests apart on a core and what hardens hako (vmm/vcpu_fpu.c, vmm/spec.h). */
static void print_isolation(struct shell *sh)
{
	char line[200];
	vcpu_fpu_describe(line, sizeof(line));
	shell_printf(sh, "isolation: FPU state by %s\n", line);
	spec_describe(line, sizeof(line));
	shell_printf(sh, "isolation: %s\n", line);
	shell_printf(sh, "hardening: stack protector on (guard from %s)\n", stack_guard_source);
	shell_printf(sh, "rng: %s, seeding an HMAC_DRBG-SHA256 (BearSSL)\n",
		     rng_source());
}

/* The scrub pool (vmm/core/scrub.h): what the next guests get already zeroed. */
static void print_scrub(struct shell *sh)
{
	struct scrub_stats s;
	scrub_get_stats(&s);
	if (!s.idle) {
		shell_printf(sh, "scrub: by start (scrub=start), %lu MiB given back by guests to zero\n",
			     s.dirty_bytes >> 20);
		return;
	}
	shell_printf(sh, "scrub: on idle cores, %lu MiB zeroed and ready (%lu MiB wanted: the largest "
		     "stopped guest, at most scrub_ahead=%luM), %lu MiB to scrub, %lu MiB scrubbed "
		     "since boot\n", s.clean_bytes >> 20, s.target_bytes >> 20, s.ahead_bytes >> 20,
		     s.dirty_bytes >> 20, s.scrubbed_bytes >> 20);
}

static int cmd_host(struct shell *sh, int argc, char **argv)
{
	(void)argv; /* no arguments */
	if (argc != 1)
		return shell_usage(sh, "host");
	struct page_stats ps;
	page_stats(&ps);
	uint64_t up = time_us() / 1000000;
	shell_printf(sh, "cores: %u total, 1 service, %u free for guests\n", cpu_count,
		     vm_free_cores());
	cmd_sched_host(sh);
	shell_printf(sh, "memory: %lu MiB total, %lu MiB free for guests, %lu KiB used by hako\n",
		     ps.total_bytes >> 20, ps.free_bytes >> 20, ps.hako_bytes >> 10);
	print_scrub(sh);
	shell_printf(sh, "backend: %s (%s%s)\n", virt.kind, backend ? "" : "not usable: ",
		     virt.detail);
	print_isolation(sh);
	shell_printf(sh, "uptime: %lu:%02lu:%02lu\n", up / 3600, up / 60 % 60, up % 60);
	shell_printf(sh, "boot: %lu ms from kernel entry to prompt, TSC %lu kHz\n",
		     host.prompt_us / 1000, tsc_khz);
	uint64_t since, halted;
	service_halted_share(&since, &halted);
	uint64_t span = time_us() - since;
	shell_printf(sh, "service core: halted %lu%% of the time since the prompt (%lu of %lu ms)\n",
		     span ? halted * 100 / span : 0, halted / 1000, span / 1000);
	print_network(sh);
	char line[200];
	catalog_describe(line, sizeof(line));
	shell_printf(sh, "catalog: %s\n", line);
	catalog_pool_describe(line, sizeof(line));
	shell_printf(sh, "pool: %s\n", line);
	return 0;
}
SHELL_COMMAND(host, "host", "", "cores, memory, back end, isolation, uptime, network", cmd_host);

static void log_out(void *ctx, const char *s, size_t n)
{
	shell_write(ctx, s, n);
}

/* `log audit`: who did what to which guest, oldest first (kept in the catalog). */
static int log_audit(struct shell *sh)
{
	const struct audit_entry *e;
	char when[24];
	for (unsigned i = 0; (e = audit_nth(i)); i++) {
		policy_time_str(e->epoch, when, sizeof(when));
		shell_printf(sh, "%s  %-16s %s\n", when, e->user[0] ? e->user : "admin", e->text);
	}
	return 0;
}

static int cmd_log(struct shell *sh, int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "audit"))
		return log_audit(sh);
	if (argc != 1)
		return shell_usage(sh, "log");
	log_ring_walk(log_out, sh);
	return 0;
}
SHELL_COMMAND(log, "log", "[audit]", "show hako's own log, or the audit log", cmd_log);

static int cmd_reboot(struct shell *sh, int argc, char **argv)
{
	(void)argv; /* no arguments */
	if (argc != 1)
		return shell_usage(sh, "reboot");
	shell_printf(sh, "rebooting\n");
	log_info("reboot requested from the shell");
	acpi_reboot();
}
SHELL_COMMAND(reboot, "reboot", "", "reset the host", cmd_reboot);

static int cmd_poweroff(struct shell *sh, int argc, char **argv)
{
	(void)argv; /* no arguments */
	if (argc != 1)
		return shell_usage(sh, "poweroff");
	shell_printf(sh, "powering off\n");
	log_info("power-off requested from the shell");
	int err = acpi_poweroff();
	return shell_error(sh, "power-off failed (%s): the ACPI tables give no usable S5",
			   errno_str(err));
}
SHELL_COMMAND(poweroff, "poweroff", "", "power the host off", cmd_poweroff);
