/*
 * net/iscsi/login.c - the login phase (RFC 7143 6.3, 11.12, 11.13): the
 * security stage with AuthMethod None or CHAP-MD5, one-way or mutual
 * (12.1.3), then the operational stage, where the keys of chapter 13
 * are negotiated. Every answer from the target is checked against what
 * we offered; anything else ends the login with a reason. A response
 * whose text does not fit one PDU comes in pieces with the C bit set; each
 * piece is answered with an empty request and the pieces are joined before
 * the keys are read (6.2, 11.12, 11.13). Portable.
 */
#include "net/iscsi/session.h"

#include "net/iscsi/chap.h"
#include "net/iscsi/text.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"

/* What we offer (chapter 13); the target may only lower or confirm. */
#define OUR_MAX_RECV_DSL ISCSI_RX_DATA_MAX
/* A discovery session only receives text: the default size (13.12) will do,
 * and a long SendTargets answer then comes in continued pieces (6.2). */
#define DISCOVERY_MAX_RECV_DSL 8192
#define OUR_MAX_BURST (256 * 1024)
#define OUR_FIRST_BURST (64 * 1024)
#define LOGIN_MAX_ROUNDS 24 /* responses, continued ones included */

enum login_step {
	L_SEC_NONE, /* sent AuthMethod=None and asked to transit */
	L_CHAP_METHOD, /* sent AuthMethod=CHAP */
	L_CHAP_A, /* sent CHAP_A=5 */
	L_CHAP_R, /* sent CHAP_N/CHAP_R (and our own challenge when mutual) */
	L_OPER, /* sent the operational keys */
};

/* Keys of one login response that need more than an immediate check. */
struct login_reply {
	char auth[16];
	int chap_a, chap_i, have_n, have_r;
	uint8_t chap_c[CHAP_CHALLENGE_MAX];
	int chap_c_len;
	char chap_n[ISCSI_SECRET_MAX];
	uint8_t chap_r[16];
};

static void login_send(struct iscsi_session *s, int csg, int nsg, int transit,
		       struct iscsi_text_buf *t)
{
	struct iscsi_login h;
	memset(&h, 0, sizeof(h));
	h.opcode = ISCSI_OP_LOGIN_REQ | ISCSI_OP_IMMEDIATE;
	h.flags = (uint8_t)((transit ? ISCSI_LOGIN_TRANSIT : 0) | csg << 2 | (transit ? nsg : 0));
	memcpy(h.isid, s->isid, 6);
	h.tsih = iscsi_be16(s->tsih);
	h.itt = iscsi_be32(s->login_itt);
	h.sn = iscsi_be32(s->cmdsn);
	h.exp_sn = iscsi_be32(s->exp_statsn);
	if (iscsi_tx_pdu(s, &h, t->buf, (uint32_t)t->len))
		iscsi_violation(s, "login: target does not read what it asked for (send queue full)");
}

static void text_init(struct iscsi_session *s, struct iscsi_text_buf *t)
{
	t->buf = s->login_text, t->cap = sizeof(s->login_text), t->len = 0;
}

/* 6.3: the first request names us, the session type and the target. */
void iscsi_login_begin(struct iscsi_session *s)
{
	struct iscsi_text_buf t;
	int chap = s->cfg.user[0] != 0;
	s->login_itt = 0x40000000u | (s->next_itt++ & 0xffff);
	s->login_rounds = 0;
	s->login_rx_len = 0;
	s->tsih = 0;
	s->exp_statsn = 0;
	s->p = (struct iscsi_params){
		.immediate_data = 1, .initial_r2t = 1,
		.max_recv_dsl = s->cfg.target[0] ? OUR_MAX_RECV_DSL : DISCOVERY_MAX_RECV_DSL,
		.target_max_recv_dsl = 8192, /* implied when not declared (13.12) */
		.first_burst = 65536, .max_burst = 262144, .max_outstanding_r2t = 1,
	};
	text_init(s, &t);
	iscsi_text_add(&t, "InitiatorName", s->cfg.initiator);
	iscsi_text_add(&t, "SessionType", s->cfg.target[0] ? "Normal" : "Discovery");
	if (s->cfg.target[0])
		iscsi_text_add(&t, "TargetName", s->cfg.target);
	iscsi_text_add(&t, "AuthMethod", chap ? "CHAP" : "None");
	s->login_step = chap ? L_CHAP_METHOD : L_SEC_NONE;
	login_send(s, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL, !chap, &t);
}

