/*
 * mgmt/cmd_iscsi.c - `iscsi discover HOST[:PORT]`, `iscsi luns URL`,
 * `disk check URL [SIZE]` and `disk bench URL [SIZE]` (shared/CLI.md).
 * Parsing and printing only: the work is net/iscsi (a session from
 * iscsi_open_url, the steps of net/iscsi/query.c), and for `disk` the
 * block layer (vmm/blk/blk_check.c, blk_bench.c), so it works on every
 * disk URL. The `iscsi` verbs finish later without waiting (shell_pend);
 * `disk check` and `disk bench` still wait for the network by polling the
 * service core (mgmt/console/console.c runs a network session's command
 * outside lwIP). All work on the serial and the network console alike, and
 * Ctrl-C on the terminal that started them interrupts them. One at a
 * time: a second one, from another session, is refused while one runs.
 */
#include "mgmt/cmd_disk.h"
#include "mgmt/shell/args.h"
#include "mgmt/shell/shell.h"
#include "net/iscsi/query.h"
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
#include "vmm/core/lib/redact.h"
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
 * `iscsi discover` and `iscsi luns` finish later (shell_pend): the query
 * (net/iscsi/query.c) goes on in query_poll(), a service poller, and
 * prints its result there; nothing waits inside the command.
 */
static struct {
	struct iscsi_query q;
	struct iscsi_session *s;
	struct shell *sh;          /* 0 once its terminal went away */
} query;

static const char *type_name(uint8_t t)
{
	return t == 0 ? "disk" : t == 5 ? "cdrom" : t == 0x0c ? "controller" : "other";
}

static void print_target(void *arg, const char *name, const char *addr)
{
	shell_printf(arg, "%s %s\n", name, addr[0] ? addr : "-");
}

static void print_luns(struct shell *sh, const struct iscsi_query *q)
{
	shell_printf(sh, "LUN  TYPE        SIZE            BLOCK  PRODUCT\n");
	for (int i = 0; i < q->nluns; i++) {
		const struct iscsi_lun_info *l = &q->lun[i];
		shell_printf(sh, "%-4llu %-11s %-15llu %-6u %s %s\n", (unsigned long long)l->lun,
			     type_name(l->inq.peripheral_type),
			     (unsigned long long)(l->cap.blocks * l->cap.block_size), l->cap.block_size,
			     l->inq.vendor, l->inq.product);
	}
}

/* Logs out (the transport finishes that in the background); the verb is over. */
static void query_end(void)
{
	struct shell *sh = query.sh;
	iscsi_tcp_logout_free(query.s);
	query.s = 0, query.sh = 0;
	busy = 0;
	if (sh)
		shell_finish(sh);
}

/* Service poller: moves the query on; at its end, the result and the prompt. */
static int query_poll(void)
{
	if (!query.s)
		return 0;
	iscsi_tcp_poll(query.s);
	int rc = iscsi_query_step(&query.q);
	if (rc == -EINPROGRESS)
		return 1;
	struct shell *sh = query.sh;
	if (sh && rc)
		shell_error(sh, "%s", query.q.why);
	else if (sh && query.q.kind == ISCSI_QUERY_DISCOVER)
		iscsi_discovery_walk(query.s, print_target, sh);
	else if (sh)
		print_luns(sh, &query.q);
	query_end();
	return 1;
}
SERVICE_POLLER(iscsi_query, query_poll);

static void query_interrupt(struct shell *sh, void *ctx)
{
	(void)ctx; /* one query at a time */
	iscsi_query_cancel(&query.q);
	shell_error(sh, "%s interrupted", query.q.kind == ISCSI_QUERY_DISCOVER ? "discovery" :
		    "iscsi luns");
	query_end();
}

static void query_detach(struct shell *sh, void *ctx)
{
	(void)sh, (void)ctx; /* gone: nobody to tell */
	query.sh = 0;
	iscsi_query_cancel(&query.q);
	query_end();
}

static const struct shell_pending_ops query_pending = { query_interrupt, query_detach };

