/*
 * tests/unit/test_lapic.c - a vCPU's local APIC model (vmm/dev/lapic.c)
 * with fake wiring that records what leaves it (IPI messages, level EOIs,
 * wake-ups) and time given as TSC values: registers and what the guest
 * may not write, the xAPIC page against the x2APIC MSRs, priorities
 * (TPR, PPR, ISR) and the pending/ack/EOI order, the timer in each mode
 * with its divider, ICR decoding, and logical destination matching.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "vmm/dev/lapic.h"

#define ID 0x020
#define VER 0x030
#define TPR 0x080
#define PPR 0x0a0
#define EOI 0x0b0
#define LDR 0x0d0
#define DFR 0x0e0
#define SVR 0x0f0
#define ISR 0x100
#define TMR 0x180
#define IRR 0x200
#define ESR 0x280
#define ICR_LO 0x300
#define ICR_HI 0x310
#define LVT_TIMER 0x320
#define LVT_LINT0 0x350
#define LVT_ERROR 0x370
#define TIMER_ICR 0x380
#define TIMER_CCR 0x390
#define TIMER_DCR 0x3e0
#define SELF_IPI 0x3f0
#define MASKED (1u << 16)
#define PERIODIC (1u << 17)
#define TSC_DEADLINE (2u << 17)
#define X2APIC (1ull << 10)
#define MSR(reg) (0x800 + ((reg) >> 4))
#define MSR_TSC_DEADLINE 0x6e0

/* What the model sent out through its ops. */
struct fake {
	struct vlapic_ipi ipi[16];
	int nipi;
	uint8_t eoi[16];
	int neoi;
	int wakes;
};

static struct fake out;

static void fake_ipi(void *ctx, const struct vlapic_ipi *m)
{
	CHECK(ctx == &out);
	if (out.nipi < 16)
		out.ipi[out.nipi] = *m;
	out.nipi++;
}

static void fake_eoi(void *ctx, uint8_t vector)
{
	CHECK(ctx == &out);
	if (out.neoi < 16)
		out.eoi[out.neoi] = vector;
	out.neoi++;
}

static void fake_wake(void *ctx)
{
	CHECK(ctx == &out);
	out.wakes++;
}

static const struct vlapic_ops fake_ops = { fake_ipi, fake_eoi, fake_wake };

/* A software-enabled xAPIC with ID `id` (spurious vector 0xff). */
static void setup(struct vlapic *l, uint32_t id)
{
	memset(l, 0xa5, sizeof(*l)); /* reset must not depend on zeroed memory */
	memset(&out, 0, sizeof(out));
	vlapic_reset(l, id, 0, &fake_ops, &out);
	vlapic_mmio_write(l, SVR, 4, 0x1ff, 0);
}

static uint32_t rd(struct vlapic *l, uint32_t reg, uint64_t now)
{
	return (uint32_t)vlapic_mmio_read(l, reg, 4, now);
}

static void wr(struct vlapic *l, uint32_t reg, uint32_t val, uint64_t now)
{
	vlapic_mmio_write(l, reg, 4, val, now);
}

static int irr_has(const struct vlapic *l, unsigned v) { return !!(l->irr[v / 32] & (1u << (v % 32))); }

static void test_reset_state(void)
{
	struct vlapic l;
	memset(&l, 0xa5, sizeof(l));
	vlapic_reset(&l, 3, 1, &fake_ops, &out);
	CHECK(l.ops == &fake_ops && l.ctx == &out);
	CHECK_EQ(l.apic_base, 0xfee00000ull | (1u << 11) | (1u << 8)); /* enabled, BSP */
	CHECK_EQ(rd(&l, ID, 0), 3u << 24);
	CHECK_EQ(rd(&l, VER, 0), 0x50014u);
	CHECK_EQ(rd(&l, SVR, 0), 0xffu);              /* software-disabled (11.4.7.1) */
	CHECK_EQ(rd(&l, DFR, 0), 0xffffffffu);
	for (uint32_t r = LVT_TIMER; r <= LVT_ERROR; r += 0x10)
		CHECK_EQ(rd(&l, r, 0), MASKED);
	for (uint32_t r = 0; r < 0x80; r += 0x10)
		CHECK(!rd(&l, ISR + r, 0) && !rd(&l, IRR + r, 0) && !rd(&l, TMR + r, 0));
	CHECK_EQ(l.nmi_pending, 0);
	CHECK_EQ(l.deadline, 0);
	vlapic_reset(&l, 4, 0, &fake_ops, &out);
	CHECK_EQ(l.apic_base, 0xfee00000ull | (1u << 11)); /* an AP */
}