static void send_operational(struct iscsi_session *s)
{
	struct iscsi_text_buf t;
	const char *hd = s->cfg.header_digest ? "CRC32C,None" : "None";
	const char *dd = s->cfg.data_digest ? "CRC32C,None" : "None";
	text_init(s, &t);
	iscsi_text_add(&t, "HeaderDigest", hd);
	iscsi_text_add(&t, "DataDigest", dd);
	iscsi_text_add_num(&t, "MaxRecvDataSegmentLength", s->p.max_recv_dsl);
	if (s->cfg.target[0]) {
		iscsi_text_add(&t, "InitialR2T", "No");
		iscsi_text_add(&t, "ImmediateData", "Yes");
		iscsi_text_add_num(&t, "MaxBurstLength", OUR_MAX_BURST);
		iscsi_text_add_num(&t, "FirstBurstLength", OUR_FIRST_BURST);
		iscsi_text_add(&t, "MaxOutstandingR2T", "1");
		iscsi_text_add(&t, "MaxConnections", "1");
		iscsi_text_add(&t, "DataPDUInOrder", "Yes");
		iscsi_text_add(&t, "DataSequenceInOrder", "Yes");
		iscsi_text_add(&t, "DefaultTime2Wait", "0");
		iscsi_text_add(&t, "DefaultTime2Retain", "0");
	}
	iscsi_text_add(&t, "ErrorRecoveryLevel", "0");
	s->login_step = L_OPER;
	login_send(s, ISCSI_STAGE_OPERATIONAL, ISCSI_STAGE_FULL, 1, &t);
}

/* CHAP_R = MD5(CHAP_I || secret || CHAP_C); for mutual, our own challenge. */
static int send_chap_response(struct iscsi_session *s, const struct login_reply *r)
{
	struct iscsi_text_buf t;
	uint8_t resp[16];
	char hex[2 + 2 * CHAP_CHALLENGE_MAX + 1], id[8];
	if (r->chap_a != CHAP_ALG_MD5 || r->chap_i < 0 || r->chap_c_len <= 0)
		return -EPERM;
	chap_response((uint8_t)r->chap_i, s->cfg.secret, r->chap_c, (size_t)r->chap_c_len, resp);
	text_init(s, &t);
	iscsi_text_add(&t, "CHAP_N", s->cfg.user);
	chap_encode_hex(resp, 16, hex);
	iscsi_text_add(&t, "CHAP_R", hex);
	if (s->cfg.target_user[0]) {
		/* 12.1.3: a target answering our own challenge must be refused,
		 * so make ours differ from the one it sent (reflection). */
		do
			s->ops->random(s->ctx, s->mutual_challenge, 16);
		while (r->chap_c_len == 16 && !memcmp(s->mutual_challenge, r->chap_c, 16));
		s->ops->random(s->ctx, id, 1);
		s->mutual_id = (uint8_t)id[0];
		fmt_snprintf(id, sizeof(id), "%d", s->mutual_id);
		iscsi_text_add(&t, "CHAP_I", id);
		chap_encode_hex(s->mutual_challenge, 16, hex);
		iscsi_text_add(&t, "CHAP_C", hex);
	}
	s->login_step = L_CHAP_R;
	login_send(s, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL, 1, &t);
	return 0;
}

static int check_mutual(struct iscsi_session *s, const struct login_reply *r)
{
	uint8_t want[16];
	if (!s->cfg.target_user[0])
		return 0;
	if (!r->have_n || !r->have_r) {
		iscsi_drop(s, -EPERM, "login failed: target did not authenticate itself (mutual CHAP)");
		return -EPERM;
	}
	chap_response((uint8_t)s->mutual_id, s->cfg.target_secret, s->mutual_challenge, 16, want);
	if (strcmp(r->chap_n, s->cfg.target_user) || memcmp(want, r->chap_r, 16)) {
		iscsi_drop(s, -EPERM, "login failed: target's CHAP response is wrong (mutual CHAP)");
		return -EPERM;
	}
	return 0;
}

