/*
 * tests/unit/test_iscsi_session.c - the iSCSI session (net/iscsi) against a
 * scripted fake target: every PDU the initiator sends is captured and
 * checked, every answer is built by hand and fed back in odd-sized pieces.
 * Covers login (none, CHAP one-way and mutual, refusals, bad answers),
 * reads, writes with immediate, unsolicited and solicited data, UNIT
 * ATTENTION, sense errors, the CmdSN window, NOP-In/NOP-Out, keepalive,
 * timeouts, discovery, responses continued over several PDUs (C bit),
 * logout, and connection loss with re-issue.
 */
#include <stdlib.h>

#include "check.h"
#include "net/iscsi/chap.h"
#include "net/iscsi/exec.h"
#include "net/iscsi/query.h"
#include "net/iscsi/scsi.h"
#include "net/iscsi/session.h"
#include "net/iscsi/text.h"
#include "vmm/core/lib/errno.h"

/* ---- the fake transport and target ---- */
static struct {
	uint8_t out[1 << 20];
	size_t len, pos;
	int connects, closes;
	uint64_t now;
	uint32_t statsn, exp_cmdsn, window;
	long send_limit; /* bytes the transport takes per call; 0: all */
	int stall; /* the target's window is shut: the transport takes nothing */
} fk;

static int f_connect(void *c, const char *h, uint16_t p)
{
	(void)c, (void)h, (void)p;
	fk.connects++;
	return 0;
}
static long f_send(void *c, const void *b, size_t n)
{
	(void)c;
	if (fk.stall)
		return 0;
	if (fk.send_limit && (long)n > fk.send_limit)
		n = (size_t)fk.send_limit;
	if (n > sizeof(fk.out) - fk.len)
		abort();
	memcpy(fk.out + fk.len, b, n);
	fk.len += n;
	return (long)n;
}
static void f_close(void *c)
{
	(void)c;
	fk.closes++;
}
static uint64_t f_now(void *c)
{
	(void)c;
	return fk.now;
}
static void f_random(void *c, void *b, size_t n)
{
	(void)c;
	for (size_t i = 0; i < n; i++)
		((uint8_t *)b)[i] = (uint8_t)check_rand();
}
static uint64_t stamps; /* the stamp clock: every reading one tick later */
static uint64_t f_stamp(void *c)
{
	(void)c;
	return ++stamps;
}
static const struct iscsi_transport_ops fops = { f_connect, f_send, f_close, f_now, f_random,
						 f_stamp };

static struct iscsi_session *S;

struct sent {
	struct iscsi_bhs h;
	uint8_t data[300 * 1024];
	uint32_t len;
};
static struct sent pdu;

/* The next PDU the initiator sent (digests as negotiated). 0 when none. */
static int next_sent(void)
{
	int hd = S->p.header_digest, dd = S->p.data_digest;
	if (fk.pos + 48 > fk.len)
		return 0;
	memcpy(&pdu.h, fk.out + fk.pos, 48);
	pdu.len = iscsi_bhs_data_len(&pdu.h);
	size_t at = fk.pos + 48 + (hd ? 4 : 0);
	memcpy(pdu.data, fk.out + at, pdu.len);
	pdu.data[pdu.len] = 0;
	fk.pos = at + (pdu.len ? pdu.len + iscsi_pad4(pdu.len) + (dd ? 4 : 0) : 0);
	return 1;
}

/* Value of `key` in the last sent PDU's text, or 0. */
static const char *sent_key(const char *key)
{
	static struct iscsi_kv kv;
	size_t pos = 0;
	while (iscsi_text_next((const char *)pdu.data, pdu.len, &pos, &kv) == 1)
		if (!strcmp(kv.key, key))
			return kv.value;
	return 0;
}

static void rsp_init(struct iscsi_bhs *h, uint8_t op, uint8_t flags, uint32_t itt)
{
	memset(h, 0, sizeof(*h));
	h->opcode = op, h->flags = flags;
	h->itt = iscsi_be32(itt);
	h->ttt = iscsi_be32(ISCSI_RSVD_TAG);
	h->statsn = iscsi_be32(fk.statsn++);
	h->exp_cmdsn = iscsi_be32(fk.exp_cmdsn);
	h->max_cmdsn = iscsi_be32(fk.exp_cmdsn + fk.window - 1);
}

/* Feeds a target PDU in random-sized pieces. */
static void deliver(void *h, const void *data, uint32_t len)
{
	static uint8_t buf[300 * 1024];
	size_t n = iscsi_pdu_write(buf, h, data, len, S->rx.hdr_digest, S->rx.data_digest);
	for (size_t at = 0; at < n;) {
		size_t piece = 1 + check_rand() % 700;
		if (piece > n - at)
			piece = n - at;
		iscsi_feed(S, buf + at, piece);
		at += piece;
	}
}

static void login_rsp(uint8_t flags, const char *text, size_t len, uint8_t cls, uint8_t det)
{
	struct iscsi_login h;
	rsp_init((void *)&h, ISCSI_OP_LOGIN_RSP, flags, iscsi_be32(pdu.h.itt));
	memcpy(h.isid, ((struct iscsi_login *)&pdu.h)->isid, 6);
	h.tsih = iscsi_be16(flags & ISCSI_LOGIN_TRANSIT && (flags & 3) == 3 ? 7 : 0);
	h.status_class = cls, h.status_detail = det;
	deliver(&h, text, (uint32_t)len);
}

#define TEXT(s) s, sizeof(s) - 1 /* the literal's embedded NULs separate pairs */
#define TRANSIT(csg, nsg) (ISCSI_LOGIN_TRANSIT | (csg) << 2 | (nsg))

static const char OPER[] = "HeaderDigest=None\0DataDigest=None\0InitialR2T=Yes\0"
			   "ImmediateData=No\0MaxBurstLength=65536\0FirstBurstLength=16384\0"
			   "ErrorRecoveryLevel=0\0MaxOutstandingR2T=1\0";

static void new_session(struct iscsi_config *cfg)
{
	static struct iscsi_session sess;
	memset(&sess, 0, sizeof(sess));
	memset(&fk, 0, sizeof(fk));
	fk.statsn = 100, fk.exp_cmdsn = 1, fk.window = 32;
	S = &sess;
	if (!cfg->host[0])
		strcpy(cfg->host, "10.0.2.2");
	cfg->port = 3260;
	strcpy(cfg->initiator, "iqn.2026-11.org.hako:test");
	CHECK_EQ(iscsi_session_start(S, cfg, &fops, 0), 0);
	CHECK_EQ(fk.connects, 1);
	iscsi_conn_up(S);
}

/* Security stage without authentication, then the operational keys. */
static void login_plain(const char *oper, size_t len)
{
	CHECK(next_sent());
	CHECK_EQ(pdu.h.opcode, ISCSI_OP_LOGIN_REQ | ISCSI_OP_IMMEDIATE);
	CHECK_EQ(pdu.h.flags, TRANSIT(0, 1));
	CHECK_STREQ(sent_key("AuthMethod"), "None");
	login_rsp(TRANSIT(0, 1), TEXT("AuthMethod=None\0TargetPortalGroupTag=1\0"), 0, 0);
	CHECK(next_sent());
	CHECK_EQ(pdu.h.flags, TRANSIT(1, 3));
	CHECK_STREQ(sent_key("ErrorRecoveryLevel"), "0");
	login_rsp(TRANSIT(1, 3), oper, len, 0, 0);
	CHECK_EQ(S->state, ISCSI_S_FULL);
}

static struct iscsi_config target_cfg(void)
{
	struct iscsi_config c;
	memset(&c, 0, sizeof(c));
	strcpy(c.target, "iqn.2026-11.org.hako.test:disk");
	return c;
}

static void test_login_plain(void)
{
	struct iscsi_config c = target_cfg();
	new_session(&c);
	CHECK(next_sent());
	CHECK_STREQ(sent_key("InitiatorName"), "iqn.2026-11.org.hako:test");
	CHECK_STREQ(sent_key("SessionType"), "Normal");
	CHECK_STREQ(sent_key("TargetName"), "iqn.2026-11.org.hako.test:disk");
	fk.pos = 0;
	login_plain(TEXT(OPER));
	/* the target did not declare MaxRecvDataSegmentLength: 8192 (13.12) */
	CHECK_EQ(S->p.target_max_recv_dsl, 8192);
	CHECK_EQ(S->p.initial_r2t, 1);
	CHECK_EQ(S->p.immediate_data, 0);
	CHECK_EQ(S->p.first_burst, 16384);
	CHECK_EQ(S->tsih, 7);
	CHECK_EQ(S->exp_statsn, 102);
}

