/*
 * vmm/core/scrub.h - guest memory handed out already zeroed: the 2 MiB
 * chunks guests are made of wait between guests in a pool, and idle cores
 * zero ("scrub") them in the background, as Xen's idle scrubber does.
 *
 * A chunk a guest gives back is dirty: it holds that guest's data and
 * goes to the dirty list, never back to the page allocator as it is. An
 * idle core (the service core before it halts, a guest core nobody uses)
 * takes one dirty chunk at a time, zeroes it and puts it on the clean
 * list; with nothing dirty a free guest core also zeroes never-used
 * memory ahead, taken from the page allocator, until what the next start
 * may want (the largest stopped guest: scrub_set_demand) is clean, at most
 * `ahead` bytes. `start` takes
 * clean chunks first, then dirty ones, which it zeroes itself, then fresh
 * pages (page_alloc zeroes them). So whatever the scrubber has or has not
 * done, a guest never sees memory it did not write itself.
 *
 * Chunks in the pool count as free memory (page_stats): when the page
 * allocator runs out, page_alloc() takes them back (dirty ones first).
 * The lists are linked through each chunk's first word, which is zeroed
 * again when a clean chunk is handed out.
 */
#ifndef HAKO_SCRUB_H
#define HAKO_SCRUB_H

#include <stdint.h>

#define SCRUB_CHUNK_ORDER 9 /* 2 MiB: the size of a guest's memory chunks */
#define SCRUB_CHUNK_SIZE ((uint64_t)2 << 20)
#define SCRUB_AHEAD_DEFAULT ((uint64_t)256 << 20) /* hako.cfg's scrub_ahead= */

struct scrub_stats {
	uint64_t clean_bytes;     /* zeroed, ready for the next guest */
	uint64_t dirty_bytes;     /* given back by guests, not zeroed yet (with the one being zeroed) */
	uint64_t scrubbed_bytes;  /* zeroed by idle cores since boot */
	uint64_t ahead_bytes;     /* scrub_ahead=: at most this much zeroed ahead */
	uint64_t target_bytes;    /* zeroed ahead wanted now: the demand, at most ahead_bytes */
	int idle;                 /* 1: idle cores scrub; 0: start zeroes (scrub=start) */
};

/*
 * Sets the policy (hako.cfg's scrub= and scrub_ahead=): `idle` 0 leaves
 * every zeroing to scrub_chunk_alloc(); `ahead` bytes of clean memory are
 * kept ready when idle cores scrub. Wakes the parked cores to begin.
 */
void scrub_configure(int idle, uint64_t ahead);
/*
 * A zeroed chunk for a guest (2 MiB, aligned), owner PAGE_GUEST, or 0 when
 * memory is exhausted. *zeroed_here says whether this call had to zero it.
 */
uint64_t scrub_chunk_alloc(int *zeroed_here);
/* A guest's chunk comes back from scrub_chunk_alloc(): it waits, dirty, for a scrub. */
void scrub_chunk_free(uint64_t chunk);
/*
 * An idle core's turn: zeroes one chunk (dirty, or with `fresh_too`
 * never-used memory below the `ahead` target). Returns 1 if it did, 0 if
 * there was nothing to do or another core is scrubbing. Any core,
 * interrupts on or off. The service core passes fresh_too 0: zeroing
 * ahead is for free guest cores, which have nothing else to do.
 */
int scrub_idle_step(int fresh_too);
/*
 * A free guest core halts with nothing to scrub (parked 1) or wakes up
 * (parked 0): scrub_wake_a_core() kicks one such core when work appears.
 */
void scrub_core_parked(unsigned core, int parked);
/*
 * The service core, before it halts: wakes a parked free core if there is
 * memory to scrub (a guest stopped, or a bigger guest was defined).
 */
void scrub_wake_a_core(void);
/*
 * Who says how much memory the next start may want (bytes; the guest
 * layer's largest stopped guest). Called on the scrubbing core, unlocked:
 * a hint, never a promise.
 */
void scrub_set_demand(uint64_t (*fn)(void));
/* Gives dirty (and, when `clean_too`, clean) pool chunks back to the page allocator. */
int scrub_reclaim(int clean_too);
void scrub_get_stats(struct scrub_stats *s);

#endif
