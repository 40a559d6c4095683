/*
 * tests/unit/test_gso.c - host tests of the switch's software offloads
 * (net/gso.c): ones' complement sums over frames in pieces against a plain
 * byte-by-byte RFC 1071 reference, partial checksums filled in as a NIC
 * would, and TCP/IPv4 segment trains cut into MTU frames whose every
 * header field, checksum and payload byte is checked.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/gso.h"

#include "tests/unit/check.h"

/* RFC 1071 the slow way: big-endian 16-bit words. */
static uint32_t ref_sum(const uint8_t *p, uint32_t len, uint32_t s)
{
	for (uint32_t i = 0; i < len; i += 2)
		s += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

static uint32_t swap16(uint32_t x) { return ((x & 0xff) << 8) | (x >> 8); }

/* Cuts buf into random pieces. */
static unsigned split(uint8_t *buf, uint32_t len, struct iov *v, unsigned max)
{
	unsigned n = 0;
	for (uint32_t off = 0; off < len && n < max;) {
		uint32_t k = n == max - 1 ? len - off : 1 + (uint32_t)(check_rand() % 700);
		if (k > len - off)
			k = len - off;
		v[n++] = (struct iov){ buf + off, k };
		off += k;
	}
	return n;
}

static void test_sum_in_pieces(void)
{
	static uint8_t buf[5000];
	for (int round = 0; round < 500; round++) {
		uint32_t len = (uint32_t)(check_rand() % sizeof(buf)), off = (uint32_t)(check_rand() % 9);
		for (uint32_t i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)check_rand();
		if (off > len)
			off = len;
		struct iov v[32];
		unsigned n = split(buf, len, v, 32);
		uint32_t got = gso_csum(v, n, off, len - off, 0);
		CHECK_EQ(swap16(got), ref_sum(buf + off, len - off, 0));
	}
}

/* An Ethernet + IPv4 + TCP frame of `payload` bytes, TCP options `opt` bytes. */
static uint32_t make_tcp4(uint8_t *f, uint32_t payload, uint32_t opt, uint8_t flags)
{
	memset(f, 0, 14 + 20 + 20 + opt);
	memcpy(f, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00", 14);
	uint8_t *ip = f + 14, *tcp = ip + 20;
	uint32_t tot = 20 + 20 + opt + payload;
	ip[0] = 0x45, ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot;
	ip[4] = 0x12, ip[5] = 0x34, ip[6] = 0x40;   /* DF */
	ip[8] = 64, ip[9] = 6;
	memcpy(ip + 12, "\x0a\x09\x00\x01\x0a\x09\x00\x02", 8);
	tcp[0] = 0x9c, tcp[1] = 0x40, tcp[2] = 0x13, tcp[3] = 0x88;
	memcpy(tcp + 4, "\xff\xff\xf0\x00", 4);     /* sequence number near the wrap */
	tcp[12] = (uint8_t)(((20 + opt) / 4) << 4), tcp[13] = flags, tcp[14] = 0x7f, tcp[15] = 0xff;
	for (uint32_t i = 0; i < opt; i++)
		tcp[20 + i] = 1;                    /* NOPs */
	uint8_t *data = tcp + 20 + opt;
	for (uint32_t i = 0; i < payload; i++)
		data[i] = (uint8_t)(i * 31 + 7);
	return 14 + tot;
}

/* The pseudo-header's sum in the checksum field: what a Linux guest leaves for NEEDS_CSUM. */
static void partial(uint8_t *f, uint32_t len)
{
	uint8_t *ip = f + 14, *tcp = ip + (ip[0] & 0xf) * 4;
	uint32_t tl = len - (uint32_t)(tcp - f);
	uint8_t ph[12];
	memcpy(ph, ip + 12, 8);
	ph[8] = 0, ph[9] = 6, ph[10] = (uint8_t)(tl >> 8), ph[11] = (uint8_t)tl;
	uint32_t s = ref_sum(ph, 12, 0);
	tcp[16] = (uint8_t)(s >> 8), tcp[17] = (uint8_t)s;
}

/* A TCP checksum verifies: the sum over pseudo-header and segment is 0xffff. */
static int tcp_ok(const uint8_t *f, uint32_t len)
{
	const uint8_t *ip = f + 14, *tcp = ip + (ip[0] & 0xf) * 4;
	uint32_t tl = len - (uint32_t)(tcp - f);
	uint8_t ph[12];
	memcpy(ph, ip + 12, 8);
	ph[8] = 0, ph[9] = 6, ph[10] = (uint8_t)(tl >> 8), ph[11] = (uint8_t)tl;
	return ref_sum(tcp, tl, ref_sum(ph, 12, 0)) == 0xffff;
}

static int ip_ok(const uint8_t *f)
{
	return ref_sum(f + 14, (f[14] & 0xf) * 4u, 0) == 0xffff;
}

static void test_fill_partial_checksum(void)
{
	static uint8_t f[3000];
	for (int round = 0; round < 200; round++) {
		uint32_t pay = (uint32_t)(check_rand() % 1400), opt = (uint32_t)(check_rand() % 3) * 4;
		uint32_t len = make_tcp4(f, pay, opt, 0x18);
		partial(f, len);
		struct iov v[16];
		unsigned n = split(f, len, v, 16);
		uint8_t hdr[GSO_HDR_MAX];
		uint32_t hl = len < 64 ? len : 64;
		memcpy(hdr, f, hl);
		CHECK_EQ(gso_csum_fill(v, n, len, 34, 16, hdr, hl), 0);
		uint8_t whole[3000];
		memcpy(whole, f, len);
		memcpy(whole, hdr, hl);
		CHECK(tcp_ok(whole, len));
	}
	uint8_t hdr[64];
	struct iov v = { f, 100 };
	CHECK_EQ(gso_csum_fill(&v, 1, 100, 34, 40, hdr, 64), -1);  /* field beyond the copy */
	CHECK_EQ(gso_csum_fill(&v, 1, 100, 70, 0, hdr, 64), -1);
	CHECK_EQ(gso_csum_fill(&v, 1, 50, 34, 16, hdr, 64), -1);   /* copy longer than the frame */
}

static void check_segments(uint8_t *f, uint32_t len, uint32_t mss, uint32_t opt, uint8_t flags)
{
	struct iov v[40];
	unsigned n = split(f, len, v, 40);
	struct gso_tcp4 g;
	CHECK_EQ(gso_tcp4_parse(v, n, len, mss, 1514, &g), 0);
	uint32_t hl = 54 + opt, pay = len - hl;
	CHECK_EQ(g.hdr_len, hl);
	CHECK_EQ(g.nseg, (pay + mss - 1) / mss);
	for (unsigned i = 0; i < g.nseg; i++) {
		uint8_t seg[1600];
		uint32_t off, k;
		gso_tcp4_segment(&g, v, n, i, seg, &off, &k);
		CHECK_EQ(off, hl + i * mss);
		CHECK_EQ(k, i + 1 < g.nseg ? mss : pay - i * mss);
		CHECK_EQ(iov_read(v, n, off, seg + hl, k), k);
		uint32_t sl = hl + k;
		CHECK(sl <= 1514);
		CHECK(ip_ok(seg));
		CHECK(tcp_ok(seg, sl));
		CHECK_EQ(seg[16] << 8 | seg[17], sl - 14);                 /* IP total length */
		CHECK_EQ(seg[18] << 8 | seg[19], (0x1234 + i) & 0xffff);   /* identification */
		uint32_t seq = (uint32_t)seg[38] << 24 | seg[39] << 16 | seg[40] << 8 | seg[41];
		CHECK_EQ(seq, (uint32_t)(0xfffff000u + i * mss));
		uint8_t want = flags;
		if (i + 1 < g.nseg)
			want &= (uint8_t)~0x09;
		if (i)
			want &= (uint8_t)~0x80;
		CHECK_EQ(seg[47], want);
		CHECK(!memcmp(seg + hl, f + hl + i * mss, k));
	}
}

static void test_tcp4_segmentation(void)
{
	static uint8_t f[70000];
	uint32_t len = make_tcp4(f, 65000, 12, 0x19 | 0x80);   /* FIN PSH ACK CWR */
	partial(f, len);
	check_segments(f, len, 1448, 12, 0x19 | 0x80);
	len = make_tcp4(f, 3000, 0, 0x18);
	check_segments(f, len, 1460, 0, 0x18);
	len = make_tcp4(f, 1, 0, 0x18);
	check_segments(f, len, 1460, 0, 0x18);
	for (int round = 0; round < 50; round++) {
		uint32_t opt = (uint32_t)(check_rand() % 4) * 4, pay = 1 + (uint32_t)(check_rand() % 20000);
		uint32_t mss = 1 + (uint32_t)(check_rand() % (1460 - opt));
		len = make_tcp4(f, pay, opt, 0x18);
		check_segments(f, len, mss, opt, 0x18);
	}
}

static void test_tcp4_refuses(void)
{
	static uint8_t f[5000];
	struct gso_tcp4 g;
	uint32_t len = make_tcp4(f, 3000, 0, 0x10);
	struct iov v = { f, len };
	CHECK_EQ(gso_tcp4_parse(&v, 1, len, 1460, 1514, &g), 0);
	CHECK_EQ(gso_tcp4_parse(&v, 1, len, 0, 1514, &g), -1);          /* no MSS */
	CHECK_EQ(gso_tcp4_parse(&v, 1, len, 1461, 1514, &g), -1);       /* segments above the MTU */
	CHECK_EQ(gso_tcp4_parse(&v, 1, len - 1, 1460, 1514, &g), -1);   /* IP length disagrees */
	f[23] = 17;                                                     /* UDP */
	CHECK_EQ(gso_tcp4_parse(&v, 1, len, 1460, 1514, &g), -1);
	f[23] = 6, f[20] = 0x20;                                        /* more fragments */
	CHECK_EQ(gso_tcp4_parse(&v, 1, len, 1460, 1514, &g), -1);
	f[20] = 0x40, f[14] = 0x44;                                     /* IHL 16 bytes */
	CHECK_EQ(gso_tcp4_parse(&v, 1, len, 1460, 1514, &g), -1);
	f[14] = 0x65;                                                   /* IPv6 version */
	CHECK_EQ(gso_tcp4_parse(&v, 1, len, 1460, 1514, &g), -1);
	f[14] = 0x45, f[12] = 0x86, f[13] = 0xdd;
	CHECK_EQ(gso_tcp4_parse(&v, 1, len, 1460, 1514, &g), -1);
	f[12] = 0x08, f[13] = 0x00, f[46] = 0x40;                       /* TCP header 16 bytes */
	CHECK_EQ(gso_tcp4_parse(&v, 1, len, 1460, 1514, &g), -1);
	f[46] = 0x50;
	CHECK_EQ(gso_tcp4_parse(&v, 1, 40, 1460, 1514, &g), -1);        /* shorter than headers */
	/* random headers never make it read or write out of place (ASan) */
	for (int round = 0; round < 20000; round++) {
		uint32_t l = (uint32_t)(check_rand() % 300);
		for (uint32_t i = 0; i < l; i++)
			f[i] = (uint8_t)(check_rand() % 4 ? check_rand() : f[i]);
		struct iov p[8];
		unsigned n = split(f, l, p, 8);
		if (gso_tcp4_parse(p, n, l, 1 + (uint32_t)(check_rand() % 1500), 1514, &g) == 0) {
			uint8_t seg[GSO_HDR_MAX];
			uint32_t off, k;
			for (unsigned i = 0; i < g.nseg; i++) {
				gso_tcp4_segment(&g, p, n, i, seg, &off, &k);
				CHECK(off + k <= l);
			}
		}
	}
}

int main(void)
{
	RUN(test_sum_in_pieces);
	RUN(test_fill_partial_checksum);
	RUN(test_tcp4_segmentation);
	RUN(test_tcp4_refuses);
	return check_done();
}
