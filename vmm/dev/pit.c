/*
 * vmm/dev/pit.c - the 8254 timer of pit.h. Nothing runs between guest
 * accesses: a counter remembers when it started and how long it counted,
 * and every read works out its value and output from the time now.
 */
#include "vmm/dev/pit.h"

#include "vmm/core/lib/string.h"

#define PIT_CONTROL 3
#define  CW_SC(v)   (((v) >> 6) & 3)  /* select counter, 3 = read-back */
#define  CW_RW(v)   (((v) >> 4) & 3)  /* 0 = counter latch command */
#define  CW_MODE(v) (((v) >> 1) & 7)
#define  CW_BCD     0x01
#define  RB_COUNT_N 0x20              /* read-back: 0 = latch the counts */
#define  RB_STATUS_N 0x10             /* read-back: 0 = latch the statuses */
#define  ST_OUT     0x80
#define  ST_NULL    0x40
#define PORT61_RW      0x0f           /* gate 2, speaker data, parity/IOCHK enables */
#define  PORT61_GATE2  0x01
#define  PORT61_REFRESH 0x10          /* toggles every 15.085 us: 18 PIT clocks */
#define  PORT61_OUT2   0x20
#define REFRESH_CLOCKS 18

void vpit_reset(struct vpit *p)
{
	memset(p, 0, sizeof(*p));
	for (unsigned i = 0; i < 3; i++) {
		p->ctr[i].gate = i != 2; /* counters 0 and 1 are always gated on */
		p->ctr[i].rw = 3;
	}
}

static uint64_t period(const struct vpit_counter *c)
{
	return c->initial ? c->initial : 65536;
}

static uint64_t elapsed(const struct vpit_counter *c, uint64_t now)
{
	if (!c->loaded)
		return 0;
	return c->counted + (c->gate && now > c->start ? now - c->start : 0);
}

static unsigned mode_of(const struct vpit_counter *c)
{
	return c->mode > 5 ? c->mode - 4 : c->mode; /* 6 and 7 are 2 and 3 */
}

static uint16_t count_now(const struct vpit_counter *c, uint64_t now)
{
	uint64_t n = period(c), e = elapsed(c, now);
	switch (mode_of(c)) {
	case 2: /* rate generator: n, n-1, ..., 1, reload */
		return (uint16_t)(n - e % n);
	case 3: /* square wave: by twos, each half of the period */
		return (uint16_t)(n - 2 * (e % ((n + 1) / 2)));
	default: /* one-shot: down through 0, then on from 0xffff */
		return (uint16_t)(n - e);
	}
}

static int out_now(const struct vpit_counter *c, uint64_t now)
{
	uint64_t n = period(c), e = elapsed(c, now);
	switch (mode_of(c)) {
	case 2:
		return !c->loaded || !c->gate || e % n != n - 1;
	case 3:
		return !c->loaded || !c->gate || e % n < (n + 1) / 2;
	default:
		return c->loaded && e >= n;
	}
}

static uint8_t status_byte(const struct vpit_counter *c, uint64_t now)
{
	return (uint8_t)((out_now(c, now) ? ST_OUT : 0) | (c->loaded ? 0 : ST_NULL) |
			 c->rw << 4 | c->mode << 1 | c->bcd);
}

static void latch_count(struct vpit_counter *c, uint64_t now)
{
	if (c->latch_valid)
		return; /* a second latch before the first is read is ignored */
	c->latched = count_now(c, now);
	c->latch_valid = 1;
}

static void control_word(struct vpit_counter *c, uint8_t val, uint64_t now)
{
	if (!CW_RW(val)) {
		latch_count(c, now);
		return;
	}
	uint8_t gate = c->gate;
	memset(c, 0, sizeof(*c));
	c->gate = gate;
	c->rw = CW_RW(val);
	c->mode = CW_MODE(val);
	c->bcd = val & CW_BCD;
}

static void read_back(struct vpit *p, uint8_t val, uint64_t now)
{
	for (unsigned i = 0; i < 3; i++) {
		struct vpit_counter *c = &p->ctr[i];
		if (!(val & (2u << i)))
			continue;
		if (!(val & RB_COUNT_N))
			latch_count(c, now);
		if (!(val & RB_STATUS_N) && !c->status_valid) {
			c->status = status_byte(c, now);
			c->status_valid = 1;
		}
	}
}

static void write_count(struct vpit_counter *c, uint8_t val, uint64_t now)
{
	if (c->rw == 1) {
		c->initial = val;
	} else if (c->rw == 2) {
		c->initial = (uint16_t)(val << 8);
	} else if (!c->write_msb) {
		c->initial = (uint16_t)((c->initial & 0xff00) | val);
		c->write_msb = 1;
		return;
	} else {
		c->initial = (uint16_t)((c->initial & 0x00ff) | val << 8);
		c->write_msb = 0;
	}
	c->loaded = 1;
	c->counted = 0;
	c->start = now;
}

void vpit_write(struct vpit *p, unsigned port, uint8_t val, uint64_t now)
{
	if (port < 3)
		write_count(&p->ctr[port], val, now);
	else if (CW_SC(val) == 3)
		read_back(p, val, now);
	else
		control_word(&p->ctr[CW_SC(val)], val, now);
}

uint8_t vpit_read(struct vpit *p, unsigned port, uint64_t now)
{
	if (port >= 3)
		return 0xff; /* the control word register is write-only */
	struct vpit_counter *c = &p->ctr[port];
	if (c->status_valid) {
		c->status_valid = 0;
		return c->status;
	}
	uint16_t v = c->latch_valid ? c->latched : count_now(c, now);
	int msb = c->rw == 2 || (c->rw == 3 && c->read_msb);
	if (c->rw == 3)
		c->read_msb = !c->read_msb;
	if (c->rw != 3 || !c->read_msb)
		c->latch_valid = 0; /* the latched value has been read whole */
	return msb ? (uint8_t)(v >> 8) : (uint8_t)v;
}

static void set_gate2(struct vpit_counter *c, int gate, uint64_t now)
{
	if (gate == c->gate)
		return;
	if (!gate) {
		c->counted = elapsed(c, now);
	} else if (mode_of(c) != 0 && mode_of(c) != 4) {
		c->counted = 0; /* a rising gate restarts modes 1, 2, 3 and 5 */
	}
	c->gate = (uint8_t)gate;
	c->start = now;
}

uint8_t vpit_port61_read(struct vpit *p, uint64_t now)
{
	uint8_t v = p->port61;
	if ((now / REFRESH_CLOCKS) & 1)
		v |= PORT61_REFRESH;
	if (out_now(&p->ctr[2], now))
		v |= PORT61_OUT2;
	return v;
}

void vpit_port61_write(struct vpit *p, uint8_t val, uint64_t now)
{
	p->port61 = val & PORT61_RW;
	set_gate2(&p->ctr[2], val & PORT61_GATE2, now);
}
