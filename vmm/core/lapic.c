/*
 * vmm/core/lapic.c - local APIC, xAPIC mode (SDM Vol. 3A chapter 11).
 */
#include "vmm/core/lapic.h"

#include "vmm/core/cpu.h"
#include "vmm/core/time.h"
#include "vmm/core/trap.h"

#define APIC_BASE_ENABLE (1ull << 11)
#define APIC_BASE_ADDR 0xfffff000ull

#define LAPIC_ID 0x020
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define  SVR_ENABLE (1u << 8)
#define LAPIC_ICR_LO 0x300
#define  ICR_FIXED (0u << 8)
#define  ICR_NMI (4u << 8)
#define  ICR_INIT (5u << 8)
#define  ICR_STARTUP (6u << 8)
#define  ICR_PENDING (1u << 12)
#define  ICR_ASSERT (1u << 14)
#define  ICR_LEVEL (1u << 15)
#define  ICR_ALL_BUT_SELF (3u << 18)
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define  LVT_MASKED (1u << 16)
#define LAPIC_TIMER_ICR 0x380
#define LAPIC_TIMER_CCR 0x390
#define LAPIC_TIMER_DCR 0x3e0
#define  DCR_DIV_1 0xb

static volatile uint8_t *lapic_mmio;

static uint32_t rd(uint32_t reg)
{
	return *(volatile uint32_t *)(lapic_mmio + reg);
}

static void wr(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(lapic_mmio + reg) = v;
}

void lapic_init(void)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_ENABLE);
	lapic_mmio = (volatile uint8_t *)(base & APIC_BASE_ADDR);
	wr(LAPIC_TPR, 0);
	wr(LAPIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
}

uint32_t lapic_id(void)
{
	return rd(LAPIC_ID) >> 24;
}

void lapic_eoi(void)
{
	wr(LAPIC_EOI, 0);
}

static void send(uint32_t dest, uint32_t lo)
{
	if (!lapic_mmio)
		return;
	uint64_t f = irq_save();
	wr(LAPIC_ICR_HI, dest << 24);
	wr(LAPIC_ICR_LO, lo);
	for (int i = 0; i < 1000000 && (rd(LAPIC_ICR_LO) & ICR_PENDING); i++)
		cpu_relax();
	irq_restore(f);
}

void lapic_send_ipi(uint32_t apic_id, uint8_t vector)
{
	send(apic_id, ICR_FIXED | ICR_ASSERT | vector);
}

void lapic_send_init(uint32_t apic_id)
{
	send(apic_id, ICR_INIT | ICR_ASSERT | ICR_LEVEL);
}

void lapic_send_sipi(uint32_t apic_id, uint8_t page)
{
	send(apic_id, ICR_STARTUP | ICR_ASSERT | page);
}

void lapic_send_nmi_all_but_self(void)
{
	send(0, ICR_NMI | ICR_ASSERT | ICR_ALL_BUT_SELF);
}

/* APIC timer ticks per 2^20 TSC ticks, measured once (SDM Vol. 3A 11.5.4). */
static uint64_t timer_per_mtsc;

void lapic_timer_calibrate(void)
{
	if (!lapic_mmio)
		return;
	wr(LAPIC_TIMER_DCR, DCR_DIV_1);
	wr(LAPIC_LVT_TIMER, LVT_MASKED | VEC_KICK);
	uint64_t t0 = rdtsc();
	wr(LAPIC_TIMER_ICR, 0xffffffffu);
	delay_us(10000);
	uint32_t left = rd(LAPIC_TIMER_CCR);
	uint64_t dt = rdtsc() - t0;
	wr(LAPIC_TIMER_ICR, 0);
	uint64_t ticks = 0xffffffffull - left;
	timer_per_mtsc = dt ? (ticks << 20) / dt : 0;
	if (!timer_per_mtsc)
		timer_per_mtsc = 1;
}

void lapic_timer_arm(uint64_t tsc_ticks)
{
	if (!lapic_mmio)
		return;
	if (tsc_ticks > (1ull << 40))
		tsc_ticks = 1ull << 40;
	uint64_t count = (tsc_ticks * timer_per_mtsc) >> 20;
	if (count > 0xffffffffull)
		count = 0xffffffffull;
	wr(LAPIC_TIMER_DCR, DCR_DIV_1);
	wr(LAPIC_LVT_TIMER, VEC_KICK); /* one-shot */
	wr(LAPIC_TIMER_ICR, count ? (uint32_t)count : 1);
}

int lapic_timer_counting(void)
{
	return lapic_mmio && rd(LAPIC_TIMER_CCR) != 0; /* 0 once a one-shot count ran out */
}

void lapic_timer_stop(void)
{
	if (lapic_mmio)
		wr(LAPIC_TIMER_ICR, 0);
}
