/*
 * net/gso.h - what a NIC with checksum and segmentation offloads would do,
 * done by the switch for ports that cannot: fill in a checksum a guest left
 * partial (virtio 1.2 5.1.6.2: VIRTIO_NET_HDR_F_NEEDS_CSUM, csum_start,
 * csum_offset) and cut a TCP/IPv4 segment train (VIRTIO_NET_HDR_GSO_TCPV4)
 * into frames of the MTU (RFC 791 header checksum and identification,
 * RFC 9293 3.1 sequence numbers, flags and checksum). Portable.
 *
 * Frames are read where they lie (pieces of guest memory); only headers
 * are copied, into buffers of the caller, and rewritten there.
 */
#ifndef HAKO_GSO_H
#define HAKO_GSO_H

#include <stdint.h>

#include "vmm/core/lib/iov.h"

#define GSO_HDR_MAX 160                 /* Ethernet + IPv4 (60) + TCP (60), rounded up */

/*
 * The ones' complement sum (RFC 1071) of bytes [off, off + len) of v, as
 * 16-bit words in memory order, folded to 16 bits, added to `sum`. Store
 * ~result in memory as a native uint16_t and the bytes are right.
 */
uint32_t gso_csum(const struct iov *v, unsigned n, uint32_t off, uint32_t len, uint32_t sum);

/*
 * Fills in a partial checksum: the sum of frame bytes [start, len) goes
 * into the 16 bits at start + offset, which must lie in hdr (a copy of the
 * frame's first hdr_len bytes, hdr_len <= len, start < hdr_len). 0, or -1
 * when they do not.
 */
int gso_csum_fill(const struct iov *v, unsigned n, uint32_t len, uint32_t start, uint32_t offset,
		  uint8_t *hdr, uint32_t hdr_len);

/* A TCP/IPv4 segment train, parsed and checked by gso_tcp4_parse. */
struct gso_tcp4 {
	uint8_t hdr[GSO_HDR_MAX];       /* Ethernet, IPv4 and TCP headers, copied */
	uint32_t l3, l4, hdr_len;       /* IPv4 and TCP header offsets; headers' length */
	uint32_t payload;               /* bytes after the headers */
	uint32_t mss;                   /* payload bytes per segment */
	uint32_t nseg;
};

/*
 * Reads and checks the headers of the frame v[0..n) (`len` bytes, untagged
 * Ethernet): IPv4 with a sane header length and total length, TCP, and
 * segments of `mss` payload bytes each no longer than `frame_max` bytes
 * with their headers. 0, or -1 when the frame is not such a train.
 */
int gso_tcp4_parse(const struct iov *v, unsigned n, uint32_t len, uint32_t mss, uint32_t frame_max,
		   struct gso_tcp4 *g);

/*
 * Segment i of g (i < g->nseg): writes its headers, checksums included,
 * into hdr (g->hdr_len bytes) and gives its payload's place in the
 * original frame: bytes [*off, *off + *seg_len). The payload is read from v
 * for the TCP checksum.
 */
void gso_tcp4_segment(const struct gso_tcp4 *g, const struct iov *v, unsigned n, unsigned i,
		      uint8_t *hdr, uint32_t *off, uint32_t *seg_len);

#endif
