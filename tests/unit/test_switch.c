/*
 * tests/unit/test_switch.c - host tests of hako's Ethernet switch
 * (net/switch.c) with fake ports: segments and their isolation, 802.1Q
 * tags at the uplink, MAC learning and ageing, flooding rules (hako's own
 * traffic reaches no guest it is not addressed to), anti-spoofing, the
 * MTU, per-port budgets, the uplink reserve, and random frames from every
 * port checked against those rules.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/gso.h"
#include "net/switch.h"
#include "vmm/core/lib/errno.h"

#include "tests/unit/check.h"

/* ---- fake ports: a queue of frames to send in, a log of frames sent out ---- */

#define QMAX 2048
#define LOGMAX 4096

struct fake {
	struct sw_port port;
	uint8_t (*in)[2048];            /* frames waiting to enter the switch */
	uint32_t in_len[QMAX];
	unsigned in_head, in_tail;
	unsigned split;                 /* hand frames in as pieces of this size (0: whole) */
	struct sw_frame cur;
	uint8_t (*out)[2048];           /* frames the switch delivered */
	uint32_t out_len[LOGMAX];
	unsigned nout;
	unsigned room;                  /* what room() says; UINT32_MAX: unlimited */
	int refuse;                     /* send() fails */
	unsigned flushes;
	unsigned offl;                  /* SW_OFF_* it takes */
	struct sw_offload out_off[LOGMAX];
	struct sw_offload next_off;     /* what the next frame queued carries */
	struct sw_offload in_off[QMAX];
};

static int f_recv(struct sw_port *p, struct sw_frame *f)
{
	struct fake *k = p->ctx;
	if (k->in_head == k->in_tail)
		return 0;
	unsigned i = k->in_head % QMAX;
	uint32_t len = k->in_len[i], off = 0;
	f->niov = 0;
	while (off < len) {
		uint32_t n = k->split && len - off > k->split ? k->split : len - off;
		f->iov[f->niov++] = (struct iov){ k->in[i] + off, n };
		off += n;
	}
	f->len = len;
	f->off = k->in_off[i];
	return 1;
}

static void f_recv_done(struct sw_port *p)
{
	struct fake *k = p->ctx;
	memset(k->in[k->in_head % QMAX], 0xee, 64); /* the switch must be done with it */
	k->in_head++;
}

static int f_send(struct sw_port *p, const struct sw_frame *f)
{
	struct fake *k = p->ctx;
	if (k->refuse || k->nout == LOGMAX)
		return -ENOBUFS;
	static uint8_t whole[70000];       /* trains are longer than what the log keeps */
	CHECK(f->len <= sizeof(whole));
	CHECK_EQ(iov_read(f->iov, f->niov, 0, whole, f->len), f->len);
	memcpy(k->out[k->nout], whole, f->len < 2048 ? f->len : 2048);
	k->out_off[k->nout] = f->off;
	k->out_len[k->nout++] = f->len;
	if (k->room != UINT32_MAX && k->room)
		k->room--;
	return 0;
}

static int f_flush(struct sw_port *p) { ((struct fake *)p->ctx)->flushes++; return 0; }
static unsigned f_room(struct sw_port *p) { return ((struct fake *)p->ctx)->room; }
static unsigned f_offloads(struct sw_port *p) { return ((struct fake *)p->ctx)->offl; }

static const struct sw_port_ops fake_ops = { f_recv, f_recv_done, f_send, f_flush, f_room, f_offloads };
static const struct sw_port_ops hako_ops = { 0, 0, f_send, f_flush, 0, 0 };

#define NFAKE 12
static struct fake fakes[NFAKE];
static unsigned nfakes;

