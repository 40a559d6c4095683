/*
 * vmm/exit_trace.h - what each VM exit cost, and a ring of a guest's
 * recent exits (`stats NAME`, `trace NAME`).
 *
 * exit_dispatch() (vmm/exit.c) brackets every handler with
 * exit_trace_begin() and exit_trace_end(): the TSC cycles between them
 * (the neutral handler's work, from the decoded exit to the decision to
 * enter again; neither the world switch nor an idle HLT) add to the
 * guest's per-kind sum and maximum. While `trace NAME on`, the exit is
 * also written to the guest's ring, decoded: its leaf, port, MSR or
 * address. Off, the ring costs one load and one branch per exit.
 *
 * The ring is shared by the guest's vCPUs (each takes the next slot with
 * one atomic add) and read by the service core without a lock: a record
 * carries its sequence number, written last, and a reader keeps a copy
 * only when the number is the one it expected before and after copying.
 */
#ifndef HAKO_EXIT_TRACE_H
#define HAKO_EXIT_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/exit.h"

struct vcpu;
struct vm;

#define EXIT_TRACE_LEN 1024 /* records per guest; a power of two */

/* One exit as `trace` prints it. */
struct exit_trace_rec {
	uint64_t seq;     /* its index + 1 once complete; 0 while a vCPU writes it */
	uint64_t tsc;     /* TSC when hako began handling it */
	uint64_t rip;     /* guest RIP of the exiting instruction */
	uint64_t a, b;    /* the detail, by kind: exit_trace_format() */
	uint32_t cycles;  /* TSC cycles in the handler (saturated) */
	uint8_t vcpu;
	uint8_t kind;     /* enum exit_kind */
	uint8_t flags;    /* port I/O: size | EXIT_TRACE_IN; memory: EXIT_ACCESS_* */
	uint8_t pad;
};
_Static_assert(sizeof(struct exit_trace_rec) == 48, "a trace record is 48 bytes");
#define EXIT_TRACE_IN 0x80

struct exit_trace {
	volatile int on;  /* `trace NAME on` */
	uint64_t head;    /* exits recorded since the ring was made: the next index */
	struct exit_trace_rec rec[EXIT_TRACE_LEN];
};

/* What exit_trace_begin() keeps for exit_trace_end(). */
struct exit_trace_mark {
	uint64_t t0;
	struct exit_trace *ring; /* 0 when not tracing */
	struct exit_trace_rec rec;
};

/* Before the handler: the start time and, while tracing, the exit's operands. */
void exit_trace_begin(struct vcpu *v, const struct exit_info *e, struct exit_trace_mark *m);
/* After it: counts its cycles and, while tracing, completes the record (results). */
void exit_trace_end(struct vcpu *v, const struct exit_info *e, struct exit_trace_mark *m);

/*
 * `trace NAME on|off` (vmm/exit_trace_mem.c, kernel only): the first `on`
 * of a guest takes its ring (a new guest's starts empty), later ones keep
 * what it holds; off, the ring keeps its records for `trace NAME`. A ring
 * is never freed: it serves the next guest defined in the same slot.
 * 0, or -ENOMEM.
 */
int exit_trace_set(struct vm *vm, int on);

/*
 * Copies record `index` of `t` to `out`. Returns 0, or -1 when a vCPU
 * has overwritten it (or is writing it) since.
 */
int exit_trace_read(const struct exit_trace *t, uint64_t index, struct exit_trace_rec *out);
/*
 * One line (no newline) for `r`: time in seconds since `start_tsc`, vCPU,
 * kind, RIP, the decoded detail and the cycles. Returns its length.
 */
size_t exit_trace_format(const struct exit_trace_rec *r, uint64_t start_tsc, uint64_t tsc_khz,
			 char *buf, size_t cap);

#endif
