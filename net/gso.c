/*
 * net/gso.c - checksums and TCP segmentation in software (see gso.h).
 *
 * Sums are taken over 16-bit words in memory order (little-endian here):
 * RFC 1071 2(B) shows the ones' complement sum does not depend on byte
 * order as long as the result is stored in the same order, and 2(C) that a
 * piece starting at an odd offset contributes its sum byte-swapped. So
 * every piece is summed 32 bits at a time and no byte is swapped but once
 * per odd piece.
 */
#include "net/gso.h"

#include "vmm/core/lib/string.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "sums in memory order assume little-endian");

#define ETH_HLEN 14
#define IPPROTO_TCP 6
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

static uint32_t fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

static uint32_t swap16(uint32_t x)
{
	return ((x & 0xff) << 8) | (x >> 8);
}

/* Sum of p[0..len) as little-endian 16-bit words, a last odd byte padded with zero. */
static uint32_t sum_le(const uint8_t *p, uint32_t len)
{
	uint64_t s = 0;
	for (; len >= 4; p += 4, len -= 4) {
		uint32_t w;
		memcpy(&w, p, 4);
		s += w;
	}
	if (len >= 2) {
		uint16_t w;
		memcpy(&w, p, 2);
		s += w;
		p += 2, len -= 2;
	}
	if (len)
		s += *p;
	return fold(s);
}

/* See gso.h. */
uint32_t gso_csum(const struct iov *v, unsigned n, uint32_t off, uint32_t len, uint32_t sum)
{
	uint64_t s = sum;
	uint32_t pos = 0;       /* bytes summed so far: their parity decides the order */
	for (unsigned i = 0; i < n && pos < len; i++) {
		if (off >= v[i].len) {
			off -= v[i].len;
			continue;
		}
		uint32_t k = v[i].len - off < len - pos ? v[i].len - off : len - pos;
		uint32_t part = sum_le((const uint8_t *)v[i].base + off, k);
		s += pos & 1 ? swap16(part) : part;
		pos += k, off = 0;
	}
	return fold(s);
}

static void store_csum(uint8_t *at, uint32_t sum)
{
	uint16_t c = (uint16_t)~sum;
	if (!c)
		c = 0xffff;     /* the same in ones' complement, and what UDP needs (RFC 768) */
	memcpy(at, &c, 2);
}

/*
 * See gso.h. The field holds the pseudo-header's sum the guest put there
 * (5.1.6.2), which the sum includes. Bytes [start, hdr_len) are summed from
 * the copy in hdr, which is what the frame will carry, the rest from v.
 */
int gso_csum_fill(const struct iov *v, unsigned n, uint32_t len, uint32_t start, uint32_t offset,
		  uint8_t *hdr, uint32_t hdr_len)
{
	if (hdr_len > len || start >= hdr_len || offset > hdr_len || start + offset + 2 > hdr_len)
		return -1;
	uint32_t s = sum_le(hdr + start, hdr_len - start);
	uint32_t rest = gso_csum(v, n, hdr_len, len - hdr_len, 0);
	s = fold((uint64_t)s + ((hdr_len - start) & 1 ? swap16(rest) : rest));
	store_csum(hdr + start + offset, s);
	return 0;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

/* See gso.h. */
int gso_tcp4_parse(const struct iov *v, unsigned n, uint32_t len, uint32_t mss, uint32_t frame_max,
		   struct gso_tcp4 *g)
{
	uint32_t got = iov_read(v, n, 0, g->hdr, len < GSO_HDR_MAX ? len : GSO_HDR_MAX);
	if (got < ETH_HLEN + 20 || be16(g->hdr + 12) != 0x0800)
		return -1;
	const uint8_t *ip = g->hdr + ETH_HLEN;
	uint32_t ihl = (ip[0] & 0xf) * 4u;
	if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != IPPROTO_TCP || ETH_HLEN + ihl + 20 > got)
		return -1;
	if (be16(ip + 6) & 0x3fff)      /* a fragment (MF or an offset) cannot be segmented */
		return -1;
	const uint8_t *tcp = ip + ihl;
	uint32_t doff = (tcp[12] >> 4) * 4u;
	g->l3 = ETH_HLEN;
	g->l4 = ETH_HLEN + ihl;
	g->hdr_len = g->l4 + doff;
	if (doff < 20 || g->hdr_len > got || g->hdr_len >= len)
		return -1;
	/* the IP total length must cover the frame (trailing padding is not ours to cut) */
	if (be16(ip + 2) != len - ETH_HLEN)
		return -1;
	g->payload = len - g->hdr_len;
	g->mss = mss;
	if (!mss || g->hdr_len + mss > frame_max)
		return -1;
	g->nseg = (g->payload + mss - 1) / mss;
	return 0;
}

/* See gso.h. */
void gso_tcp4_segment(const struct gso_tcp4 *g, const struct iov *v, unsigned n, unsigned i,
		      uint8_t *hdr, uint32_t *off, uint32_t *seg_len)
{
	uint32_t first = i * g->mss, k = g->payload - first < g->mss ? g->payload - first : g->mss;
	int last = i + 1 == g->nseg;
	memcpy(hdr, g->hdr, g->hdr_len);
	uint8_t *ip = hdr + g->l3, *tcp = hdr + g->l4;
	uint32_t ihl = g->l4 - g->l3, tcp_len = g->hdr_len - g->l4 + k;
	/* IPv4: this segment's length and identification, a new header checksum */
	put_be16(ip + 2, ihl + tcp_len);
	put_be16(ip + 4, be16(g->hdr + g->l3 + 4) + i);
	put_be16(ip + 10, 0);
	store_csum(ip + 10, sum_le(ip, ihl));
	/* TCP: sequence number on, FIN and PSH only on the last, CWR only on the first */
	uint32_t seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 | tcp[7];
	seq += first;
	tcp[4] = (uint8_t)(seq >> 24), tcp[5] = (uint8_t)(seq >> 16);
	tcp[6] = (uint8_t)(seq >> 8), tcp[7] = (uint8_t)seq;
	if (!last)
		tcp[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
	if (i)
		tcp[13] &= (uint8_t)~TCP_CWR;
	/* checksum over the pseudo-header (RFC 9293 3.1), the header, the payload */
	uint8_t pseudo[12];
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0, pseudo[9] = IPPROTO_TCP;
	put_be16(pseudo + 10, tcp_len);
	put_be16(tcp + 16, 0);
	uint32_t s = sum_le(pseudo, 12) + sum_le(tcp, g->hdr_len - g->l4);
	uint32_t hl = g->hdr_len - g->l4;       /* the payload starts at this parity */
	uint32_t ps = gso_csum(v, n, g->hdr_len + first, k, 0);
	s = fold((uint64_t)s + (hl & 1 ? swap16(ps) : ps));
	store_csum(tcp + 16, s);
	*off = g->hdr_len + first;
	*seg_len = k;
}