static struct fake *mkport(enum sw_kind kind, const char *owner, unsigned mac_last, const char *lan,
			   uint16_t vlan)
{
	struct fake *k = &fakes[nfakes++];
	if (!k->in) {
		k->in = malloc(sizeof(*k->in) * QMAX);
		k->out = malloc(sizeof(*k->out) * LOGMAX);
	}
	k->in_head = k->in_tail = k->nout = k->flushes = k->split = 0;
	k->refuse = 0;
	k->offl = 0;
	memset(&k->next_off, 0, sizeof(k->next_off));
	k->room = UINT32_MAX;
	memset(&k->port, 0, sizeof(k->port));
	k->port.ops = kind == SW_HAKO ? &hako_ops : &fake_ops;
	k->port.ctx = k;
	k->port.kind = kind;
	snprintf(k->port.owner, sizeof(k->port.owner), "%s", owner);
	snprintf(k->port.lan, sizeof(k->port.lan), "%s", lan);
	k->port.vlan = vlan;
	uint8_t mac[6] = { 0x02, 0, 0, 0, 0, (uint8_t)mac_last };
	memcpy(k->port.mac, mac, 6);
	char err[128];
	int rc = sw_port_add(&k->port, err, sizeof(err));
	if (rc)
		printf("     sw_port_add: %s\n", err);
	CHECK_EQ(rc, 0);
	return k;
}

static void reset_all(void)
{
	sw_reset();
	nfakes = 0;
}

static void mac_of(unsigned last, uint8_t mac[6])
{
	uint8_t m[6] = { 0x02, 0, 0, 0, 0, (uint8_t)last };
	memcpy(mac, m, 6);
}

/* Queues a frame dst <- src with `len` bytes (type 0x0800, payload a pattern). */
static void queue(struct fake *k, const uint8_t *dst, const uint8_t *src, uint32_t len)
{
	uint8_t *f = k->in[k->in_tail % QMAX];
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08, f[13] = 0x00;
	for (uint32_t i = 14; i < len && i < 2048; i++)
		f[i] = (uint8_t)(i * 7 + len);
	k->in_len[k->in_tail % QMAX] = len;
	k->in_off[k->in_tail % QMAX] = k->next_off;
	k->in_tail++;
}

/* The same with an 802.1Q tag carrying `vid` after the addresses. */
static void queue_tagged(struct fake *k, const uint8_t *dst, const uint8_t *src, uint16_t vid,
			 uint32_t len)
{
	queue(k, dst, src, len);
	uint8_t *f = k->in[(k->in_tail - 1) % QMAX];
	memmove(f + 16, f + 12, len - 16);
	f[12] = 0x81, f[13] = 0x00, f[14] = (uint8_t)(vid >> 8), f[15] = (uint8_t)vid;
}

static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static uint64_t now = 1000000;

static void run(void)
{
	while (sw_poll(now))
		;
}

/* ---- tests ---- */

static void test_lans_are_isolated(void)
{
	reset_all();
	struct fake *a = mkport(SW_GUEST, "a", 1, "class", 0);
	struct fake *b = mkport(SW_GUEST, "b", 2, "class", 0);
	struct fake *c = mkport(SW_GUEST, "c", 3, "other", 0);
	struct fake *d = mkport(SW_GUEST, "d", 4, "class", 7);
	uint8_t ma[6], mb[6], mc[6];
	mac_of(1, ma), mac_of(2, mb), mac_of(3, mc);
	queue(a, BCAST, ma, 60);
	queue(a, mb, ma, 100);
	queue(a, mc, ma, 100);          /* c is on another LAN: unknown here, flooded to b only */
	queue(c, BCAST, mc, 60);
	run();
	CHECK_EQ(b->nout, 3);
	CHECK_EQ(c->nout, 0);
	CHECK_EQ(d->nout, 0);
	CHECK_EQ(a->nout, 0);
	CHECK_EQ(b->out_len[1], 100);
	CHECK(!memcmp(b->out[1] + 6, ma, 6));
	CHECK_EQ(a->port.c.in_frames, 3);
	CHECK_EQ(b->port.c.out_frames, 3);
	CHECK(a->flushes > 0 && b->flushes > 0);
}

