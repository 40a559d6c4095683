/*
 * vmm/core/scrub.c - the pool of guest memory chunks and its idle
 * scrubber (see scrub.h for the rules).
 *
 * One lock guards both lists and the counters; zeroing happens outside
 * it, on a chunk that is on neither list (`busy`), so `start` never waits
 * for a scrub. Only one core scrubs at a time: zeroing is bound by memory
 * bandwidth, and under an emulator every scrubbing core takes a host CPU.
 */
#include "vmm/core/scrub.h"

#include "vmm/core/lib/spinlock.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/page.h"
#include "vmm/core/percpu.h"
#include "vmm/core/smp.h"

#define SCRUB_RESERVE (32ull << 20) /* never-used memory left to hako's own allocations */

static struct {
	struct spinlock lock;
	uint64_t clean, dirty;     /* stacks linked through each chunk's first word */
	uint64_t nclean, ndirty;   /* chunks on each list */
	uint64_t nbusy;            /* chunks being zeroed by the scrubber */
	uint64_t scrubbed;         /* chunks idle cores zeroed since boot */
	uint64_t ahead;            /* at most this many chunks zeroed ahead (scrub_ahead=) */
	int idle;                  /* 0: scrub=start, nobody scrubs in the background */
	int scrubbing;             /* a core is in scrub_idle_step() */
	uint64_t (*demand)(void);  /* bytes the next start may want (vmm/vm.c) */
	uint64_t parked;           /* free guest cores halted with nothing to scrub, a bit each */
} pool;

static void push(uint64_t *list, uint64_t *n, uint64_t chunk)
{
	*(uint64_t *)chunk = *list;
	*list = chunk;
	(*n)++;
}

static uint64_t pop(uint64_t *list, uint64_t *n)
{
	uint64_t chunk = *list;
	if (chunk) {
		*list = *(uint64_t *)chunk;
		(*n)--;
	}
	return chunk;
}

/*
 * Zeroes one chunk. Under emulators the first write to each page is what
 * costs (the host faults it in); on hardware this is memory bandwidth.
 */
static void zero_chunk(uint64_t chunk)
{
	memset((void *)chunk, 0, SCRUB_CHUNK_SIZE);
}

void scrub_configure(int idle, uint64_t ahead)
{
	uint64_t f = irq_save();
	spin_lock(&pool.lock);
	pool.idle = idle;
	pool.ahead = ahead / SCRUB_CHUNK_SIZE;
	spin_unlock(&pool.lock);
	irq_restore(f);
	for (unsigned i = 1; i < cpu_count; i++)
		if (cpus[i].online)
			smp_kick(i); /* parked cores look for scrub work when they wake */
}

/* Takes a chunk off a list under the lock; *was_clean says which one. */
static uint64_t take_pooled(int *was_clean)
{
	uint64_t f = irq_save();
	spin_lock(&pool.lock);
	uint64_t chunk = pop(&pool.clean, &pool.nclean);
	*was_clean = chunk != 0;
	if (!chunk)
		chunk = pop(&pool.dirty, &pool.ndirty);
	spin_unlock(&pool.lock);
	irq_restore(f);
	return chunk;
}

uint64_t scrub_chunk_alloc(int *zeroed_here)
{
	int clean;
	uint64_t chunk = take_pooled(&clean);
	*zeroed_here = 0;
	if (chunk) {
		page_pool_to_guest(SCRUB_CHUNK_ORDER);
		if (clean) {
			*(uint64_t *)chunk = 0; /* the list link: the rest is zero already */
		} else {
			zero_chunk(chunk); /* another guest's data: never hand it out as it is */
			*zeroed_here = 1;
		}
		return chunk;
	}
	/* page_alloc zeroes, and takes the pool back when short: wait for a busy chunk */
	while (!(chunk = page_alloc(SCRUB_CHUNK_ORDER, PAGE_GUEST)) &&
	       __atomic_load_n(&pool.nbusy, __ATOMIC_ACQUIRE))
		cpu_relax();
	*zeroed_here = chunk != 0;
	return chunk;
}

void scrub_chunk_free(uint64_t chunk)
{
	page_guest_to_pool(SCRUB_CHUNK_ORDER);
	uint64_t f = irq_save();
	spin_lock(&pool.lock);
	push(&pool.dirty, &pool.ndirty, chunk);
	spin_unlock(&pool.lock);
	irq_restore(f);
}