/* Numeric keys: range checks, and "the target may only lower it". */
static int key_num(const char *v, uint32_t lo, uint32_t hi, uint32_t *out)
{
	uint64_t n;
	if (iscsi_text_num(v, hi, &n) || n < lo)
		return -EINVAL;
	*out = (uint32_t)n;
	return 0;
}

static int key_digest(const char *v, int offered, int *out)
{
	if (!strcmp(v, "None"))
		return *out = 0, 0;
	if (!strcmp(v, "CRC32C") && offered)
		return *out = 1, 0;
	return -EINVAL;
}

/* Operational keys (chapter 13). Returns 0, 1 (not an operational key) or -EINVAL. */
static int oper_key(struct iscsi_session *s, const struct iscsi_kv *kv)
{
	struct iscsi_params *p = &s->p;
	const char *v = kv->value, *k = kv->key;
	int b = 0;
	if (!strcmp(v, "Irrelevant") || !strcmp(v, "NotUnderstood"))
		return 0; /* defaults stay (6.2.1) */
	if (!strcmp(k, "HeaderDigest"))
		return key_digest(v, s->cfg.header_digest, &p->header_digest);
	if (!strcmp(k, "DataDigest"))
		return key_digest(v, s->cfg.data_digest, &p->data_digest);
	if (!strcmp(k, "MaxRecvDataSegmentLength"))
		return key_num(v, 512, (1u << 24) - 1, &p->target_max_recv_dsl);
	if (!strcmp(k, "MaxBurstLength"))
		return key_num(v, 512, OUR_MAX_BURST, &p->max_burst);
	if (!strcmp(k, "FirstBurstLength"))
		return key_num(v, 512, OUR_FIRST_BURST, &p->first_burst);
	if (!strcmp(k, "MaxOutstandingR2T"))
		return key_num(v, 1, 1, &p->max_outstanding_r2t);
	if (!strcmp(k, "ImmediateData"))
		return iscsi_text_bool(v, &p->immediate_data);
	if (!strcmp(k, "InitialR2T"))
		return iscsi_text_bool(v, &p->initial_r2t);
	if (!strcmp(k, "ErrorRecoveryLevel"))
		return strcmp(v, "0") ? -EINVAL : 0;
	if (!strcmp(k, "DataPDUInOrder") || !strcmp(k, "DataSequenceInOrder"))
		return iscsi_text_bool(v, &b) || !b ? -EINVAL : 0;
	if (!strcmp(k, "IFMarker") || !strcmp(k, "OFMarker"))
		return iscsi_text_bool(v, &b) || b ? -EINVAL : 0;
	if (!strcmp(k, "MaxConnections") || !strcmp(k, "DefaultTime2Wait") ||
	    !strcmp(k, "DefaultTime2Retain") || !strcmp(k, "TargetAlias") ||
	    !strcmp(k, "TargetPortalGroupTag") || !strcmp(k, "TargetAddress") ||
	    !strcmp(k, "MaxOutstandingR2T"))
		return 0;
	return 1;
}

static int chap_key(const struct iscsi_kv *kv, struct login_reply *r)
{
	uint64_t n;
	const char *k = kv->key, *v = kv->value;
	if (!strcmp(k, "AuthMethod")) {
		fmt_snprintf(r->auth, sizeof(r->auth), "%s", v);
		return 0;
	}
	if (!strcmp(k, "CHAP_A"))
		return iscsi_text_num(v, 255, &n) ? -EINVAL : (r->chap_a = (int)n, 0);
	if (!strcmp(k, "CHAP_I"))
		return iscsi_text_num(v, 255, &n) ? -EINVAL : (r->chap_i = (int)n, 0);
	if (!strcmp(k, "CHAP_C"))
		return (r->chap_c_len = chap_decode(v, r->chap_c, sizeof(r->chap_c))) < 0 ? -EINVAL : 0;
	if (!strcmp(k, "CHAP_N")) {
		if (kv->value_len >= sizeof(r->chap_n))
			return -EINVAL;
		memcpy(r->chap_n, v, kv->value_len + 1);
		return r->have_n = 1, 0;
	}
	if (!strcmp(k, "CHAP_R"))
		return chap_decode(v, r->chap_r, sizeof(r->chap_r)) != 16 ? -EINVAL : (r->have_r = 1, 0);
	return 1;
}