static void test_register_writes(void)
{
	struct vlapic l;
	setup(&l, 1);
	wr(&l, TPR, 0x1234, 0);
	CHECK_EQ(rd(&l, TPR, 0), 0x34u);
	wr(&l, LDR, 0x12345678, 0);
	CHECK_EQ(rd(&l, LDR, 0), 0x12000000u);        /* bits 31:24 only */
	wr(&l, DFR, 0x00000000, 0);
	CHECK_EQ(rd(&l, DFR, 0), 0x0fffffffu);        /* model in 31:28, the rest ones */
	wr(&l, SVR, 0xffffffff, 0);
	CHECK_EQ(rd(&l, SVR, 0), 0x13ffu);
	wr(&l, LVT_LINT0, 0xffffffff, 0);
	CHECK_EQ(rd(&l, LVT_LINT0, 0), 0x1f7ffu);
	wr(&l, LVT_TIMER, 0xffffffff, 0);
	CHECK_EQ(rd(&l, LVT_TIMER, 0), 0x700ffu);
	wr(&l, TIMER_DCR, 0xffffffff, 0);
	CHECK_EQ(rd(&l, TIMER_DCR, 0), 0xbu);
	wr(&l, ICR_HI, 0xff000000, 0);
	CHECK_EQ(rd(&l, ICR_HI, 0), 0xff000000u);
	l.esr = 0x40;
	CHECK_EQ(rd(&l, ESR, 0), 0x40u);
	wr(&l, ESR, 0x1234, 0);                       /* any write clears it */
	CHECK_EQ(rd(&l, ESR, 0), 0u);
}

static void test_read_only_and_odd_accesses(void)
{
	struct vlapic l;
	setup(&l, 2);
	wr(&l, ID, 0x07000000, 0);
	wr(&l, VER, 0, 0);
	wr(&l, PPR, 0xff, 0);
	wr(&l, IRR + 0x20, 0xffffffff, 0);
	wr(&l, ISR + 0x20, 0xffffffff, 0);
	wr(&l, TMR + 0x20, 0xffffffff, 0);
	wr(&l, TIMER_CCR, 1234, 0);
	CHECK_EQ(rd(&l, ID, 0), 2u << 24);
	CHECK_EQ(rd(&l, VER, 0), 0x50014u);
	CHECK_EQ(rd(&l, PPR, 0), 0u);
	CHECK(!rd(&l, IRR + 0x20, 0) && !rd(&l, ISR + 0x20, 0) && !rd(&l, TMR + 0x20, 0));
	CHECK_EQ(rd(&l, TIMER_CCR, 0), 0u);
	vlapic_mmio_write(&l, TPR, 2, 0x20, 0);       /* not 32 bits: ignored (11.4.1) */
	vlapic_mmio_write(&l, TPR + 4, 4, 0x20, 0);   /* not 16-byte aligned: ignored */
	CHECK_EQ(rd(&l, TPR, 0), 0u);
	CHECK_EQ(vlapic_mmio_read(&l, ID + 3, 1, 0), 2u); /* a byte read sees its byte */
	CHECK_EQ(rd(&l, 0x3c0, 0), 0u);               /* reserved */
	wr(&l, SELF_IPI, 0x40, 0);                    /* x2APIC-only register */
	CHECK(!irr_has(&l, 0x40));
	CHECK_EQ(out.nipi + out.neoi + out.wakes, 0);
}

