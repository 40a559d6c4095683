/*
 * tests/unit/test_scrub.c - the scrub pool of guest memory chunks
 * (vmm/core/scrub.c), against a fake page allocator of 2 MiB chunks:
 * zeroed chunks first, dirty ones zeroed by whoever hands them out, the
 * idle scrubber, zeroing ahead up to the demand and the cap, the pool
 * given back when the allocator is short, waking a parked core.
 * It includes scrub.c itself rather than linking it with the portable
 * files: the page allocator and the cores it calls are fakes here.
 */
#include <stdlib.h>

#include "check.h"
#include "vmm/core/scrub.c"

#define NCHUNKS 40 /* 80 MiB: above SCRUB_RESERVE, so zeroing ahead may take some */

struct percpu cpus[MAX_CPUS];
unsigned cpu_count = 2;

static uint8_t *arena;
static int used[NCHUNKS];           /* taken from the fake allocator */
static uint64_t guest_chunks, pooled_chunks, kicks, demand_bytes;

static uint64_t chunk_addr(unsigned i) { return (uint64_t)(uintptr_t)arena + i * SCRUB_CHUNK_SIZE; }
static unsigned chunk_index(uint64_t a) { return (unsigned)((a - chunk_addr(0)) / SCRUB_CHUNK_SIZE); }

static uint64_t take(void)
{
	for (unsigned i = 0; i < NCHUNKS; i++)
		if (!used[i]) {
			used[i] = 1;
			return chunk_addr(i);
		}
	return 0;
}

/* page.c's policy, on the fake: short of memory, the pool comes back, dirty first. */
uint64_t page_alloc(unsigned order, enum page_owner owner)
{
	(void)order, (void)owner; /* only guest chunks here */
	uint64_t a = take();
	if (!a && scrub_reclaim(0))
		a = take();
	if (!a && scrub_reclaim(1))
		a = take();
	if (a) {
		memset((void *)(uintptr_t)a, 0, SCRUB_CHUNK_SIZE);
		guest_chunks++;
	}
	return a;
}

uint64_t page_pool_take(unsigned order)
{
	(void)order;
	uint64_t a = take();
	pooled_chunks += a != 0;
	return a;
}

void page_pool_return(uint64_t addr, unsigned order)
{
	(void)order;
	used[chunk_index(addr)] = 0;
	pooled_chunks--;
}

void page_pool_to_guest(unsigned order) { (void)order; pooled_chunks--, guest_chunks++; }
void page_guest_to_pool(unsigned order) { (void)order; guest_chunks--, pooled_chunks++; }

void page_stats(struct page_stats *s)
{
	uint64_t unused = 0;
	for (unsigned i = 0; i < NCHUNKS; i++)
		unused += !used[i];
	memset(s, 0, sizeof(*s));
	s->pooled_bytes = pooled_chunks * SCRUB_CHUNK_SIZE;
	s->free_bytes = unused * SCRUB_CHUNK_SIZE + s->pooled_bytes;
}

void smp_kick(unsigned index)
{
	(void)index;
	kicks++;
}

static uint64_t demand(void) { return demand_bytes; }

static int all_zero(uint64_t a)
{
	const uint64_t *p = (const uint64_t *)(uintptr_t)a;
	for (uint64_t i = 0; i < SCRUB_CHUNK_SIZE / 8; i++)
		if (p[i])
			return 0;
	return 1;
}

static void fill(uint64_t a) { memset((void *)(uintptr_t)a, 0xa5, SCRUB_CHUNK_SIZE); }

/* Back to an empty pool and allocator between tests. */
static void reset(int idle, uint64_t ahead, uint64_t want)
{
	memset(&pool, 0, sizeof(pool));
	memset(used, 0, sizeof(used));
	guest_chunks = pooled_chunks = kicks = 0;
	demand_bytes = want;
	scrub_set_demand(demand);
	scrub_configure(idle, ahead);
	kicks = 0; /* scrub_configure wakes the parked cores */
}

static void scrub_all(int fresh_too)
{
	while (scrub_idle_step(fresh_too))
		;
}

static void test_start_zeroes_a_dirty_chunk_itself(void)
{
	reset(0, 0, 0); /* scrub=start */
	int zeroed;
	uint64_t a = scrub_chunk_alloc(&zeroed);
	CHECK(a && zeroed && all_zero(a));
	fill(a);
	scrub_chunk_free(a);
	CHECK_EQ(scrub_idle_step(1), 0); /* nobody scrubs in the background */
	uint64_t b = scrub_chunk_alloc(&zeroed);
	CHECK_EQ(b, a);                  /* the pool's chunk before fresh memory */
	CHECK(zeroed && all_zero(b));
	CHECK_EQ(guest_chunks, 1);
	CHECK_EQ(pooled_chunks, 0);
}

