/*
 * tests/unit/test_pit.c - the guest's 8254 timer (vmm/dev/pit.c): counting
 * in modes 0, 2 and 3, LSB/MSB access, latch and read-back commands, the
 * gate and OUT of counter 2 through port 0x61, and the two ways Linux
 * calibrates the TSC against counter 2 (arch/x86/kernel/tsc.c), replayed
 * with a clock that advances per access as VM exits would make it.
 */
#include <stdint.h>

#include "check.h"
#include "vmm/dev/pit.h"

static uint16_t read16(struct vpit *p, unsigned ctr, uint64_t now)
{
	uint8_t lo = vpit_read(p, ctr, now);
	return (uint16_t)(lo | vpit_read(p, ctr, now) << 8);
}

static void program(struct vpit *p, unsigned ctr, uint8_t mode, uint16_t count, uint64_t now)
{
	vpit_write(p, 3, (uint8_t)(ctr << 6 | 3 << 4 | mode << 1), now);
	vpit_write(p, ctr, (uint8_t)count, now);
	vpit_write(p, ctr, (uint8_t)(count >> 8), now);
}

static void test_mode0(void)
{
	struct vpit p;
	vpit_reset(&p);
	program(&p, 0, 0, 1000, 100);
	CHECK_EQ(read16(&p, 0, 100), 1000);
	CHECK_EQ(read16(&p, 0, 350), 750);
	CHECK_EQ(read16(&p, 0, 1100), 0);
	CHECK_EQ(read16(&p, 0, 1101), 0xffff); /* wraps and counts on */
	program(&p, 0, 0, 0, 0);               /* 0 means 65536 */
	CHECK_EQ(read16(&p, 0, 1), 0xffff);
}

static void test_mode2_mode3(void)
{
	struct vpit p;
	vpit_reset(&p);
	program(&p, 1, 2, 100, 0);
	CHECK_EQ(read16(&p, 1, 0), 100);
	CHECK_EQ(read16(&p, 1, 99), 1);
	CHECK_EQ(read16(&p, 1, 100), 100); /* reloaded */
	CHECK_EQ(read16(&p, 1, 250), 50);
	program(&p, 1, 3, 100, 0);
	CHECK_EQ(read16(&p, 1, 10), 80); /* by twos */
	CHECK_EQ(read16(&p, 1, 60), 80); /* second half of the wave */
	program(&p, 1, 7, 100, 0);       /* mode 7 is mode 3 */
	CHECK_EQ(read16(&p, 1, 10), 80);
}

static void test_access_modes(void)
{
	struct vpit p;
	vpit_reset(&p);
	vpit_write(&p, 3, 0x10, 0); /* counter 0, LSB only, mode 0 */
	vpit_write(&p, 0, 0x34, 0);
	CHECK_EQ(vpit_read(&p, 0, 4), 0x30);
	CHECK_EQ(vpit_read(&p, 0, 4), 0x30);
	vpit_write(&p, 3, 0x20, 0); /* MSB only */
	vpit_write(&p, 0, 0x12, 0);
	CHECK_EQ(vpit_read(&p, 0, 0x100), 0x11);
	CHECK_EQ(vpit_read(&p, 3, 0), 0xff); /* control register: write-only */
}

static void test_latch_and_readback(void)
{
	struct vpit p;
	vpit_reset(&p);
	program(&p, 0, 2, 5000, 0);
	vpit_write(&p, 3, 0x00, 1000);         /* latch counter 0 */
	vpit_write(&p, 3, 0x00, 2000);         /* ignored: still latched */
	CHECK_EQ(read16(&p, 0, 3000), 4000);
	CHECK_EQ(read16(&p, 0, 3000), 2000);   /* free-running again */
	vpit_write(&p, 3, 0xc2, 3500);         /* read-back count + status of counter 0 */
	CHECK_EQ(vpit_read(&p, 0, 4000), 0xb4); /* OUT high, rw 3, mode 2 */
	CHECK_EQ(read16(&p, 0, 4000), 1500);
	vpit_write(&p, 3, 0x30, 0);            /* control word: null count until loaded */
	vpit_write(&p, 3, 0xe2, 0);            /* read-back status only */
	CHECK_EQ(vpit_read(&p, 0, 0), 0x70);
}

