/*
 * tests/unit/fuzz_switch.c - libFuzzer target for the switch's frame
 * parser and forwarding (net/switch.c): an uplink, hako's port and guests
 * on LANs and VLANs; the input is a list of frames, each handed in on the
 * port its first byte picks (the uplink's with whatever tags they carry),
 * with offload requests (partial checksums, segment trains) of its own.
 * Every frame delivered is checked: it fits the MTU (plus a tag on the
 * uplink) unless it is a train for a port that takes trains, it carries no
 * offload its port does not take, it never goes back to its sender, and a
 * guest port never sees a tag. ASan sees any read outside the input.
 *   make fuzz && build/fuzz/fuzz_switch -max_total_time=60
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/switch.h"

#define NPORTS 6

static struct sw_port ports[NPORTS];
static struct sw_port *sender;
static uint8_t out[SW_TRAIN_MAX + 4];

static int deliver(struct sw_port *p, const struct sw_frame *f)
{
	uint32_t max = f->off.tso4 ? SW_TRAIN_MAX : SW_FRAME_MAX + (p->kind == SW_UPLINK ? 4 : 0);
	if ((f->off.tso4 && !(p->nic & SW_OFF_TSO4)) || (f->off.csum && !(p->nic & SW_OFF_CSUM)))
		abort();
	if (p == sender || f->len > max || f->len < SW_ETH_HLEN)
		abort();
	if (iov_read(f->iov, f->niov, 0, out, f->len) != f->len)
		abort();
	if (p->kind != SW_UPLINK && out[12] == 0x81 && out[13] == 0)
		abort();
	return 0;
}

static int flush(struct sw_port *p) { (void)p; return 0; }
static unsigned room(struct sw_port *p) { (void)p; return 100; }
static unsigned offloads(struct sw_port *p) { return p->nic; }
static const struct sw_port_ops ops = { 0, 0, deliver, flush, room, offloads };

static void setup(void)
{
	static const char *lans[NPORTS] = { "", "", "", "", "lab", "lab" };
	static const uint16_t vlans[NPORTS] = { 0, 0, 0, 42, 0, 42 };
	char err[96];
	sw_reset();
	for (int i = 0; i < NPORTS; i++) {
		struct sw_port *p = &ports[i];
		memset(p, 0, sizeof(*p));
		p->ops = &ops;
		p->kind = i == 0 ? SW_UPLINK : i == 1 ? SW_HAKO : SW_GUEST;
		p->mac[0] = 2, p->mac[5] = (uint8_t)i;
		strcpy(p->lan, lans[i]);
		p->vlan = vlans[i];
		p->nic = i == 3 ? SW_OFF_CSUM | SW_OFF_TSO4 : i == 4 ? SW_OFF_CSUM : 0;  /* what it takes */
		if (sw_port_add(p, err, sizeof(err)))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	uint64_t now = 1;
	/* each record: port (1), length (2), offload (3), then that many bytes, in up to 3 pieces */
	while (size >= 6) {
		sender = &ports[data[0] % NPORTS];
		size_t len = (size_t)(data[1] | data[2] << 8);
		struct sw_offload off = { .csum = data[3] & 1, .tso4 = (data[3] >> 1) & 1,
					  .csum_start = data[4], .csum_offset = data[3] >> 2,
					  .gso_size = (uint16_t)(data[5] * 8) };
		data += 6, size -= 6;
		if (len > size)
			len = size;
		struct sw_frame f = { .len = (uint32_t)len, .off = off };
		size_t cut1 = len / 3, cut2 = 2 * len / 3;
		f.iov[f.niov++] = (struct iov){ data, (uint32_t)cut1 };
		f.iov[f.niov++] = (struct iov){ data + cut1, (uint32_t)(cut2 - cut1) };
		f.iov[f.niov++] = (struct iov){ data + cut2, (uint32_t)(len - cut2) };
		sw_input(sender, &f, now);
		now += 1000000;
		data += len, size -= len;
	}
	sender = 0;
	sw_poll(now + 400ull * 1000000);
	return 0;
}
