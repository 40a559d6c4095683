/*
 * vmm/core/lib/calendar.c - seconds since the Unix epoch to a calendar
 * date and back (proleptic Gregorian, years 1970-2099). Portable; used by
 * the host's CMOS clock driver and the guests' RTC model.
 */
#include "vmm/core/lib/calendar.h"

static int leap(unsigned y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned month_days(unsigned y, unsigned m)
{
	static const uint8_t d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return d[m - 1] + (m == 2 && leap(y));
}

void cal_from_epoch(uint64_t secs, struct cal_time *t)
{
	uint64_t days = secs / 86400;
	unsigned rem = (unsigned)(secs % 86400);
	t->hour = rem / 3600;
	t->min = rem / 60 % 60;
	t->sec = rem % 60;
	t->wday = (unsigned)((days + 4) % 7) + 1;  /* 1970-01-01 was a Thursday */
	t->year = 1970;
	while (days >= 365u + leap(t->year))
		days -= 365u + leap(t->year), t->year++;
	t->month = 1;
	while (days >= month_days(t->year, t->month))
		days -= month_days(t->year, t->month), t->month++;
	t->day = (unsigned)days + 1;
}

uint64_t cal_to_epoch(const struct cal_time *t)
{
	uint64_t days = 0;
	for (unsigned y = 1970; y < t->year; y++)
		days += 365u + leap(y);
	for (unsigned m = 1; m < t->month && m <= 12; m++)
		days += month_days(t->year, m);
	days += t->day - 1;
	return days * 86400 + t->hour * 3600ull + t->min * 60ull + t->sec;
}
