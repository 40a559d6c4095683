/*
 * drivers/rtc/cmos.c - the host's MC146818-compatible CMOS clock at ports
 * 0x70/0x71: waits for a moment outside an update (status A bit 7, UIP)
 * and reads the time registers, in BCD or binary per status B.
 */
#include "drivers/rtc/cmos.h"

#include "vmm/core/cpu.h"
#include "vmm/core/lib/calendar.h"

static uint8_t cmos(uint8_t idx)
{
	outb(0x70, idx);
	return inb(0x71);
}

static unsigned dec(uint8_t v, int bcd) { return bcd ? (v >> 4) * 10u + (v & 0xf) : v; }

uint64_t cmos_read_epoch(void)
{
	for (int i = 0; i < 1000000 && (cmos(0x0a) & 0x80); i++)
		cpu_relax();
	int bcd = !(cmos(0x0b) & 0x04);
	struct cal_time t = { 0 };
	t.sec = dec(cmos(0x00), bcd);
	t.min = dec(cmos(0x02), bcd);
	t.hour = dec(cmos(0x04) & 0x7f, bcd);
	t.day = dec(cmos(0x07), bcd);
	t.month = dec(cmos(0x08), bcd);
	t.year = dec(cmos(0x09), bcd);
	unsigned century = dec(cmos(0x32), bcd);
	t.year += (century >= 19 && century <= 21 ? century : 20) * 100;
	if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > 31 || t.year < 1970 ||
	    t.year > 2099 || t.hour > 23 || t.min > 59 || t.sec > 59)
		return 0;
	return cal_to_epoch(&t);
}
