/*
 * net/lwip/sys_arch.c - the rest of lwIP's port for hako (lwIP
 * doc/NO_SYS_SysArch.txt): with NO_SYS=1 lwIP needs only a millisecond
 * clock, random numbers, diagnostics, and atoi() for netif_find().
 */
#include <stdarg.h>
#include <stdint.h>

#include "lwip/arch.h"
#include "lwip/sys.h"
#include "net/crypto/rng.h"
#include "net/lwip/hooks.h"
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

/* hako_lwip_rand - 32 random bits from hako's DRBG (DHCP transaction
 * ids, the first local port). */
uint32_t hako_lwip_rand(void)
{
	return rng_u32();
}

/* LWIP_HOOK_TCP_ISN (net/lwip/hooks.h): RFC 6528 ISNs keyed with a secret
 * drawn from the DRBG at boot, instead of lwIP's counter. */
u32_t hako_tcp_isn(const ip_addr_t *local_ip, u16_t local_port, const ip_addr_t *remote_ip,
		   u16_t remote_port)
{
	struct isn_tuple t = { ip4_addr_get_u32(ip_2_ip4(local_ip)),
			       ip4_addr_get_u32(ip_2_ip4(remote_ip)), lwip_htons(local_port),
			       lwip_htons(remote_port) };
	return rng_tcp_isn(&t);
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
