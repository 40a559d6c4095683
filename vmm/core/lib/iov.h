/*
 * vmm/core/lib/iov.h - a frame or buffer as pieces of memory (a gather
 * list), the form in which the switch (net/switch.c), the guest NIC model
 * (vmm/dev/virtio_net.c) and the host NIC drivers hand frames to each other
 * without copying them first. Portable, header only.
 */
#ifndef HAKO_IOV_H
#define HAKO_IOV_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/core/lib/string.h"

struct iov {
	const void *base;
	uint32_t len;
};

/*
 * Copies bytes [off, off + len) of the list v[0..n) to dst. Returns the
 * number copied (less than len when the list is shorter).
 */
static inline uint32_t iov_read(const struct iov *v, unsigned n, uint32_t off, void *dst,
				uint32_t len)
{
	uint8_t *d = dst;
	uint32_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		if (off >= v[i].len) {
			off -= v[i].len;
			continue;
		}
		uint32_t k = v[i].len - off < len - done ? v[i].len - off : len - done;
		memcpy(d + done, (const uint8_t *)v[i].base + off, k);
		done += k;
		off = 0;
	}
	return done;
}

/*
 * Fills out[0..max) with the part of v[0..n) from byte `off` on. Returns
 * how many pieces that took, or -1 when more than max were needed.
 */
static inline int iov_tail(const struct iov *v, unsigned n, uint32_t off, struct iov *out,
			   unsigned max)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		if (off >= v[i].len) {
			off -= v[i].len;
			continue;
		}
		if (k == max)
			return -1;
		out[k].base = (const uint8_t *)v[i].base + off;
		out[k++].len = v[i].len - off;
		off = 0;
	}
	return (int)k;
}

/* Shortens the list v[0..n) to its first len bytes; returns its new count. */
static inline unsigned iov_trim(struct iov *v, unsigned n, uint32_t len)
{
	for (unsigned i = 0; i < n; i++) {
		if (v[i].len >= len) {
			v[i].len = len;
			return len ? i + 1 : i;
		}
		len -= v[i].len;
	}
	return n;
}

#endif
