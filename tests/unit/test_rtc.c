/*
 * tests/unit/test_rtc.c - the guest CMOS clock (vmm/dev/rtc.c): calendar
 * conversion both ways, BCD and binary reads, status registers, CMOS RAM.
 */
#include <stdint.h>

#include "check.h"
#include "vmm/core/lib/calendar.h"
#include "vmm/dev/rtc.h"

static uint8_t rd(struct vrtc *r, uint8_t idx, uint64_t now)
{
	vrtc_write(r, 0, idx);
	return vrtc_read(r, 1, now);
}

static void test_calendar(void)
{
	struct cal_time t;
	cal_from_epoch(0, &t);
	CHECK(t.year == 1970 && t.month == 1 && t.day == 1 && t.hour == 0 && t.wday == 5);
	cal_from_epoch(951782400, &t); /* 2000-02-29 00:00:00, a Tuesday */
	CHECK(t.year == 2000 && t.month == 2 && t.day == 29 && t.wday == 3);
	cal_from_epoch(1795222245, &t); /* 2026-11-21 00:50:45 */
	CHECK(t.year == 2026 && t.month == 11 && t.day == 21);
	CHECK(t.hour == 0 && t.min == 50 && t.sec == 45);
	for (uint64_t s = 0; s < 4102444800ull; s += 86400 * 37 + 3671) {
		cal_from_epoch(s, &t);
		if (cal_to_epoch(&t) != s) {
			CHECK_EQ(cal_to_epoch(&t), s);
			break;
		}
	}
}

static void test_registers(void)
{
	struct vrtc r;
	const uint64_t now = 1795222245; /* 2026-11-21 00:50:45 */
	vrtc_reset(&r);
	CHECK_EQ(rd(&r, 0x00, now), 0x45); /* BCD */
	CHECK_EQ(rd(&r, 0x02, now), 0x50);
	CHECK_EQ(rd(&r, 0x04, now), 0x00);
	CHECK_EQ(rd(&r, 0x07, now), 0x21);
	CHECK_EQ(rd(&r, 0x08, now), 0x11);
	CHECK_EQ(rd(&r, 0x09, now), 0x26);
	CHECK_EQ(rd(&r, 0x32, now), 0x20);
	CHECK_EQ(rd(&r, 0x0a, now) & 0x80, 0); /* never update-in-progress */
	CHECK_EQ(rd(&r, 0x0d, now), 0x80);     /* valid RAM and time */
	CHECK_EQ(rd(&r, 0x01, now), 0);        /* alarm */
	vrtc_write(&r, 0, 0x0b);
	vrtc_write(&r, 1, 0x06);               /* binary mode */
	CHECK_EQ(rd(&r, 0x00, now), 45);
	CHECK_EQ(rd(&r, 0x09, now), 26);
	vrtc_write(&r, 0, 0x0b);
	vrtc_write(&r, 1, 0x00);               /* 12-hour mode is refused */
	CHECK_EQ(rd(&r, 0x0b, now) & 0x02, 0x02);
	vrtc_write(&r, 0, 0x40);
	vrtc_write(&r, 1, 0x5a);               /* CMOS RAM */
	CHECK_EQ(rd(&r, 0x40, now), 0x5a);
	vrtc_write(&r, 0, 0x00);
	vrtc_write(&r, 1, 0x11);               /* time writes are ignored */
	CHECK_EQ(rd(&r, 0x00, now), 0x45);
	vrtc_write(&r, 0, 0xff);               /* NMI bit and index mask */
	CHECK_EQ(r.index, 0x7f);
	CHECK_EQ(vrtc_read(&r, 0, now), 0xff);
}

int main(void)
{
	RUN(test_calendar);
	RUN(test_registers);
	return check_done();
}
