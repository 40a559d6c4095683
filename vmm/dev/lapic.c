/*
 * vmm/dev/lapic.c - the local APIC model of lapic.h (SDM Vol. 3A 11.4
 * registers, 11.5.4 timer, 11.6 IPIs and ICR, 11.8 handling interrupts,
 * 11.12 x2APIC). The timer counts at the TSC rate (the "bus clock" is the
 * TSC), divided by TDCR; TSC-deadline mode compares against the TSC the
 * guest reads, which is the host's (no TSC offset).
 */
#include "vmm/dev/lapic.h"

#include "vmm/core/cpu.h"
#include "vmm/core/smp.h"
#include "vmm/dev/acpi_tables.h"
#include "vmm/dev/ioapic.h"
#include "vmm/dev/platform.h"
#include "vmm/lib/log.h"
#include "vmm/vm.h"

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
#define MODE_FIXED 0
#define MODE_LOWEST 1
#define MODE_NMI 4
#define MODE_INIT 5
#define MODE_SIPI 6

void vlapic_reset(struct vlapic *l, uint32_t id, int bsp)
{
	*l = (struct vlapic){ 0 };
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

void vlapic_ack(struct vlapic *l, int vector)
{
	bit_clr(l->irr, (unsigned)vector);
	bit_set(l->isr, (unsigned)vector);
}

void vlapic_accept(struct vcpu *v, uint8_t vector, int level)
{
	if (vector < 16)
		return; /* illegal vectors are dropped (SDM 11.5.3: ESR "receive illegal vector") */
	if (level)
		bit_set(v->lapic.tmr, vector);
	else
		bit_clr(v->lapic.tmr, vector);
	bit_set(v->lapic.irr, vector);
	vcpu_wake(v);
}

static void eoi(struct vcpu *v)
{
	int vec = highest(v->lapic.isr);
	if (vec < 0)
		return;
	bit_clr(v->lapic.isr, (unsigned)vec);
	if (bit_get(v->lapic.tmr, (unsigned)vec))
		vioapic_eoi(&v->vm->ioapic, (uint8_t)vec); /* level-triggered: EOI broadcast (11.8.5) */
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

void vlapic_timer_check(struct vcpu *v, uint64_t now)
{
	struct vlapic *l = &v->lapic;
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
		vlapic_accept(v, (uint8_t)lvt, 0);
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

/* Does the local APIC of `t` accept destination `dest` (SDM 11.6.2)? */
static int dest_match(struct vcpu *t, uint32_t dest, int logical)
{
	const struct vlapic *l = &t->lapic;
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

static void deliver_one(struct vcpu *t, unsigned mode, uint8_t vector, int level)
{
	switch (mode) {
	case MODE_FIXED:
	case MODE_LOWEST:
		vlapic_accept(t, vector, level);
		return;
	case MODE_NMI:
		t->lapic.nmi_pending = 1;
		vcpu_wake(t);
		return;
	case MODE_INIT:
		vcpu_signal_init(t);
		return;
	case MODE_SIPI:
		vcpu_signal_sipi(t, vector);
		return;
	default:
		LOG_WARN_RL("guest %s: APIC delivery mode %u ignored", t->vm->def.name, mode);
		return;
	}
}

void vlapic_deliver(struct vm *vm, uint32_t dest, int logical, unsigned mode, uint8_t vector,
		    int level)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *t = vm->vcpu[i];
		if (!dest_match(t, dest, logical))
			continue;
		deliver_one(t, mode, vector, level);
		if (mode == MODE_LOWEST)
			return; /* one of the set is enough */
	}
}

static void icr_write(struct vcpu *v, uint32_t lo, uint32_t dest)
{
	unsigned mode = (lo >> 8) & 7;
	uint8_t vec = (uint8_t)lo;
	if (mode == MODE_INIT && !(lo & ICR_LEVEL_ASSERT))
		return; /* INIT level de-assert: no action on modern CPUs (11.6.1) */
	switch (ICR_SHORTHAND(lo)) {
	case 1:
		deliver_one(v, mode, vec, 0);
		return;
	case 2:
	case 3:
		for (unsigned i = 0; i < v->vm->nvcpus; i++)
			if (ICR_SHORTHAND(lo) == 2 || v->vm->vcpu[i] != v)
				deliver_one(v->vm->vcpu[i], mode, vec, 0);
		return;
	default:
		vlapic_deliver(v->vm, dest, !!(lo & ICR_DEST_LOGICAL), mode, vec, 0);
	}
}

/* ---- registers ---- */

static uint32_t reg_read(struct vcpu *v, uint32_t reg)
{
	struct vlapic *l = &v->lapic;
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
	case APIC_TIMER_CCR:  return timer_ccr(l, rdtsc());
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

static void reg_write(struct vcpu *v, uint32_t reg, uint32_t val)
{
	struct vlapic *l = &v->lapic;
	if (reg > APIC_LVT_TIMER && reg <= APIC_LVT_ERROR) {
		l->lvt[(reg - APIC_LVT_TIMER) >> 4] = val & 0x1f7ff;
		return;
	}
	switch (reg) {
	case APIC_TPR:       l->tpr = val & 0xff; return;
	case APIC_EOI:       eoi(v); return;
	case APIC_LDR:       if (!x2apic(l)) l->ldr = val & 0xff000000u; return;
	case APIC_DFR:       if (!x2apic(l)) l->dfr = val | 0x0fffffffu; return;
	case APIC_SVR:       svr_write(l, val); return;
	case APIC_ESR:       l->esr = 0; return;
	case APIC_LVT_CMCI:  l->lvt[6] = val & 0x107ff; return;
	case APIC_ICR_HI:    l->icr_hi = val; return;
	case APIC_ICR_LO:    icr_write(v, val, x2apic(l) ? l->icr_hi : l->icr_hi >> 24); return;
	case APIC_LVT_TIMER: lvt_timer_write(l, val); return;
	case APIC_TIMER_ICR:
		if (LVT_TIMER_MODE(l->lvt[0]) == TIMER_TSC_DEADLINE)
			return;
		l->timer_icr = val;
		timer_load(l, rdtsc());
		return;
	case APIC_TIMER_DCR: l->timer_dcr = val & 0xb; return;
	case APIC_SELF_IPI:  if (x2apic(l)) vlapic_accept(v, (uint8_t)val, 0); return;
	default:             return; /* read-only or reserved: ignored */
	}
}

uint64_t vlapic_mmio_read(void *vcpu, uint64_t offset, unsigned size)
{
	struct vcpu *v = vcpu;
	(void)size; /* 32-bit registers; narrower reads see the low bytes */
	if (x2apic(&v->lapic))
		return ~0ull; /* the MMIO page is off in x2APIC mode (11.12.1) */
	return reg_read(v, (uint32_t)offset & 0xff0) >> (8 * (offset & 3));
}

void vlapic_mmio_write(void *vcpu, uint64_t offset, unsigned size, uint64_t val)
{
	struct vcpu *v = vcpu;
	if (x2apic(&v->lapic) || size != 4 || (offset & 0xf))
		return; /* only aligned 32-bit writes are defined (11.4.1) */
	reg_write(v, (uint32_t)offset, (uint32_t)val);
}

int vlapic_msr_is(uint32_t msr)
{
	return (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST) || msr == MSR_TSC_DEADLINE;
}

int vlapic_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	struct vlapic *l = &v->lapic;
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
	*val = reg_read(v, reg);
	return 0;
}

int vlapic_msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	struct vlapic *l = &v->lapic;
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
		icr_write(v, (uint32_t)val, l->icr_hi);
		return 0;
	}
	if (reg == APIC_LDR || reg == APIC_ID || reg == APIC_DFR)
		return -1; /* read-only in x2APIC mode */
	reg_write(v, reg, (uint32_t)val);
	return 0;
}
