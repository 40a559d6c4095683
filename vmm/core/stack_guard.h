/*
 * vmm/core/stack_guard.h - the stack protector's guard (vmm/core/stack_guard.c).
 */
#ifndef HAKO_STACK_GUARD_H
#define HAKO_STACK_GUARD_H

#include <stdint.h>

/* Compared by every protected function; chosen by stack_guard_init(). */
extern uint64_t __stack_chk_guard;
/* Where the guard came from: "RDSEED", "RDRAND" or the TSC fallback. */
extern const char *stack_guard_source;

/* Boot core, from boot/entry.S before kmain(): picks the guard. */
void stack_guard_init(uint64_t seed);
/* A protected function found its guard overwritten: hv_panic(). */
void __stack_chk_fail(void) __attribute__((noreturn));

#endif
