/*
 * tests/unit/test_ioapic.c - the guest's I/O APIC (vmm/dev/ioapic.c):
 * registers through IOREGSEL/IOWIN, edge pins firing on rising edges,
 * level pins holding remote IRR until the EOI and firing again if still
 * asserted, masking, polarity, and what the guest may not write.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "vmm/dev/ioapic.h"

#define IOREGSEL 0x00
#define IOWIN 0x10
#define RTE(pin) (0x10 + 2 * (pin))
#define LEVEL (1u << 15)
#define MASKED (1u << 16)
#define POLARITY_LOW (1u << 13)
#define REMOTE_IRR (1u << 14)
#define LOGICAL (1u << 11)

static struct vioapic_msg sent[16];
static int nsent;

static void record(void *ctx, const struct vioapic_msg *m)
{
	CHECK(ctx == (void *)sent);
	if (nsent < 16)
		sent[nsent] = *m;
	nsent++;
}

static void wr(struct vioapic *io, uint32_t reg, uint32_t val)
{
	vioapic_mmio_write(io, IOREGSEL, 4, reg);
	vioapic_mmio_write(io, IOWIN, 4, val);
}

static uint32_t rd(struct vioapic *io, uint32_t reg)
{
	vioapic_mmio_write(io, IOREGSEL, 4, reg);
	return (uint32_t)vioapic_mmio_read(io, IOWIN, 4);
}

static void setup(struct vioapic *io)
{
	memset(io, 0, sizeof(*io));
	vioapic_reset(io, record, sent);
	nsent = 0;
}

static void test_registers(void)
{
	struct vioapic io;
	setup(&io);
	CHECK_EQ(rd(&io, 0x01), 0x001f0011u); /* version 0x11, 32 entries */
	wr(&io, 0x00, 0x0a000000);
	CHECK_EQ(rd(&io, 0x00), 0x0a000000u);
	CHECK_EQ(rd(&io, RTE(5)), MASKED);    /* every pin masked after reset */
	wr(&io, RTE(5), 0x1ff00 | REMOTE_IRR | (1u << 12) | 0x31); /* RO bits ignored */
	CHECK_EQ(rd(&io, RTE(5)), 0x0001af31u); /* delivery status, remote IRR: read-only */
	wr(&io, RTE(5) + 1, 0x03000000);
	CHECK_EQ(rd(&io, RTE(5) + 1), 0x03000000u);
	CHECK_EQ(rd(&io, 0x50), 0xffffffffu); /* past the table (0x10 + 2 * 32) */
	CHECK_EQ(vioapic_mmio_read(&io, 0x20, 4), 0xffffffffu);
	vioapic_mmio_write(&io, IOREGSEL, 4, 0x1234);
	CHECK_EQ(vioapic_mmio_read(&io, IOREGSEL, 4), 0x34u); /* 8-bit selector */
	CHECK_EQ(nsent, 0);
}

static void test_edge(void)
{
	struct vioapic io;
	setup(&io);
	wr(&io, RTE(4) + 1, 0x01000000);
	wr(&io, RTE(4), 0x24);          /* edge, fixed, vector 0x24, to APIC 1 */
	vioapic_set(&io, 4, 1);
	CHECK_EQ(nsent, 1);
	CHECK(sent[0].vector == 0x24 && sent[0].dest == 1 && !sent[0].level && !sent[0].logical);
	vioapic_set(&io, 4, 1);         /* still high: no new edge */
	CHECK_EQ(nsent, 1);
	vioapic_set(&io, 4, 0);
	vioapic_set(&io, 4, 1);
	CHECK_EQ(nsent, 2);
	vioapic_set(&io, 32, 1);        /* no such pin */
	vioapic_set(&io, 1000, 1);
	CHECK_EQ(nsent, 2);
	wr(&io, RTE(4), 0x24 | MASKED);
	vioapic_set(&io, 4, 0);
	vioapic_set(&io, 4, 1);
	CHECK_EQ(nsent, 2);             /* masked: nothing */
}

static void test_level_remote_irr(void)
{
	struct vioapic io;
	setup(&io);
	wr(&io, RTE(16), 0x41 | LEVEL | LOGICAL | (1u << 8));
	vioapic_set(&io, 16, 1);
	CHECK_EQ(nsent, 1);
	CHECK(sent[0].level && sent[0].logical && sent[0].mode == 1 && sent[0].vector == 0x41);
	CHECK(rd(&io, RTE(16)) & REMOTE_IRR);
	vioapic_set(&io, 16, 1);        /* in service: remote IRR holds it */
	CHECK_EQ(nsent, 1);
	vioapic_eoi(&io, 0x42);         /* another vector's EOI */
	CHECK_EQ(nsent, 1);
	vioapic_eoi(&io, 0x41);         /* still asserted: delivered again */
	CHECK_EQ(nsent, 2);
	vioapic_set(&io, 16, 0);
	vioapic_eoi(&io, 0x41);         /* deasserted: EOI only clears remote IRR */
	CHECK_EQ(nsent, 2);
	CHECK(!(rd(&io, RTE(16)) & REMOTE_IRR));
}

static void test_unmask_and_polarity(void)
{
	struct vioapic io;
	setup(&io);
	wr(&io, RTE(17), 0x50 | LEVEL | MASKED);
	vioapic_set(&io, 17, 1);
	CHECK_EQ(nsent, 0);
	wr(&io, RTE(17), 0x50 | LEVEL); /* unmasking an asserted level pin delivers it */
	CHECK_EQ(nsent, 1);
	wr(&io, RTE(9), 0x60 | POLARITY_LOW); /* active low: the falling line is the edge */
	vioapic_set(&io, 9, 1);
	CHECK_EQ(nsent, 1);
	vioapic_set(&io, 9, 0);
	CHECK_EQ(nsent, 2);
	CHECK_EQ(sent[1].vector, 0x60);
}

static void test_never_reset_sends_nothing(void)
{
	struct vioapic io;
	memset(&io, 0, sizeof(io)); /* unmasked, edge, no callback */
	vioapic_set(&io, 3, 1);
	vioapic_eoi(&io, 0);
	CHECK_EQ(io.line, 1u << 3);
}

int main(void)
{
	RUN(test_registers);
	RUN(test_edge);
	RUN(test_level_remote_irr);
	RUN(test_unmask_and_polarity);
	RUN(test_never_reset_sends_nothing);
	return check_done();
}