/* Starts a session to u (a discovery one without a target) and the query on it. */
static int query_start(struct shell *sh, const struct iscsi_url *u, enum iscsi_query_kind kind)
{
	int err = iscsi_open_url(u, &query.s);
	if (err)
		return shell_error(sh, "cannot start an iSCSI session: %s", errno_str(err));
	busy = 1;
	query.sh = sh;
	iscsi_query_start(&query.q, kind, query.s, LOGIN_WAIT_US);
	return shell_pend(sh, &query_pending, 0);
}

static int iscsi_discover(struct shell *sh, const char *hostport)
{
	struct iscsi_url u; /* no target: a discovery session */
	memset(&u, 0, sizeof(u));
	if (iscsi_hostport_parse(hostport, u.host, sizeof(u.host), &u.port))
		return shell_error(sh, "'%s' is not HOST[:PORT]", hostport);
	return query_start(sh, &u, ISCSI_QUERY_DISCOVER);
}

static int iscsi_luns(struct shell *sh, const char *url)
{
	struct iscsi_url u;
	const char *why;
	if (iscsi_url_parse(url, 0, &u, &why))
		return shell_error(sh, "bad URL: %s", why);
	return query_start(sh, &u, ISCSI_QUERY_LUNS_OF);
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
	char shown[BLK_URL_MAX];
	redact_url(url, shown, sizeof(shown));
	fmt_snprintf(what, sizeof(what), "This overwrites %s of %s.", amount, shown);
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

/* "12.3": stamp ticks (the TSC) as microseconds with one decimal. */
static void fmt_ticks_us(uint64_t ticks, char *buf, unsigned len)
{
	uint64_t tenths = tsc_khz ? ticks * 10000 / tsc_khz : 0;
	fmt_snprintf(buf, len, "%llu.%llu", (unsigned long long)(tenths / 10),
		     (unsigned long long)(tenths % 10));
}

void cmd_disk_latency(struct shell *sh, const char *indent, const struct blk_lat *l)
{
	char line[320], mean[24], p99[24];
	if (!l->n[BLK_HOP_TOTAL])
		return;
	int n = fmt_snprintf(line, sizeof(line), "%slatency %llu requests, us mean/p99:", indent,
			     (unsigned long long)l->n[BLK_HOP_TOTAL]);
	const char *sep = "";
	for (int h = 0; h < BLK_HOPS; h++) {
		if (!l->n[h] || n >= (int)sizeof(line))
			continue;
		fmt_ticks_us(blk_lat_mean(l, (enum blk_hop)h), mean, sizeof(mean));
		fmt_ticks_us(blk_lat_p99(l, (enum blk_hop)h), p99, sizeof(p99));
		n += fmt_snprintf(line + n, sizeof(line) - n, "%s %s %s/%s", sep,
				  blk_hop_name((enum blk_hop)h), mean, p99);
		sep = ",";
	}
	shell_printf(sh, "%s\n", line);
}

/* One line per run: "write 4K x1: 12.3 MB/s (16 MiB in 1300 ms)", then its latency. */
static int bench_one(struct shell *sh, struct blk_bench *b)
{
	blk_lat_reset(b->d);
	int rc = blk_bench_run(b);
	if (rc)
		return rc;
	uint64_t us = b->elapsed_us ? b->elapsed_us : 1, tenths = b->size * 10 / us;
	shell_printf(sh, "%s %uK x%u: %llu.%llu MB/s (%llu MiB in %llu ms)\n",
		     b->write ? "write" : "read", b->req_bytes / 1024, b->depth,
		     (unsigned long long)(tenths / 10), (unsigned long long)(tenths % 10),
		     (unsigned long long)(b->size >> 20), (unsigned long long)(us / 1000));
	cmd_disk_latency(sh, "  ", blk_latency(b->d));
	return 0;
}

/* Sequential writes then reads, 4 KiB and 256 KiB requests, 1 and 16 in flight. */
static int disk_bench(struct shell *sh, const char *url, uint64_t size)
{
	static struct blk_bench b;
	static const uint32_t reqs[] = { 4096, 256 * 1024 }, depths[] = { 1, 16 };
	char what[BLK_URL_MAX + 80], err[160] = "", shown[BLK_URL_MAX];
	redact_url(url, shown, sizeof(shown));
	fmt_snprintf(what, sizeof(what), "This overwrites the first %llu bytes of %s.",
		     (unsigned long long)size, shown);
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