static void test_login_chap(void)
{
	struct iscsi_config c = target_cfg();
	uint8_t want[16], chal[16] = { 0 };
	strcpy(c.user, "alice"), strcpy(c.secret, "alicesecret12");
	strcpy(c.target_user, "tgt"), strcpy(c.target_secret, "tsecret");
	new_session(&c);
	CHECK(next_sent());
	CHECK_EQ(pdu.h.flags, 0); /* CSG 0, no transit yet */
	CHECK_STREQ(sent_key("AuthMethod"), "CHAP");
	login_rsp(0, TEXT("AuthMethod=CHAP\0"), 0, 0);
	CHECK(next_sent());
	CHECK_STREQ(sent_key("CHAP_A"), "5");
	login_rsp(0, TEXT("CHAP_A=5\0CHAP_I=7\0CHAP_C=0x000102030405060708090a0b0c0d0e0f\0"), 0, 0);
	CHECK(next_sent());
	CHECK_EQ(pdu.h.flags, TRANSIT(0, 1));
	CHECK_STREQ(sent_key("CHAP_N"), "alice");
	CHECK_STREQ(sent_key("CHAP_R"), "0x12d1b6a5d2644d6c54e5fd724cc21d44");
	/* answer the initiator's challenge as a real target would */
	CHECK(sent_key("CHAP_I") && sent_key("CHAP_C"));
	int id = atoi(sent_key("CHAP_I"));
	CHECK_EQ(chap_decode(sent_key("CHAP_C"), chal, 16), 16);
	chap_response((uint8_t)id, "tsecret", chal, 16, want);
	char text[128], hex[40];
	chap_encode_hex(want, 16, hex);
	int n = snprintf(text, sizeof(text), "CHAP_N=tgt%cCHAP_R=%s%c", 0, hex, 0);
	login_rsp(TRANSIT(0, 1), text, (size_t)n, 0, 0);
	CHECK(next_sent());
	CHECK_EQ(pdu.h.flags, TRANSIT(1, 3));
	login_rsp(TRANSIT(1, 3), TEXT(OPER), 0, 0);
	CHECK_EQ(S->state, ISCSI_S_FULL);
}

static void test_login_mutual_wrong(void)
{
	struct iscsi_config c = target_cfg();
	strcpy(c.user, "alice"), strcpy(c.secret, "alicesecret12");
	strcpy(c.target_user, "tgt"), strcpy(c.target_secret, "tsecret");
	new_session(&c);
	next_sent();
	login_rsp(0, TEXT("AuthMethod=CHAP\0"), 0, 0);
	next_sent();
	login_rsp(0, TEXT("CHAP_A=5\0CHAP_I=7\0CHAP_C=0x00010203\0"), 0, 0);
	next_sent();
	login_rsp(TRANSIT(0, 1), TEXT("CHAP_N=tgt\0CHAP_R=0x00000000000000000000000000000000\0"), 0,
		  0);
	CHECK_EQ(S->state, ISCSI_S_FAILED);
	CHECK_CONTAINS(S->error, "target's CHAP response is wrong");
	CHECK_EQ(fk.closes, 1);
	/* the target skipping its part of mutual CHAP is refused too */
	new_session(&c);
	next_sent();
	login_rsp(0, TEXT("AuthMethod=CHAP\0"), 0, 0);
	next_sent();
	login_rsp(0, TEXT("CHAP_A=5\0CHAP_I=7\0CHAP_C=0x00010203\0"), 0, 0);
	next_sent();
	login_rsp(TRANSIT(0, 1), 0, 0, 0, 0);
	CHECK_EQ(S->state, ISCSI_S_FAILED);
	CHECK_CONTAINS(S->error, "did not authenticate itself");
}

static void test_login_refusals(void)
{
	struct iscsi_config c = target_cfg();
	struct iscsi_task t;
	new_session(&c);
	next_sent();
	login_rsp(0, 0, 0, 2, 1); /* 0x0201 authentication failure */
	CHECK_EQ(S->state, ISCSI_S_FAILED);
	CHECK_CONTAINS(S->error, "authentication failed");
	memset(&t, 0, sizeof(t));
	t.done = (void (*)(struct iscsi_task *))abort;
	CHECK_EQ(iscsi_submit(S, &t), -EPERM);
	/* target error (class 3): retried after a backoff */
	new_session(&c);
	next_sent();
	login_rsp(0, 0, 0, 3, 0);
	CHECK_EQ(S->state, ISCSI_S_BACKOFF);
	fk.now += 200000;
	iscsi_poll(S);
	CHECK_EQ(fk.connects, 2);
	/* answers outside what was offered end the login */
	static const char *const bad[] = { "ErrorRecoveryLevel=1", "MaxBurstLength=999999999",
					   "HeaderDigest=CRC32C", "DataPDUInOrder=No",
					   "MaxRecvDataSegmentLength=12", "FirstBurstLength=x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		new_session(&c);
		next_sent();
		login_rsp(TRANSIT(0, 1), 0, 0, 0, 0);
		next_sent();
		login_rsp(TRANSIT(1, 3), bad[i], strlen(bad[i]) + 1, 0, 0);
		CHECK_EQ(S->state, ISCSI_S_FAILED);
		CHECK_CONTAINS(S->error, "bad answer");
	}
	/* malformed text and an out-of-sequence StatSN */
	new_session(&c);
	next_sent();
	login_rsp(TRANSIT(0, 1), "NoEquals", 8, 0, 0);
	CHECK_CONTAINS(S->error, "malformed");
	new_session(&c);
	next_sent();
	login_rsp(TRANSIT(0, 1), 0, 0, 0, 0);
	next_sent();
	fk.statsn += 5;
	login_rsp(TRANSIT(1, 3), 0, 0, 0, 0);
	CHECK_CONTAINS(S->error, "out-of-sequence StatSN");
	CHECK_EQ(S->state, ISCSI_S_BACKOFF);
}

/* ---- full feature phase ---- */
static int done_calls;
static void task_done(struct iscsi_task *t)
{
	(void)t;
	done_calls++;
}

static void task_setup(struct iscsi_task *t, enum iscsi_dir dir, void *buf, uint32_t len)
{
	memset(t, 0, sizeof(*t));
	t->dir = dir, t->buf = buf, t->len = len, t->lun = 1, t->done = task_done;
	scsi_cdb_rw16(t->cdb, dir == ISCSI_DIR_WRITE, 0, len / 512);
}

static void logged_in(const char *oper, size_t len)
{
	struct iscsi_config c = target_cfg();
	new_session(&c);
	login_plain(oper, len);
	fk.pos = fk.len;
	done_calls = 0;
}

static void scsi_rsp(uint32_t itt, uint8_t status, const void *sense, uint32_t slen)
{
	struct iscsi_bhs h;
	uint8_t data[64];
	rsp_init(&h, ISCSI_OP_SCSI_RSP, ISCSI_FLAG_FINAL, itt);
	h.spec[1] = status;
	data[0] = 0, data[1] = (uint8_t)slen;
	if (slen)
		memcpy(data + 2, sense, slen);
	fk.exp_cmdsn++;
	h.exp_cmdsn = iscsi_be32(fk.exp_cmdsn);
	h.max_cmdsn = iscsi_be32(fk.exp_cmdsn + fk.window - 1);
	deliver(&h, data, slen ? slen + 2 : 0);
}

static void data_in(uint32_t itt, uint32_t datasn, uint32_t off, const uint8_t *d, uint32_t n,
		    int status)
{
	struct iscsi_bhs h;
	rsp_init(&h, ISCSI_OP_DATA_IN, status ? ISCSI_FLAG_FINAL | ISCSI_DATAIN_STATUS : 0, itt);
	if (!status)
		fk.statsn--; /* only status-bearing PDUs advance StatSN */
	else
		fk.exp_cmdsn++;
	h.exp_cmdsn = iscsi_be32(fk.exp_cmdsn);
	h.max_cmdsn = iscsi_be32(fk.exp_cmdsn + fk.window - 1);
	h.data_sn = iscsi_be32(datasn);
	h.offset = iscsi_be32(off);
	deliver(&h, d + off, n);
}

static void test_read(void)
{
	static uint8_t src[8192], dst[8192];
	struct iscsi_task t;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7);
	logged_in(TEXT(OPER));
	task_setup(&t, ISCSI_DIR_READ, dst, sizeof(dst));
	CHECK_EQ(iscsi_submit(S, &t), 0);
	CHECK(next_sent());
	CHECK_EQ(pdu.h.opcode, ISCSI_OP_SCSI_CMD);
	CHECK_EQ(pdu.h.flags, ISCSI_FLAG_FINAL | ISCSI_CMD_READ | ISCSI_CMD_ATTR_SIMPLE);
	CHECK_EQ(iscsi_be32(pdu.h.statsn), 1); /* CmdSN */
	CHECK_EQ(iscsi_be32(pdu.h.exp_cmdsn), S->exp_statsn); /* ExpStatSN */
	CHECK_EQ(iscsi_be32(pdu.h.ttt), 8192); /* EDTL */
	CHECK_EQ(pdu.h.lun[1], 1);
	uint32_t itt = iscsi_be32(pdu.h.itt);
	data_in(itt, 0, 0, src, 5000, 0);
	CHECK_EQ(done_calls, 0);
	data_in(itt, 1, 5000, src, 3192, 1);
	CHECK_EQ(done_calls, 1);
	CHECK_EQ(t.result, 0);
	CHECK(!memcmp(src, dst, sizeof(dst)));
	CHECK_EQ(iscsi_tasks_pending(S), 0);
	/* a stale answer for the finished ITT is ignored, StatSN still counted */
	scsi_rsp(itt, 0, 0, 0);
	CHECK_EQ(S->state, ISCSI_S_FULL);
	CHECK_EQ(done_calls, 1);
}