static void test_x2apic_msrs(void)
{
	struct vlapic l;
	uint64_t v = 0;
	setup(&l, 0x13);
	CHECK(vlapic_msr_is(0x800) && vlapic_msr_is(0x8ff) && vlapic_msr_is(MSR_TSC_DEADLINE));
	CHECK(!vlapic_msr_is(0x7ff) && !vlapic_msr_is(0x900) && !vlapic_msr_is(0x1b));
	CHECK_EQ(vlapic_msr_read(&l, MSR(ID), &v, 0), -1); /* xAPIC mode: #GP (11.12.1.2) */
	CHECK_EQ(vlapic_msr_write(&l, MSR(TPR), 0x20, 0), -1);
	CHECK_EQ(vlapic_msr_read(&l, MSR_TSC_DEADLINE, &v, 0), 0); /* not an x2APIC MSR */
	l.apic_base |= X2APIC;
	CHECK_EQ(vlapic_mmio_read(&l, ID, 4, 0), ~0ull); /* the page is off (11.12.1) */
	wr(&l, TPR, 0x30, 0);
	CHECK_EQ(l.tpr, 0u);
	CHECK_EQ(vlapic_msr_read(&l, MSR(ID), &v, 0), 0);
	CHECK_EQ(v, 0x13u);                           /* the whole 32-bit ID */
	CHECK_EQ(vlapic_msr_read(&l, MSR(LDR), &v, 0), 0);
	CHECK_EQ(v, (1u << 16) | (1u << 3));          /* cluster 1, bit 3 (11.12.10.2) */
	CHECK_EQ(vlapic_msr_write(&l, MSR(TPR), 0x30, 0), 0);
	CHECK_EQ(vlapic_msr_read(&l, MSR(TPR), &v, 0), 0);
	CHECK_EQ(v, 0x30u);
	CHECK_EQ(vlapic_msr_read(&l, MSR(EOI), &v, 0), -1); /* write-only */
	CHECK_EQ(vlapic_msr_write(&l, MSR(ID), 5, 0), -1);  /* read-only in x2APIC mode */
	CHECK_EQ(vlapic_msr_write(&l, MSR(LDR), 5, 0), -1);
	CHECK_EQ(vlapic_msr_write(&l, MSR(DFR), 5, 0), -1);
	CHECK_EQ(vlapic_msr_read(&l, MSR(ID), &v, 0), 0);
	CHECK_EQ(v, 0x13u);
	CHECK_EQ(vlapic_msr_write(&l, MSR(SELF_IPI), 0x41, 0), 0);
	CHECK(irr_has(&l, 0x41) && out.wakes == 1);
	CHECK_EQ(vlapic_msr_write(&l, MSR(SELF_IPI), 0x05, 0), 0); /* illegal: dropped */
	CHECK(!irr_has(&l, 0x05) && out.wakes == 1);
	CHECK_EQ(vlapic_msr_write(&l, MSR(ICR_LO), 0x0000000700004031ull, 0), 0);
	CHECK_EQ(vlapic_msr_read(&l, MSR(ICR_LO), &v, 0), 0);
	CHECK_EQ(v, 0x0000000700000000ull);           /* delivery status idle, dest kept */
}

static void test_priority(void)
{
	struct vlapic l;
	setup(&l, 0);
	CHECK_EQ(vlapic_pending(&l), -1);
	vlapic_accept(&l, 0x31, 0);
	vlapic_accept(&l, 0x50, 0);
	CHECK_EQ(out.wakes, 2);
	CHECK_EQ(vlapic_pending(&l), 0x50);
	wr(&l, TPR, 0x50, 0);                         /* same class: held back (11.8.3) */
	CHECK_EQ(vlapic_pending(&l), -1);
	CHECK_EQ(rd(&l, PPR, 0), 0x50u);
	wr(&l, TPR, 0x4f, 0);
	CHECK_EQ(vlapic_pending(&l), 0x50);
	wr(&l, TPR, 0x20, 0);
	vlapic_ack(&l, 0x50);
	CHECK(!irr_has(&l, 0x50) && (l.isr[2] & (1u << 16)));
	CHECK_EQ(rd(&l, PPR, 0), 0x50u);              /* the in-service class */
	CHECK_EQ(vlapic_pending(&l), -1);             /* 0x31 is a lower class */
	wr(&l, TPR, 0x67, 0);
	CHECK_EQ(rd(&l, PPR, 0), 0x67u);              /* TPR above: all of TPR */
	wr(&l, TPR, 0x20, 0);
	vlapic_accept(&l, 0x61, 0);
	CHECK_EQ(vlapic_pending(&l), 0x61);           /* a higher class interrupts */
	wr(&l, SVR, 0xff, 0);                         /* software-disabled: nothing */
	CHECK_EQ(vlapic_pending(&l), -1);
}

