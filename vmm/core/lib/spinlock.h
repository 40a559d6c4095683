/*
 * vmm/core/lib/spinlock.h - the few synchronisation primitives every layer
 * uses: a test-and-set spinlock, and saving/restoring the interrupt flag
 * around it (a lock an interrupt handler may also take). Host unit tests
 * build irq_save() as a no-op: CLI faults in user mode.
 */
#ifndef HAKO_SPINLOCK_H
#define HAKO_SPINLOCK_H

#include <stdint.h>

static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }

static inline uint64_t irq_save(void)
{
#ifdef HAKO_HOST_TEST
	return 0;       /* host unit tests run in user mode, where CLI faults */
#else
	uint64_t f;
	__asm__ volatile("pushfq; pop %0; cli" : "=r"(f)::"memory");
	return f;
#endif
}

static inline void irq_restore(uint64_t f)
{
	if (f & (1u << 9))
		irq_enable();
}

/* A test-and-set spinlock; enough for the few places cores share state. */
struct spinlock {
	volatile uint32_t locked;
};

static inline void spin_lock(struct spinlock *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (l->locked)
			cpu_relax();
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

#endif