void scrub_set_demand(uint64_t (*fn)(void))
{
	pool.demand = fn;
}

/* Chunks to keep zeroed ahead: what the next start may want, at most `ahead`. */
static uint64_t ahead_target(void)
{
	uint64_t want = pool.demand ? pool.demand() / SCRUB_CHUNK_SIZE : 0;
	return want < pool.ahead ? want : pool.ahead;
}

/* Fresh memory to zero ahead, while clean chunks are below the target and the allocator has room. */
static int want_fresh(void)
{
	struct page_stats ps;
	page_stats(&ps);
	return pool.nclean + pool.nbusy < ahead_target() &&
	       ps.free_bytes - ps.pooled_bytes >= SCRUB_RESERVE + SCRUB_CHUNK_SIZE;
}

/* The chunk an idle core zeroes next, marked busy: a dirty one, else (fresh_too) fresh memory. */
static uint64_t next_to_scrub(int fresh_too)
{
	if (!pool.idle)
		return 0;
	uint64_t f = irq_save();
	spin_lock(&pool.lock);
	uint64_t chunk = pop(&pool.dirty, &pool.ndirty);
	if (!chunk && fresh_too && want_fresh())
		chunk = page_pool_take(SCRUB_CHUNK_ORDER);
	if (chunk)
		pool.nbusy++;
	spin_unlock(&pool.lock);
	irq_restore(f);
	return chunk;
}

int scrub_idle_step(int fresh_too)
{
	if (__atomic_exchange_n(&pool.scrubbing, 1, __ATOMIC_ACQUIRE))
		return 0;
	uint64_t chunk = next_to_scrub(fresh_too);
	if (chunk) {
		zero_chunk(chunk);
		uint64_t f = irq_save();
		spin_lock(&pool.lock);
		push(&pool.clean, &pool.nclean, chunk);
		pool.scrubbed++;
		pool.nbusy--;
		spin_unlock(&pool.lock);
		irq_restore(f);
	}
	__atomic_store_n(&pool.scrubbing, 0, __ATOMIC_RELEASE);
	return chunk != 0;
}

void scrub_core_parked(unsigned core, int parked)
{
	if (core >= 64)
		return;
	if (parked)
		__atomic_or_fetch(&pool.parked, 1ull << core, __ATOMIC_SEQ_CST);
	else
		__atomic_and_fetch(&pool.parked, ~(1ull << core), __ATOMIC_SEQ_CST);
}

void scrub_wake_a_core(void)
{
	uint64_t parked = __atomic_load_n(&pool.parked, __ATOMIC_SEQ_CST);
	if (!parked || !pool.idle || __atomic_load_n(&pool.scrubbing, __ATOMIC_ACQUIRE))
		return;
	uint64_t f = irq_save();
	spin_lock(&pool.lock);
	int work = pool.ndirty || want_fresh();
	spin_unlock(&pool.lock);
	irq_restore(f);
	if (work)
		smp_kick((unsigned)__builtin_ctzll(parked));
}

int scrub_reclaim(int clean_too)
{
	int n = 0;
	uint64_t f = irq_save();
	spin_lock(&pool.lock);
	for (;;) {
		uint64_t chunk = pop(&pool.dirty, &pool.ndirty);
		if (!chunk && clean_too)
			chunk = pop(&pool.clean, &pool.nclean);
		if (!chunk)
			break;
		page_pool_return(chunk, SCRUB_CHUNK_ORDER);
		n++;
	}
	spin_unlock(&pool.lock);
	irq_restore(f);
	return n;
}

void scrub_get_stats(struct scrub_stats *s)
{
	uint64_t f = irq_save();
	spin_lock(&pool.lock);
	s->clean_bytes = pool.nclean * SCRUB_CHUNK_SIZE;
	s->dirty_bytes = (pool.ndirty + pool.nbusy) * SCRUB_CHUNK_SIZE;
	s->scrubbed_bytes = pool.scrubbed * SCRUB_CHUNK_SIZE;
	s->ahead_bytes = pool.ahead * SCRUB_CHUNK_SIZE;
	s->target_bytes = ahead_target() * SCRUB_CHUNK_SIZE;
	s->idle = pool.idle;
	spin_unlock(&pool.lock);
	irq_restore(f);
}
