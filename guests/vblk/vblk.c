/*
 * guests/vblk/vblk.c - a freestanding test guest that drives hako's
 * virtio-mmio block devices directly (virtio 1.2, 4.2 and 5.2), without
 * Linux: it tests the device model end to end on either back end. It polls
 * the used ring (it needs no interrupt controller) but checks that the
 * interrupt status register reports each completion.
 *
 * Command line words, run in order (device i is at 0xd0000000 + i * 0x1000;
 * hako ends a guest that is not Linux when it touches MMIO nobody claimed,
 * so the guest only touches the devices it is told about):
 *   dev=N         use device N for what follows (default 0)
 *   size          print the device's number, id and capacity in sectors
 *   rw            write a pattern over the first 64 KiB and the last sector,
 *                 read it back, flush, GET_ID: PASS or FAIL
 *   ro            the device offers VIRTIO_BLK_F_RO and a write fails: PASS
 *   verify        read back what `rw` wrote (an earlier run, the disk kept it): PASS
 *   beyond        a read past the end fails with IOERR and the device works on: PASS
 *   bad-ring      a chain head out of range sets DEVICE_NEEDS_RESET; after a
 *                 reset the device works again: PASS
 *   bad-addr      a descriptor outside guest memory does the same: PASS
 *   journal       the power-cut writer (tests/integration/test_catalog_iscsi.py):
 *                 block S of its journal (512 bytes at sector S * 16) holds S
 *                 and a checksum. It reads the journal, prints "vblk: journal
 *                 found N" (blocks 0..N-1 valid, N not), checks the next blocks
 *                 are not valid either (a hole would mean writes reordered),
 *                 then writes N, N+1, ... until the disk ends, each followed by a
 *                 flush, printing "vblk: ack S" once both completed (paced:
 *                 about a hundred a second)
 *   flood-id      forever: keep the queue full of GET_ID requests (they
 *                 complete at once) and one read, putting each chain back
 *                 the moment it is used, without exits; prints a line every
 *                 65536 completions (hako must keep serving everyone else)
 *
 * Output lines start with "vblk: ".
 */
#include <stdint.h>

#include "guests/lib/console.h"
#include "guests/lib/io.h"

#define MMIO_BASE 0xd0000000ull
#define QSIZE 16

static void result(const char *what, int ok)
{
	puts_("vblk: ");
	puts_(what);
	puts_(ok ? " PASS\n" : " FAIL\n");
}

/* ---- the device's registers: plain 32-bit MOVs (what hako's decoder handles) ---- */

static uint64_t base = MMIO_BASE;
static uint32_t rd(uint32_t off)
{
	uint32_t v;
	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(base + off) : "memory");
	return v;
}
static void wr(uint32_t off, uint32_t v)
{
	__asm__ volatile("movl %0, (%1)" ::"r"(v), "r"(base + off) : "memory");
}

/* ---- rings and buffers (guest-physical == virtual) ---- */

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; } __attribute__((packed));
static struct desc dtab[QSIZE] __attribute__((aligned(4096)));
static struct { uint16_t flags, idx, ring[QSIZE], used_event; } avail __attribute__((aligned(4096)));
static struct { uint16_t flags, idx; struct { uint32_t id, len; } ring[QSIZE]; uint16_t ev; }
	used __attribute__((aligned(4096)));
static struct { uint32_t type, reserved; uint64_t sector; } hdr;
static volatile uint8_t status;
static uint8_t buf[65536] __attribute__((aligned(4096)));
static uint16_t avail_idx, used_seen;
static uint64_t mem_size;

static int init(void)
{
	if (rd(0) != 0x74726976 || rd(4) != 2 || rd(8) != 2)
		return 0;
	wr(0x70, 0);                    /* reset */
	wr(0x70, 1 | 2);                /* ACKNOWLEDGE | DRIVER */
	wr(0x24, 1);
	wr(0x20, 1);                    /* VIRTIO_F_VERSION_1 (bit 32) */
	wr(0x24, 0);
	wr(0x20, 1u << 9);              /* FLUSH */
	wr(0x70, 1 | 2 | 8);
	if (!(rd(0x70) & 8))
		return 0;
	wr(0x30, 0);
	if (rd(0x34) < QSIZE)
		return 0;
	wr(0x38, QSIZE);
	wr(0x80, (uint32_t)(uint64_t)dtab), wr(0x84, 0);
	wr(0x90, (uint32_t)(uint64_t)&avail), wr(0x94, 0);
	wr(0xa0, (uint32_t)(uint64_t)&used), wr(0xa4, 0);
	avail.idx = used.idx = 0;
	avail_idx = used_seen = 0;
	wr(0x44, 1);
	wr(0x70, 1 | 2 | 8 | 4);        /* DRIVER_OK */
	return rd(0x70) == 15;
}