/* Latency stamps: queued with the command, on the wire once the transport
 * took its last byte (not while the window is shut), the response with
 * the status-bearing PDU. */
static void test_latency_stamps(void)
{
	static uint8_t src[8192], dst[8192];
	struct iscsi_task t;
	logged_in(TEXT(OPER));
	task_setup(&t, ISCSI_DIR_READ, dst, sizeof(dst));
	fk.stall = 1;
	CHECK_EQ(iscsi_submit(S, &t), 0);
	CHECK(t.t_queued != 0);
	CHECK_EQ(t.t_wire, 0); /* nothing taken yet */
	iscsi_poll(S);
	CHECK_EQ(t.t_wire, 0);
	fk.stall = 0; /* the window opens */
	iscsi_poll(S);
	CHECK(t.t_wire > t.t_queued);
	CHECK(next_sent());
	uint32_t itt = iscsi_be32(pdu.h.itt);
	data_in(itt, 0, 0, src, 5000, 0);
	CHECK_EQ(t.t_response, 0); /* data without status */
	data_in(itt, 1, 5000, src, 3192, 1);
	CHECK_EQ(done_calls, 1);
	CHECK(t.t_response > t.t_wire);
}

static void test_read_sequence_errors(void)
{
	static uint8_t src[8192], dst[8192];
	struct iscsi_task t;
	logged_in(TEXT(OPER));
	task_setup(&t, ISCSI_DIR_READ, dst, 4096);
	iscsi_submit(S, &t);
	next_sent();
	uint32_t itt = iscsi_be32(pdu.h.itt);
	data_in(itt, 1, 0, src, 512, 0); /* DataSN 1 first */
	CHECK_CONTAINS(S->error, "Data-In out of sequence");
	CHECK_EQ(S->state, ISCSI_S_BACKOFF);
	CHECK_EQ(done_calls, 0); /* not failed: re-issued after reconnecting */
	/* reconnect: new login, the same command goes out again */
	fk.now += 200000;
	iscsi_poll(S);
	CHECK_EQ(fk.connects, 2);
	iscsi_conn_up(S);
	fk.statsn = 500;
	login_plain(TEXT(OPER));
	CHECK(next_sent());
	CHECK_EQ(pdu.h.opcode, ISCSI_OP_SCSI_CMD);
	CHECK_EQ(((struct iscsi_scsi_cmd *)&pdu.h)->cdb[0], SCSI_READ_16);
	itt = iscsi_be32(pdu.h.itt);
	data_in(itt, 0, 0, src, 4096, 1);
	CHECK_EQ(done_calls, 1);
	CHECK_EQ(t.result, 0);
	/* Data-In past the buffer */
	task_setup(&t, ISCSI_DIR_READ, dst, 512);
	iscsi_submit(S, &t);
	next_sent();
	data_in(iscsi_be32(pdu.h.itt), 0, 0, src, 1024, 1);
	CHECK_CONTAINS(S->error, "out of sequence");
	/* GOOD status with less data than promised */
	fk.now += 1000000;
	iscsi_poll(S);
	iscsi_conn_up(S);
	login_plain(TEXT(OPER));
	next_sent();
	data_in(iscsi_be32(pdu.h.itt), 0, 0, src, 256, 1);
	CHECK_CONTAINS(S->error, "read got 256 bytes");
}

static void test_unit_attention_and_sense(void)
{
	static uint8_t dst[512];
	static const uint8_t ua[18] = { 0x70, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29, 0 };
	static const uint8_t lba[18] = { 0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x21, 0 };
	struct iscsi_task t;
	logged_in(TEXT(OPER));
	task_setup(&t, ISCSI_DIR_READ, dst, 512);
	iscsi_submit(S, &t);
	next_sent();
	scsi_rsp(iscsi_be32(pdu.h.itt), SCSI_STATUS_CHECK_CONDITION, ua, sizeof(ua));
	CHECK_EQ(done_calls, 0);
	CHECK(next_sent()); /* retried with a new CmdSN */
	CHECK_EQ(iscsi_be32(pdu.h.statsn), 2);
	scsi_rsp(iscsi_be32(pdu.h.itt), SCSI_STATUS_CHECK_CONDITION, lba, sizeof(lba));
	CHECK_EQ(done_calls, 1);
	CHECK_EQ(t.result, -EIO);
	CHECK_CONTAINS(t.message, "ILLEGAL REQUEST");
	CHECK_CONTAINS(t.message, "out of range");
	/* CHECK CONDITION without sense, an unknown status, a target failure */
	task_setup(&t, ISCSI_DIR_NONE, 0, 0);
	iscsi_submit(S, &t);
	next_sent();
	scsi_rsp(iscsi_be32(pdu.h.itt), SCSI_STATUS_CHECK_CONDITION, 0, 0);
	CHECK_EQ(t.result, -EIO);
	CHECK_CONTAINS(t.message, "without usable sense");
	iscsi_submit(S, &t);
	next_sent();
	scsi_rsp(iscsi_be32(pdu.h.itt), 0x40, 0, 0);
	CHECK_CONTAINS(t.message, "SCSI status 0x40");
	/* a SenseLength beyond the segment drops the connection */
	iscsi_submit(S, &t);
	next_sent();
	struct iscsi_bhs h;
	rsp_init(&h, ISCSI_OP_SCSI_RSP, ISCSI_FLAG_FINAL, iscsi_be32(pdu.h.itt));
	h.spec[1] = SCSI_STATUS_CHECK_CONDITION;
	deliver(&h, "\x00\x40xx", 4);
	CHECK_CONTAINS(S->error, "SenseLength");
}

static void check_data_out(uint32_t itt, uint32_t ttt, uint32_t datasn, uint32_t off,
			   uint32_t len, int final, const uint8_t *src)
{
	CHECK(next_sent());
	CHECK_EQ(pdu.h.opcode, ISCSI_OP_DATA_OUT);
	CHECK_EQ(iscsi_be32(pdu.h.itt), itt);
	CHECK_EQ(iscsi_be32(pdu.h.ttt), ttt);
	CHECK_EQ(iscsi_be32(pdu.h.data_sn), datasn);
	CHECK_EQ(iscsi_be32(pdu.h.offset), off);
	CHECK_EQ(pdu.len, len);
	CHECK_EQ(!!(pdu.h.flags & ISCSI_FLAG_FINAL), final);
	CHECK(!memcmp(pdu.data, src + off, len));
}

static void r2t(uint32_t itt, uint32_t ttt, uint32_t sn, uint32_t off, uint32_t len)
{
	struct iscsi_bhs h;
	rsp_init(&h, ISCSI_OP_R2T, ISCSI_FLAG_FINAL, itt);
	fk.statsn--;
	h.ttt = iscsi_be32(ttt);
	h.data_sn = iscsi_be32(sn);
	h.offset = iscsi_be32(off);
	h.count = iscsi_be32(len);
	deliver(&h, 0, 0);
}

static void test_write_r2t(void)
{
	static uint8_t src[20480];
	struct iscsi_task t;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i ^ (i >> 8));
	logged_in(TEXT(OPER)); /* InitialR2T=Yes, ImmediateData=No, MRDSL 8192 */
	task_setup(&t, ISCSI_DIR_WRITE, src, sizeof(src));
	iscsi_submit(S, &t);
	CHECK(next_sent());
	CHECK_EQ(pdu.h.flags, ISCSI_FLAG_FINAL | ISCSI_CMD_WRITE | ISCSI_CMD_ATTR_SIMPLE);
	CHECK_EQ(pdu.len, 0);
	CHECK(!next_sent());
	uint32_t itt = iscsi_be32(pdu.h.itt);
	r2t(itt, 0x55, 0, 0, 16384);
	check_data_out(itt, 0x55, 0, 0, 8192, 0, src);
	check_data_out(itt, 0x55, 1, 8192, 8192, 1, src);
	r2t(itt, 0x56, 1, 16384, 4096);
	check_data_out(itt, 0x56, 0, 16384, 4096, 1, src);
	scsi_rsp(itt, 0, 0, 0);
	CHECK_EQ(t.result, 0);
	/* an R2T past the end or out of order drops the connection */
	iscsi_submit(S, &t);
	next_sent();
	r2t(iscsi_be32(pdu.h.itt), 1, 0, 16384, 8192);
	CHECK_CONTAINS(S->error, "bad R2T");
}