static void test_spoof_size_and_tags_dropped(void)
{
	reset_all();
	struct fake *a = mkport(SW_GUEST, "a", 1, "x", 0);
	struct fake *b = mkport(SW_GUEST, "b", 2, "x", 0);
	uint8_t ma[6], forged[6];
	mac_of(1, ma), mac_of(9, forged);
	queue(a, BCAST, forged, 60);
	queue(a, BCAST, ma, SW_FRAME_MAX + 1);
	queue(a, BCAST, ma, 13);
	queue_tagged(a, BCAST, ma, 5, 64);
	queue(a, BCAST, ma, SW_FRAME_MAX);      /* exactly the MTU: passes */
	run();
	CHECK_EQ(b->nout, 1);
	CHECK_EQ(b->out_len[0], SW_FRAME_MAX);
	CHECK_EQ(a->port.c.drop_spoof, 1);
	CHECK_EQ(a->port.c.drop_size, 2);
	CHECK_EQ(a->port.c.drop_tagged, 1);
	CHECK_EQ(a->port.c.in_frames, 1);
}

static void test_vlan_tags_at_the_uplink(void)
{
	reset_all();
	struct fake *up = mkport(SW_UPLINK, "", 0x50, "", 0);
	struct fake *h = mkport(SW_HAKO, "", 0x51, "", 0);
	struct fake *g = mkport(SW_GUEST, "g", 1, "", 42);
	struct fake *u = mkport(SW_GUEST, "u", 2, "", 0);
	uint8_t mg[6], mh[6], mu[6], ext[6] = { 0x52, 0x54, 0, 1, 2, 3 };
	mac_of(1, mg), mac_of(0x51, mh), mac_of(2, mu);
	queue(g, BCAST, mg, 100);
	run();
	CHECK_EQ(up->nout, 1);
	CHECK_EQ(h->nout, 0);           /* hako is untagged: another segment */
	CHECK_EQ(u->nout, 0);
	CHECK_EQ(up->out_len[0], 104);
	CHECK(up->out[0][12] == 0x81 && up->out[0][13] == 0 && up->out[0][14] == 0 &&
	      up->out[0][15] == 42);
	CHECK(up->out[0][16] == 0x08 && up->out[0][17] == 0x00);
	CHECK(!memcmp(up->out[0] + 6, mg, 6));
	/* in from the uplink: tag 42 reaches g untagged, tag 43 nobody */
	queue_tagged(up, mg, ext, 42, 120);
	queue_tagged(up, mg, ext, 43, 120);
	queue(up, mg, ext, 120);        /* untagged: g is not on that segment */
	run();
	CHECK_EQ(g->nout, 1);
	CHECK_EQ(g->out_len[0], 116);
	CHECK(g->out[0][12] == 0x08 && g->out[0][13] == 0x00);
	CHECK_EQ(up->port.c.drop_vlan, 1);
	CHECK_EQ(u->nout, 1);           /* unknown unicast on the untagged segment: flooded */
	CHECK_EQ(h->nout, 0);           /* ... but never to hako */
	/* hako's traffic is untagged */
	struct sw_frame f = { .niov = 1, .len = 80 };
	uint8_t buf[80] = { 0 };
	memcpy(buf, ext, 6), memcpy(buf + 6, mh, 6);
	f.iov[0] = (struct iov){ buf, 80 };
	sw_input(&h->port, &f, now);
	CHECK_EQ(up->nout, 2);
	CHECK_EQ(up->out_len[1], 80);
	CHECK(up->out[1][12] == 0 && up->out[1][13] == 0);
}

static void test_hako_traffic_reaches_no_other_guest(void)
{
	reset_all();
	struct fake *up = mkport(SW_UPLINK, "", 0x50, "", 0);
	struct fake *h = mkport(SW_HAKO, "", 0x51, "", 0);
	struct fake *g = mkport(SW_GUEST, "g", 1, "", 0);
	uint8_t mh[6], mg[6], target[6] = { 0x52, 0x54, 0, 9, 9, 9 };
	mac_of(0x51, mh), mac_of(1, mg);
	uint8_t buf[200];
	memset(buf, 0, sizeof(buf));
	struct sw_frame f = { .niov = 1, .len = 200 };
	f.iov[0] = (struct iov){ buf, 200 };
	memcpy(buf + 6, mh, 6);
	memcpy(buf, target, 6);                 /* an iSCSI target not learned yet */
	sw_input(&h->port, &f, now);
	CHECK_EQ(up->nout, 1);
	CHECK_EQ(g->nout, 0);
	memcpy(buf, mg, 6);                     /* addressed to the guest: it gets it */
	sw_input(&h->port, &f, now);
	CHECK_EQ(g->nout, 1);
	CHECK_EQ(up->nout, 1);
	memcpy(buf, BCAST, 6);                  /* broadcast: everyone on the segment */
	sw_input(&h->port, &f, now);
	CHECK_EQ(g->nout, 2);
	CHECK_EQ(up->nout, 2);
	/* the target answers hako: hako alone gets it */
	queue(up, mh, target, 300);
	run();
	CHECK_EQ(h->nout, 1);
	CHECK_EQ(g->nout, 2);
	/* a guest's unicast to some other uplink station never goes to hako */
	queue(g, target, mg, 64);
	run();
	CHECK_EQ(up->nout, 3);
	CHECK_EQ(h->nout, 1);
}