static void test_ack_eoi_order(void)
{
	struct vlapic l;
	setup(&l, 0);
	vlapic_accept(&l, 0x40, 0);
	vlapic_ack(&l, vlapic_pending(&l));
	vlapic_accept(&l, 0x80, 0);
	CHECK_EQ(vlapic_pending(&l), 0x80);
	vlapic_ack(&l, 0x80);
	CHECK_EQ(rd(&l, ISR + 0x20, 0), 1u);          /* 0x40 and 0x80 both in service */
	CHECK_EQ(rd(&l, ISR + 0x40, 0), 1u);
	wr(&l, EOI, 0, 0);                            /* the highest in service ends first */
	CHECK_EQ(rd(&l, ISR + 0x40, 0), 0u);
	CHECK_EQ(rd(&l, ISR + 0x20, 0), 1u);
	wr(&l, EOI, 0, 0);
	CHECK_EQ(rd(&l, ISR + 0x20, 0), 0u);
	wr(&l, EOI, 0, 0);                            /* nothing in service: no effect */
	CHECK_EQ(out.neoi, 0);                        /* edge: no broadcast */
}

static void test_level_eoi(void)
{
	struct vlapic l;
	setup(&l, 0);
	vlapic_accept(&l, 0x45, 1);
	CHECK_EQ(rd(&l, TMR + 0x20, 0), 1u << 5);
	vlapic_ack(&l, 0x45);
	wr(&l, EOI, 0, 0);
	CHECK_EQ(out.neoi, 1);
	CHECK_EQ(out.eoi[0], 0x45);
	vlapic_accept(&l, 0x45, 0);                   /* the same vector, now edge */
	CHECK_EQ(rd(&l, TMR + 0x20, 0), 0u);
	vlapic_ack(&l, 0x45);
	wr(&l, EOI, 0, 0);
	CHECK_EQ(out.neoi, 1);
	l.apic_base |= X2APIC;                        /* the x2APIC EOI MSR does the same */
	vlapic_accept(&l, 0x46, 1);
	vlapic_ack(&l, 0x46);
	CHECK_EQ(vlapic_msr_write(&l, MSR(EOI), 0, 0), 0);
	CHECK(out.neoi == 2 && out.eoi[1] == 0x46);
}

static void test_illegal_vectors_and_nmi(void)
{
	struct vlapic l;
	setup(&l, 0);
	for (unsigned v = 0; v < 16; v++)
		vlapic_accept(&l, (uint8_t)v, v & 1);
	CHECK(!l.irr[0] && !l.tmr[0]);               /* 0-15 are dropped (11.5.3) */
	CHECK_EQ(out.wakes, 0);
	CHECK_EQ(vlapic_pending(&l), -1);
	vlapic_accept(&l, 16, 0);                     /* the lowest legal vector */
	CHECK_EQ(vlapic_pending(&l), 16);
	vlapic_nmi(&l);
	CHECK(l.nmi_pending && out.wakes == 2);
}

static void timer_setup(struct vlapic *l, uint32_t lvt, uint32_t dcr)
{
	setup(l, 0);
	wr(l, TIMER_DCR, dcr, 0);
	wr(l, LVT_TIMER, lvt, 0);
}

static void test_timer_oneshot(void)
{
	struct vlapic l;
	timer_setup(&l, 0xec, 0xb);                  /* divide by 1 */
	wr(&l, TIMER_ICR, 1000, 5000);
	CHECK_EQ(l.deadline, 6000);
	CHECK_EQ(rd(&l, TIMER_ICR, 0), 1000u);
	CHECK_EQ(rd(&l, TIMER_CCR, 5000), 1000u);
	CHECK_EQ(rd(&l, TIMER_CCR, 5250), 750u);
	vlapic_timer_check(&l, 5999);
	CHECK(!irr_has(&l, 0xec) && out.wakes == 0);
	vlapic_timer_check(&l, 6000);
	CHECK(irr_has(&l, 0xec) && out.wakes == 1);
	CHECK_EQ(l.deadline, 0);
	CHECK_EQ(rd(&l, TIMER_CCR, 6001), 0u);
	vlapic_timer_check(&l, 9000);                 /* one shot only */
	CHECK_EQ(out.wakes, 1);
	wr(&l, TIMER_ICR, 0, 9000);                   /* a zero count stops it */
	CHECK_EQ(l.deadline, 0);
}