static uint64_t config64(uint32_t off) { return rd(0x100 + off) | (uint64_t)rd(0x104 + off) << 32; }

/* Offers the chain starting at descriptor 0 and waits for it. Status, or -1. */
static int submit(uint16_t head)
{
	status = 0xee;
	avail.ring[avail_idx % QSIZE] = head;
	__asm__ volatile("" ::: "memory");
	avail.idx = ++avail_idx;
	wr(0x50, 0);
	for (uint64_t spin = 0; spin < 200000000ull; spin++) {
		if (*(volatile uint16_t *)&used.idx != used_seen)
			break;
		if (rd(0x70) & 64)
			return -2;      /* DEVICE_NEEDS_RESET */
	}
	if (*(volatile uint16_t *)&used.idx == used_seen)
		return -1;
	used_seen++;
	uint32_t isr = rd(0x60);
	wr(0x64, isr);
	if (!(isr & 1))
		return -3;
	return status;
}

static int request(uint32_t type, uint64_t sector, void *data, uint32_t len)
{
	int in = type != 1;
	hdr.type = type, hdr.reserved = 0, hdr.sector = sector;
	dtab[0] = (struct desc){ (uint64_t)&hdr, 16, 1, 1 };
	uint16_t last = 1;
	if (len) {
		dtab[1] = (struct desc){ (uint64_t)data, len, (uint16_t)(1 | (in ? 2 : 0)), 2 };
		last = 2;
	} else {
		dtab[0].next = 2;
		last = 2;
	}
	dtab[last] = (struct desc){ (uint64_t)&status, 1, 2, 0 };
	return submit(0);
}

/* ---- commands ---- */

static void cmd_size(void)
{
	if (!init()) {
		result("size: init", 0);
		return;
	}
	puts_("vblk: device ");
	putu((base - MMIO_BASE) / 0x1000);
	puts_(" id=");
	putu(rd(8));
	puts_(" capacity ");
	putu(config64(0));
	puts_(" sectors\n");
}

static void pattern(uint32_t seed)
{
	for (uint32_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)((i * 31 + seed) ^ (i >> 9));
}

static int pattern_ok(uint32_t seed, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		if (buf[i] != (uint8_t)((i * 31 + seed) ^ (i >> 9)))
			return 0;
	return 1;
}

static void cmd_rw(void)
{
	if (!init()) {
		result("rw: init", 0);
		return;
	}
	uint64_t cap = config64(0);
	int ok = 1;
	for (uint32_t chunk = 0; chunk < 16 && ok; chunk++) {  /* 16 x 4 KiB */
		pattern(chunk);
		ok = request(1, chunk * 8, buf, 4096) == 0;
	}
	pattern(99);
	ok = ok && request(1, cap - 1, buf, 512) == 0;
	for (uint32_t chunk = 0; chunk < 16 && ok; chunk++) {
		for (uint32_t i = 0; i < 4096; i++)
			buf[i] = 0;
		ok = request(0, chunk * 8, buf, 4096) == 0 && pattern_ok(chunk, 4096);
	}
	ok = ok && request(0, cap - 1, buf, 512) == 0 && pattern_ok(99, 512);
	result("rw: write, read back, verify", ok);
	result("rw: flush", request(4, 0, 0, 0) == 0);
	for (int i = 0; i < 20; i++)
		buf[i] = 0;
	int idok = request(8, 0, buf, 20) == 0 && buf[0] == 'h' && buf[1] == 'a';
	puts_("vblk: id ");
	buf[20] = 0;
	puts_((const char *)buf);
	puts_("\n");
	result("rw: get-id", idok);
}

/* What `rw` wrote, read back without writing (after a restart of the guest). */
static void cmd_verify(void)
{
	if (!init()) {
		result("verify: init", 0);
		return;
	}
	uint64_t cap = config64(0);
	int ok = 1;
	for (uint32_t chunk = 0; chunk < 16 && ok; chunk++)
		ok = request(0, chunk * 8, buf, 4096) == 0 && pattern_ok(chunk, 4096);
	ok = ok && request(0, cap - 1, buf, 512) == 0 && pattern_ok(99, 512);
	result("verify: the data of the earlier run is there", ok);
}

static void cmd_ro(void)
{
	if (!init()) {
		result("ro: init", 0);
		return;
	}
	wr(0x14, 0);
	int offered = (rd(0x10) >> 5) & 1;
	int w = request(1, 0, buf, 512);
	int r = request(0, 0, buf, 512);
	result("ro: feature offered, write refused, read works", offered && w == 1 && r == 0);
}

