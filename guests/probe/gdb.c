/*
 * guests/probe/gdb.c - the probe's `gdb` word: a loop made for a
 * debugger (tests/integration/test_gdb.py), with symbols to break on,
 * read and change. Every vCPU but the first counts in gdb_ap_loop(), so
 * a debugger sees threads that run (and stop) together.
 */
#include <stdint.h>

#include "guests/lib/console.h"
#include "guests/probe/probe.h"

volatile uint64_t gdb_value = 1111;
volatile uint64_t gdb_count;
volatile uint64_t gdb_ap_count;
volatile uint64_t gdb_flags;    /* what gdb_pushf()'s PUSHFQ pushed, last time */
volatile uint64_t gdb_dr6;      /* and DR6 just after it */
volatile uint64_t gdb_int_test; /* a debugger sets it: the loop runs the `int-user` check once */
const uint8_t gdb_bytes[8] = { 0x68, 0x61, 0x6b, 0x6f, 0xde, 0xad, 0xbe, 0xef };

__attribute__((noinline)) void gdb_tick(uint64_t n);
void gdb_tick(uint64_t n)
{
	gdb_count = n;
	__asm__ volatile("" ::: "memory");
}

/*
 * RFLAGS as PUSHFQ sees it, at the global label gdb_pushf_insn, and DR6
 * after it: a debugger that single-steps it must leave its trap flag in
 * neither (nor DR6.BS, the mark of a single-step #DB).
 */
__attribute__((noinline, noclone)) void gdb_pushf(void);
void gdb_pushf(void)
{
	uint64_t f, dr6;
	__asm__ volatile(".globl gdb_pushf_insn\ngdb_pushf_insn:\n\tpushfq\n\tpop %0\n\tmov %%dr6, %1"
			 : "=r"(f), "=r"(dr6)::"memory");
	gdb_flags = f;
	gdb_dr6 = dr6;
}

/* Called once the `int-user` check a debugger asked for has run (a place to break). */
__attribute__((noinline)) void gdb_int_done(void);
void gdb_int_done(void)
{
	__asm__ volatile("" ::: "memory");
}

void cmd_gdb(void)
{
	uint64_t last = gdb_value;
	puts_("probe: gdb loop\n");
	for (uint64_t n = 0;; n++) {
		gdb_tick(n);
		gdb_pushf();
		if (gdb_value != last) {
			last = gdb_value;
			puts_("probe: gdb_value=");
			putu(last);
			puts_("\n");
		}
		if (gdb_int_test) {
			gdb_int_test = 0;
			ring3_int_check();
			gdb_int_done();
		}
		for (volatile unsigned i = 0; i < 1000; i++)
			;
	}
}

void gdb_ap_loop(void)
{
	for (;;) {
		gdb_ap_count++;
		__asm__ volatile("pause" ::: "memory");
	}
}