static const char OPER_IMM[] = "InitialR2T=No\0ImmediateData=Yes\0FirstBurstLength=16384\0"
			       "MaxRecvDataSegmentLength=8192\0";

static void test_write_immediate_unsolicited(void)
{
	static uint8_t src[20480];
	struct iscsi_task t;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 13);
	logged_in(TEXT(OPER_IMM));
	fk.send_limit = 1000; /* a slow transport: bytes wait in the queue */
	task_setup(&t, ISCSI_DIR_WRITE, src, sizeof(src));
	iscsi_submit(S, &t);
	for (int i = 0; i < 100; i++)
		iscsi_poll(S);
	CHECK(next_sent());
	CHECK_EQ(pdu.h.flags & ISCSI_FLAG_FINAL, 0); /* unsolicited Data-Out follows */
	CHECK_EQ(pdu.len, 8192); /* immediate data */
	CHECK(!memcmp(pdu.data, src, 8192));
	uint32_t itt = iscsi_be32(pdu.h.itt);
	check_data_out(itt, ISCSI_RSVD_TAG, 0, 8192, 8192, 1, src); /* rest of the first burst */
	CHECK(!next_sent());
	r2t(itt, 9, 0, 16384, 4096);
	for (int i = 0; i < 100; i++)
		iscsi_poll(S);
	check_data_out(itt, 9, 0, 16384, 4096, 1, src);
	scsi_rsp(itt, 0, 0, 0);
	CHECK_EQ(t.result, 0);
	CHECK_EQ(done_calls, 1);
}

static void test_cmdsn_window(void)
{
	static struct iscsi_task t[3];
	logged_in(TEXT(OPER));
	/* MaxCmdSN = ExpCmdSN: one command at a time */
	struct iscsi_bhs h;
	fk.window = 1;
	rsp_init(&h, ISCSI_OP_NOP_IN, ISCSI_FLAG_FINAL, ISCSI_RSVD_TAG);
	fk.statsn--;
	deliver(&h, 0, 0);
	S->max_cmdsn = 1; /* the window may only grow from answers; start it closed */
	for (int i = 0; i < 3; i++) {
		task_setup(&t[i], ISCSI_DIR_NONE, 0, 0);
		CHECK_EQ(iscsi_submit(S, &t[i]), 0);
	}
	CHECK(next_sent());
	CHECK(!next_sent());
	scsi_rsp(iscsi_be32(pdu.h.itt), 0, 0, 0);
	CHECK(next_sent());
	CHECK_EQ(iscsi_be32(pdu.h.statsn), 2);
	CHECK(!next_sent());
	fk.window = 8;
	scsi_rsp(iscsi_be32(pdu.h.itt), 0, 0, 0);
	CHECK(next_sent());
	CHECK_EQ(done_calls, 2);
}

static void test_nop_and_keepalive(void)
{
	struct iscsi_bhs h;
	logged_in(TEXT(OPER));
	/* the target pings with a TTT: answer with it, ITT reserved */
	rsp_init(&h, ISCSI_OP_NOP_IN, ISCSI_FLAG_FINAL, ISCSI_RSVD_TAG);
	fk.statsn--;
	h.ttt = iscsi_be32(0x1234);
	deliver(&h, 0, 0);
	CHECK(next_sent());
	CHECK_EQ(pdu.h.opcode, ISCSI_OP_NOP_OUT | ISCSI_OP_IMMEDIATE);
	CHECK_EQ(iscsi_be32(pdu.h.itt), ISCSI_RSVD_TAG);
	CHECK_EQ(iscsi_be32(pdu.h.ttt), 0x1234);
	/* idle: we ping, the target answers */
	fk.now += 6000000;
	iscsi_poll(S);
	CHECK(next_sent());
	CHECK_EQ(iscsi_be32(pdu.h.ttt), ISCSI_RSVD_TAG);
	uint32_t itt = iscsi_be32(pdu.h.itt);
	CHECK(itt != ISCSI_RSVD_TAG);
	rsp_init(&h, ISCSI_OP_NOP_IN, ISCSI_FLAG_FINAL, itt);
	deliver(&h, 0, 0);
	CHECK_EQ(S->ping_itt, 0);
	CHECK_EQ(S->state, ISCSI_S_FULL);
	/* a NOP-In for a tag we never used */
	rsp_init(&h, ISCSI_OP_NOP_IN, ISCSI_FLAG_FINAL, 0x77);
	deliver(&h, 0, 0);
	CHECK_CONTAINS(S->error, "never sent");
	/* a silent target: pinged, then dropped */
	logged_in(TEXT(OPER));
	fk.now += 6000000;
	iscsi_poll(S);
	CHECK(S->ping_itt);
	fk.now += 6000000;
	iscsi_poll(S);
	CHECK_CONTAINS(S->error, "did not answer NOP-Out");
	CHECK_EQ(S->state, ISCSI_S_BACKOFF);
}

static void test_timeout(void)
{
	struct iscsi_task t;
	logged_in(TEXT(OPER));
	task_setup(&t, ISCSI_DIR_NONE, 0, 0);
	iscsi_submit(S, &t);
	next_sent();
	uint32_t itt = iscsi_be32(pdu.h.itt);
	/* the target goes away; reconnects keep failing */
	iscsi_conn_down(S, -EIO, "target closed the connection");
	for (int i = 0; i < 100 && !done_calls; i++) {
		fk.now += 1000000;
		iscsi_poll(S);
		iscsi_conn_down(S, -ECONNREFUSED, "connection refused");
	}
	CHECK_EQ(done_calls, 1);
	CHECK_EQ(t.result, -ETIMEDOUT);
	CHECK_CONTAINS(t.message, "no answer within 60 s");
	CHECK_CONTAINS(t.message, "connection refused");
	CHECK(fk.now <= 62000000);
	(void)itt;
}

/* Down for longer than the task timeout: new tasks fail at once, until a login succeeds. */
static void test_down_past_the_timeout_fails_fast(void)
{
	struct iscsi_task t, u;
	logged_in(TEXT(OPER));
	iscsi_conn_down(S, -EIO, "target closed the connection");
	task_setup(&t, ISCSI_DIR_NONE, 0, 0);
	CHECK_EQ(iscsi_submit(S, &t), 0); /* within the timeout it waits */
	for (int i = 0; i < 61; i++) {
		fk.now += 1000000;
		iscsi_poll(S);
		iscsi_conn_down(S, -ECONNREFUSED, "connection refused");
	}
	CHECK_EQ(t.result, -ETIMEDOUT);
	task_setup(&u, ISCSI_DIR_NONE, 0, 0);
	CHECK_EQ(iscsi_submit(S, &u), -ETIMEDOUT);
	CHECK_CONTAINS(S->error, "connection refused");
	/* the target is back: the next login ends it */
	while (S->state != ISCSI_S_CONNECTING) {
		fk.now += 100000;
		iscsi_poll(S);
	}
	iscsi_conn_up(S);
	login_plain(TEXT(OPER));
	CHECK_EQ(iscsi_submit(S, &u), 0);
}

static void test_malformed_pdus(void)
{
	struct iscsi_bhs h;
	logged_in(TEXT(OPER));
	rsp_init(&h, 0x1c, ISCSI_FLAG_FINAL, 1);
	deliver(&h, 0, 0);
	CHECK_CONTAINS(S->error, "malformed PDU");
	logged_in(TEXT(OPER));
	rsp_init(&h, ISCSI_OP_LOGIN_RSP, ISCSI_FLAG_FINAL, 1);
	deliver(&h, 0, 0);
	CHECK_CONTAINS(S->error, "unexpected opcode");
	logged_in(TEXT(OPER));
	rsp_init(&h, ISCSI_OP_REJECT, ISCSI_FLAG_FINAL, ISCSI_RSVD_TAG);
	h.spec[0] = 0x04;
	deliver(&h, 0, 0);
	CHECK_CONTAINS(S->error, "rejected");
	logged_in(TEXT(OPER));
	uint8_t big[48];
	memset(big, 0, sizeof(big));
	big[0] = ISCSI_OP_NOP_IN;
	iscsi_bhs_set_data_len((struct iscsi_bhs *)big, 0xffffff);
	iscsi_feed(S, big, sizeof(big));
	CHECK_CONTAINS(S->error, "MaxRecvDataSegmentLength");
	logged_in(TEXT(OPER));
	rsp_init(&h, ISCSI_OP_ASYNC, ISCSI_FLAG_FINAL, ISCSI_RSVD_TAG);
	h.data_sn = iscsi_be32(1u << 24); /* event 1: target requests logout */
	deliver(&h, 0, 0);
	CHECK_CONTAINS(S->error, "async event 1");
}