static void test_timer_divide(void)
{
	/* TDCR bits 3,1:0 -> divide by (SDM Figure 11-10) */
	static const struct { uint32_t dcr; unsigned div; } t[] = {
		{ 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 },
		{ 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
	};
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct vlapic l;
		timer_setup(&l, 0x30, t[i].dcr);
		wr(&l, TIMER_ICR, 100, 1000);
		CHECK_EQ(l.deadline - 1000, 100ull * t[i].div);
		CHECK_EQ(rd(&l, TIMER_CCR, 1000 + 25ull * t[i].div), 75u);
		vlapic_timer_check(&l, 1000 + 100ull * t[i].div - 1);
		CHECK(!irr_has(&l, 0x30));
		vlapic_timer_check(&l, 1000 + 100ull * t[i].div);
		CHECK(irr_has(&l, 0x30));
	}
}

static void test_timer_periodic(void)
{
	struct vlapic l;
	timer_setup(&l, PERIODIC | 0x31, 0xb);
	wr(&l, TIMER_ICR, 100, 1000);
	vlapic_timer_check(&l, 1100);
	CHECK(irr_has(&l, 0x31) && out.wakes == 1);
	CHECK_EQ(l.deadline, 1200);                   /* reloaded */
	CHECK_EQ(rd(&l, TIMER_CCR, 1130), 70u);
	vlapic_timer_check(&l, 1450);                 /* two periods late: one interrupt */
	CHECK_EQ(out.wakes, 2);
	CHECK_EQ(l.deadline, 1500);
	CHECK_EQ(rd(&l, TIMER_CCR, 1480), 20u);
	wr(&l, LVT_TIMER, PERIODIC | MASKED | 0x31, 1480); /* masked: counts, no interrupt */
	vlapic_timer_check(&l, 1500);
	CHECK_EQ(out.wakes, 2);
	CHECK_EQ(l.deadline, 1600);
	wr(&l, LVT_TIMER, 0x31, 1500);                /* back to one-shot: disarmed */
	CHECK_EQ(l.deadline, 0);
	CHECK_EQ(rd(&l, TIMER_ICR, 0), 0u);
}

static void test_timer_tsc_deadline(void)
{
	struct vlapic l;
	uint64_t v = 1;
	timer_setup(&l, 0x32, 0xb);
	CHECK_EQ(vlapic_msr_write(&l, MSR_TSC_DEADLINE, 5000, 0), 0); /* one-shot: ignored */
	CHECK(vlapic_msr_read(&l, MSR_TSC_DEADLINE, &v, 0) == 0 && v == 0);
	wr(&l, LVT_TIMER, TSC_DEADLINE | 0x32, 0);
	wr(&l, TIMER_ICR, 100, 0);                    /* the count is ignored (11.5.4.1) */
	CHECK_EQ(rd(&l, TIMER_ICR, 0), 0u);
	CHECK_EQ(l.deadline, 0);
	CHECK_EQ(vlapic_msr_write(&l, MSR_TSC_DEADLINE, 5000, 0), 0);
	CHECK(vlapic_msr_read(&l, MSR_TSC_DEADLINE, &v, 0) == 0 && v == 5000);
	CHECK_EQ(rd(&l, TIMER_CCR, 4000), 0u);        /* CCR stays 0 in this mode */
	vlapic_timer_check(&l, 4999);
	CHECK(!irr_has(&l, 0x32));
	vlapic_timer_check(&l, 5000);
	CHECK(irr_has(&l, 0x32) && out.wakes == 1);
	CHECK(vlapic_msr_read(&l, MSR_TSC_DEADLINE, &v, 0) == 0 && v == 0); /* fired: cleared */
	vlapic_msr_write(&l, MSR_TSC_DEADLINE, 7000, 6000);
	vlapic_msr_write(&l, MSR_TSC_DEADLINE, 0, 6000); /* zero disarms */
	vlapic_timer_check(&l, 8000);
	CHECK_EQ(out.wakes, 1);
	vlapic_msr_write(&l, MSR_TSC_DEADLINE, 9000, 8000);
	wr(&l, LVT_TIMER, PERIODIC | 0x32, 8000);     /* a mode change disarms */
	CHECK(vlapic_msr_read(&l, MSR_TSC_DEADLINE, &v, 0) == 0 && v == 0);
	vlapic_timer_check(&l, 9000);
	CHECK_EQ(out.wakes, 1);
}

