/*
 * vmm/dev/rtc.h - the guest's CMOS real-time clock at ports 0x70/0x71
 * (Motorola MC146818A data sheet; the PC's CMOS layout). Portable: the
 * current time comes in as seconds since the Unix epoch, and the clock
 * reports it in BCD, 24-hour mode, with century at CMOS index 0x32.
 * Update-in-progress is never set, so a guest reading the time never
 * waits. Alarms and periodic interrupts are not modelled; writes to the
 * time registers are ignored (the guest's clock follows the host's).
 */
#ifndef HAKO_DEV_RTC_H
#define HAKO_DEV_RTC_H

#include <stdint.h>

struct vrtc {
	uint8_t index;
	uint8_t nmi_disabled;
	uint8_t reg_b;
	uint8_t ram[128];
};

void vrtc_reset(struct vrtc *r);
/* Port access: `port` 0 is the index (0x70), 1 the data (0x71). */
uint8_t vrtc_read(struct vrtc *r, unsigned port, uint64_t now_epoch);
void vrtc_write(struct vrtc *r, unsigned port, uint8_t val);

#endif