static int found;
static void on_target(void *arg, const char *name, const char *addr)
{
	(void)arg;
	found++;
	if (found == 1) {
		CHECK_STREQ(name, "iqn.a:one");
		CHECK_STREQ(addr, "127.0.0.1:3260,1");
	} else {
		CHECK_STREQ(name, "iqn.b:two");
		CHECK_STREQ(addr, "");
	}
}

static void on_split_target(void *arg, const char *name, const char *addr)
{
	(void)arg;
	if (found++ == 0) {
		CHECK_STREQ(name, "iqn.a:one");
		CHECK_STREQ(addr, "10.0.0.1:3260,1");
	} else {
		CHECK_STREQ(name, "iqn.b:two");
		CHECK_STREQ(addr, "");
	}
}

static void test_discovery_and_logout(void)
{
	struct iscsi_config c;
	memset(&c, 0, sizeof(c));
	new_session(&c);
	CHECK(next_sent());
	CHECK_STREQ(sent_key("SessionType"), "Discovery");
	CHECK(!sent_key("TargetName"));
	login_rsp(TRANSIT(0, 1), 0, 0, 0, 0);
	next_sent();
	CHECK(!sent_key("InitialR2T")); /* session keys are irrelevant here */
	CHECK_STREQ(sent_key("MaxRecvDataSegmentLength"), "8192"); /* long answers come in pieces */
	login_rsp(TRANSIT(1, 3), 0, 0, 0, 0);
	iscsi_poll(S);
	CHECK(next_sent());
	CHECK_EQ(pdu.h.opcode, ISCSI_OP_TEXT_REQ);
	CHECK_STREQ(sent_key("SendTargets"), "All");
	struct iscsi_bhs h;
	rsp_init(&h, ISCSI_OP_TEXT_RSP, ISCSI_FLAG_CONT, iscsi_be32(pdu.h.itt));
	h.ttt = iscsi_be32(3);
	deliver(&h, TEXT("TargetName=iqn.a:one\0TargetAddress=127.0.0.1:3260,1\0"));
	CHECK(next_sent()); /* asks for the rest with the TTT */
	CHECK_EQ(iscsi_be32(pdu.h.ttt), 3);
	CHECK_EQ(pdu.len, 0);
	rsp_init(&h, ISCSI_OP_TEXT_RSP, ISCSI_FLAG_FINAL, iscsi_be32(pdu.h.itt));
	deliver(&h, TEXT("TargetName=iqn.b:two\0"));
	CHECK_EQ(S->discovery_done, 2);
	CHECK(next_sent());
	CHECK_EQ(pdu.h.opcode, ISCSI_OP_LOGOUT_REQ | ISCSI_OP_IMMEDIATE);
	rsp_init(&h, ISCSI_OP_LOGOUT_RSP, ISCSI_FLAG_FINAL, iscsi_be32(pdu.h.itt));
	deliver(&h, 0, 0);
	CHECK_EQ(S->state, ISCSI_S_CLOSED);
	found = 0;
	iscsi_discovery_walk(S, on_target, 0);
	CHECK_EQ(found, 2);
}

/* 6.2, 11.13: a login response cut in two (C bit), a key split at the cut. */
static void test_login_continued(void)
{
	struct iscsi_config c = target_cfg();
	new_session(&c);
	CHECK(next_sent());
	login_rsp(TRANSIT(0, 1), TEXT("AuthMethod=None\0"), 0, 0);
	CHECK(next_sent());
	uint32_t itt = iscsi_be32(pdu.h.itt);
	login_rsp(ISCSI_FLAG_CONT | 1 << 2, TEXT("HeaderDigest=None\0DataDigest=None\0MaxBurstLe"),
		  0, 0);
	CHECK_EQ(S->state, ISCSI_S_LOGIN);
	CHECK(next_sent()); /* an empty request for the rest: same stage, T=0, same ITT */
	CHECK_EQ(pdu.h.opcode, ISCSI_OP_LOGIN_REQ | ISCSI_OP_IMMEDIATE);
	CHECK_EQ(pdu.h.flags, 1 << 2);
	CHECK_EQ(pdu.len, 0);
	CHECK_EQ(iscsi_be32(pdu.h.itt), itt);
	login_rsp(TRANSIT(1, 3), TEXT("ngth=65536\0FirstBurstLength=16384\0ImmediateData=No\0"), 0, 0);
	CHECK_EQ(S->state, ISCSI_S_FULL);
	CHECK_EQ(S->p.max_burst, 65536);
	CHECK_EQ(S->p.first_burst, 16384);
	CHECK_EQ(S->p.immediate_data, 0);
	CHECK(!next_sent());

	/* a piece that also transits breaks the rules */
	new_session(&c);
	next_sent();
	login_rsp(TRANSIT(0, 1) | ISCSI_FLAG_CONT, TEXT("AuthMethod=None\0"), 0, 0);
	CHECK_CONTAINS(S->error, "both the C and the T bit");
	CHECK(S->state != ISCSI_S_LOGIN && S->state != ISCSI_S_FULL);

	/* pieces that never end overflow the buffer: a clear error, no overrun */
	static char big[4096];
	memset(big, 'a', sizeof(big));
	new_session(&c);
	next_sent();
	for (int i = 0; i < 3 && S->state == ISCSI_S_LOGIN; i++) {
		login_rsp(ISCSI_FLAG_CONT, big, sizeof(big), 0, 0);
		next_sent();
	}
	CHECK_CONTAINS(S->error, "exceeds");
}

/* Appendix C, 11.10.3: SendTargets in three pieces, a key cut twice. */
static void test_discovery_split_keys(void)
{
	struct iscsi_config c;
	memset(&c, 0, sizeof(c));
	new_session(&c);
	next_sent();
	login_rsp(TRANSIT(0, 1), 0, 0, 0, 0);
	next_sent();
	login_rsp(TRANSIT(1, 3), 0, 0, 0, 0);
	iscsi_poll(S);
	CHECK(next_sent());
	uint32_t itt = iscsi_be32(pdu.h.itt), cmdsn = iscsi_be32(pdu.h.statsn);
	struct iscsi_bhs h;
	rsp_init(&h, ISCSI_OP_TEXT_RSP, ISCSI_FLAG_CONT, itt);
	h.ttt = iscsi_be32(9);
	deliver(&h, TEXT("TargetName=iqn.a:one\0TargetAddr"));
	CHECK(next_sent());
	CHECK_EQ(pdu.h.opcode, ISCSI_OP_TEXT_REQ);
	CHECK_EQ(pdu.h.flags, ISCSI_FLAG_FINAL);
	CHECK_EQ(iscsi_be32(pdu.h.itt), itt); /* the same exchange */
	CHECK_EQ(iscsi_be32(pdu.h.ttt), 9);
	CHECK_EQ(iscsi_be32(pdu.h.statsn), cmdsn + 1); /* CmdSN: not immediate */
	CHECK_EQ(pdu.len, 0);
	rsp_init(&h, ISCSI_OP_TEXT_RSP, ISCSI_FLAG_CONT, itt);
	h.ttt = iscsi_be32(10);
	deliver(&h, TEXT("ess=10.0.0.1:3260,1\0TargetName=iqn.b:t"));
	CHECK(next_sent());
	CHECK_EQ(iscsi_be32(pdu.h.itt), itt);
	CHECK_EQ(iscsi_be32(pdu.h.ttt), 10);
	rsp_init(&h, ISCSI_OP_TEXT_RSP, ISCSI_FLAG_FINAL, itt);
	deliver(&h, TEXT("wo\0"));
	CHECK_EQ(S->discovery_done, 2);
	found = 0;
	iscsi_discovery_walk(S, on_split_target, 0);
	CHECK_EQ(found, 2);

	/* F and C together is a protocol error */
	memset(&c, 0, sizeof(c));
	new_session(&c);
	next_sent();
	login_rsp(TRANSIT(0, 1), 0, 0, 0, 0);
	next_sent();
	login_rsp(TRANSIT(1, 3), 0, 0, 0, 0);
	iscsi_poll(S);
	next_sent();
	rsp_init(&h, ISCSI_OP_TEXT_RSP, ISCSI_FLAG_FINAL | ISCSI_FLAG_CONT, iscsi_be32(pdu.h.itt));
	deliver(&h, TEXT("TargetName=iqn.a:one\0"));
	CHECK_CONTAINS(S->error, "both the F and the C bit");
}

