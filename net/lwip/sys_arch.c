/*
 * net/lwip/sys_arch.c - the rest of lwIP's port for hako (lwIP
 * doc/NO_SYS_SysArch.txt): with NO_SYS=1 lwIP needs only a millisecond
 * clock, random numbers, diagnostics, and atoi() for netif_find().
 */
#include <stdarg.h>
#include <stdint.h>

#include "lwip/arch.h"
#include "lwip/sys.h"
#include "vmm/core/cpu.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/time.h"
#include "vmm/core/trap.h"

/* lwIP's clock: milliseconds, wrapping at 2^32 (lwIP compares with
 * subtraction, so the wrap is harmless). */
u32_t sys_now(void)
{
	return (u32_t)(time_us() / 1000);
}

/*
 * hako_lwip_rand - 32 pseudo-random bits (xorshift64 seeded from the TSC).
 * Good enough for DHCP transaction ids and TCP initial sequence numbers on a
 * management network; not a cryptographic generator.
 */
uint32_t hako_lwip_rand(void)
{
	static uint64_t s;
	if (!s)
		s = rdtsc() | 1;
	s ^= rdtsc() & 0xff;
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return (uint32_t)(s >> 16);
}

void hako_lwip_diag(const char *fmt, ...)
{
	char buf[160];
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_dbg("lwip: %s", buf);
}

void hako_lwip_assert(const char *msg, const char *file, int line)
{
	hv_panic("lwip assertion failed: %s (%s:%d)", msg, file, line);
}

/* atoi for lwIP's netif_find(): decimal digits only, stops at the first
 * non-digit. */
int atoi(const char *s)
{
	int v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return v;
}