static void test_software_disable_masks(void)
{
	struct vlapic l;
	setup(&l, 0);
	wr(&l, LVT_LINT0, 0x700, 0);
	wr(&l, LVT_TIMER, 0x40, 0);
	wr(&l, SVR, 0xff, 0);                         /* disable: every LVT masked (11.4.7.2) */
	CHECK_EQ(rd(&l, LVT_LINT0, 0), 0x700u | MASKED);
	CHECK_EQ(rd(&l, LVT_TIMER, 0), 0x40u | MASKED);
	wr(&l, LVT_TIMER, 0x40, 0);                   /* and the timer's stays masked */
	CHECK_EQ(rd(&l, LVT_TIMER, 0), 0x40u | MASKED);
	wr(&l, TIMER_DCR, 0xb, 0);
	wr(&l, TIMER_ICR, 10, 0);
	vlapic_timer_check(&l, 10);
	CHECK(!irr_has(&l, 0x40));
}

/* The ICR as xAPIC writes it: destination first, then the low half sends. */
static const struct vlapic_ipi *send(struct vlapic *l, uint8_t dest, uint32_t lo)
{
	int n = out.nipi;
	wr(l, ICR_HI, (uint32_t)dest << 24, 0);
	wr(l, ICR_LO, lo, 0);
	return out.nipi == n + 1 ? &out.ipi[n] : 0;
}

static void test_icr_decode(void)
{
	struct vlapic l;
	const struct vlapic_ipi *m;
	setup(&l, 0);
	m = send(&l, 2, 0x4030);                      /* fixed, physical, assert */
	CHECK(m && m->dest == 2 && !m->logical && m->mode == VLAPIC_FIXED && m->vector == 0x30 &&
	      m->shorthand == VLAPIC_DEST && !m->level);
	m = send(&l, 0x0c, 0x4931);                   /* lowest priority, logical */
	CHECK(m && m->dest == 0x0c && m->logical && m->mode == VLAPIC_LOWEST && m->vector == 0x31);
	m = send(&l, 1, 0x4400);
	CHECK(m && m->mode == VLAPIC_NMI && m->dest == 1);
	m = send(&l, 1, 0xc500);                      /* INIT, level, assert */
	CHECK(m && m->mode == VLAPIC_INIT && !m->level);
	CHECK(!send(&l, 1, 0x8500));                  /* INIT de-assert: nothing (11.6.1) */
	m = send(&l, 1, 0x0698);                      /* SIPI, start page 0x98 */
	CHECK(m && m->mode == VLAPIC_SIPI && m->vector == 0x98);
	m = send(&l, 0xff, 0x4030 | (1u << 18));
	CHECK(m && m->shorthand == VLAPIC_SELF);
	m = send(&l, 0, 0x4030 | (2u << 18));
	CHECK(m && m->shorthand == VLAPIC_ALL);
	m = send(&l, 0, 0x4500 | (3u << 18));         /* INIT to all but self */
	CHECK(m && m->shorthand == VLAPIC_OTHERS && m->mode == VLAPIC_INIT);
	m = send(&l, 3, 0x0730);                      /* ExtINT: decoded, the router decides */
	CHECK(m && m->mode == VLAPIC_EXTINT);
	m = send(&l, 3, 0x0005);                      /* illegal vector: sent; receivers drop it */
	CHECK(m && m->vector == 5);
	CHECK_EQ(out.wakes, 0);                       /* nothing pending on the sender */
	CHECK_EQ(rd(&l, ICR_LO, 0), 0u);              /* delivery status: idle */
}

static void test_icr_x2apic(void)
{
	struct vlapic l;
	setup(&l, 0);
	l.apic_base |= X2APIC;
	CHECK_EQ(vlapic_msr_write(&l, MSR(ICR_LO), 0x0001000800004832ull, 0), 0);
	CHECK_EQ(out.nipi, 1);                        /* one 64-bit write (11.12.9) */
	CHECK(out.ipi[0].dest == 0x00010008 && out.ipi[0].logical && out.ipi[0].vector == 0x32);
	CHECK_EQ(vlapic_msr_write(&l, MSR(ICR_LO), 0x0000012c00004033ull, 0), 0);
	CHECK(out.nipi == 2 && out.ipi[1].dest == 0x12c && !out.ipi[1].logical); /* 32-bit ID */
	CHECK_EQ(vlapic_msr_write(&l, MSR(ICR_LO), 0x4034ull | (3u << 18), 0), 0);
	CHECK(out.nipi == 3 && out.ipi[2].shorthand == VLAPIC_OTHERS);
}

