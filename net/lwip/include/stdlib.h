/*
 * net/lwip/include/stdlib.h - lwIP's netif_find() calls atoi(); hako's
 * version is in net/lwip/sys_arch.c. Only on lwIP's include path.
 */
#ifndef HAKO_LWIP_STDLIB_H
#define HAKO_LWIP_STDLIB_H
int atoi(const char *s);
#endif