static void test_learning_and_ageing(void)
{
	reset_all();
	struct fake *up = mkport(SW_UPLINK, "", 0x50, "", 0);
	struct fake *g1 = mkport(SW_GUEST, "g1", 1, "", 0);
	struct fake *g2 = mkport(SW_GUEST, "g2", 2, "", 0);
	uint8_t m1[6], x[6] = { 0x52, 0x54, 0, 0, 0, 2 };
	mac_of(1, m1);
	queue(g1, x, m1, 64);                   /* unknown: flooded to uplink and g2 */
	run();
	CHECK_EQ(up->nout, 1);
	CHECK_EQ(g2->nout, 1);
	queue(up, BCAST, x, 64);                /* the switch learns x behind the uplink */
	run();
	CHECK_EQ(sw_fdb_count(), 1);
	CHECK_EQ(g1->nout, 1);
	queue(g1, x, m1, 64);
	run();
	CHECK_EQ(up->nout, 2);
	CHECK_EQ(g2->nout, 2);                  /* 1 flood + the broadcast, not this one */
	queue(up, x, x, 64);                    /* from the uplink to the uplink: filtered */
	run();
	CHECK_EQ(up->nout, 2);
	now += SW_AGEING_US + 2000000;
	sw_poll(now);
	CHECK_EQ(sw_fdb_count(), 0);
	queue(g1, x, m1, 64);
	run();
	CHECK_EQ(g2->nout, 3);                  /* aged out: flooded again */
	/* an uplink station claiming a guest's MAC is not learned */
	queue(up, BCAST, m1, 64);
	run();
	CHECK_EQ(sw_fdb_count(), 0);
	sw_port_del(&up->port);
	queue(g1, BCAST, m1, 64);
	run();
	CHECK_EQ(up->nout, 3);
}

static void test_budget_and_uplink_reserve(void)
{
	reset_all();
	struct fake *up = mkport(SW_UPLINK, "", 0x50, "", 0);
	struct fake *h = mkport(SW_HAKO, "", 0x51, "", 0);
	struct fake *flooder = mkport(SW_GUEST, "f", 1, "", 0);
	struct fake *quiet = mkport(SW_GUEST, "q", 2, "", 0);
	uint8_t mf[6], mq[6], mh[6];
	mac_of(1, mf), mac_of(2, mq), mac_of(0x51, mh);
	for (int i = 0; i < 1000; i++)
		queue(flooder, BCAST, mf, 60);
	queue(quiet, mh, mq, 60);
	int n = sw_poll(now);
	CHECK_EQ(n, SW_BUDGET + 1);             /* the quiet guest's frame went in the same round */
	CHECK_EQ(h->nout, SW_BUDGET + 1);
	/* the uplink ring fills: guests stop at the reserve, hako goes on */
	up->room = SW_UPLINK_RESERVE + 3;
	up->nout = 0;
	run();
	CHECK_EQ(up->nout, 3);
	CHECK(up->port.c.drop_full > 900);
	uint8_t buf[64] = { 0 };
	memcpy(buf, BCAST, 6), memcpy(buf + 6, mh, 6);
	struct sw_frame f = { .niov = 1, .len = 64 };
	f.iov[0] = (struct iov){ buf, 64 };
	sw_input(&h->port, &f, now);
	CHECK_EQ(up->nout, 4);
	CHECK_EQ(quiet->nout, 1001);    /* every broadcast the flooder and hako sent */
}

