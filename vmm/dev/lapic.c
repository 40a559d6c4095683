/*
 * vmm/dev/lapic.c - the local APIC model of lapic.h (SDM Vol. 3A 11.4
 * registers, 11.5.4 timer, 11.6 IPIs and ICR, 11.8 handling interrupts,
 * 11.12 x2APIC). The timer counts at the TSC rate (the "bus clock" is the
 * TSC), divided by TDCR; TSC-deadline mode compares against the TSC the
 * guest reads, which is the host's (no TSC offset). Portable: the caller
 * passes the TSC as `now`; IPIs, level-triggered EOIs and wake-ups leave
 * through the ops given at reset.
 */
#include "vmm/dev/lapic.h"

#include <stddef.h>

#include "vmm/core/lib/string.h"
#include "vmm/dev/acpi_tables.h"

#define APIC_ID 0x020
#define APIC_VER 0x030
#define  APIC_VERSION 0x50014      /* version 0x14, 6 LVT entries (max LVT 5) */
#define APIC_TPR 0x080
#define APIC_APR 0x090
#define APIC_PPR 0x0a0
#define APIC_EOI 0x0b0
#define APIC_LDR 0x0d0
#define APIC_DFR 0x0e0
#define APIC_SVR 0x0f0
#define  SVR_ENABLED (1u << 8)
#define APIC_ISR 0x100
#define APIC_TMR 0x180
#define APIC_IRR 0x200
#define APIC_ESR 0x280
#define APIC_LVT_CMCI 0x2f0
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_ERROR 0x370
#define APIC_TIMER_ICR 0x380
#define APIC_TIMER_CCR 0x390
#define APIC_TIMER_DCR 0x3e0
#define APIC_SELF_IPI 0x3f0       /* x2APIC only */
#define LVT_MASKED (1u << 16)
#define LVT_TIMER_MODE(v) (((v) >> 17) & 3)
#define  TIMER_ONESHOT 0
#define  TIMER_PERIODIC 1
#define  TIMER_TSC_DEADLINE 2
#define ICR_DEST_LOGICAL (1u << 11)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_SHORTHAND(v) (((v) >> 18) & 3)
#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_EN (1ull << 11)
#define MSR_X2APIC_FIRST 0x800
#define MSR_X2APIC_LAST 0x8ff
#define MSR_TSC_DEADLINE 0x6e0
#define ICR_MODE(v) (((v) >> 8) & 7)

/*
 * Resets `l` to the power-on state with APIC ID `id` (SDM 11.4.7.1; INIT
 * does the same), the BSP flag in IA32_APIC_BASE when `bsp`. `ops` and
 * `ctx` wire it to the machine. Other cores may be delivering to `l`
 * meanwhile, so the wiring is rewritten in place, never cleared.
 */
void vlapic_reset(struct vlapic *l, uint32_t id, int bsp, const struct vlapic_ops *ops, void *ctx)
{
	const size_t state = offsetof(struct vlapic, id);
	l->ops = ops;
	l->ctx = ctx;
	memset((char *)l + state, 0, sizeof(*l) - state);
	l->id = id;
	l->apic_base = GUEST_LAPIC_BASE | APIC_BASE_EN | (bsp ? APIC_BASE_BSP : 0);
	l->dfr = 0xffffffffu;
	l->svr = 0xff;
	for (unsigned i = 0; i < 7; i++)
		l->lvt[i] = LVT_MASKED;
}

static int x2apic(const struct vlapic *l) { return !!(l->apic_base & APIC_BASE_EXTD); }

static int highest(const uint32_t *bits)
{
	for (int i = 7; i >= 0; i--) {
		uint32_t w = __atomic_load_n(&bits[i], __ATOMIC_ACQUIRE);
		if (w)
			return i * 32 + 31 - __builtin_clz(w);
	}
	return -1;
}

/* PPR = max(TPR, class of the highest in-service vector) (SDM 11.8.3.1). */
static uint32_t ppr(const struct vlapic *l)
{
	int isr = highest(l->isr);
	uint32_t isrv = isr < 0 ? 0 : (uint32_t)isr & 0xf0;
	return (l->tpr & 0xf0) >= isrv ? l->tpr & 0xff : isrv;
}

/*
 * The highest vector in IRR whose priority class is above the processor
 * priority's (SDM 11.8.3), or -1: nothing, or the APIC is software-disabled.
 */
int vlapic_pending(const struct vlapic *l)
{
	int v = highest(l->irr);
	if (v < 0 || !(l->svr & SVR_ENABLED))
		return -1;
	return ((uint32_t)v & 0xf0) > (ppr(l) & 0xf0) ? v : -1;
}

