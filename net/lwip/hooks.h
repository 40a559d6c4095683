/*
 * net/lwip/hooks.h - lwIP's LWIP_HOOK_FILENAME (lwIP opt.h, "Hooks"):
 * included by the lwIP files that call hooks. Implemented in sys_arch.c.
 */
#ifndef HAKO_LWIP_HOOKS_H
#define HAKO_LWIP_HOOKS_H

#include "lwip/ip_addr.h"

u32_t hako_tcp_isn(const ip_addr_t *local_ip, u16_t local_port, const ip_addr_t *remote_ip,
		   u16_t remote_port);

#endif
