/*
 * net/switch.c - hako's Ethernet switch (see switch.h for what it does):
 * segments, the table of MACs learned on the uplink, forwarding with
 * 802.1Q tagging at the uplink, and the polling round. Portable.
 *
 * A frame is never copied here: the switch reads its first 18 bytes into
 * a local header, checks them, and hands each destination port a view of
 * the frame made of that local header (the checked addresses, with a tag
 * added or taken off) followed by the rest of the sender's memory. So the
 * destination's send() is the one copy a frame costs, and a guest that
 * rewrites its frame while it is being forwarded cannot change the
 * source address the switch checked. An offloaded frame's headers (up to
 * its TCP header) are likewise copied and checked once, and that copy is
 * what every destination gets: filled in or cut into segments for ports
 * that take no offloads, as they are for those that do.
 */
#include "net/switch.h"

#include "net/gso.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"

#define NO_SEG (-1)
#define VID_MAX 4095            /* 0xfff is reserved (802.1Q Table 9-2) */

struct segment {
	char lan[SW_NAME_MAX + 1];
	uint16_t vlan;
	unsigned refs;          /* ports on it */
};

/* A MAC learned behind the uplink in segment `seg`. */
struct fdb_entry {
	uint8_t mac[6];
	int16_t seg;            /* NO_SEG: free */
	uint64_t seen_us;
};

static struct sw_port *ports[SW_PORTS_MAX];
static unsigned nports;
static struct segment segs[SW_PORTS_MAX];
static int16_t uplink_seg[VID_MAX + 1];   /* VLAN -> segment of the uplink's; NO_SEG */
static struct sw_port *uplink, *hako;
static struct fdb_entry fdb[SW_FDB_BUCKETS][SW_FDB_WAYS];
static unsigned rr_next;                  /* the round starts here: fairness */
static int polling, initialized;
static unsigned pending;                  /* ports whose flush asked to be called again */
static uint64_t last_ageing_us;

static void init_once(void)
{
	if (initialized)
		return;
	initialized = 1;
	for (unsigned v = 0; v <= VID_MAX; v++)
		uplink_seg[v] = NO_SEG;
	for (unsigned b = 0; b < SW_FDB_BUCKETS; b++)
		for (unsigned w = 0; w < SW_FDB_WAYS; w++)
			fdb[b][w].seg = NO_SEG;
}

/* See switch.h (host unit tests). */
void sw_reset(void)
{
	initialized = 0;
	memset(ports, 0, sizeof(ports));
	memset(segs, 0, sizeof(segs));
	nports = 0;
	pending = 0;
	uplink = hako = 0;
	rr_next = 0;
	polling = 0;
	last_ageing_us = 0;
	init_once();
}

/* ---- segments ---- */

static int seg_find(const char *lan, uint16_t vlan)
{
	for (int i = 0; i < SW_PORTS_MAX; i++)
		if (segs[i].refs && segs[i].vlan == vlan && !strcmp(segs[i].lan, lan))
			return i;
	return NO_SEG;
}

/* The segment (lan, vlan), or a free one for it. NO_SEG when the table is full. */
static int seg_get(const char *lan, uint16_t vlan)
{
	int s = seg_find(lan, vlan);
	for (int i = 0; s == NO_SEG && i < SW_PORTS_MAX; i++)
		if (!segs[i].refs)
			s = i;
	return s;
}

/* A port joins segment s, which seg_get gave for (lan, vlan). */
static void seg_ref(int s, const char *lan, uint16_t vlan)
{
	if (!segs[s].refs++) {
		memset(segs[s].lan, 0, sizeof(segs[s].lan));
		memcpy(segs[s].lan, lan, strnlen(lan, SW_NAME_MAX));
		segs[s].vlan = vlan;
		if (!lan[0])
			uplink_seg[vlan] = (int16_t)s;
	}
}

static void fdb_forget_seg(int seg);

static void seg_put(int s)
{
	if (--segs[s].refs)
		return;
	if (!segs[s].lan[0])
		uplink_seg[segs[s].vlan] = NO_SEG;
	fdb_forget_seg(s);
}

static int on_uplink(int seg)
{
	return seg != NO_SEG && !segs[seg].lan[0];
}

/* ---- MACs learned on the uplink ---- */

static unsigned fdb_hash(const uint8_t *mac, int seg)
{
	uint32_t h = 2166136261u ^ (uint32_t)seg;
	for (int i = 0; i < 6; i++)
		h = (h ^ mac[i]) * 16777619u;
	return (h ^ (h >> 16)) % SW_FDB_BUCKETS;
}

