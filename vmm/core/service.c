/*
 * vmm/core/service.c - the service core's loop (see service.h): poll
 * every registered poller, keep polling for SERVICE_SPIN_US after the last
 * work, then scrub guest memory (vmm/core/scrub.h) one chunk per round
 * while there is some to scrub, and halt until the next LAPIC timer tick
 * or a wake-up IPI.
 */
#include "vmm/core/service.h"

#include "vmm/core/cpu.h"
#include "vmm/core/lapic.h"
#include "vmm/core/scrub.h"
#include "vmm/core/smp.h"
#include "vmm/core/time.h"

#define SERVICE_SPIN_US 500  /* the service core polls on this long after work */
#define SERVICE_TICK_US 1000 /* then halts, waking at least this often */

extern const struct service_poller __start_hako_pollers[], __stop_hako_pollers[];

static int poll_depth, command_depth;
static uint64_t halted_us, halted_since_us; /* service_idle()'s account */

int service_poll(void)
{
	int busy = 0;
	poll_depth++;
	for (const struct service_poller *p = __start_hako_pollers; p < __stop_hako_pollers; p++)
		busy |= p->poll() != 0;
	poll_depth--;
	return busy;
}

/* See service.h: the main loop's poll, or the poll of a running command's wait. */
int service_commands_allowed(void)
{
	return poll_depth == command_depth + 1;
}

int service_command_begin(void)
{
	int saved = command_depth;
	command_depth = poll_depth;
	return saved;
}

void service_command_end(int saved)
{
	command_depth = saved;
}

/*
 * An idle service core halts instead of spinning: a core that spins
 * costs a real PC power, and under an emulator (nested QEMU, CI) it takes
 * host CPU from the guests. It wakes on its LAPIC timer every
 * SERVICE_TICK_US (serial input, network frames and timers wait at most
 * that long) or at once when another core calls service_wake().
 * Both sides write their flag before reading the other's, so a wake-up
 * is never lost between the check and the HLT.
 */
static int service_halted, service_woken;

static void service_idle(void)
{
	scrub_wake_a_core(); /* zeroing ahead is a free guest core's work */
	irq_disable();
	__atomic_store_n(&service_halted, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_exchange_n(&service_woken, 0, __ATOMIC_SEQ_CST)) {
		uint64_t t0 = time_us();
		lapic_timer_arm(SERVICE_TICK_US * tsc_khz / 1000);
		__asm__ volatile("sti; hlt; cli" ::: "memory"); /* STI's shadow covers HLT */
		halted_us += time_us() - t0;
	}
	__atomic_store_n(&service_halted, 0, __ATOMIC_SEQ_CST);
}

void service_loop(void)
{
	uint64_t last_work = time_us();
	halted_since_us = last_work;
	for (;;) {
		if (service_poll())
			last_work = time_us();
		else if (time_us() - last_work > SERVICE_SPIN_US && !scrub_idle_step(0))
			service_idle(); /* nothing to scrub here either (vmm/core/scrub.h) */
		else
			cpu_relax();
	}
}

void service_halted_share(uint64_t *since_us, uint64_t *halted)
{
	*since_us = halted_since_us;
	*halted = halted_us;
}

void service_wake(void)
{
	__atomic_store_n(&service_woken, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&service_halted, __ATOMIC_SEQ_CST))
		smp_kick(0);
}