/* 11.14: Logout Request, reason 0, after the tasks in flight; then the TCP close. */
static void test_logout(void)
{
	static uint8_t buf[512];
	struct iscsi_task t;
	struct iscsi_bhs h;
	logged_in(TEXT(OPER));
	iscsi_logout(S);
	CHECK(next_sent()); /* at once: nothing in flight */
	CHECK_EQ(pdu.h.opcode, ISCSI_OP_LOGOUT_REQ | ISCSI_OP_IMMEDIATE);
	CHECK_EQ(pdu.h.flags, ISCSI_FLAG_FINAL); /* reason code 0: close the session */
	CHECK_EQ(iscsi_be32(pdu.h.ttt) >> 16, 0); /* CID 0 */
	CHECK_EQ(pdu.len, 0);
	CHECK_EQ(S->state, ISCSI_S_LOGOUT);
	int closes = fk.closes;
	rsp_init(&h, ISCSI_OP_LOGOUT_RSP, ISCSI_FLAG_FINAL, iscsi_be32(pdu.h.itt));
	deliver(&h, 0, 0);
	CHECK_EQ(S->state, ISCSI_S_CLOSED);
	CHECK_EQ(fk.closes, closes + 1);

	/* a task in flight goes first; then the logout */
	logged_in(TEXT(OPER));
	task_setup(&t, ISCSI_DIR_READ, buf, sizeof(buf));
	CHECK_EQ(iscsi_submit(S, &t), 0);
	CHECK(next_sent());
	uint32_t itt = iscsi_be32(pdu.h.itt);
	iscsi_logout(S);
	iscsi_poll(S);
	CHECK(!next_sent());
	data_in(itt, 0, 0, buf, sizeof(buf), 1);
	CHECK_EQ(t.result, 0);
	iscsi_poll(S);
	CHECK(next_sent());
	CHECK_EQ(pdu.h.opcode, ISCSI_OP_LOGOUT_REQ | ISCSI_OP_IMMEDIATE);

	/* a target that never answers: closed after the logout timeout, no reconnect */
	closes = fk.closes;
	fk.now += 6000000;
	iscsi_poll(S);
	CHECK_EQ(S->state, ISCSI_S_CLOSED);
	CHECK_EQ(fk.closes, closes + 1);
	CHECK_EQ(fk.connects, 1);
	CHECK_CONTAINS(S->error, "no logout response");

	/* not logged in yet: closed at once, nothing sent */
	struct iscsi_config c = target_cfg();
	new_session(&c);
	fk.pos = fk.len;
	iscsi_logout(S);
	CHECK_EQ(S->state, ISCSI_S_CLOSED);
	CHECK(!next_sent());
}

static void test_digests_on_the_wire(void)
{
	static uint8_t src[4096], dst[4096];
	struct iscsi_task t;
	struct iscsi_config c = target_cfg();
	c.header_digest = c.data_digest = 1;
	new_session(&c);
	next_sent();
	login_rsp(TRANSIT(0, 1), 0, 0, 0, 0);
	next_sent();
	CHECK_STREQ(sent_key("HeaderDigest"), "CRC32C,None");
	login_rsp(TRANSIT(1, 3), TEXT("HeaderDigest=CRC32C\0DataDigest=CRC32C\0"), 0, 0);
	CHECK(S->rx.hdr_digest && S->rx.data_digest);
	fk.pos = fk.len;
	task_setup(&t, ISCSI_DIR_READ, dst, sizeof(dst));
	done_calls = 0;
	iscsi_submit(S, &t);
	CHECK(next_sent());
	CHECK_EQ(fk.pos, fk.len); /* 48 + 4 digest bytes, parsed */
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)i;
	data_in(iscsi_be32(pdu.h.itt), 0, 0, src, 4096, 1);
	CHECK_EQ(t.result, 0);
	CHECK(!memcmp(src, dst, 4096));
}

/* header_digest=crc32c in a URL: CRC32C alone is offered, and a login without it fails. */
static void test_digests_required(void)
{
	struct iscsi_config c = target_cfg();
	c.header_digest = c.data_digest = ISCSI_DIGEST_REQUIRE;
	new_session(&c);
	next_sent();
	login_rsp(TRANSIT(0, 1), 0, 0, 0, 0);
	next_sent();
	CHECK_STREQ(sent_key("HeaderDigest"), "CRC32C");
	CHECK_STREQ(sent_key("DataDigest"), "CRC32C");
	login_rsp(TRANSIT(1, 3), TEXT("HeaderDigest=None\0DataDigest=CRC32C\0"), 0, 0);
	CHECK_EQ(S->state, ISCSI_S_FAILED);
	CHECK_CONTAINS(S->error, "bad answer HeaderDigest=None");
	/* a target that leaves the keys out agrees to nothing */
	new_session(&c);
	next_sent();
	login_rsp(TRANSIT(0, 1), 0, 0, 0, 0);
	next_sent();
	login_rsp(TRANSIT(1, 3), 0, 0, 0, 0);
	CHECK_EQ(S->state, ISCSI_S_FAILED);
	CHECK_CONTAINS(S->error, "did not agree to CRC32C digests");
	/* and one that agrees gets digests both ways */
	new_session(&c);
	next_sent();
	login_rsp(TRANSIT(0, 1), 0, 0, 0, 0);
	next_sent();
	login_rsp(TRANSIT(1, 3), TEXT("HeaderDigest=CRC32C\0DataDigest=CRC32C\0"), 0, 0);
	CHECK_EQ(S->state, ISCSI_S_FULL);
	CHECK(S->p.header_digest && S->p.data_digest);
}

static void on_hostile_name(void *arg, const char *name, const char *addr)
{
	(void)arg;
	found++;
	CHECK_STREQ(name, "iqn.a:?]0;pwned??[2J");
	CHECK_STREQ(addr, "10.0.0.1:3260,1?[H");
}

/* Issue 17 finding 11: nothing a target says reaches a console with control characters. */
static void test_target_strings_filtered(void)
{
	struct iscsi_config c;
	memset(&c, 0, sizeof(c));
	new_session(&c);
	next_sent();
	login_rsp(TRANSIT(0, 1), 0, 0, 0, 0);
	next_sent();
	login_rsp(TRANSIT(1, 3), 0, 0, 0, 0);
	iscsi_poll(S);
	CHECK(next_sent());
	struct iscsi_bhs h;
	rsp_init(&h, ISCSI_OP_TEXT_RSP, ISCSI_FLAG_FINAL, iscsi_be32(pdu.h.itt));
	deliver(&h, TEXT("TargetName=iqn.a:\x1b]0;pwned\x07\x1b[2J\0"
			 "TargetAddress=10.0.0.1:3260,1\x9b[H\0"));
	found = 0;
	iscsi_discovery_walk(S, on_hostile_name, 0);
	CHECK_EQ(found, 1);
	/* a refused answer is quoted in the error, tamed */
	struct iscsi_config t = target_cfg();
	new_session(&t);
	next_sent();
	login_rsp(TRANSIT(0, 1), 0, 0, 0, 0);
	next_sent();
	login_rsp(TRANSIT(1, 3), TEXT("MaxBurstLength=\x1b[31mred\r\n\0"), 0, 0);
	CHECK_EQ(S->state, ISCSI_S_FAILED);
	CHECK_CONTAINS(S->error, "bad answer MaxBurstLength=?[31mred??");
	for (const char *p = S->error; *p; p++)
		CHECK(*p >= 0x20 && *p < 0x7f);
}

static int refuse_wait(void *arg)
{
	(void)arg;
	fk.now += 100000;
	if (S->state == ISCSI_S_CONNECTING)
		iscsi_conn_down(S, -ECONNREFUSED, "connection refused");
	return 0;
}

static void test_wait_login_gives_up_on_refusals(void)
{
	struct iscsi_config c = target_cfg();
	static struct iscsi_session sess;
	memset(&sess, 0, sizeof(sess));
	memset(&fk, 0, sizeof(fk));
	S = &sess;
	strcpy(c.host, "10.0.2.2"), c.port = 3260;
	strcpy(c.initiator, "iqn.x:y");
	CHECK_EQ(iscsi_session_start(S, &c, &fops, 0), 0);
	CHECK_EQ(iscsi_wait_login(S, 60000000, refuse_wait, 0), -ECONNREFUSED);
	CHECK_EQ(fk.connects, ISCSI_REFUSED_TRIES);
	CHECK(fk.now < 2000000);
	CHECK_CONTAINS(S->error, "connection refused");
}

static int unresolved_wait(void *arg)
{
	(void)arg;
	fk.now += 100000;
	if (S->state == ISCSI_S_CONNECTING)
		iscsi_conn_down(S, -EHOSTUNREACH, "cannot resolve host 'nosuch.test'");
	return 0;
}

/* A host name that does not resolve ends the login at once; the session
 * itself would retry (a disk in use keeps trying after a DNS outage). */
static void test_login_gives_up_on_unresolved_name(void)
{
	struct iscsi_config c = target_cfg();
	static struct iscsi_session sess;
	memset(&sess, 0, sizeof(sess));
	memset(&fk, 0, sizeof(fk));
	S = &sess;
	strcpy(c.host, "nosuch.test"), c.port = 3260;
	strcpy(c.initiator, "iqn.x:y");
	CHECK_EQ(iscsi_session_start(S, &c, &fops, 0), 0);
	CHECK_EQ(iscsi_login_status(S, 60000000), -EINPROGRESS);
	CHECK_EQ(iscsi_wait_login(S, 60000000, unresolved_wait, 0), -EHOSTUNREACH);
	CHECK_EQ(fk.connects, 1);
	CHECK_EQ(S->state, ISCSI_S_BACKOFF);
	CHECK_CONTAINS(S->error, "cannot resolve host 'nosuch.test'");
	fk.now += 10000000;
	iscsi_poll(S);
	CHECK_EQ(fk.connects, 2); /* not given up for good */
}

