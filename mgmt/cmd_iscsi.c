/*
 * mgmt/cmd_iscsi.c - `iscsi discover HOST[:PORT]`, `iscsi luns URL` and
 * `disk check URL [SIZE]` (shared/CLI.md). Parsing and printing only: the
 * work is net/iscsi (session, exec.c helpers) over net/iscsi/tcp.c, and
 * for `disk check` the block layer (vmm/blk/blk_check.c), so it works on
 * every disk URL. These verbs wait for the network while polling the
 * service core; they work on the serial and the network console alike
 * (mgmt/console/console.c runs a network session's command outside lwIP), and
 * Ctrl-C on the terminal that started them interrupts them. One at a
 * time: a second one, from another session, is refused while one runs.
 */
#include "mgmt/shell/args.h"
#include "mgmt/shell/shell.h"
#include "net/iscsi/exec.h"
#include "net/iscsi/tcp.h"
#include "net/net.h"
#include "vmm/blk/blk.h"
#include "vmm/blk/blk_sync.h"
#include "vmm/blk/blk_bench.h"
#include "vmm/blk/blk_check.h"
#include "vmm/core/cpu.h"
#include "vmm/core/lib/buddy.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/page.h"
#include "vmm/core/service.h"
#include "vmm/core/time.h"

#define LOGIN_WAIT_US (15 * 1000000ull)

static int busy;

static int refuse(struct shell *sh)
{
	if (busy)
		return shell_error(sh, "another iSCSI or disk command is running; try again when "
				       "it ends");
	return 0;
}

/*
 * The `wait` of net/iscsi/exec.h for these verbs: one service-core round
 * and the session's transport events; 1 after Ctrl-C on the terminal.
 */
static int shell_wait(void *session)
{
	if (shell_interrupted())
		return 1;
	service_poll();
	iscsi_tcp_events(session);
	return 0;
}

/* Logs out (the transport finishes that in the background) and frees the session. */
static void finish(struct iscsi_session *s)
{
	iscsi_tcp_logout_free(s);
	busy = 0;
}

static int open_url(struct shell *sh, const struct iscsi_url *u, struct iscsi_session **s)
{
	int err = iscsi_open_url(u, s);
	if (err)
		return shell_error(sh, "cannot start an iSCSI session: %s", errno_str(err));
	busy = 1;
	err = iscsi_wait_login(*s, LOGIN_WAIT_US, shell_wait, *s);
	if (err) {
		const char *why = err == -ECANCELED ? "interrupted" :
				  (*s)->error[0] ? (*s)->error : errno_str(err);
		shell_error(sh, "%s%s (%s at %s:%u)", strncmp(why, "login", 5) ? "login failed: " : "",
			    why, u->target, u->host, u->port);
		finish(*s);
		return -1;
	}
	return 0;
}

static void print_target(void *arg, const char *name, const char *addr)
{
	shell_printf(arg, "%s %s\n", name, addr[0] ? addr : "-");
}

static int iscsi_discover(struct shell *sh, const char *hostport)
{
	struct iscsi_url u; /* no target: a discovery session */
	struct iscsi_session *s;
	memset(&u, 0, sizeof(u));
	if (iscsi_hostport_parse(hostport, u.host, sizeof(u.host), &u.port))
		return shell_error(sh, "'%s' is not HOST[:PORT]", hostport);
	int err = iscsi_open_url(&u, &s);
	if (err)
		return shell_error(sh, "cannot start discovery: %s", errno_str(err));
	busy = 1;
	uint64_t end = time_us() + LOGIN_WAIT_US;
	/* until the answer, a failed login (refused, a name that does not
	 * resolve, a permanent refusal) or the time limit */
	while (s->discovery_done != 2 && time_us() < end) {
		int rc = iscsi_login_status(s, end);
		if (rc && rc != -EINPROGRESS)
			break;
		if (shell_wait(s)) {
			finish(s);
			return shell_error(sh, "discovery interrupted");
		}
		iscsi_poll(s);
	}
	if (s->discovery_done != 2) {
		shell_error(sh, "discovery at %s:%u failed: %s", u.host, u.port,
			    s->error[0] ? s->error : "no answer");
		finish(s);
		return -1;
	}
	iscsi_discovery_walk(s, print_target, sh);
	finish(s);
	return 0;
}

static const char *type_name(uint8_t t)
{
	return t == 0 ? "disk" : t == 5 ? "cdrom" : t == 0x0c ? "controller" : "other";
}