static void cmd_beyond(void)
{
	if (!init()) {
		result("beyond: init", 0);
		return;
	}
	uint64_t cap = config64(0);
	int a = request(0, cap, buf, 512), b = request(0, cap - 1, buf, 1024);
	int c = request(0, cap - 1, buf, 512);
	result("beyond: reads past the end fail, the device works on", a == 1 && b == 1 && c == 0);
}

static void bad_and_recover(const char *what, int bad_addr)
{
	if (!init()) {
		result(what, 0);
		return;
	}
	int rc;
	if (bad_addr) {
		hdr.type = 0, hdr.sector = 0;
		dtab[0] = (struct desc){ (uint64_t)&hdr, 16, 1, 1 };
		dtab[1] = (struct desc){ mem_size + 0x1000, 512, 1 | 2, 2 };  /* outside guest RAM */
		dtab[2] = (struct desc){ (uint64_t)&status, 1, 2, 0 };
		rc = submit(0);
	} else {
		rc = submit(QSIZE + 3);                                  /* head out of range */
	}
	int reset_seen = rc == -2 && (rd(0x60) & 2);
	wr(0x64, 3);
	int again = init() && request(0, 0, buf, 512) == 0;
	result(what, reset_seen && again);
}

/* ---- the journal ---- */

#define JOURNAL_STRIDE 16u              /* sectors per journal block: 8 KiB, 8 per 64 KiB chunk */
#define JOURNAL_MAGIC 0x4c4e524aU       /* "JRNL" */

static uint32_t journal_sum(const uint8_t *b)
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < 508; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static void journal_fill(uint8_t *b, uint32_t seq)
{
	uint32_t *w = (uint32_t *)b;
	w[0] = JOURNAL_MAGIC, w[1] = seq, w[2] = ~seq;
	for (int i = 12; i < 508; i++)
		b[i] = (uint8_t)(seq * 7 + (uint32_t)i);
	w[127] = journal_sum(b);
}

static int journal_valid(const uint8_t *b, uint32_t seq)
{
	const uint32_t *w = (const uint32_t *)b;
	return w[0] == JOURNAL_MAGIC && w[1] == seq && w[2] == ~seq && w[127] == journal_sum(b);
}

/* Reads blocks from `seq` on, 8 at a time: 1 if block seq is valid, 0 if not, -1 on an error. */
static int journal_read(uint32_t seq, uint32_t *cached)
{
	uint32_t per = sizeof(buf) / 512 / JOURNAL_STRIDE;
	if (*cached == 0xffffffffu || seq < *cached || seq >= *cached + per) {
		if (request(0, (uint64_t)seq * JOURNAL_STRIDE, buf, sizeof(buf)))
			return -1;
		*cached = seq;
	}
	return journal_valid(buf + (seq - *cached) * JOURNAL_STRIDE * 512, seq);
}

/*
 * A few milliseconds between journal blocks (2^27 TSC ticks): the journal
 * then grows by about a hundred blocks a second, not thousands, and stays
 * quick to read back at the next start.
 */
static void pace(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	uint64_t end = ((uint64_t)hi << 32 | lo) + (1ull << 27), now;
	do {
		__asm__ volatile("pause; rdtsc" : "=a"(lo), "=d"(hi));
		now = (uint64_t)hi << 32 | lo;
	} while (now < end);
}

static void cmd_journal(void)
{
	if (!init()) {
		result("journal: init", 0);
		return;
	}
	uint32_t end = (uint32_t)(config64(0) / JOURNAL_STRIDE) - 8, n = 0, cached = 0xffffffffu;
	int v = 1;
	while (n < end && (v = journal_read(n, &cached)) == 1)
		n++;
	if (v < 0) {
		result("journal: read", 0);
		return;
	}
	static uint8_t blk[512] __attribute__((aligned(512)));
	if (n < end && request(0, (uint64_t)n * JOURNAL_STRIDE, blk, 512) == 0 && journal_valid(blk, n)) {
		/* the block is there: the 64 KiB read that covered it returned something else */
		puts_("vblk: journal: block ");
		putu(n);
		puts_(" read alone is valid, in a 64 KiB read not:");
		result("", 0);
		return;
	}
	puts_("vblk: journal found ");
	putu(n);
	puts_("\n");
	int hole = 0;
	for (uint32_t k = n + 1; k < n + 8 && k < end; k++)
		hole |= journal_read(k, &cached) != 0;
	if (hole) {
		result("journal: nothing valid after the first invalid block", 0);
		return;
	}
	for (uint32_t seq = n; seq < end; seq++) {
		journal_fill(blk, seq);
		if (request(1, (uint64_t)seq * JOURNAL_STRIDE, blk, 512) || request(4, 0, 0, 0)) {
			result("journal: write and flush", 0);
			return;
		}
		puts_("vblk: ack ");
		putu(seq);
		puts_("\n");
		pace();
	}
	puts_("vblk: journal full\n");
}