/* ---- issue 17: a target that fills the send queue, or breaks the protocol again and again ---- */

/* The send queue holds what it says: nothing ran past s->tx[]. */
static void check_queue_sane(void)
{
	CHECK(S->tx_head <= S->tx_tail);
	CHECK(S->tx_tail <= ISCSI_TX_CAP);
}

/* The target pings with `len` bytes (a TTT): hako queues a NOP-Out echoing them. */
static void target_ping(uint32_t len)
{
	static uint8_t data[ISCSI_TX_DATA_MAX];
	struct iscsi_bhs h;
	rsp_init(&h, ISCSI_OP_NOP_IN, ISCSI_FLAG_FINAL, ISCSI_RSVD_TAG);
	fk.statsn--; /* a ping carries no status */
	h.ttt = iscsi_be32(0x99);
	deliver(&h, data, len);
}

/* With the transport stalled, pings until the queue is exactly full. */
static void fill_queue(void)
{
	fk.stall = 1;
	while (ISCSI_TX_CAP - (S->tx_tail - S->tx_head) >= 48 + 8000)
		target_ping(8000);
	size_t left = ISCSI_TX_CAP - (S->tx_tail - S->tx_head);
	if (left >= 48 + 512)
		target_ping((uint32_t)(left - 48) & ~3u);
	CHECK(!iscsi_tx_room(S, 0)); /* not even a bare header fits */
	check_queue_sane();
}

static void discovery_logged_in(void)
{
	struct iscsi_config c;
	memset(&c, 0, sizeof(c));
	new_session(&c);
	next_sent();
	login_rsp(TRANSIT(0, 1), 0, 0, 0, 0);
	next_sent();
	login_rsp(TRANSIT(1, 3), 0, 0, 0, 0);
	CHECK_EQ(S->state, ISCSI_S_FULL);
	iscsi_poll(S); /* SendTargets=All */
	fk.pos = fk.len - 48 - 16; /* that request: its header and its 16 bytes */
	CHECK(next_sent());
	CHECK_EQ(pdu.h.opcode, ISCSI_OP_TEXT_REQ);
}

/* A continued Text Response (F=0) with a little text, for the exchange's ITT. */
static void text_piece(uint32_t itt)
{
	struct iscsi_bhs h;
	rsp_init(&h, ISCSI_OP_TEXT_RSP, 0, itt);
	h.ttt = iscsi_be32(5);
	deliver(&h, TEXT("X=y\0"));
}

static void test_text_with_the_queue_full(void)
{
	discovery_logged_in();
	uint32_t itt = iscsi_be32(pdu.h.itt);
	fill_queue();
	text_piece(itt); /* answering it would need room the queue does not have */
	check_queue_sane();
	CHECK_EQ(S->state, ISCSI_S_BACKOFF);
	CHECK_CONTAINS(S->error, "does not read what it asked for");
	fk.stall = 0;
}

static void test_logout_with_the_queue_full(void)
{
	logged_in(TEXT(OPER));
	fill_queue();
	iscsi_logout(S);
	iscsi_poll(S); /* the logout is wanted, but does not fit yet */
	check_queue_sane();
	CHECK_EQ(S->state, ISCSI_S_FULL);
	CHECK_EQ(S->logout_wanted, 1);
	fk.stall = 0; /* the target reads again */
	iscsi_poll(S);
	iscsi_poll(S);
	CHECK_EQ(S->state, ISCSI_S_LOGOUT);
	int logouts = 0;
	while (next_sent())
		logouts += pdu.h.opcode == (ISCSI_OP_LOGOUT_REQ | ISCSI_OP_IMMEDIATE);
	CHECK_EQ(logouts, 1);
}

static const char OPER_HUGE[] = "HeaderDigest=None\0DataDigest=None\0InitialR2T=Yes\0"
				"ImmediateData=No\0MaxBurstLength=262144\0FirstBurstLength=65536\0"
				"MaxRecvDataSegmentLength=16777215\0";

/* RFC 7143 13.12: a target that can take 16 MiB PDUs still gets ones the queue holds. */
static void test_huge_max_recv_dsl_is_clamped(void)
{
	static uint8_t src[256 * 1024];
	struct iscsi_task t;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 29 + (i >> 12));
	logged_in(TEXT(OPER_HUGE));
	CHECK_EQ(S->p.target_max_recv_dsl, ISCSI_TX_DATA_MAX);
	task_setup(&t, ISCSI_DIR_WRITE, src, sizeof(src));
	iscsi_submit(S, &t);
	CHECK(next_sent());
	uint32_t itt = iscsi_be32(pdu.h.itt);
	r2t(itt, 0x70, 0, 0, sizeof(src)); /* the whole burst at once */
	iscsi_poll(S); /* three fit the queue at a time; the fourth follows */
	for (uint32_t k = 0; k < 4; k++)
		check_data_out(itt, 0x70, k, k * 65536, 65536, k == 3, src);
	check_queue_sane();
	scsi_rsp(itt, 0, 0, 0);
	CHECK_EQ(t.result, 0);
}

/* The session drops, logs in again, and the same thing happens. */
static void relogin(const char *oper, size_t len)
{
	CHECK_EQ(S->state, ISCSI_S_BACKOFF);
	fk.now += 3000000;
	iscsi_poll(S);
	CHECK_EQ(S->state, ISCSI_S_CONNECTING);
	fk.pos = fk.len;
	iscsi_conn_up(S);
	login_plain(oper, len);
}

static void test_discovery_flood_is_bounded(void)
{
	discovery_logged_in();
	for (int round = 1; round <= ISCSI_MAX_VIOLATIONS; round++) {
		uint32_t itt = iscsi_be32(pdu.h.itt);
		int pieces = 0;
		while (S->state == ISCSI_S_FULL && pieces < 1000) {
			text_piece(itt);
			pieces++;
			while (next_sent()) /* each one asks for the next */
				itt = iscsi_be32(pdu.h.itt);
		}
		CHECK_EQ(pieces, ISCSI_TEXT_MAX_PIECES + 1);
		CHECK_CONTAINS(S->error, "more than 64 pieces");
		CHECK_EQ(fk.connects, round);
		if (round == ISCSI_MAX_VIOLATIONS)
			break;
		CHECK_EQ(S->state, ISCSI_S_BACKOFF);
		fk.now += 3000000;
		iscsi_poll(S);
		fk.pos = fk.len;
		iscsi_conn_up(S);
		next_sent();
		login_rsp(TRANSIT(0, 1), 0, 0, 0, 0);
		next_sent();
		login_rsp(TRANSIT(1, 3), 0, 0, 0, 0);
		iscsi_poll(S);
		CHECK(next_sent());
		CHECK_STREQ(sent_key("SendTargets"), "All");
	}
	/* no more logins: one clear reason instead */
	CHECK_EQ(S->state, ISCSI_S_FAILED);
	CHECK_CONTAINS(S->error, "target broke the protocol 3 times in a row: SendTargets answer");
	CHECK_EQ(iscsi_login_status(S, fk.now + 1000000), -EPROTO);
	for (int i = 0; i < 20; i++) {
		fk.now += 3000000;
		iscsi_poll(S);
	}
	CHECK_EQ(fk.connects, ISCSI_MAX_VIOLATIONS);
}

/* Data-In beyond the request: after a few tries the task fails with the reason. */
static void test_violations_fail_the_session(void)
{
	static uint8_t src[8192 + 512], dst[8192];
	struct iscsi_task t;
	logged_in(TEXT(OPER));
	task_setup(&t, ISCSI_DIR_READ, dst, sizeof(dst));
	iscsi_submit(S, &t);
	for (int round = 1; round <= ISCSI_MAX_VIOLATIONS; round++) {
		CHECK(next_sent());
		CHECK_EQ(pdu.h.opcode, ISCSI_OP_SCSI_CMD);
		data_in(iscsi_be32(pdu.h.itt), 0, 0, src, sizeof(src), 1);
		CHECK_CONTAINS(S->error, "Data-In out of sequence");
		if (round < ISCSI_MAX_VIOLATIONS) {
			CHECK_EQ(done_calls, 0); /* re-issued after a new login */
			relogin(TEXT(OPER));
		}
	}
	CHECK_EQ(S->state, ISCSI_S_FAILED);
	CHECK_EQ(done_calls, 1);
	CHECK_EQ(t.result, -EPROTO);
	CHECK_CONTAINS(t.message, "target broke the protocol 3 times in a row: Data-In");
	CHECK_EQ(iscsi_submit(S, &t), -EPROTO); /* later tasks fail at once */

	/* a task that completes in between starts the count afresh */
	logged_in(TEXT(OPER));
	task_setup(&t, ISCSI_DIR_READ, dst, sizeof(dst));
	iscsi_submit(S, &t);
	for (int round = 0; round < 2 * ISCSI_MAX_VIOLATIONS; round++) {
		CHECK(next_sent()); /* the command, new or issued again after a login */
		uint32_t itt = iscsi_be32(pdu.h.itt);
		if (round % 2) {
			data_in(itt, 0, 0, src, sizeof(dst), 1);
			CHECK_EQ(t.result, 0);
			task_setup(&t, ISCSI_DIR_READ, dst, sizeof(dst));
			iscsi_submit(S, &t);
			continue;
		}
		r2t(itt, 1, 0, 0, 512); /* an R2T for a read */
		CHECK_CONTAINS(S->error, "bad R2T");
		relogin(TEXT(OPER));
	}
	CHECK_EQ(S->state, ISCSI_S_FULL);
}