static int fdb_live(const struct fdb_entry *e, uint64_t now)
{
	return e->seg != NO_SEG && now - e->seen_us < SW_AGEING_US;
}

/* Is `mac` known behind the uplink in `seg`? */
static int fdb_lookup(const uint8_t *mac, int seg, uint64_t now)
{
	struct fdb_entry *b = fdb[fdb_hash(mac, seg)];
	for (unsigned w = 0; w < SW_FDB_WAYS; w++)
		if (b[w].seg == seg && !memcmp(b[w].mac, mac, 6))
			return fdb_live(&b[w], now);
	return 0;
}

/* Learns (or refreshes) `mac` behind the uplink; a full bucket loses its oldest entry. */
static void fdb_learn(const uint8_t *mac, int seg, uint64_t now)
{
	struct fdb_entry *b = fdb[fdb_hash(mac, seg)], *victim = &b[0];
	for (unsigned w = 0; w < SW_FDB_WAYS; w++) {
		if (b[w].seg == seg && !memcmp(b[w].mac, mac, 6)) {
			b[w].seen_us = now;
			return;
		}
		if (victim->seg != NO_SEG &&
		    (b[w].seg == NO_SEG || b[w].seen_us < victim->seen_us))
			victim = &b[w];
	}
	memcpy(victim->mac, mac, 6);
	victim->seg = (int16_t)seg;
	victim->seen_us = now;
}

static void fdb_forget_seg(int seg)
{
	for (unsigned b = 0; b < SW_FDB_BUCKETS; b++)
		for (unsigned w = 0; w < SW_FDB_WAYS; w++)
			if (fdb[b][w].seg == seg)
				fdb[b][w].seg = NO_SEG;
}

static void fdb_age(uint64_t now)
{
	for (unsigned b = 0; b < SW_FDB_BUCKETS; b++)
		for (unsigned w = 0; w < SW_FDB_WAYS; w++)
			if (fdb[b][w].seg != NO_SEG && !fdb_live(&fdb[b][w], now))
				fdb[b][w].seg = NO_SEG;
}

/* See switch.h. */
unsigned sw_fdb_count(void)
{
	unsigned n = 0;
	for (unsigned b = 0; b < SW_FDB_BUCKETS; b++)
		for (unsigned w = 0; w < SW_FDB_WAYS; w++)
			n += fdb[b][w].seg != NO_SEG;
	return n;
}

/* ---- ports ---- */

/* The guest or hako port with `mac` in `seg`, or 0. */
static struct sw_port *port_by_mac(const uint8_t *mac, int seg)
{
	for (unsigned i = 0; i < nports; i++)
		if (ports[i]->seg == seg && ports[i]->kind != SW_UPLINK && !memcmp(ports[i]->mac, mac, 6))
			return ports[i];
	return 0;
}

static int add_check(const struct sw_port *p, char *err, unsigned len)
{
	if (nports == SW_PORTS_MAX)
		return fmt_snprintf(err, len, "the switch has no free port (at most %u)",
				    SW_PORTS_MAX), -ENOSPC;
	if ((p->kind == SW_UPLINK && uplink) || (p->kind == SW_HAKO && hako))
		return fmt_snprintf(err, len, "the switch has its %s port already",
				    p->kind == SW_UPLINK ? "uplink" : "hako"), -EEXIST;
	if (p->kind == SW_GUEST && (p->vlan > VID_MAX - 1 || (p->mac[0] & 1)))
		return fmt_snprintf(err, len, "bad VLAN or multicast MAC"), -EINVAL;
	return 0;
}

/* See switch.h. */
int sw_port_add(struct sw_port *p, char *err, unsigned len)
{
	init_once();
	int rc = add_check(p, err, len);
	if (rc)
		return rc;
	memset(&p->c, 0, sizeof(p->c));
	p->dirty = 0;
	p->seg = NO_SEG;
	if (p->kind != SW_UPLINK) {
		const char *lan = p->kind == SW_HAKO ? "" : p->lan;
		uint16_t vlan = p->kind == SW_HAKO ? 0 : p->vlan;
		int s = seg_get(lan, vlan);
		if (s == NO_SEG)
			return fmt_snprintf(err, len, "the switch has no free segment"), -ENOSPC;
		const struct sw_port *o = port_by_mac(p->mac, s);
		if (o)
			return fmt_snprintf(err, len, "MAC %02x:%02x:%02x:%02x:%02x:%02x is in use by %s%s",
					    p->mac[0], p->mac[1], p->mac[2], p->mac[3], p->mac[4],
					    p->mac[5], o->owner[0] ? "guest " : "",
					    o->owner[0] ? o->owner : "hako"), -EEXIST;
		seg_ref(s, lan, vlan);
		p->seg = s;
	}
	if (p->kind == SW_UPLINK)
		uplink = p;
	else if (p->kind == SW_HAKO)
		hako = p;
	ports[nports++] = p;
	return 0;
}

