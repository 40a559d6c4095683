/*
 * tests/unit/iscsi_live.c - the portable iSCSI initiator (net/iscsi) over
 * POSIX sockets, for tests against a real target (tgtd) on the host:
 *
 *   iscsi_live discover HOST PORT
 *   iscsi_live luns     HOST PORT IQN
 *   iscsi_live write    HOST PORT IQN LUN SIZE SEED   pseudo-random data
 *   iscsi_live verify   HOST PORT IQN LUN SIZE SEED   read back and compare
 *   iscsi_live pattern  SIZE SEED                     the same bytes to stdout
 *
 * Options before the verb: -u USER -p SECRET (CHAP), -U USER -P SECRET
 * (mutual), -d (CRC32C digests), -t SECONDS (task timeout), -q DEPTH
 * (tasks in flight, default 16), -b BYTES (bytes per task, default 64K),
 * -i SECONDS (stay idle that long after login).
 * Prints one result line per operation; exits 0 on success, 1 on failure
 * with an "error: ..." line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi_posix.h"
#include "net/iscsi/exec.h"
#include "vmm/blk/blk_check.h"
const char *errno_str(int err); /* vmm/core/lib/errno.h clashes with <errno.h> */
#include "vmm/core/lib/log.h"

static struct iscsi_config cfg;
static int depth = 16;
static uint32_t chunk = 64 * 1024;
static uint64_t idle_us; /* -i: stay idle this long after login */

static void log_sink(const char *s, size_t n)
{
	fwrite(s, 1, n, stderr);
}

/* The pattern is `disk check`'s (vmm/blk/blk_check.c), so tests can compare. */
static void pattern_fill(uint8_t *buf, uint64_t off, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t w = blk_check_word(seed, (off + i) / 8);
		memcpy(buf + i, &w, 8);
	}
}

static uint64_t log_clock(void)
{
	static uint64_t t0;
	uint64_t t = ptp_now(0);
	if (!t0)
		t0 = t;
	return t - t0;
}

static int fail(const char *what, int err, const char *detail)
{
	printf("error: %s: %s%s%s\n", what, errno_str(err), detail && *detail ? ": " : "",
	       detail ? detail : "");
	return 1;
}

static int open_session(struct iscsi_session *s, struct posix_tp *tp)
{
	memset(tp, 0, sizeof(*tp));
	tp->fd = -1, tp->s = s;
	int err = iscsi_session_start(s, &cfg, &posix_tp_ops, tp);
	if (err)
		return fail("session", err, "bad configuration");
	uint64_t limit = cfg.task_timeout_us && cfg.task_timeout_us < 20000000 ? cfg.task_timeout_us : 20000000;
	err = iscsi_wait_login(s, limit, ptp_wait, tp);
	if (err)
		return fail("login", err, s->error);
	for (uint64_t end = ptp_now(0) + idle_us; ptp_now(0) < end;) {
		ptp_wait(tp);
		iscsi_poll(s);
	}
	return 0;
}

static void close_session(struct iscsi_session *s, struct posix_tp *tp)
{
	iscsi_logout(s);
	for (int i = 0; i < 500 && s->state != ISCSI_S_CLOSED; i++) {
		ptp_wait(tp);
		iscsi_poll(s);
	}
	ptp_close(tp);
}

static void print_target(void *arg, const char *name, const char *addr)
{
	(void)arg;
	printf("target %s %s\n", name, addr);
}

static int cmd_discover(struct iscsi_session *s, struct posix_tp *tp)
{
	cfg.target[0] = 0;
	if (open_session(s, tp))
		return 1;
	for (int i = 0; i < 2000 && s->state != ISCSI_S_CLOSED && s->state != ISCSI_S_FAILED; i++) {
		ptp_wait(tp);
		iscsi_poll(s);
	}
	if (s->discovery_done != 2)
		return fail("discovery", -ETIMEDOUT, s->error);
	iscsi_discovery_walk(s, print_target, 0);
	return 0;
}