/* ---- the shell's questions, step by step (net/iscsi/query.c) ---- */

/* A Data-In with status answering the command just sent: n bytes of d, the rest underflow. */
static void answer_read(const uint8_t *d, uint32_t n)
{
	struct iscsi_bhs h;
	CHECK(next_sent());
	CHECK_EQ(pdu.h.opcode, ISCSI_OP_SCSI_CMD);
	uint32_t edtl = iscsi_be32(pdu.h.ttt); /* ExpectedDataTransferLength sits there */
	rsp_init(&h, ISCSI_OP_DATA_IN, ISCSI_FLAG_FINAL | ISCSI_DATAIN_STATUS | ISCSI_RSP_UNDERFLOW,
		 iscsi_be32(pdu.h.itt));
	fk.exp_cmdsn++;
	h.exp_cmdsn = iscsi_be32(fk.exp_cmdsn);
	h.max_cmdsn = iscsi_be32(fk.exp_cmdsn + fk.window - 1);
	h.count = iscsi_be32(edtl - n);
	deliver(&h, d, n);
}

static int names;
static void count_name(void *arg, const char *name, const char *addr)
{
	(void)arg, (void)addr;
	names += name[0] != 0;
}

static void test_query_discovery(void)
{
	struct iscsi_config c;
	static struct iscsi_query q;
	memset(&c, 0, sizeof(c));
	new_session(&c);
	iscsi_query_start(&q, ISCSI_QUERY_DISCOVER, S, 15000000);
	CHECK_EQ(iscsi_query_step(&q), -EINPROGRESS);
	next_sent();
	login_rsp(TRANSIT(0, 1), 0, 0, 0, 0);
	next_sent();
	login_rsp(TRANSIT(1, 3), 0, 0, 0, 0);
	iscsi_poll(S);
	CHECK_EQ(iscsi_query_step(&q), -EINPROGRESS); /* logged in, no answer yet */
	CHECK(next_sent());
	struct iscsi_bhs h;
	rsp_init(&h, ISCSI_OP_TEXT_RSP, ISCSI_FLAG_FINAL, iscsi_be32(pdu.h.itt));
	deliver(&h, TEXT("TargetName=iqn.a:one\0"));
	CHECK_EQ(iscsi_query_step(&q), 0);
	names = 0;
	iscsi_discovery_walk(S, count_name, 0);
	CHECK_EQ(names, 1);

	/* nobody answers: the time limit, with the reason */
	memset(&c, 0, sizeof(c));
	new_session(&c);
	iscsi_query_start(&q, ISCSI_QUERY_DISCOVER, S, 15000000);
	fk.now += 11000000;
	iscsi_poll(S); /* the login's own limit: backoff */
	CHECK_EQ(iscsi_query_step(&q), -EINPROGRESS);
	fk.now += 5000000;
	CHECK_EQ(iscsi_query_step(&q), -ETIMEDOUT);
	CHECK_CONTAINS(q.why, "discovery at 10.0.2.2:3260 failed: no login within 10 s");
}

static void test_query_luns(void)
{
	static const uint8_t report[24] = { 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					    0, 1, 0, 0, 0, 0, 0, 0 };
	static uint8_t ctl[36] = { 0x0c, 0, 5, 2, 31 }, disk[36] = { 0, 0, 5, 2, 31 };
	static const uint8_t cap10[8] = { 0, 0, 0x3f, 0xff, 0, 0, 2, 0 }; /* 16384 blocks of 512 */
	static const uint8_t illegal[18] = { 0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x20, 0 };
	static struct iscsi_query q;
	memcpy(ctl + 8, "IET     Controller      0001", 28);
	memcpy(disk + 8, "IET     VIRTUAL-DISK    0001", 28);
	logged_in(TEXT(OPER));
	iscsi_query_start(&q, ISCSI_QUERY_LUNS_OF, S, 15000000);
	CHECK_EQ(iscsi_query_step(&q), -EINPROGRESS);
	answer_read(report, sizeof(report));                 /* REPORT LUNS: 0 and 1 */
	CHECK_EQ(iscsi_query_step(&q), -EINPROGRESS);
	answer_read(ctl, sizeof(ctl));                       /* INQUIRY LUN 0: a controller */
	CHECK_EQ(iscsi_query_step(&q), -EINPROGRESS);
	answer_read(disk, sizeof(disk));                     /* INQUIRY LUN 1: a disk */
	CHECK_EQ(iscsi_query_step(&q), -EINPROGRESS);
	CHECK(next_sent());                                  /* READ CAPACITY (16): refused */
	CHECK_EQ(pdu.data[0], 0); /* a command, no data; the CDB is in the header */
	scsi_rsp(iscsi_be32(pdu.h.itt), SCSI_STATUS_CHECK_CONDITION, illegal, sizeof(illegal));
	CHECK_EQ(iscsi_query_step(&q), -EINPROGRESS);
	answer_read(cap10, sizeof(cap10));                   /* READ CAPACITY (10) */
	CHECK_EQ(iscsi_query_step(&q), 0);
	CHECK_EQ(q.nluns, 2);
	CHECK_EQ(q.lun[0].inq.peripheral_type, 0x0c);
	CHECK_EQ(q.lun[0].cap.blocks, 0);
	CHECK_EQ(q.lun[1].lun, 1);
	CHECK_STREQ(q.lun[1].inq.product, "VIRTUAL-DISK");
	CHECK_EQ(q.lun[1].cap.blocks * q.lun[1].cap.block_size, 8u << 20);

	/* Ctrl-C while a task is out: it stops, the task goes with the session */
	iscsi_query_start(&q, ISCSI_QUERY_LUNS_OF, S, 15000000);
	CHECK_EQ(iscsi_query_step(&q), -EINPROGRESS);
	iscsi_query_cancel(&q);
	CHECK_EQ(iscsi_query_step(&q), -ECANCELED);
	CHECK_EQ(iscsi_tasks_pending(S), 0);

	/* a refused login names the target */
	struct iscsi_config c = target_cfg();
	new_session(&c);
	iscsi_query_start(&q, ISCSI_QUERY_LUNS_OF, S, 15000000);
	next_sent();
	login_rsp(0, 0, 0, 2, 1);
	CHECK_EQ(iscsi_query_step(&q), -EPERM);
	CHECK_CONTAINS(q.why, "login failed: authentication failed");
	CHECK_CONTAINS(q.why, "(iqn.2026-11.org.hako.test:disk at 10.0.2.2:3260)");
}

int main(void)
{
	RUN(test_wait_login_gives_up_on_refusals);
	RUN(test_login_gives_up_on_unresolved_name);
	RUN(test_login_plain);
	RUN(test_login_chap);
	RUN(test_login_mutual_wrong);
	RUN(test_login_refusals);
	RUN(test_read);
	RUN(test_latency_stamps);
	RUN(test_read_sequence_errors);
	RUN(test_unit_attention_and_sense);
	RUN(test_write_r2t);
	RUN(test_write_immediate_unsolicited);
	RUN(test_cmdsn_window);
	RUN(test_nop_and_keepalive);
	RUN(test_timeout);
	RUN(test_down_past_the_timeout_fails_fast);
	RUN(test_malformed_pdus);
	RUN(test_discovery_and_logout);
	RUN(test_login_continued);
	RUN(test_discovery_split_keys);
	RUN(test_logout);
	RUN(test_digests_on_the_wire);
	RUN(test_digests_required);
	RUN(test_target_strings_filtered);
	RUN(test_text_with_the_queue_full);
	RUN(test_logout_with_the_queue_full);
	RUN(test_huge_max_recv_dsl_is_clamped);
	RUN(test_discovery_flood_is_bounded);
	RUN(test_violations_fail_the_session);
	RUN(test_query_discovery);
	RUN(test_query_luns);
	return check_done();
}