static void test_port_rules(void)
{
	reset_all();
	mkport(SW_UPLINK, "", 0x50, "", 0);
	mkport(SW_GUEST, "a", 1, "lab", 0);
	char err[128];
	struct sw_port dup = { .ops = &fake_ops, .kind = SW_GUEST, .mac = { 2, 0, 0, 0, 0, 1 },
			       .lan = "lab", .owner = "b" };
	CHECK_EQ(sw_port_add(&dup, err, sizeof(err)), -EEXIST);
	CHECK_CONTAINS(err, "guest a");
	dup.vlan = 3;                           /* the same MAC on another VLAN: allowed */
	CHECK_EQ(sw_port_add(&dup, err, sizeof(err)), 0);
	struct sw_port up2 = { .ops = &fake_ops, .kind = SW_UPLINK };
	CHECK_EQ(sw_port_add(&up2, err, sizeof(err)), -EEXIST);
	CHECK_EQ(sw_uplink_guests(), 0);
	mkport(SW_GUEST, "c", 5, "", 9);
	CHECK_EQ(sw_uplink_guests(), 1);
	sw_port_del(&dup);
	CHECK(sw_port_at(3) == 0);
	CHECK(sw_port_at(2) != 0);
}

static void test_pieces_and_view(void)
{
	reset_all();
	struct fake *up = mkport(SW_UPLINK, "", 0x50, "", 0);
	struct fake *a = mkport(SW_GUEST, "a", 1, "", 300);
	uint8_t ma[6];
	mac_of(1, ma);
	a->split = 7;                   /* frames in 7-byte pieces */
	queue(a, BCAST, ma, 200);
	run();
	CHECK_EQ(up->nout, 1);
	uint8_t want[204];
	memcpy(want, BCAST, 6), memcpy(want + 6, ma, 6);
	want[12] = 0x81, want[13] = 0, want[14] = 300 >> 8, want[15] = 300 & 0xff;
	want[16] = 0x08, want[17] = 0;
	for (int i = 14; i < 200; i++)
		want[i + 4] = (uint8_t)(i * 7 + 200);
	CHECK(!memcmp(up->out[0], want, 204));
	up->split = 5;
	queue_tagged(up, ma, BCAST, 300, 90);   /* from a group source: dropped */
	uint8_t ext[6] = { 0x52, 0, 0, 0, 0, 7 };
	queue_tagged(up, ma, ext, 300, 90);
	run();
	CHECK_EQ(a->nout, 1);
	CHECK_EQ(a->out_len[0], 86);
	CHECK(!memcmp(a->out[0] + 6, ext, 6));
	CHECK(a->out[0][12] == 0x08);
}

/*
 * Random frames from every port, checked against the rules: nothing
 * crosses segments, nothing returns to its sender, hako receives only
 * its own unicast and group frames, guests only their own unicast,
 * group frames or floods, and what arrives is what was sent.
 */
