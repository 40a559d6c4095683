/*
 * tests/unit/fuzz_iscsi.c - libFuzzer target for what an iSCSI target
 * sends: the input is a byte stream fed to a session (net/iscsi) either
 * during login (first byte even) or in the full feature phase with a read
 * and a write task in flight (first byte odd). ASan/UBSan catch memory
 * errors; the checks below catch broken invariants.
 *   make fuzz && build/fuzz/fuzz_iscsi -max_total_time=60 tests/unit/data/corpus_iscsi
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/iscsi/session.h"

static uint64_t clock_us;
static int f_connect(void *c, const char *h, uint16_t p) { (void)c, (void)h, (void)p; return 0; }
static long f_send(void *c, const void *b, size_t n) { (void)c, (void)b; return (long)n; }
static void f_close(void *c) { (void)c; }
static uint64_t f_now(void *c) { (void)c; return clock_us += 1000; }
static void f_random(void *c, void *b, size_t n) { (void)c; memset(b, 0x5a, n); }
static const struct iscsi_transport_ops ops = { f_connect, f_send, f_close, f_now, f_random, 0 };

static int done;
static void task_done(struct iscsi_task *t) { (void)t; done++; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct iscsi_session s;
	static struct iscsi_task rd, wr;
	static uint8_t rbuf[4096], wbuf[4096];
	struct iscsi_config cfg;
	if (!size)
		return 0;
	memset(&s, 0, sizeof(s));
	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.host, "h"), strcpy(cfg.initiator, "iqn.x:i"), strcpy(cfg.target, "iqn.x:t");
	cfg.port = 3260;
	if (data[0] & 2)
		strcpy(cfg.user, "u"), strcpy(cfg.secret, "s");
	iscsi_session_start(&s, &cfg, &ops, 0);
	iscsi_conn_up(&s);
	done = 0;
	if (data[0] & 1) {
		s.state = ISCSI_S_FULL;
		s.max_cmdsn = s.cmdsn + 16;
		memset(&rd, 0, sizeof(rd)), memset(&wr, 0, sizeof(wr));
		rd.dir = ISCSI_DIR_READ, rd.buf = rbuf, rd.len = sizeof(rbuf), rd.done = task_done;
		wr.dir = ISCSI_DIR_WRITE, wr.buf = wbuf, wr.len = sizeof(wbuf), wr.done = task_done;
		iscsi_submit(&s, &rd);
		iscsi_submit(&s, &wr);
	}
	for (size_t at = 1; at < size;) {
		size_t n = 1 + data[at] % 97;
		if (n > size - at)
			n = size - at;
		iscsi_feed(&s, data + at, n);
		iscsi_poll(&s);
		at += n;
	}
	if (done > 2)
		abort(); /* a completion ran twice */
	iscsi_abort_all(&s, -1, "end");
	if (iscsi_tasks_pending(&s))
		abort();
	return 0;
}