static void test_ipi_targets(void)
{
	struct vlapic l;
	setup(&l, 2);
	struct vlapic_ipi m = { 2, 0, VLAPIC_FIXED, 0x30, 0, VLAPIC_DEST };
	CHECK(vlapic_ipi_accepts(&l, &m, 0) && vlapic_ipi_accepts(&l, &m, 1));
	m.dest = 3;
	CHECK(!vlapic_ipi_accepts(&l, &m, 0));
	m.shorthand = VLAPIC_SELF;                    /* shorthands ignore the destination */
	CHECK(vlapic_ipi_accepts(&l, &m, 1) && !vlapic_ipi_accepts(&l, &m, 0));
	m.shorthand = VLAPIC_ALL;
	CHECK(vlapic_ipi_accepts(&l, &m, 1) && vlapic_ipi_accepts(&l, &m, 0));
	m.shorthand = VLAPIC_OTHERS;
	CHECK(!vlapic_ipi_accepts(&l, &m, 1) && vlapic_ipi_accepts(&l, &m, 0));
}

static void test_physical_match(void)
{
	struct vlapic l;
	setup(&l, 5);
	CHECK(vlapic_match(&l, 5, 0) && vlapic_match(&l, 0xff, 0)); /* broadcast */
	CHECK(!vlapic_match(&l, 4, 0) && !vlapic_match(&l, 0x105, 0));
	l.apic_base |= X2APIC;
	CHECK(vlapic_match(&l, 5, 0) && vlapic_match(&l, 0xffffffffu, 0));
	CHECK(!vlapic_match(&l, 0xff, 0));            /* an ID, not broadcast, in x2APIC */
}

static void test_logical_match(void)
{
	struct vlapic l;
	setup(&l, 0);
	wr(&l, LDR, 0x04000000, 0);                   /* flat model (DFR all ones): bit 2 */
	CHECK(vlapic_match(&l, 0x04, 1) && vlapic_match(&l, 0x0c, 1));
	CHECK(!vlapic_match(&l, 0x02, 1) && !vlapic_match(&l, 0, 1));
	CHECK(vlapic_match(&l, 0xff, 1));             /* broadcast */
	CHECK(vlapic_match(&l, 0x304, 1));            /* 8 bits only in xAPIC mode */
	wr(&l, DFR, 0x0fffffff, 0);                   /* cluster model (11.6.2.2) */
	wr(&l, LDR, 0x21000000, 0);                   /* cluster 2, member bit 0 */
	CHECK(vlapic_match(&l, 0x21, 1) && vlapic_match(&l, 0x23, 1));
	CHECK(!vlapic_match(&l, 0x11, 1) && !vlapic_match(&l, 0x22, 1));
	CHECK(vlapic_match(&l, 0xff, 1));
	setup(&l, 0x13);
	l.apic_base |= X2APIC;                        /* x2APIC: cluster 1, bit 3 (11.12.10.2) */
	CHECK(vlapic_match(&l, 0x00010008, 1) && vlapic_match(&l, 0x0001ffff, 1));
	CHECK(!vlapic_match(&l, 0x00020008, 1) && !vlapic_match(&l, 0x00010004, 1));
}

int main(void)
{
	RUN(test_reset_state);
	RUN(test_register_writes);
	RUN(test_read_only_and_odd_accesses);
	RUN(test_x2apic_msrs);
	RUN(test_priority);
	RUN(test_ack_eoi_order);
	RUN(test_level_eoi);
	RUN(test_illegal_vectors_and_nmi);
	RUN(test_timer_oneshot);
	RUN(test_timer_divide);
	RUN(test_timer_periodic);
	RUN(test_timer_tsc_deadline);
	RUN(test_software_disable_masks);
	RUN(test_icr_decode);
	RUN(test_icr_x2apic);
	RUN(test_ipi_targets);
	RUN(test_physical_match);
	RUN(test_logical_match);
	return check_done();
}