static void test_random_frames(void)
{
	reset_all();
	struct fake *up = mkport(SW_UPLINK, "", 0x50, "", 0);
	struct fake *h = mkport(SW_HAKO, "", 0x51, "", 0);
	struct fake *g[6];
	const char *lans[6] = { "", "", "", "a", "a", "b" };
	uint16_t vlans[6] = { 0, 0, 5, 0, 5, 0 };
	for (int i = 0; i < 6; i++)
		g[i] = mkport(SW_GUEST, "g", (unsigned)(1 + i), lans[i], vlans[i]);
	for (int round = 0; round < 3000; round++) {
		struct fake *src = round % 9 == 0 ? up : g[check_rand() % 6];
		uint8_t dst[6], s[6];
		unsigned pick = (unsigned)(check_rand() % 10);
		if (pick < 6)
			mac_of(1 + pick, dst);
		else if (pick == 6)
			memcpy(dst, BCAST, 6);
		else if (pick == 7)
			mac_of(0x51, dst);
		else
			mac_of(0x60 + (unsigned)(check_rand() % 4), dst);
		memcpy(s, src->port.mac, 6);
		if (src == up || check_rand() % 8 == 0)
			mac_of(0x70 + (unsigned)(check_rand() % 4), s);
		uint32_t len = 14 + (uint32_t)(check_rand() % 1600);
		for (int i = 0; i < 7; i++)
			g[i < 6 ? i : 0]->nout = 0;
		h->nout = up->nout = 0;
		if (src == up && check_rand() % 2)
			queue_tagged(up, dst, s, (uint16_t)(check_rand() % 7), len + 4);
		else
			queue(src, dst, s, len);
		run();
		for (int i = 0; i < 6; i++) {
			struct fake *t = g[i];
			if (!t->nout)
				continue;
			CHECK(t != src);
			if (src != up)
				CHECK(!strcmp(lans[i], src->port.lan) && vlans[i] == src->port.vlan);
			CHECK(!memcmp(t->out[0], dst, 6) || (dst[0] & 1) ||
			      !(pick < 6 || pick == 7));        /* own unicast, group or a flood */
			CHECK(t->out_len[0] <= SW_FRAME_MAX);
			CHECK(t->out[0][12] != 0x81);
		}
		if (h->nout)
			CHECK((dst[0] & 1) || !memcmp(dst, h->port.mac, 6));
	}
}

