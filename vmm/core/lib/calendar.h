/*
 * vmm/core/lib/calendar.h - calendar conversion (see calendar.c).
 */
#ifndef HAKO_CALENDAR_H
#define HAKO_CALENDAR_H

#include <stdint.h>

struct cal_time {
	unsigned year, month, day, hour, min, sec, wday;  /* month 1-12, day 1-31, wday 1 = Sunday */
};

/* For years 1970-2099. */
void cal_from_epoch(uint64_t secs, struct cal_time *t);
uint64_t cal_to_epoch(const struct cal_time *t);

#endif
