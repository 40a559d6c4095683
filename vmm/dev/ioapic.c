/*
 * vmm/dev/ioapic.c - the I/O APIC model of ioapic.h (82093AA datasheet
 * 3.0 "Register description"; redirection entry bits: 0-7 vector, 8-10
 * delivery mode, 11 destination mode, 12 delivery status, 13 polarity,
 * 14 remote IRR, 15 trigger mode, 16 mask, 56-63 destination).
 */
#include "vmm/dev/ioapic.h"

#define IOREGSEL 0x00
#define IOWIN 0x10
#define IOAPICID 0x00
#define IOAPICVER 0x01
#define  VERSION_0x11 (0x11u | ((VIOAPIC_PINS - 1u) << 16))
#define IOAPICARB 0x02
#define IOREDTBL 0x10
#define RTE_DEST_LOGICAL (1ull << 11)
#define RTE_POLARITY_LOW (1ull << 13)
#define RTE_REMOTE_IRR (1ull << 14)
#define RTE_LEVEL (1ull << 15)
#define RTE_MASKED (1ull << 16)
#define RTE_WRITABLE 0xff0000000001afffull  /* not delivery status, not remote IRR */

void vioapic_reset(struct vioapic *io, vioapic_deliver_fn deliver, void *ctx)
{
	io->deliver = deliver;
	io->ctx = ctx;
	io->regsel = 0;
	io->id = 0;
	io->line = 0;
	for (unsigned i = 0; i < VIOAPIC_PINS; i++)
		io->redir[i] = RTE_MASKED;
}

/* Sends pin `pin`'s message if it should fire now. Called with the lock. */
static void pin_fire(struct vioapic *io, unsigned pin)
{
	uint64_t r = io->redir[pin];
	if ((r & RTE_MASKED) || !io->deliver)
		return; /* masked, or never reset: nowhere to send it */
	if (r & RTE_LEVEL) {
		if (r & RTE_REMOTE_IRR)
			return;
		io->redir[pin] |= RTE_REMOTE_IRR;
	}
	const struct vioapic_msg m = { (uint32_t)(r >> 56), !!(r & RTE_DEST_LOGICAL),
				       (uint8_t)((r >> 8) & 7), (uint8_t)r, !!(r & RTE_LEVEL) };
	io->deliver(io->ctx, &m);
}

/* The pin's logical level after polarity (active low pins invert). */
static int pin_active(const struct vioapic *io, unsigned pin)
{
	int l = !!(io->line & (1u << pin));
	return (io->redir[pin] & RTE_POLARITY_LOW) ? !l : l;
}

void vioapic_set(struct vioapic *io, unsigned pin, int level)
{
	if (pin >= VIOAPIC_PINS)
		return;
	spin_lock(&io->lock);
	int was = pin_active(io, pin);
	if (level)
		io->line |= 1u << pin;
	else
		io->line &= ~(1u << pin);
	int now = pin_active(io, pin);
	if (now && ((io->redir[pin] & RTE_LEVEL) || !was))
		pin_fire(io, pin);
	spin_unlock(&io->lock);
}

void vioapic_eoi(struct vioapic *io, uint8_t vector)
{
	spin_lock(&io->lock);
	for (unsigned i = 0; i < VIOAPIC_PINS; i++) {
		uint64_t r = io->redir[i];
		if (!(r & RTE_LEVEL) || (uint8_t)r != vector || !(r & RTE_REMOTE_IRR))
			continue;
		io->redir[i] &= ~RTE_REMOTE_IRR;
		if (pin_active(io, i))
			pin_fire(io, i);  /* still asserted: deliver again (82093AA 3.2.4) */
	}
	spin_unlock(&io->lock);
}

static uint32_t reg_read(struct vioapic *io, uint32_t sel)
{
	if (sel >= IOREDTBL && sel < IOREDTBL + 2 * VIOAPIC_PINS) {
		uint64_t r = io->redir[(sel - IOREDTBL) / 2];
		return (sel & 1) ? (uint32_t)(r >> 32) : (uint32_t)r;
	}
	switch (sel) {
	case IOAPICID:  return io->id << 24;
	case IOAPICVER: return VERSION_0x11;
	case IOAPICARB: return io->id << 24;
	default:        return 0xffffffffu;
	}
}

static void reg_write(struct vioapic *io, uint32_t sel, uint32_t val)
{
	if (sel == IOAPICID) {
		io->id = (val >> 24) & 0xf;
		return;
	}
	if (sel < IOREDTBL || sel >= IOREDTBL + 2 * VIOAPIC_PINS)
		return;
	unsigned pin = (sel - IOREDTBL) / 2;
	uint64_t r = io->redir[pin];
	uint64_t nv = (sel & 1) ? (r & 0xffffffffull) | (uint64_t)val << 32 :
				  (r & ~0xffffffffull) | val;
	io->redir[pin] = (nv & RTE_WRITABLE) | (r & RTE_REMOTE_IRR);
	if (!(io->redir[pin] & RTE_LEVEL))
		io->redir[pin] &= ~RTE_REMOTE_IRR;
	/* unmasking an asserted level pin delivers it */
	if ((io->redir[pin] & RTE_LEVEL) && pin_active(io, pin))
		pin_fire(io, pin);
}

uint64_t vioapic_mmio_read(void *dev, uint64_t offset, unsigned size)
{
	struct vioapic *io = dev;
	(void)size; /* 32-bit registers */
	spin_lock(&io->lock);
	uint32_t v = offset == IOREGSEL ? io->regsel :
		     offset == IOWIN    ? reg_read(io, io->regsel) : 0xffffffffu;
	spin_unlock(&io->lock);
	return v;
}

void vioapic_mmio_write(void *dev, uint64_t offset, unsigned size, uint64_t val)
{
	struct vioapic *io = dev;
	(void)size; /* 32-bit registers */
	spin_lock(&io->lock);
	if (offset == IOREGSEL)
		io->regsel = (uint32_t)val & 0xff;
	else if (offset == IOWIN)
		reg_write(io, io->regsel, (uint32_t)val);
	spin_unlock(&io->lock);
}
