/*
 * vmm/dev/pit.h - the guest's 8254 programmable interval timer at ports
 * 0x40-0x43, and the PC's port 0x61 (NMI status and control) that gates
 * counter 2 and shows its output.
 *
 * hako's Linux guests run on a hardware-reduced ACPI platform, so the
 * PIT raises no interrupts: it is here because Linux measures the CPU
 * against counter 2 at boot (arch/x86/kernel/tsc.c, quick_pit_calibrate
 * and pit_calibrate_tsc), and with nothing answering those ports it
 * spins 100,000 port reads - each one a VM exit - before giving up.
 * A real counter ends that loop after a few reads, and lets calibration
 * succeed when exits are cheap enough.
 *
 * Portable: time comes in as a count of PIT input clocks (1.193182 MHz)
 * since any fixed origin. Counters count in binary (the BCD bit is kept
 * and reported but not honoured); modes 0, 2 and 3 are modelled exactly,
 * modes 1, 4 and 5 (gate- or software-triggered strobes) count as mode 0.
 * Sources: Intel 82C54 CHMOS programmable interval timer data sheet;
 * Intel 300-series PCH data sheet, "NMI Status and Control Register".
 */
#ifndef HAKO_DEV_PIT_H
#define HAKO_DEV_PIT_H

#include <stdint.h>

#define PIT_HZ 1193182u

struct vpit_counter {
	uint16_t initial;     /* the count written, 0 meaning 65536 */
	uint16_t latched;     /* value held by a latch command */
	uint8_t mode;         /* 0-5 */
	uint8_t rw;           /* access: 1 LSB, 2 MSB, 3 LSB then MSB */
	uint8_t bcd;
	uint8_t loaded;       /* a full count has been written since the control word */
	uint8_t write_msb;    /* next write (rw 3) is the MSB */
	uint8_t read_msb;     /* next read (rw 3) is the MSB */
	uint8_t latch_valid;
	uint8_t status_valid; /* a read-back latched the status byte */
	uint8_t status;
	uint8_t gate;
	uint64_t start;       /* time counting (re)started */
	uint64_t counted;     /* clocks counted before the gate last fell */
};

struct vpit {
	struct vpit_counter ctr[3];
	uint8_t port61;       /* the writable bits of port 0x61 */
};

void vpit_reset(struct vpit *p);
/* Port access: `port` 0-3 are 0x40-0x43; `now` in PIT clocks. */
uint8_t vpit_read(struct vpit *p, unsigned port, uint64_t now);
void vpit_write(struct vpit *p, unsigned port, uint8_t val, uint64_t now);
/* Port 0x61: counter 2's gate and speaker enable in, its output out. */
uint8_t vpit_port61_read(struct vpit *p, uint64_t now);
void vpit_port61_write(struct vpit *p, uint8_t val, uint64_t now);

#endif