static void bit_set(uint32_t *bits, unsigned v) { __atomic_or_fetch(&bits[v / 32], 1u << (v % 32), __ATOMIC_RELEASE); }
static void bit_clr(uint32_t *bits, unsigned v) { __atomic_and_fetch(&bits[v / 32], ~(1u << (v % 32)), __ATOMIC_RELEASE); }
static int bit_get(const uint32_t *bits, unsigned v) { return !!(bits[v / 32] & (1u << (v % 32))); }

/* The vCPU takes `vector` (from vlapic_pending): IRR to ISR (11.8.4). Own core. */
void vlapic_ack(struct vlapic *l, int vector)
{
	bit_clr(l->irr, (unsigned)vector);
	bit_set(l->isr, (unsigned)vector);
}

/*
 * A fixed interrupt arrives, from any core: sets IRR, and TMR for a
 * level-triggered one (clears it for edge), then wakes the vCPU.
 */
void vlapic_accept(struct vlapic *l, uint8_t vector, int level)
{
	if (vector < 16)
		return; /* illegal vectors are dropped (SDM 11.5.3: ESR "receive illegal vector") */
	if (level)
		bit_set(l->tmr, vector);
	else
		bit_clr(l->tmr, vector);
	bit_set(l->irr, vector);
	l->ops->wake(l->ctx);
}

/* An NMI arrives, from any core; the vCPU loop injects it. */
void vlapic_nmi(struct vlapic *l)
{
	l->nmi_pending = 1;
	l->ops->wake(l->ctx);
}

static void eoi(struct vlapic *l)
{
	int vec = highest(l->isr);
	if (vec < 0)
		return;
	bit_clr(l->isr, (unsigned)vec);
	if (bit_get(l->tmr, (unsigned)vec))
		l->ops->eoi(l->ctx, (uint8_t)vec); /* level-triggered: EOI broadcast (11.8.5) */
}

/* ---- timer ---- */

static uint64_t timer_period(const struct vlapic *l)
{
	unsigned d = (l->timer_dcr & 3) | ((l->timer_dcr >> 1) & 4);  /* SDM Figure 11-10 */
	unsigned shift = d == 7 ? 0 : d + 1;
	return (uint64_t)l->timer_icr << shift;
}

static void timer_load(struct vlapic *l, uint64_t now)
{
	l->timer_start = now;
	l->deadline = l->timer_icr ? now + timer_period(l) : 0;
}

/*
 * Fires the timer if its deadline passed by `now` (TSC): a periodic timer
 * reloads (skipping periods the vCPU missed), a one-shot or TSC-deadline
 * timer disarms; the LVT vector becomes pending unless masked. Own core.
 */
void vlapic_timer_check(struct vlapic *l, uint64_t now)
{
	if (!l->deadline || now < l->deadline)
		return;
	uint32_t lvt = l->lvt[0];
	if (LVT_TIMER_MODE(lvt) == TIMER_PERIODIC && l->timer_icr) {
		uint64_t p = timer_period(l);
		uint64_t missed = (now - l->deadline) / p;
		l->timer_start = l->deadline + missed * p;
		l->deadline = l->timer_start + p;
	} else {
		l->deadline = 0;
		if (LVT_TIMER_MODE(lvt) == TIMER_TSC_DEADLINE)
			l->tsc_deadline = 0;
	}
	if (!(lvt & LVT_MASKED))
		vlapic_accept(l, (uint8_t)lvt, 0);
}

static uint32_t timer_ccr(const struct vlapic *l, uint64_t now)
{
	if (!l->deadline || LVT_TIMER_MODE(l->lvt[0]) == TIMER_TSC_DEADLINE || now >= l->deadline)
		return 0;
	uint64_t left = l->deadline - now;
	return (uint32_t)(left * l->timer_icr / (timer_period(l) ? timer_period(l) : 1));
}

static void lvt_timer_write(struct vlapic *l, uint32_t val)
{
	unsigned old = LVT_TIMER_MODE(l->lvt[0]);
	l->lvt[0] = val & 0x700ff;
	if (!(l->svr & SVR_ENABLED))
		l->lvt[0] |= LVT_MASKED;
	if (LVT_TIMER_MODE(l->lvt[0]) != old) {  /* a mode change disarms (SDM 11.5.4.1) */
		l->deadline = 0;
		l->timer_icr = 0;
		l->tsc_deadline = 0;
	}
}

/* ---- IPIs ---- */

/*
 * Does `l` accept destination `dest` in physical or `logical` mode (SDM
 * 11.6.2)? Physical: its APIC ID or the broadcast ID. Logical: xAPIC
 * flat or cluster model as DFR says, against LDR; x2APIC cluster form.
 */
