/*
 * vmm/dev/rtc.c - the CMOS RTC model of rtc.h (MC146818A registers 0x00-
 * 0x0d: seconds, alarm, minutes, ..., year, status A-D).
 */
#include "vmm/dev/rtc.h"

#include "vmm/core/lib/calendar.h"

#include "vmm/core/lib/string.h"

#define REG_SEC 0x00
#define REG_MIN 0x02
#define REG_HOUR 0x04
#define REG_WDAY 0x06
#define REG_MDAY 0x07
#define REG_MONTH 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define  A_DIVIDER_32K 0x20        /* 32.768 kHz time base, UIP = 0 */
#define REG_B 0x0b
#define  B_24H 0x02
#define  B_BINARY 0x04
#define REG_C 0x0c
#define REG_D 0x0d
#define  D_VRT 0x80                /* valid RAM and time */
#define REG_CENTURY 0x32

void vrtc_reset(struct vrtc *r)
{
	memset(r, 0, sizeof(*r));
	r->reg_b = B_24H;
}

static uint8_t enc(const struct vrtc *r, unsigned v)
{
	return (r->reg_b & B_BINARY) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | v % 10);
}

static uint8_t time_reg(const struct vrtc *r, unsigned idx, uint64_t now)
{
	struct cal_time t;
	cal_from_epoch(now, &t);
	switch (idx) {
	case REG_SEC:     return enc(r, t.sec);
	case REG_MIN:     return enc(r, t.min);
	case REG_HOUR:    return enc(r, t.hour);
	case REG_WDAY:    return enc(r, t.wday);
	case REG_MDAY:    return enc(r, t.day);
	case REG_MONTH:   return enc(r, t.month);
	case REG_YEAR:    return enc(r, t.year % 100);
	default:          return enc(r, t.year / 100);  /* REG_CENTURY */
	}
}

uint8_t vrtc_read(struct vrtc *r, unsigned port, uint64_t now)
{
	if (port == 0)
		return 0xff;  /* the index port is write-only */
	unsigned i = r->index;
	if (i <= REG_YEAR && !(i & 1 && i < REG_WDAY))
		return time_reg(r, i, now);
	if (i == REG_CENTURY)
		return time_reg(r, i, now);
	switch (i) {
	case REG_A: return A_DIVIDER_32K;
	case REG_B: return r->reg_b;
	case REG_C: return 0;
	case REG_D: return D_VRT;
	default:    return i < REG_YEAR ? 0 : r->ram[i];  /* alarms read 0 */
	}
}

void vrtc_write(struct vrtc *r, unsigned port, uint8_t val)
{
	if (port == 0) {
		r->index = val & 0x7f;
		r->nmi_disabled = val >> 7;
		return;
	}
	if (r->index == REG_B)
		r->reg_b = (val & (B_24H | B_BINARY)) | B_24H;  /* 12-hour mode is not offered */
	else if (r->index > REG_D && r->index != REG_CENTURY)
		r->ram[r->index] = val;
}