static int parse_keys(struct iscsi_session *s, const char *d, uint32_t len, struct login_reply *r)
{
	size_t pos = 0;
	struct iscsi_kv kv;
	int ret;
	while ((ret = iscsi_text_next(d, len, &pos, &kv)) == 1) {
		int e = chap_key(&kv, r);
		if (e == 1)
			e = oper_key(s, &kv);
		if (e < 0) {
			iscsi_drop(s, -EPERM, "login failed: bad answer %s=%s", kv.key, kv.value);
			return -EINVAL;
		}
		if (e == 1)
			log_warn("iscsi: ignoring unknown login key %s", kv.key);
	}
	if (ret < 0)
		iscsi_violation(s, "login failed: malformed key=value text");
	return ret;
}

/* 11.13.5: class 1 redirects, class 2 is our fault, class 3 the target's. */
static void login_refused(struct iscsi_session *s, uint8_t cls, uint8_t detail)
{
	static const char *const init_err[] = {
		"initiator error", "authentication failed (check user and secret)",
		"initiator not authorized for this target", "target not found",
		"target removed", "unsupported iSCSI version", "too many connections",
		"missing parameter", "cannot include in session", "session type not supported",
		"session does not exist", "invalid request during login",
	};
	const char *why = cls == 2 && detail < 12 ? init_err[detail] :
			  cls == 1 ? "target redirects (not supported)" : "target error";
	int err = cls == 3 ? -EAGAIN : detail == 3 || detail == 4 ? -ENOENT : -EPERM;
	iscsi_drop(s, err, "login failed: %s (status 0x%02x%02x)", why, cls, detail);
}

/* The login succeeded: digests start with the next PDU (13.1). */
static void login_done(struct iscsi_session *s, const struct iscsi_login *h)
{
	s->tsih = iscsi_be16(h->tsih);
	s->exp_cmdsn = iscsi_be32(h->exp_sn);
	s->max_cmdsn = iscsi_be32(h->max_cmdsn);
	s->cmdsn = s->exp_cmdsn;
	s->rx.hdr_digest = s->p.header_digest;
	s->rx.data_digest = s->p.data_digest;
	s->backoff_us = 0;
	s->ping_itt = 0;
	if (s->discovery_done != 2)
		s->discovery_done = 0, s->disc_len = 0;
	if (s->p.first_burst > s->p.max_burst)
		s->p.first_burst = s->p.max_burst;
	/* 13.12: what the target can take, not what we must send; our PDUs
	 * stay small enough for the send queue (a larger one never fits it). */
	if (s->p.target_max_recv_dsl > ISCSI_TX_DATA_MAX)
		s->p.target_max_recv_dsl = ISCSI_TX_DATA_MAX;
	s->state = ISCSI_S_FULL;
	s->state_since = s->last_rx;
	log_info("iscsi %s: logged in (digests %s/%s, burst %u/%u, R2T %s, immediate %s)",
		 s->cfg.target[0] ? s->cfg.target : "discovery",
		 s->p.header_digest ? "crc32c" : "none", s->p.data_digest ? "crc32c" : "none",
		 s->p.first_burst, s->p.max_burst, s->p.initial_r2t ? "yes" : "no",
		 s->p.immediate_data ? "yes" : "no");
}

static int login_seq(struct iscsi_session *s, const struct iscsi_login *h)
{
	if (iscsi_be32(h->itt) != s->login_itt || memcmp(h->isid, s->isid, 6)) {
		iscsi_violation(s, "login response for another ITT (0x%x, want 0x%x) or ISID",
			   iscsi_be32(h->itt), s->login_itt);
		return -EIO;
	}
	if (h->version_min != 0) {
		iscsi_drop(s, -ENOTSUP, "login failed: target speaks iSCSI version %u", h->version_min);
		return -EIO;
	}
	if (!s->login_rounds++)
		s->exp_statsn = iscsi_be32(h->sn); /* the first StatSN (11.13.4) */
	if (s->login_rounds > LOGIN_MAX_ROUNDS) {
		iscsi_violation(s, "login failed: no agreement after %d rounds", LOGIN_MAX_ROUNDS);
		return -EIO;
	}
	return iscsi_check_statsn(s, iscsi_be32(h->sn));
}