int vlapic_match(const struct vlapic *l, uint32_t dest, int logical)
{
	if (!logical)
		return dest == (x2apic(l) ? 0xffffffffu : 0xffu) || dest == l->id;
	if (x2apic(l)) {  /* cluster in 31:16, bit mask in 15:0 (11.12.10.2) */
		uint32_t ldr = ((l->id >> 4) << 16) | (1u << (l->id & 0xf));
		return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff);
	}
	uint32_t ldr = l->ldr >> 24;
	dest &= 0xff;
	if (dest == 0xff)
		return 1;
	if ((l->dfr >> 28) == 0xf)  /* flat model */
		return !!(ldr & dest);
	return (ldr >> 4) == (dest >> 4) && (ldr & dest & 0xf);  /* cluster model */
}

/*
 * Is `l` a target of `m`? `sender` says `l` belongs to the vCPU that
 * wrote the ICR; a shorthand overrides the destination field (11.6.1).
 */
int vlapic_ipi_accepts(const struct vlapic *l, const struct vlapic_ipi *m, int sender)
{
	switch (m->shorthand) {
	case VLAPIC_SELF:   return sender;
	case VLAPIC_ALL:    return 1;
	case VLAPIC_OTHERS: return !sender;
	default:            return vlapic_match(l, m->dest, m->logical);
	}
}

/* Decodes an ICR write into a message for ops->ipi (11.6.1; x2APIC 11.12.9). */
static void icr_write(struct vlapic *l, uint32_t lo, uint32_t dest)
{
	const struct vlapic_ipi m = { dest, !!(lo & ICR_DEST_LOGICAL), (uint8_t)ICR_MODE(lo),
				      (uint8_t)lo, 0, (uint8_t)ICR_SHORTHAND(lo) };
	if (m.mode == VLAPIC_INIT && !(lo & ICR_LEVEL_ASSERT))
		return; /* INIT level de-assert: no action on modern CPUs (11.6.1) */
	l->ops->ipi(l->ctx, &m);
}

/* ---- registers ---- */

static uint32_t reg_read(struct vlapic *l, uint32_t reg, uint64_t now)
{
	if (reg >= APIC_ISR && reg < APIC_ISR + 0x80)
		return l->isr[(reg - APIC_ISR) >> 4];
	if (reg >= APIC_TMR && reg < APIC_TMR + 0x80)
		return l->tmr[(reg - APIC_TMR) >> 4];
	if (reg >= APIC_IRR && reg < APIC_IRR + 0x80)
		return l->irr[(reg - APIC_IRR) >> 4];
	if (reg >= APIC_LVT_TIMER && reg <= APIC_LVT_ERROR)
		return l->lvt[(reg - APIC_LVT_TIMER) >> 4];
	switch (reg) {
	case APIC_ID:         return x2apic(l) ? l->id : l->id << 24;
	case APIC_VER:        return APIC_VERSION;
	case APIC_TPR:        return l->tpr;
	case APIC_APR:        return 0;
	case APIC_PPR:        return ppr(l);
	case APIC_LDR:        return x2apic(l) ? ((l->id >> 4) << 16) | (1u << (l->id & 0xf)) : l->ldr;
	case APIC_DFR:        return l->dfr;
	case APIC_SVR:        return l->svr;
	case APIC_ESR:        return l->esr;
	case APIC_LVT_CMCI:   return l->lvt[6];
	case APIC_ICR_LO:     return 0; /* delivery status: idle */
	case APIC_ICR_HI:     return l->icr_hi;
	case APIC_TIMER_ICR:  return l->timer_icr;
	case APIC_TIMER_CCR:  return timer_ccr(l, now);
	case APIC_TIMER_DCR:  return l->timer_dcr;
	default:              return 0;
	}
}

static void svr_write(struct vlapic *l, uint32_t val)
{
	l->svr = val & 0x13ff;
	if (!(val & SVR_ENABLED))  /* software disable masks every LVT (11.4.7.2) */
		for (unsigned i = 0; i < 7; i++)
			l->lvt[i] |= LVT_MASKED;
}

static void timer_icr_write(struct vlapic *l, uint32_t val, uint64_t now)
{
	if (LVT_TIMER_MODE(l->lvt[0]) == TIMER_TSC_DEADLINE)
		return; /* TSC-deadline mode ignores the initial count (11.5.4.1) */
	l->timer_icr = val;
	timer_load(l, now);
}

