/*
 * net/lwip/arch/cc.h - lwIP's compiler and platform port for hako (lwIP
 * doc/porting: "arch/cc.h"). The kernel is freestanding: GCC gives
 * stdint.h and stddef.h; the C library pieces lwIP reaches for
 * (string.h, stdlib.h) come from net/lwip/include/ shims over vmm/lib.
 */
#ifndef HAKO_LWIP_ARCH_CC_H
#define HAKO_LWIP_ARCH_CC_H

#include <stdint.h>

#define LWIP_NO_INTTYPES_H 1
#define X8_F "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"

#define LWIP_NO_CTYPE_H 1
/* GCC's freestanding limits.h chains to a C library's; give lwIP the one
 * limit it uses (for its ssize_t fallback). */
#define LWIP_NO_LIMITS_H 1
#define INT_MAX __INT_MAX__
/* No unistd.h: lwIP defines ssize_t itself when SSIZE_MAX is missing. */
#define LWIP_NO_UNISTD_H 1

/* x86 is little-endian; lwIP's generic byte swaps compile to bswap. */
#define BYTE_ORDER LITTLE_ENDIAN

/* Random numbers for DHCP transaction ids and TCP initial sequence numbers. */
uint32_t hako_lwip_rand(void);
#define LWIP_RAND() hako_lwip_rand()

/* lwIP's own diagnostics go to hako's log; a failed assertion is a broken
 * host invariant (STYLE.md), so it panics. */
void hako_lwip_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hako_lwip_assert(const char *msg, const char *file, int line) __attribute__((noreturn));
#define LWIP_PLATFORM_DIAG(x) hako_lwip_diag x
#define LWIP_PLATFORM_ASSERT(x) hako_lwip_assert((x), __FILE__, __LINE__)

#endif