/* See switch.h. */
void sw_port_del(struct sw_port *p)
{
	unsigned i = 0;
	while (i < nports && ports[i] != p)
		i++;
	if (i == nports)
		return;
	memmove(&ports[i], &ports[i + 1], (nports - i - 1) * sizeof(ports[0]));
	ports[--nports] = 0;
	if (p->seg != NO_SEG)
		seg_put(p->seg);
	if (p == uplink) {
		uplink = 0;
		for (unsigned b = 0; b < SW_FDB_BUCKETS; b++)
			for (unsigned w = 0; w < SW_FDB_WAYS; w++)
				fdb[b][w].seg = NO_SEG;
	}
	if (p == hako)
		hako = 0;
}

/* See switch.h. */
struct sw_port *sw_port_at(unsigned i)
{
	return i < nports ? ports[i] : 0;
}

/* See switch.h. */
unsigned sw_uplink_guests(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nports; i++)
		n += ports[i]->kind == SW_GUEST && on_uplink(ports[i]->seg);
	return n;
}

/* ---- forwarding ---- */

/* What sw_input learned from a frame's first bytes. */
struct parsed {
	uint8_t hdr[16];        /* destination, source; then room for a tag */
	uint32_t body;          /* offset in the frame where the rest (ethertype on) starts */
	uint32_t len;           /* the untagged frame's length */
	int seg;
	/* an offloaded frame (from a guest): its checked headers */
	struct gso_tcp4 g;      /* a train: g.hdr is the copy; else g.hdr_len bytes of it */
};

