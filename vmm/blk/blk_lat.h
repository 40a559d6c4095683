/*
 * vmm/blk/blk_lat.h - where a disk request's time goes: five timestamps
 * per request (struct blk_req's `stamp`), and per device the mean and a
 * histogram (for the 99th percentile) of each hop between them. Shown by
 * `disk bench` and `stats NAME`. Portable: the clock is the block host's
 * `stamp` (the TSC in the kernel), kept in its ticks until printing.
 *
 * The stamps, in a request's order:
 *   BLK_T_KICK      the request was seen: virtio-blk's notify on the vCPU's
 *                   core (before the write data is copied), or blk_submit()
 *   BLK_T_QUEUED    the backend queued the command (iSCSI: the SCSI Command
 *                   PDU is in the session's send queue)
 *   BLK_T_WIRE      the command left (iSCSI: its last byte went to TCP,
 *                   whose output goes to the NIC's ring in the same call
 *                   while the window is open)
 *   BLK_T_RESPONSE  the answer came (iSCSI: the PDU carrying the status
 *                   was parsed, the data already in the buffer)
 *   BLK_T_DONE      the caller's completion ran (virtio-blk: used ring
 *                   written, interrupt raised)
 * A backend that has no network in between (ram:, cow:) leaves the middle
 * three at 0: its requests count only in the total.
 */
#ifndef HAKO_BLK_LAT_H
#define HAKO_BLK_LAT_H

#include <stdint.h>

enum blk_stamp { BLK_T_KICK, BLK_T_QUEUED, BLK_T_WIRE, BLK_T_RESPONSE, BLK_T_DONE, BLK_STAMPS };

/* The hops: consecutive stamps, then the whole request (kick to done). */
enum blk_hop { BLK_HOP_QUEUE, BLK_HOP_SEND, BLK_HOP_TARGET, BLK_HOP_COMPLETE, BLK_HOP_TOTAL,
	       BLK_HOPS };

/*
 * Quarter-octave buckets of ticks: bucket 4k+j holds values in
 * [2^k (1 + j/4), 2^k (1 + (j+1)/4)), so a percentile read from them is
 * within 19% of the true value. 2^40 ticks is minutes at any clock rate.
 */
#define BLK_LAT_BUCKETS (4 * 40)

struct blk_lat {
	uint64_t n[BLK_HOPS];
	uint64_t sum[BLK_HOPS];
	uint32_t hist[BLK_HOPS][BLK_LAT_BUCKETS];
};

/* Adds one finished request's stamps (a hop counts when both ends are set). */
void blk_lat_add(struct blk_lat *l, const uint64_t stamp[BLK_STAMPS]);
/* Mean and 99th percentile of a hop in ticks; 0 with no samples. */
uint64_t blk_lat_mean(const struct blk_lat *l, enum blk_hop h);
uint64_t blk_lat_p99(const struct blk_lat *l, enum blk_hop h);
/* "kick->queued" and so on. */
const char *blk_hop_name(enum blk_hop h);

#endif