/* Where the login goes after a response without errors. */
static void login_next(struct iscsi_session *s, const struct iscsi_login *h,
		       const struct login_reply *r)
{
	int transit = h->flags & ISCSI_LOGIN_TRANSIT, nsg = ISCSI_LOGIN_NSG(h->flags);
	switch (s->login_step) {
	case L_CHAP_METHOD:
		if (strcmp(r->auth, "CHAP")) {
			iscsi_drop(s, -EPERM, "login failed: target refused CHAP (AuthMethod=%s)",
				   r->auth[0] ? r->auth : "?");
			return;
		}
		struct iscsi_text_buf t;
		text_init(s, &t);
		iscsi_text_add(&t, "CHAP_A", "5");
		s->login_step = L_CHAP_A;
		login_send(s, ISCSI_STAGE_SECURITY, 0, 0, &t);
		return;
	case L_CHAP_A:
		if (send_chap_response(s, r))
			iscsi_drop(s, -EPERM, "login failed: target's CHAP challenge is unusable");
		return;
	case L_CHAP_R:
		if (check_mutual(s, r))
			return;
		/* now the same as after AuthMethod=None */
		__attribute__((fallthrough));
	case L_SEC_NONE:
		if (!transit) {
			iscsi_drop(s, -EPERM, "login failed: target wants authentication");
			return;
		}
		if (nsg == ISCSI_STAGE_FULL)
			login_done(s, h);
		else
			send_operational(s);
		return;
	default:
		if (transit && nsg == ISCSI_STAGE_FULL) {
			login_done(s, h);
			return;
		}
		struct iscsi_text_buf e = { s->login_text, 0, 0 };
		login_send(s, ISCSI_STAGE_OPERATIONAL, ISCSI_STAGE_FULL, 1, &e);
	}
}

/*
 * Collects a response's text in s->login_rx. Returns 0 when the text is
 * complete; 1 when the target continues it (C bit): we asked for the rest
 * with an empty request in the same stage and T=0 (11.12); -EIO when the
 * connection was dropped.
 */
static int login_join(struct iscsi_session *s, const struct iscsi_login *h, const char *data,
		      uint32_t len)
{
	if (len > sizeof(s->login_rx) - s->login_rx_len) {
		iscsi_violation(s, "login failed: target's login text exceeds %zu bytes",
			   sizeof(s->login_rx));
		return -EIO;
	}
	memcpy(s->login_rx + s->login_rx_len, data, len);
	s->login_rx_len += len;
	if (!(h->flags & ISCSI_FLAG_CONT))
		return 0;
	if (h->flags & ISCSI_LOGIN_TRANSIT) {
		/* 11.13: a response that continues its text cannot also transit */
		iscsi_violation(s, "login failed: response has both the C and the T bit");
		return -EIO;
	}
	struct iscsi_text_buf e = { s->login_text, 0, 0 };
	login_send(s, ISCSI_LOGIN_CSG(h->flags), 0, 0, &e);
	return 1;
}

/* One Login Response: refusal, sequence checks, keys, then the next step. */
void iscsi_login_rx(struct iscsi_session *s, const struct iscsi_bhs *bhs, const char *data,
		    uint32_t len)
{
	const struct iscsi_login *h = (const void *)bhs;
	struct login_reply r;
	/* A refusal ends the login whatever else it says: tgt zeroes ISID
	 * and StatSN in them. */
	if (iscsi_be32(h->itt) == s->login_itt && h->status_class) {
		login_refused(s, h->status_class, h->status_detail);
		return;
	}
	if (login_seq(s, h))
		return;
	iscsi_update_sn(s, iscsi_be32(h->exp_sn), iscsi_be32(h->max_cmdsn));
	if (login_join(s, h, data, len))
		return;
	memset(&r, 0, sizeof(r));
	r.chap_i = -1;
	int rc = parse_keys(s, s->login_rx, (uint32_t)s->login_rx_len, &r);
	s->login_rx_len = 0;
	if (rc < 0)
		return;
	login_next(s, h, &r);
}