static int is_multicast(const uint8_t *mac)
{
	return mac[0] & 1;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * A guest's offloaded frame: copies its headers into x->g and checks them
 * (virtio 1.2 5.1.6.2.1 bounds csum_start and csum_offset by the frame; a
 * train must be TCP/IPv4 cut into segments of the MTU). 0, or -1.
 */
static int parse_offload(const struct sw_frame *f, struct parsed *x)
{
	const struct sw_offload *o = &f->off;
	if (o->tso4) {
		if (!o->csum || f->len > SW_TRAIN_MAX ||
		    gso_tcp4_parse(f->iov, f->niov, f->len, o->gso_size, SW_FRAME_MAX, &x->g))
			return -1;
		/* the checksum a NIC fills is TCP's, where the headers say it is */
		if (o->csum_start != x->g.l4 || o->csum_offset != 16)
			return -1;
	} else {
		if (f->len > SW_FRAME_MAX)
			return -1;
		x->g.hdr_len = f->len < GSO_HDR_MAX ? f->len : GSO_HDR_MAX;
		if ((uint32_t)o->csum_start + o->csum_offset + 2 > x->g.hdr_len ||
		    iov_read(f->iov, f->niov, 0, x->g.hdr, x->g.hdr_len) != x->g.hdr_len)
			return -1;
	}
	memcpy(x->g.hdr, x->hdr, 12);   /* the addresses checked, not a second read */
	return 0;
}

/*
 * Checks a frame from `from` and finds its segment (see switch.h). 0, or
 * -1 when it is dropped (counted on `from`).
 */
static int parse(struct sw_port *from, const struct sw_frame *f, struct parsed *x)
{
	uint8_t h[18];
	uint32_t got = iov_read(f->iov, f->niov, 0, h, sizeof(h));
	uint16_t type = got >= SW_ETH_HLEN ? be16(h + 12) : 0;
	int tagged = from->kind == SW_UPLINK && type == ETH_P_8021Q;
	if (got < SW_ETH_HLEN || got > f->len || (tagged && got < 18))
		return from->c.drop_size++, -1;
	memcpy(x->hdr, h, 12);
	x->body = tagged ? 16 : 12;
	x->len = f->len - (tagged ? 4 : 0);
	int offload = from->kind == SW_GUEST && (f->off.csum || f->off.tso4);
	if (x->len > SW_FRAME_MAX && !offload)
		return from->c.drop_size++, -1;
	if (from->kind != SW_UPLINK) {
		if (type == ETH_P_8021Q || type == ETH_P_8021AD)
			return from->c.drop_tagged++, -1;
		if (memcmp(h + 6, from->mac, 6))
			return from->c.drop_spoof++, -1;
		if (offload && parse_offload(f, x))
			return from->c.drop_size++, -1;
		x->seg = from->seg;
		return 0;
	}
	uint16_t vid = tagged ? be16(h + 14) & 0xfff : 0;  /* VID 0: priority tag only */
	x->seg = vid == VID_MAX ? NO_SEG : uplink_seg[vid];
	if (x->seg == NO_SEG)
		return from->c.drop_vlan++, -1;
	if (is_multicast(h + 6))
		return from->c.drop_spoof++, -1;   /* no station sends from a group address */
	return 0;
}

/*
 * The frame as `to` must see it: the checked addresses, a tag for the
 * uplink, then the frame from byte x->body on. For an offloaded frame, `h`
 * (hlen bytes from byte 0, the switch's copy of its headers) stands in for
 * the frame's own first bytes.
 */
static int view(const struct sw_frame *f, const struct parsed *x, const struct sw_port *to,
		const uint8_t *h, uint32_t hlen, struct sw_frame *out, uint8_t *tag)
{
	uint16_t vlan = segs[x->seg].vlan;
	unsigned k = 0;
	out->iov[k++] = (struct iov){ x->hdr, 12 };
	if (to->kind == SW_UPLINK && vlan) {
		tag[0] = ETH_P_8021Q >> 8, tag[1] = ETH_P_8021Q & 0xff;
		tag[2] = (uint8_t)(vlan >> 8), tag[3] = (uint8_t)vlan;  /* PCP 0, DEI 0 */
		out->iov[k++] = (struct iov){ tag, 4 };
	}
	if (hlen > 12)
		out->iov[k++] = (struct iov){ h + 12, hlen - 12 };
	uint32_t from = hlen > 12 ? hlen : x->body;
	int n = iov_tail(f->iov, f->niov, from, out->iov + k, SW_IOV_MAX - k);
	if (n < 0)
		return -1;
	out->niov = k + (unsigned)n;
	out->len = x->len + (to->kind == SW_UPLINK && vlan ? 4 : 0);
	out->from_hako = 0;
	memset(&out->off, 0, sizeof(out->off));
	return 0;
}

/* Sends `out` to `to`, counting. Guests may not take the uplink's last slots. */
static void send_to(struct sw_port *from, struct sw_port *to, struct sw_frame *out)
{
	out->from_hako = from->kind == SW_HAKO;
	if (to->kind == SW_UPLINK && from->kind == SW_GUEST && to->ops->room &&
	    to->ops->room(to) <= SW_UPLINK_RESERVE) {
		to->c.drop_full++;
		return;
	}
	if (to->ops->send(to, out)) {
		to->c.drop_full++;
		return;
	}
	to->c.out_frames++;
	to->c.out_bytes += out->len;
	to->dirty = 1;
}

/* A train for a port that takes none: cut into segments of the MTU, one by one. */
static void deliver_segments(struct sw_port *from, struct sw_port *to, const struct sw_frame *f,
			     const struct parsed *x)
{
	struct sw_frame seg, out;
	uint8_t hdr[GSO_HDR_MAX], tag[4];
	struct parsed y = *x;
	for (unsigned i = 0; i < x->g.nseg; i++) {
		uint32_t off, k;
		gso_tcp4_segment(&x->g, f->iov, f->niov, i, hdr, &off, &k);
		/* the segment: its headers in hdr, then its part of the payload */
		seg.iov[0] = (struct iov){ hdr, x->g.hdr_len };
		int n = iov_tail(f->iov, f->niov, off, seg.iov + 1, SW_IOV_MAX - 1);
		if (n < 0)
			return;
		seg.niov = 1 + iov_trim(seg.iov + 1, (unsigned)n, k);
		seg.len = x->g.hdr_len + k;
		y.len = seg.len;
		if (view(&seg, &y, to, hdr, x->g.hdr_len, &out, tag) == 0)
			send_to(from, to, &out);
	}
}

/* Hands the frame to `to`: offloads kept for a port that takes them, done for any other. */
static void deliver(struct sw_port *from, struct sw_port *to, const struct sw_frame *f,
		    const struct parsed *x)
{
	struct sw_frame out;
	uint8_t tag[4], hdr[GSO_HDR_MAX];
	const struct sw_offload *o = &f->off;
	int offload = from->kind == SW_GUEST && (o->csum || o->tso4);
	if (!offload) {
		if (view(f, x, to, 0, 0, &out, tag) == 0)
			send_to(from, to, &out);
		else
			to->c.drop_full++;
		return;
	}
	unsigned takes = to->ops->offloads ? to->ops->offloads(to) : 0;
	if (o->tso4 && !(takes & SW_OFF_TSO4)) {
		deliver_segments(from, to, f, x);
		return;
	}
	memcpy(hdr, x->g.hdr, x->g.hdr_len);
	if (!(takes & SW_OFF_CSUM) &&
	    gso_csum_fill(f->iov, f->niov, f->len, o->csum_start, o->csum_offset, hdr, x->g.hdr_len)) {
		to->c.drop_full++;
		return;
	}
	if (view(f, x, to, hdr, x->g.hdr_len, &out, tag)) {
		to->c.drop_full++;
		return;
	}
	if (takes & SW_OFF_CSUM) {
		out.off = *o;
		out.off.hdr_len = (uint16_t)(o->tso4 ? x->g.hdr_len : 0);
		if (!(takes & SW_OFF_TSO4))
			out.off.tso4 = 0;
	}
	send_to(from, to, &out);
}

/* Every port of the segment but `from`; hako only for broadcast and multicast. */
static void flood(struct sw_port *from, const struct sw_frame *f, const struct parsed *x,
		  int group)
{
	for (unsigned i = 0; i < nports; i++) {
		struct sw_port *p = ports[i];
		if (p == from)
			continue;
		int member = p->kind == SW_UPLINK ? on_uplink(x->seg) : p->seg == x->seg;
		if (member && (group || p->kind != SW_HAKO))
			deliver(from, p, f, x);
	}
}

/* See switch.h. */
void sw_input(struct sw_port *from, const struct sw_frame *f, uint64_t now)
{
	struct parsed x;
	init_once();
	from->dirty = 1;
	if (parse(from, f, &x))
		return;
	from->c.in_frames++;
	from->c.in_bytes += f->len;
	const uint8_t *dst = x.hdr, *src = x.hdr + 6;
	if (from->kind == SW_UPLINK && !port_by_mac(src, x.seg))
		fdb_learn(src, x.seg, now);
	if (is_multicast(dst)) {
		flood(from, f, &x, 1);
		return;
	}
	struct sw_port *to = port_by_mac(dst, x.seg);
	if (!to && uplink && on_uplink(x.seg) && fdb_lookup(dst, x.seg, now))
		to = uplink;
	if (to) {
		if (to != from)         /* else it stays on the wire it came from */
			deliver(from, to, f, &x);
		return;
	}
	if (from->kind == SW_HAKO) {    /* unknown: out of the uplink, to no guest */
		if (uplink)
			deliver(from, uplink, f, &x);
		return;
	}
	flood(from, f, &x, 0);
}

/* See switch.h: a port whose flush asks to be called again stays dirty. */
unsigned sw_flush(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nports; i++) {
		struct sw_port *p = ports[i];
		if (p->dirty) {
			p->dirty = (uint8_t)!!p->ops->flush(p);
			n += p->dirty;
		}
	}
	return pending = n;
}

/* See switch.h. */
unsigned sw_pending(void)
{
	return pending;
}

/* Up to SW_BUDGET frames from port p. */
static int take(struct sw_port *p, uint64_t now)
{
	struct sw_frame f;
	int n = 0;
	while (n < SW_BUDGET && p->ops->recv(p, &f)) {
		sw_input(p, &f, now);
		p->ops->recv_done(p);
		n++;
	}
	return n;
}

/* See switch.h. */
int sw_poll(uint64_t now)
{
	int total = 0;
	if (polling)
		return 0;
	polling = 1;
	init_once();
	unsigned n = nports, start = n ? rr_next++ % n : 0;
	for (unsigned i = 0; i < n && i < nports; i++) {
		struct sw_port *p = ports[(start + i) % nports];
		if (p->ops->recv)
			total += take(p, now);
	}
	if (now - last_ageing_us >= 1000000) {
		last_ageing_us = now;
		fdb_age(now);
	}
	sw_flush();
	polling = 0;
	return total;
}