static void reg_write(struct vlapic *l, uint32_t reg, uint32_t val, uint64_t now)
{
	if (reg > APIC_LVT_TIMER && reg <= APIC_LVT_ERROR) {
		l->lvt[(reg - APIC_LVT_TIMER) >> 4] = val & 0x1f7ff;
		return;
	}
	switch (reg) {
	case APIC_TPR:       l->tpr = val & 0xff; return;
	case APIC_EOI:       eoi(l); return;
	case APIC_LDR:       if (!x2apic(l)) l->ldr = val & 0xff000000u; return;
	case APIC_DFR:       if (!x2apic(l)) l->dfr = val | 0x0fffffffu; return;
	case APIC_SVR:       svr_write(l, val); return;
	case APIC_ESR:       l->esr = 0; return;
	case APIC_LVT_CMCI:  l->lvt[6] = val & 0x107ff; return;
	case APIC_ICR_HI:    l->icr_hi = val; return;
	case APIC_ICR_LO:    icr_write(l, val, x2apic(l) ? l->icr_hi : l->icr_hi >> 24); return;
	case APIC_LVT_TIMER: lvt_timer_write(l, val); return;
	case APIC_TIMER_ICR: timer_icr_write(l, val, now); return;
	case APIC_TIMER_DCR: l->timer_dcr = val & 0xb; return;
	case APIC_SELF_IPI:  if (x2apic(l)) vlapic_accept(l, (uint8_t)val, 0); return;
	default:             return; /* read-only or reserved: ignored */
	}
}

/*
 * xAPIC register read at `offset` in the 4 KiB page, `now` the TSC.
 * All ones while the APIC is in x2APIC mode.
 */
uint64_t vlapic_mmio_read(struct vlapic *l, uint64_t offset, unsigned size, uint64_t now)
{
	(void)size; /* 32-bit registers; narrower reads see the low bytes */
	if (x2apic(l))
		return ~0ull; /* the MMIO page is off in x2APIC mode (11.12.1) */
	return reg_read(l, (uint32_t)offset & 0xff0, now) >> (8 * (offset & 3));
}

/* xAPIC register write; only aligned 32-bit writes in xAPIC mode take effect. */
void vlapic_mmio_write(struct vlapic *l, uint64_t offset, unsigned size, uint64_t val,
		       uint64_t now)
{
	if (x2apic(l) || size != 4 || (offset & 0xf))
		return; /* only aligned 32-bit writes are defined (11.4.1) */
	reg_write(l, (uint32_t)offset, (uint32_t)val, now);
}

/* Is `msr` one of the APIC's: x2APIC 0x800-0x8ff or IA32_TSC_DEADLINE? */
int vlapic_msr_is(uint32_t msr)
{
	return (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST) || msr == MSR_TSC_DEADLINE;
}

/*
 * RDMSR of an APIC MSR (vlapic_msr_is), `now` the TSC. 0 with *val set,
 * or -1: the caller injects #GP (xAPIC mode, write-only EOI; 11.12.1.2).
 */
int vlapic_msr_read(struct vlapic *l, uint32_t msr, uint64_t *val, uint64_t now)
{
	if (msr == MSR_TSC_DEADLINE) {
		*val = l->tsc_deadline;
		return 0;
	}
	if (!x2apic(l) || msr == 0x80b /* EOI is write-only */)
		return -1;
	uint32_t reg = (msr - MSR_X2APIC_FIRST) << 4;
	if (reg == APIC_ICR_LO) {
		*val = (uint64_t)l->icr_hi << 32;
		return 0;
	}
	*val = reg_read(l, reg, now);
	return 0;
}

/* WRMSR of an APIC MSR: 0, or -1 for #GP (xAPIC mode, read-only registers). */
int vlapic_msr_write(struct vlapic *l, uint32_t msr, uint64_t val, uint64_t now)
{
	if (msr == MSR_TSC_DEADLINE) {
		if (LVT_TIMER_MODE(l->lvt[0]) != TIMER_TSC_DEADLINE)
			return 0; /* ignored outside TSC-deadline mode (11.5.4.1) */
		l->tsc_deadline = val;
		l->deadline = val;
		return 0;
	}
	if (!x2apic(l))
		return -1;
	uint32_t reg = (msr - MSR_X2APIC_FIRST) << 4;
	if (reg == APIC_ICR_LO) {  /* one 64-bit write in x2APIC mode (11.12.9) */
		l->icr_hi = (uint32_t)(val >> 32);
		icr_write(l, (uint32_t)val, l->icr_hi);
		return 0;
	}
	if (reg == APIC_LDR || reg == APIC_ID || reg == APIC_DFR)
		return -1; /* read-only in x2APIC mode */
	reg_write(l, reg, (uint32_t)val, now);
	return 0;
}