static void test_idle_scrub_of_a_dirty_chunk_and_the_link_word(void)
{
	reset(1, 0, 0);
	int zeroed;
	uint64_t a = scrub_chunk_alloc(&zeroed), b = scrub_chunk_alloc(&zeroed);
	fill(a), fill(b);
	scrub_chunk_free(a);
	scrub_chunk_free(b);
	struct scrub_stats s;
	scrub_get_stats(&s);
	CHECK_EQ(s.dirty_bytes, 2 * SCRUB_CHUNK_SIZE);
	scrub_all(0);                    /* the service core: dirty chunks only */
	scrub_get_stats(&s);
	CHECK_EQ(s.dirty_bytes, 0);
	CHECK_EQ(s.clean_bytes, 2 * SCRUB_CHUNK_SIZE);
	CHECK_EQ(s.scrubbed_bytes, 2 * SCRUB_CHUNK_SIZE);
	/* the clean list runs through the chunks' first words: zero again at hand-out */
	uint64_t x = scrub_chunk_alloc(&zeroed), y = scrub_chunk_alloc(&zeroed);
	CHECK(!zeroed && all_zero(x) && all_zero(y));
	CHECK((x == a && y == b) || (x == b && y == a));
	CHECK_EQ(pooled_chunks, 0);
	CHECK_EQ(guest_chunks, 2);
}

static void test_zeroing_ahead_follows_the_demand_up_to_the_cap(void)
{
	reset(1, 8 * SCRUB_CHUNK_SIZE, 3 * SCRUB_CHUNK_SIZE);
	scrub_all(0);
	struct scrub_stats s;
	scrub_get_stats(&s);
	CHECK_EQ(s.clean_bytes, 0);      /* not the service core's work */
	scrub_all(1);
	scrub_get_stats(&s);
	CHECK_EQ(s.clean_bytes, 3 * SCRUB_CHUNK_SIZE);
	CHECK_EQ(s.target_bytes, 3 * SCRUB_CHUNK_SIZE);
	demand_bytes = 100 * SCRUB_CHUNK_SIZE; /* a bigger guest: the cap holds */
	scrub_all(1);
	scrub_get_stats(&s);
	CHECK_EQ(s.clean_bytes, 8 * SCRUB_CHUNK_SIZE);
	for (int i = 0; i < 8; i++) {
		int zeroed;
		uint64_t a = scrub_chunk_alloc(&zeroed);
		CHECK(!zeroed && all_zero(a));
	}
	int zeroed;
	CHECK(scrub_chunk_alloc(&zeroed) && zeroed); /* the ninth from the allocator */
}

static void test_short_allocator_takes_the_pool_back_dirty_first(void)
{
	reset(1, 4 * SCRUB_CHUNK_SIZE, 4 * SCRUB_CHUNK_SIZE);
	scrub_all(1);                    /* 4 clean */
	int zeroed;
	uint64_t held[NCHUNKS];
	unsigned n = 0;
	while (n < NCHUNKS - 4 && (held[n] = take()))
		n++;
	CHECK_EQ(n, NCHUNKS - 4);        /* the allocator is empty now */
	uint64_t d = scrub_chunk_alloc(&zeroed); /* a clean one */
	fill(d);
	scrub_chunk_free(d);             /* 3 clean, 1 dirty */
	uint64_t a = page_alloc(SCRUB_CHUNK_ORDER, PAGE_HAKO);
	CHECK_EQ(a, d);                  /* the dirty one came back first, zeroed by page_alloc */
	CHECK(all_zero(a));
	struct scrub_stats s;
	scrub_get_stats(&s);
	CHECK_EQ(s.clean_bytes, 3 * SCRUB_CHUNK_SIZE);
	CHECK(page_alloc(SCRUB_CHUNK_ORDER, PAGE_HAKO)); /* then the clean ones */
	scrub_get_stats(&s);
	CHECK_EQ(s.clean_bytes, 0);
	CHECK_EQ(pooled_chunks, 0);
}

static void test_a_parked_core_is_woken_only_for_work(void)
{
	reset(1, 0, 0);
	scrub_core_parked(1, 1);
	scrub_wake_a_core();
	CHECK_EQ(kicks, 0);              /* nothing to scrub */
	int zeroed;
	uint64_t a = scrub_chunk_alloc(&zeroed);
	scrub_chunk_free(a);
	scrub_wake_a_core();
	CHECK_EQ(kicks, 1);
	scrub_core_parked(1, 0);         /* it woke up */
	scrub_wake_a_core();
	CHECK_EQ(kicks, 1);
	reset(0, 0, 0);                  /* scrub=start: nobody is woken */
	scrub_core_parked(1, 1);
	scrub_chunk_free(scrub_chunk_alloc(&zeroed));
	scrub_wake_a_core();
	CHECK_EQ(kicks, 0);
}

int main(void)
{
	arena = aligned_alloc(SCRUB_CHUNK_SIZE, NCHUNKS * SCRUB_CHUNK_SIZE);
	if (!arena)
		return 2;
	RUN(test_start_zeroes_a_dirty_chunk_itself);
	RUN(test_idle_scrub_of_a_dirty_chunk_and_the_link_word);
	RUN(test_zeroing_ahead_follows_the_demand_up_to_the_cap);
	RUN(test_short_allocator_takes_the_pool_back_dirty_first);
	RUN(test_a_parked_core_is_woken_only_for_work);
	free(arena);
	return check_done();
}