/*
 * Seven GET_ID chains and one 512-byte read, 2 descriptors each (the
 * data and the status byte share the device-writable buffer, 5.2.6): the
 * whole 16-entry queue. A completed chain goes straight back on the
 * avail ring. The device is told once; later it only hears of the ring
 * again when nothing completed for a while (a QueueNotify exit): it sees
 * the refilled chains when it next looks, a read completing or its next
 * round.
 */
static struct { uint8_t data[512 + 1]; } inbuf[QSIZE / 2];
static struct { uint32_t type, reserved; uint64_t sector; } fhdr[QSIZE / 2];

static void cmd_flood_id(void)
{
	if (!init()) {
		result("flood-id: init", 0);
		return;
	}
	for (uint16_t k = 0; k < QSIZE / 2; k++) {
		int rd_req = k == QSIZE / 2 - 1;
		fhdr[k].type = rd_req ? 0 : 8;  /* IN (a read), else GET_ID */
		fhdr[k].reserved = 0, fhdr[k].sector = 0;
		dtab[2 * k] = (struct desc){ (uint64_t)&fhdr[k], 16, 1, (uint16_t)(2 * k + 1) };
		dtab[2 * k + 1] = (struct desc){ (uint64_t)&inbuf[k], rd_req ? 513 : 21, 2, 0 };
		avail.ring[avail_idx++ % QSIZE] = (uint16_t)(2 * k);
	}
	__asm__ volatile("" ::: "memory");
	avail.idx = avail_idx;
	wr(0x50, 0);
	puts_("vblk: flood-id started\n");
	uint64_t done = 0, idle = 0;
	for (;;) {
		/*
		 * Interrupts stay off (IF = 0; this guest has no IDT and hako
		 * gives it no interrupt sources). STI;CLI (CLI in STI's shadow:
		 * nothing is taken) only makes Bochs 2.7 look at its interrupt
		 * masking again: it computes it at VM entry before it knows it is
		 * entering a guest, and for a guest entered with IF = 0 physical
		 * interrupts (hako's kick, so `destroy`) then never cause the exit
		 * VMX and SVM promise, until the guest changes IF itself (the bug
		 * tests/integration/test_bochs_vmm.py meets on SVM).
		 */
		__asm__ volatile("sti; cli");
		uint16_t now = *(volatile uint16_t *)&used.idx;
		if (now == used_seen) {
			/*
			 * Nothing completed for a while: the device emptied the ring
			 * before the chains came back and nobody told it (the flood
			 * does not notify when it refills). Tell it now.
			 */
			if (++idle == 1000000) {
				wr(0x64, rd(0x60));
				wr(0x50, 0);
				idle = 0;
			}
			continue;
		}
		idle = 0;
		for (; used_seen != now; used_seen++, done++) {
			avail.ring[avail_idx++ % QSIZE] = (uint16_t)used.ring[used_seen % QSIZE].id;
			__asm__ volatile("" ::: "memory");
			avail.idx = avail_idx;
			if (!(done & 0xffff) && done) {
				puts_("vblk: flood-id ");
				putu(done);
				puts_(" requests\n");
			}
		}
	}
}

/* ---- command line ---- */

static int word_is(const char *w, unsigned len, const char *s)
{
	unsigned i = 0;
	while (i < len && s[i] && w[i] == s[i])
		i++;
	return i == len && !s[i];
}

static void run_word(const char *w, unsigned n)
{
	if (n == 5 && word_is(w, 4, "dev=")) base = MMIO_BASE + (uint64_t)(w[4] - '0') * 0x1000;
	else if (word_is(w, n, "size")) cmd_size();
	else if (word_is(w, n, "rw")) cmd_rw();
	else if (word_is(w, n, "ro")) cmd_ro();
	else if (word_is(w, n, "verify")) cmd_verify();
	else if (word_is(w, n, "beyond")) cmd_beyond();
	else if (word_is(w, n, "bad-ring")) bad_and_recover("bad-ring: needs reset, then works", 0);
	else if (word_is(w, n, "bad-addr")) bad_and_recover("bad-addr: needs reset, then works", 1);
	else if (word_is(w, n, "flood-id")) cmd_flood_id();
	else if (word_is(w, n, "journal")) cmd_journal();
	/* other words (console=ttyS0) are not for us */
}

void vblk_main(uint64_t mem, const char *cmdline);
void vblk_main(uint64_t mem, const char *cmdline)
{
	mem_size = mem;
	puts_("vblk: start\n");
	for (const char *p = cmdline; *p;) {
		while (*p == ' ')
			p++;
		unsigned n = 0;
		while (p[n] && p[n] != ' ')
			n++;
		if (n)
			run_word(p, n);
		p += n;
	}
	puts_("vblk: done\n");
}