static int iscsi_luns(struct shell *sh, const char *url)
{
	struct iscsi_url u;
	struct iscsi_session *s;
	const char *why;
	uint64_t luns[64];
	char msg[96] = "";
	if (iscsi_url_parse(url, 0, &u, &why))
		return shell_error(sh, "bad URL: %s", why);
	if (open_url(sh, &u, &s))
		return -1;
	int n = iscsi_cmd_report_luns(s, luns, 64, shell_wait, s), err = 0;
	if (n < 0) {
		shell_error(sh, "REPORT LUNS failed: %s%s%s", errno_str(n), s->error[0] ? ": " : "",
			    s->error);
		finish(s);
		return -1;
	}
	shell_printf(sh, "LUN  TYPE        SIZE            BLOCK  PRODUCT\n");
	for (int i = 0; i < n && i < 64 && !err; i++) {
		struct scsi_inquiry inq;
		struct scsi_capacity cap = { 0, 0 };
		err = iscsi_cmd_inquiry(s, luns[i], &inq, shell_wait, s);
		if (!err && inq.peripheral_type == 0)
			err = iscsi_cmd_capacity(s, luns[i], &cap, shell_wait, s, msg, sizeof(msg));
		if (!err)
			shell_printf(sh, "%-4llu %-11s %-15llu %-6u %s %s\n", (unsigned long long)luns[i],
				     type_name(inq.peripheral_type),
				     (unsigned long long)(cap.blocks * cap.block_size), cap.block_size,
				     inq.vendor, inq.product);
	}
	if (err && !msg[0] && s->error[0])
		fmt_snprintf(msg, sizeof(msg), "%s", s->error);
	if (err)
		shell_error(sh, "LUN query failed: %s%s%s", errno_str(err), msg[0] ? ": " : "", msg);
	finish(s);
	return err ? -1 : 0;
}

static int cmd_iscsi(struct shell *sh, int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "discover") && strcmp(argv[1], "luns")))
		return shell_usage(sh, "iscsi");
	if (refuse(sh))
		return -1;
	return argv[1][0] == 'd' ? iscsi_discover(sh, argv[2]) : iscsi_luns(sh, argv[2]);
}
SHELL_COMMAND(iscsi, "iscsi", "discover HOST[:PORT] | luns URL",
	      "iSCSI SendTargets discovery, or a target's LUNs with sizes", cmd_iscsi);

static void confirm_wait(void)
{
	service_poll();
	cpu_relax();
}

/* Reads the answer from the command's own terminal (serial or network); 1 if "yes". */
static int confirm(struct shell *sh, const char *what)
{
	char line[8];
	shell_printf(sh, "%s\nType 'yes' to continue: ", what);
	return shell_read_line(sh, line, sizeof(line), 1, confirm_wait) >= 0 && !strcmp(line, "yes");
}

static void show_progress(void *arg, const char *phase, uint64_t done, uint64_t total)
{
	shell_printf(arg, "%s: %llu%% (%llu of %llu MiB)\n", phase,
		     (unsigned long long)(done * 100 / total), (unsigned long long)(done >> 20),
		     (unsigned long long)(total >> 20));
}

/* Drives the service core (block layer, iSCSI sessions); 1 after Ctrl-C. */
static int check_wait(void *arg)
{
	(void)arg; /* the block layer and the terminal are global */
	if (shell_interrupted())
		return 1;
	service_poll();
	return 0;
}

static int disk_check(struct shell *sh, const char *url, uint64_t size)
{
	static struct blk_check c;
	char what[BLK_URL_MAX + 80], amount[40] = "all data", err[160] = "";
	if (size)
		fmt_snprintf(amount, sizeof(amount), "the first %llu bytes", (unsigned long long)size);
	fmt_snprintf(what, sizeof(what), "This overwrites %s of %s.", amount, url);
	busy = 1; /* c is static, and the answer may take a while */
	if (!confirm(sh, what))
		return busy = 0, shell_error(sh, "not confirmed; nothing written");
	memset(&c, 0, sizeof(c));
	unsigned order = buddy_order_for(BLK_CHECK_BUF);
	c.buf = (uint8_t *)page_alloc(order, PAGE_HAKO);
	if (!c.buf)
		return busy = 0, shell_error(sh, "out of memory for the check buffers");
	int rc = blk_sync_open(url, 0, &c.d, err, sizeof(err));
	if (rc) {
		page_free((uint64_t)c.buf, order, PAGE_HAKO);
		busy = 0;
		return shell_error(sh, "%s", err[0] ? err : errno_str(rc));
	}
	c.size = size, c.seed = (time_us() ^ rdtsc()) % 1000000007ull + 1;
	c.wait = check_wait, c.progress = show_progress, c.progress_arg = sh;
	rc = blk_check_run(&c);
	blk_close(c.d); /* completes anything still in flight before the buffers go */
	page_free((uint64_t)c.buf, order, PAGE_HAKO);
	busy = 0;
	if (rc)
		return shell_error(sh, "disk check failed: %s", c.why[0] ? c.why : errno_str(rc));
	shell_printf(sh, "disk check passed: %llu bytes written and verified (seed %llu)\n",
		     (unsigned long long)c.size, (unsigned long long)c.seed);
	return 0;
}

