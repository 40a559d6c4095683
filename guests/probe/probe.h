/*
 * guests/probe/probe.h - what the probe guest's files share: its IDT
 * (probe.c), the debugger's loop (gdb.c) and the ring-3 check (ring3.c).
 */
#ifndef GUEST_PROBE_H
#define GUEST_PROBE_H

#include <stdint.h>

/* IDT entry `vec`: a 64-bit interrupt gate to `stub` in code segment 0x08, callable from CPL <= dpl. */
void idt_gate(int vec, void *stub, int dpl);

/* The `gdb` word: a loop for a debugger, forever. */
void cmd_gdb(void);
/* The other vCPUs' loop under `gdb`: counts in gdb_ap_count, forever. */
void gdb_ap_loop(void);

/* The `int-user` word: INT n from ring 3 through a DPL 3 and a DPL 0 gate; PASS/FAIL lines. */
void ring3_int_check(void);

#endif