static void test_gate_and_port61(void)
{
	struct vpit p;
	vpit_reset(&p);
	program(&p, 2, 0, 100, 0); /* gate low: counter 2 does not count */
	CHECK_EQ(read16(&p, 2, 500), 100);
	CHECK_EQ(vpit_port61_read(&p, 500) & 0x20, 0);
	vpit_port61_write(&p, 0x01, 1000);
	CHECK_EQ(read16(&p, 2, 1040), 60);
	vpit_port61_write(&p, 0x00, 1050); /* mode 0 pauses */
	CHECK_EQ(read16(&p, 2, 5000), 50);
	vpit_port61_write(&p, 0x03, 6000);
	CHECK_EQ(vpit_port61_read(&p, 6049) & 0x23, 0x03);
	CHECK_EQ(vpit_port61_read(&p, 6050) & 0x23, 0x23); /* OUT2 at terminal count */
	CHECK((vpit_port61_read(&p, 18) & 0x10) != (vpit_port61_read(&p, 36) & 0x10));
	CHECK_EQ(vpit_port61_read(&p, 0) & 0xc0, 0);
}

/*
 * Linux's quick_pit_calibrate: gate on, mode 0 with count 0xffff, then it
 * expects each MSB value 0xff, 0xfe, ... to be seen more than 5 times in
 * a row. `step` is how many PIT clocks one port access costs.
 */
static int quick_calibrate(uint64_t step, unsigned *reads)
{
	struct vpit p;
	uint64_t t = 0;
	vpit_reset(&p);
	vpit_port61_write(&p, 0x01, t);
	vpit_write(&p, 3, 0xb0, t);
	vpit_write(&p, 2, 0xff, t);
	vpit_write(&p, 2, 0xff, t);
	*reads = 0;
	for (unsigned msb = 0xff; msb > 0xff - 20; msb--) {
		unsigned count = 0;
		for (; count < 50000; count++) {
			t += step;
			vpit_read(&p, 2, t);
			t += step;
			*reads += 2;
			if (vpit_read(&p, 2, t) != msb)
				break;
		}
		if (count <= 5)
			return 0;
	}
	return 1;
}

static void test_linux_quick_calibration(void)
{
	unsigned reads;
	CHECK(quick_calibrate(1, &reads));  /* fast accesses: calibration works */
	CHECK(!quick_calibrate(48, &reads)); /* 40 us an exit: it gives up... */
	CHECK(reads < 20);                  /* ...after a handful of reads */
}

/* Linux's pit_calibrate_tsc: mode 0 for `latch` clocks, poll OUT2 in 0x61. */
static void test_linux_slow_calibration(void)
{
	struct vpit p;
	uint64_t t = 0;
	unsigned polls = 0;
	vpit_reset(&p);
	vpit_port61_write(&p, (vpit_port61_read(&p, t) & ~0x02) | 0x01, t);
	vpit_write(&p, 3, 0xb0, t);
	vpit_write(&p, 2, 11932 & 0xff, t);
	vpit_write(&p, 2, 11932 >> 8, t);
	while (!(vpit_port61_read(&p, t) & 0x20) && polls < 100000) {
		t += 48;
		polls++;
	}
	CHECK(polls >= 11932 / 48 && polls <= 11932 / 48 + 1);
}

int main(void)
{
	RUN(test_mode0);
	RUN(test_mode2_mode3);
	RUN(test_access_modes);
	RUN(test_latch_and_readback);
	RUN(test_gate_and_port61);
	RUN(test_linux_quick_calibration);
	RUN(test_linux_slow_calibration);
	return check_done();
}
