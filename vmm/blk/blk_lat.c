/*
 * vmm/blk/blk_lat.c - the latency breakdown of disk requests (see
 * blk_lat.h). Portable.
 */
#include "vmm/blk/blk_lat.h"

static unsigned bucket_of(uint64_t v)
{
	if (v < 4)
		return (unsigned)v; /* 0..3 exactly: below the first octave's resolution */
	unsigned k = 63 - (unsigned)__builtin_clzll(v);
	unsigned j = (unsigned)(v >> (k - 2)) & 3;
	unsigned b = 4 * k + j;
	return b < BLK_LAT_BUCKETS ? b : BLK_LAT_BUCKETS - 1;
}

/* The middle of bucket b, in ticks. */
static uint64_t bucket_value(unsigned b)
{
	if (b < 8)
		return b; /* 0..3; 4..7 stay empty */
	unsigned k = b / 4, j = b % 4;
	uint64_t width = 1ull << (k - 2);
	return (1ull << k) + j * width + width / 2;
}

static void add_hop(struct blk_lat *l, enum blk_hop h, uint64_t from, uint64_t to)
{
	if (!from || !to || to < from)
		return;
	l->n[h]++;
	l->sum[h] += to - from;
	l->hist[h][bucket_of(to - from)]++;
}

void blk_lat_add(struct blk_lat *l, const uint64_t t[BLK_STAMPS])
{
	/* a hop across a stamp the backend did not set is not a hop */
	for (int h = BLK_HOP_QUEUE; h <= BLK_HOP_COMPLETE; h++)
		add_hop(l, (enum blk_hop)h, t[h], t[h + 1]);
	add_hop(l, BLK_HOP_TOTAL, t[BLK_T_KICK], t[BLK_T_DONE]);
}

uint64_t blk_lat_mean(const struct blk_lat *l, enum blk_hop h)
{
	return l->n[h] ? l->sum[h] / l->n[h] : 0;
}

uint64_t blk_lat_p99(const struct blk_lat *l, enum blk_hop h)
{
	if (!l->n[h])
		return 0;
	/* the smallest value with at least 99% of the samples at or below it */
	uint64_t want = l->n[h] - l->n[h] / 100, seen = 0;
	for (unsigned b = 0; b < BLK_LAT_BUCKETS; b++)
		if ((seen += l->hist[h][b]) >= want)
			return bucket_value(b);
	return bucket_value(BLK_LAT_BUCKETS - 1);
}

const char *blk_hop_name(enum blk_hop h)
{
	static const char *const names[BLK_HOPS] = { "kick->queued", "queued->wire",
						     "wire->response", "response->done", "total" };
	return h < BLK_HOPS ? names[h] : "?";
}