static int cmd_luns(struct iscsi_session *s, struct posix_tp *tp)
{
	uint64_t luns[64];
	char why[96] = "";
	if (open_session(s, tp))
		return 1;
	int n = iscsi_cmd_report_luns(s, luns, 64, ptp_wait, tp);
	if (n < 0)
		return fail("REPORT LUNS", n, "");
	for (int i = 0; i < n && i < 64; i++) {
		struct scsi_capacity cap = { 0, 0 };
		struct scsi_inquiry inq;
		int err = iscsi_cmd_inquiry(s, luns[i], &inq, ptp_wait, tp);
		if (err)
			return fail("INQUIRY", err, "");
		if (inq.peripheral_type == 0 &&
		    (err = iscsi_cmd_capacity(s, luns[i], &cap, ptp_wait, tp, why, sizeof(why))))
			return fail("READ CAPACITY", err, why);
		printf("lun %llu type %u size %llu blocksize %u vendor %s product %s\n",
		       (unsigned long long)luns[i], inq.peripheral_type,
		       (unsigned long long)(cap.blocks * cap.block_size), cap.block_size,
		       inq.vendor, inq.product);
	}
	printf("session: %d connections, %u target pings answered\n", s->connects,
	       s->pings_answered);
	close_session(s, tp);
	return 0;
}

struct io {
	struct iscsi_task t;
	uint8_t *buf;
	uint64_t off;
	int busy;
};

static void io_done(struct iscsi_task *t)
{
	((struct io *)t->arg)->busy = 2;
}

/* Streams SIZE bytes through `depth` tasks; verify compares reads. */
static int run_io(struct iscsi_session *s, struct posix_tp *tp, uint64_t lun, uint64_t size,
		  uint64_t seed, int write)
{
	struct scsi_capacity cap;
	char why[96] = "";
	int err = iscsi_cmd_capacity(s, lun, &cap, ptp_wait, tp, why, sizeof(why));
	if (err)
		return fail("READ CAPACITY", err, why);
	if (size > cap.blocks * cap.block_size || size % chunk || chunk % cap.block_size)
		return fail("size", -EINVAL, "larger than the LUN or not whole chunks");
	struct io *ios = calloc((size_t)depth, sizeof(*ios));
	uint64_t next = 0, done = 0, last_pct = 0;
	for (int i = 0; i < depth; i++)
		ios[i].buf = malloc(chunk);
	while (done < size) {
		for (int i = 0; i < depth && next < size; i++) {
			struct io *io = &ios[i];
			if (io->busy)
				continue;
			memset(&io->t, 0, sizeof(io->t));
			io->off = next, next += chunk;
			io->t.lun = lun, io->t.buf = io->buf, io->t.len = chunk;
			io->t.dir = write ? ISCSI_DIR_WRITE : ISCSI_DIR_READ;
			io->t.done = io_done, io->t.arg = io;
			if (write)
				pattern_fill(io->buf, io->off, chunk, seed);
			scsi_cdb_rw16(io->t.cdb, write, io->off / cap.block_size, chunk / cap.block_size);
			if ((err = iscsi_submit(s, &io->t)))
				return fail("submit", err, "");
			io->busy = 1;
		}
		ptp_wait(tp);
		iscsi_poll(s);
		for (int i = 0; i < depth; i++) {
			struct io *io = &ios[i];
			if (io->busy != 2)
				continue;
			io->busy = 0;
			if (io->t.result)
				return fail(write ? "write" : "read", io->t.result, io->t.message);
			if (io->t.residual)
				return fail("transfer", -EIO, "short transfer");
			if (!write) {
				uint8_t *want = malloc(chunk);
				pattern_fill(want, io->off, chunk, seed);
				if (memcmp(want, io->buf, chunk))
					return fail("verify", -EIO, "data differs");
				free(want);
			}
			done += chunk;
		}
		if (done * 100 / size >= last_pct + 10) {
			last_pct = done * 100 / size;
			printf("progress %llu%%\n", (unsigned long long)last_pct);
			fflush(stdout);
		}
	}
	if (write && (err = iscsi_cmd_sync_cache(s, lun, ptp_wait, tp)))
		return fail("SYNCHRONIZE CACHE", err, "");
	printf("%s ok %llu bytes, %d connections\n", write ? "write" : "verify",
	       (unsigned long long)size, s->connects);
	for (int i = 0; i < depth; i++)
		free(ios[i].buf);
	free(ios);
	close_session(s, tp);
	return 0;
}