/* RFC 1071, byte by byte. */
static uint32_t ref_sum(const uint8_t *p, uint32_t len, uint32_t s)
{
	for (uint32_t i = 0; i < len; i += 2)
		s += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* A TCP/IPv4 frame from `src` of `payload` bytes, checksum partial (as Linux leaves it). */
static uint32_t tcp_frame(struct fake *k, const uint8_t *dst, const uint8_t *src, uint32_t payload)
{
	uint32_t len = 54 + payload;
	queue(k, dst, src, len);
	uint8_t *f = k->in[(k->in_tail - 1) % QMAX], *ip = f + 14, *tcp = ip + 20;
	memset(ip, 0, 40);
	ip[0] = 0x45, ip[2] = (uint8_t)((len - 14) >> 8), ip[3] = (uint8_t)(len - 14);
	ip[8] = 64, ip[9] = 6;
	memcpy(ip + 12, "\x0a\0\0\x01\x0a\0\0\x02", 8);
	tcp[12] = 0x50, tcp[13] = 0x18;
	uint32_t ic = ~ref_sum(ip, 20, 0) & 0xffff;        /* the guest fills IPv4's own */
	ip[10] = (uint8_t)(ic >> 8), ip[11] = (uint8_t)ic;
	uint8_t ph[12] = { 10, 0, 0, 1, 10, 0, 0, 2, 0, 6, (uint8_t)((len - 34) >> 8), (uint8_t)(len - 34) };
	uint32_t s = ref_sum(ph, 12, 0);
	tcp[16] = (uint8_t)(s >> 8), tcp[17] = (uint8_t)s;
	return len;
}

/* The TCP checksum of a delivered frame (starting `at`) verifies. */
static int tcp_ok(const uint8_t *f, uint32_t len)
{
	const uint8_t *ip = f + 14, *tcp = ip + 20;
	uint32_t tl = len - 34;
	uint8_t ph[12];
	memcpy(ph, ip + 12, 8);
	ph[8] = 0, ph[9] = 6, ph[10] = (uint8_t)(tl >> 8), ph[11] = (uint8_t)tl;
	return ref_sum(tcp, tl, ref_sum(ph, 12, 0)) == 0xffff && ref_sum(ip, 20, 0) == 0xffff;
}

/*
 * Offloads: a guest's train reaches a guest that takes trains whole, and
 * everyone else (uplink, hako, a guest without) as MTU frames with real
 * checksums; a partial checksum alone is filled in the same way; trains
 * that are not TCP/IPv4 or whose segments exceed the MTU are dropped.
 */
static void test_offloads(void)
{
	reset_all();
	struct fake *up = mkport(SW_UPLINK, "", 0x50, "", 0);
	struct fake *h = mkport(SW_HAKO, "", 0x51, "", 0);
	struct fake *a = mkport(SW_GUEST, "a", 1, "", 0);
	struct fake *b = mkport(SW_GUEST, "b", 2, "", 0);
	struct fake *c = mkport(SW_GUEST, "c", 3, "", 0);
	b->offl = SW_OFF_CSUM | SW_OFF_TSO4;
	c->offl = SW_OFF_CSUM;
	uint8_t ma[6];
	mac_of(1, ma);
	a->next_off = (struct sw_offload){ .csum = 1, .tso4 = 1, .csum_start = 34, .csum_offset = 16,
					   .gso_size = 1448 };
	uint32_t len = tcp_frame(a, BCAST, ma, 20000);
	run();
	unsigned nseg = (20000 + 1447) / 1448;
	CHECK_EQ(b->nout, 1);
	CHECK_EQ(b->out_len[0], len);
	CHECK(b->out_off[0].tso4 && b->out_off[0].csum && b->out_off[0].hdr_len == 54 &&
	      b->out_off[0].gso_size == 1448);
	struct fake *cut[3] = { up, h, c };
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(cut[i]->nout, nseg);
		uint32_t total = 0;
		for (unsigned k = 0; k < cut[i]->nout; k++) {
			CHECK(cut[i]->out_len[k] <= SW_FRAME_MAX);
			CHECK(tcp_ok(cut[i]->out[k], cut[i]->out_len[k]));
			CHECK(!cut[i]->out_off[k].csum && !cut[i]->out_off[k].tso4);
			total += cut[i]->out_len[k] - 54;
		}
		CHECK_EQ(total, 20000);
	}
	/* a partial checksum alone */
	a->next_off = (struct sw_offload){ .csum = 1, .csum_start = 34, .csum_offset = 16 };
	len = tcp_frame(a, BCAST, ma, 1000);
	run();
	CHECK_EQ(b->nout, 2);
	CHECK(b->out_off[1].csum && !b->out_off[1].tso4);
	CHECK_EQ(c->nout, nseg + 1);
	CHECK(c->out_off[nseg].csum);           /* c takes partial checksums */
	CHECK(tcp_ok(up->out[nseg], up->out_len[nseg]));
	CHECK(!up->out_off[nseg].csum);
	/* bad trains and offloads */
	a->next_off = (struct sw_offload){ .csum = 1, .tso4 = 1, .csum_start = 34, .csum_offset = 16,
					   .gso_size = 1500 };  /* 54 + 1500 > 1514 */
	tcp_frame(a, BCAST, ma, 5000);
	a->next_off.gso_size = 1448;
	a->next_off.csum_offset = 6;                        /* not TCP's checksum */
	tcp_frame(a, BCAST, ma, 5000);
	a->next_off = (struct sw_offload){ .csum = 1, .csum_start = 200, .csum_offset = 16 };
	tcp_frame(a, BCAST, ma, 1000);                      /* beyond the copied headers */
	a->next_off = (struct sw_offload){ 0 };
	tcp_frame(a, BCAST, ma, 2000);                      /* no offload: above the MTU */
	run();
	CHECK_EQ(a->port.c.drop_size, 4);
	CHECK_EQ(b->nout, 2);
	/* offload flags from anyone but a guest mean nothing */
	up->next_off = (struct sw_offload){ .csum = 1, .tso4 = 1, .gso_size = 100 };
	queue(up, BCAST, (const uint8_t *)"\x52\0\0\0\0\x09", 60);
	run();
	CHECK_EQ(b->nout, 3);
	CHECK(!b->out_off[2].csum && !b->out_off[2].tso4);
}

int main(void)
{
	RUN(test_lans_are_isolated);
	RUN(test_spoof_size_and_tags_dropped);
	RUN(test_vlan_tags_at_the_uplink);
	RUN(test_hako_traffic_reaches_no_other_guest);
	RUN(test_learning_and_ageing);
	RUN(test_budget_and_uplink_reserve);
	RUN(test_port_rules);
	RUN(test_pieces_and_view);
	RUN(test_random_frames);
	RUN(test_offloads);
	return check_done();
}
