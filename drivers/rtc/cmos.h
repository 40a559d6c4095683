/*
 * drivers/rtc/cmos.h - reading the host's CMOS real-time clock once.
 */
#ifndef HAKO_CMOS_H
#define HAKO_CMOS_H

#include <stdint.h>

/* Seconds since the Unix epoch per the host RTC (assumed UTC), or 0 if unreadable. */
uint64_t cmos_read_epoch(void);

#endif