static int cmd_pattern(uint64_t size, uint64_t seed)
{
	uint8_t *buf = malloc(chunk);
	for (uint64_t off = 0; off < size; off += chunk) {
		uint32_t n = size - off < chunk ? (uint32_t)(size - off) : chunk;
		pattern_fill(buf, off, (n + 7) & ~7u, seed);
		fwrite(buf, 1, n, stdout);
	}
	free(buf);
	return 0;
}

static int options(int argc, char **argv, int *i)
{
	for (; *i < argc && argv[*i][0] == '-'; (*i)++) {
		const char *o = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : 0;
		if (!strcmp(o, "-d")) {
			cfg.header_digest = cfg.data_digest = 1;
			continue;
		}
		if (!v)
			return -1;
		(*i)++;
		if (!strcmp(o, "-u")) snprintf(cfg.user, sizeof(cfg.user), "%s", v);
		else if (!strcmp(o, "-p")) snprintf(cfg.secret, sizeof(cfg.secret), "%s", v);
		else if (!strcmp(o, "-U")) snprintf(cfg.target_user, sizeof(cfg.target_user), "%s", v);
		else if (!strcmp(o, "-P")) snprintf(cfg.target_secret, sizeof(cfg.target_secret), "%s", v);
		else if (!strcmp(o, "-t")) cfg.task_timeout_us = strtoull(v, 0, 0) * 1000000ull;
		else if (!strcmp(o, "-q")) depth = atoi(v);
		else if (!strcmp(o, "-b")) chunk = (uint32_t)strtoul(v, 0, 0);
		else if (!strcmp(o, "-i")) idle_us = strtoull(v, 0, 0) * 1000000ull;
		else return -1;
	}
	return depth > 0 && depth <= ISCSI_MAX_TASKS && chunk && chunk % 8 == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static struct iscsi_session s;
	struct posix_tp tp;
	int i = 1;
	log_set_sink(log_sink);
	log_set_clock(log_clock);
	snprintf(cfg.initiator, sizeof(cfg.initiator), "iqn.2026-11.org.hako:live");
	if (options(argc, argv, &i) || i >= argc)
		goto usage;
	const char *verb = argv[i++];
	if (!strcmp(verb, "pattern") && argc - i == 2)
		return cmd_pattern(strtoull(argv[i], 0, 0), strtoull(argv[i + 1], 0, 0));
	if (argc - i < 2)
		goto usage;
	snprintf(cfg.host, sizeof(cfg.host), "%s", argv[i]);
	cfg.port = (uint16_t)atoi(argv[i + 1]);
	if (!strcmp(verb, "discover") && argc - i == 2)
		return cmd_discover(&s, &tp);
	if (argc - i < 3)
		goto usage;
	snprintf(cfg.target, sizeof(cfg.target), "%s", argv[i + 2]);
	if (!strcmp(verb, "luns") && argc - i == 3)
		return cmd_luns(&s, &tp);
	if ((!strcmp(verb, "write") || !strcmp(verb, "verify")) && argc - i == 6) {
		if (open_session(&s, &tp))
			return 1;
		return run_io(&s, &tp, strtoull(argv[i + 3], 0, 0), strtoull(argv[i + 4], 0, 0),
			      strtoull(argv[i + 5], 0, 0), verb[0] == 'w');
	}
usage:
	fprintf(stderr, "usage: iscsi_live [-u U -p S -U U -P S -d -t SEC -q N -b BYTES -i SEC] "
			"discover|luns|write|verify|pattern ...\n");
	return 2;
}