static uint64_t bench_clock(void)
{
	return time_us();
}

/* One line per run: "write 4K x1: 12.3 MB/s (16 MiB in 1300 ms)". */
static int bench_one(struct shell *sh, struct blk_bench *b)
{
	int rc = blk_bench_run(b);
	if (rc)
		return rc;
	uint64_t us = b->elapsed_us ? b->elapsed_us : 1, tenths = b->size * 10 / us;
	shell_printf(sh, "%s %uK x%u: %llu.%llu MB/s (%llu MiB in %llu ms)\n",
		     b->write ? "write" : "read", b->req_bytes / 1024, b->depth,
		     (unsigned long long)(tenths / 10), (unsigned long long)(tenths % 10),
		     (unsigned long long)(b->size >> 20), (unsigned long long)(us / 1000));
	return 0;
}

/* Sequential writes then reads, 4 KiB and 256 KiB requests, 1 and 16 in flight. */
static int disk_bench(struct shell *sh, const char *url, uint64_t size)
{
	static struct blk_bench b;
	static const uint32_t reqs[] = { 4096, 256 * 1024 }, depths[] = { 1, 16 };
	char what[BLK_URL_MAX + 80], err[160] = "";
	fmt_snprintf(what, sizeof(what), "This overwrites the first %llu bytes of %s.",
		     (unsigned long long)size, url);
	busy = 1; /* b is static, and the answer may take a while */
	if (!confirm(sh, what))
		return busy = 0, shell_error(sh, "not confirmed; nothing written");
	memset(&b, 0, sizeof(b));
	unsigned order = buddy_order_for(BLK_BENCH_BUF);
	if (!(b.buf = (uint8_t *)page_alloc(order, PAGE_HAKO)))
		return busy = 0, shell_error(sh, "out of memory for the benchmark buffers");
	int rc = blk_sync_open(url, 0, &b.d, err, sizeof(err));
	for (int w = 1; w >= 0 && !rc; w--)
		for (int r = 0; r < 2 && !rc; r++)
			for (int q = 0; q < 2 && !rc; q++) {
				b.write = w, b.req_bytes = reqs[r], b.depth = depths[q], b.size = size;
				b.wait = check_wait, b.now_us = bench_clock;
				rc = bench_one(sh, &b);
			}
	if (b.d)
		blk_close(b.d);
	page_free((uint64_t)b.buf, order, PAGE_HAKO);
	busy = 0;
	if (rc)
		return shell_error(sh, "disk bench failed: %s", err[0] ? err : errno_str(rc));
	return 0;
}

static int cmd_disk(struct shell *sh, int argc, char **argv)
{
	char err[160];
	uint64_t size = 0;
	int bench = argc > 1 && !strcmp(argv[1], "bench");
	if (argc < 3 || argc > 4 || (strcmp(argv[1], "check") && !bench))
		return shell_usage(sh, "disk");
	if (refuse(sh))
		return -1;
	if (blk_url_check(argv[2], err, sizeof(err)))
		return shell_error(sh, "%s", err);
	if (argc == 4 && (fmt_parse_size(argv[3], &size) || !size))
		return shell_error(sh, "'%s' is not a size (K, M, G suffixes)", argv[3]);
	if (bench && !size)
		size = 16u << 20;
	if (bench && size % BLK_BENCH_MAX_REQ)
		return shell_error(sh, "the benchmark size must be a multiple of 256K");
	return bench ? disk_bench(sh, argv[2], size) : disk_check(sh, argv[2], size);
}
SHELL_COMMAND(disk, "disk", "check URL [SIZE] | bench URL [SIZE]",
	      "verify a disk with pseudo-random data, or time sequential I/O (both overwrite "
	      "data; they ask first)", cmd_disk);
