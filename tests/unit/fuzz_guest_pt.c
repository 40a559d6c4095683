/*
 * tests/unit/fuzz_guest_pt.c - libFuzzer target for vmm/guest_pt.c, the
 * walker of the guest's own page tables: a guest writes those tables and
 * its control registers.
 *
 * Input: byte 0 picks the paging mode (CR0.PG, CR4.PSE/PAE/LA57,
 * EFER.LMA), bytes 1-2 the page CR3 points at (plus 5 bits of offset for
 * PAE), bytes 3-10 the linear address; the rest fills the first pages of a
 * 64 KiB guest memory. Reads outside it fail as they do outside a guest's
 * RAM. The walker must only read 4 or 8 bytes, aligned, inside memory or
 * be refused; it reads at most one entry per level; a translation keeps
 * the address's offset within the smallest page (4 KiB) and stays below
 * the mode's physical-address width.
 *   make fuzz-build && build/fuzz/fuzz_guest_pt -max_total_time=60 tests/unit/data/corpus_guest_pt
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/core/lib/x86.h"
#include "vmm/guest_pt.h"

#define GMEM (64 * 1024)

static uint8_t *gmem;
static unsigned reads;

static int gread(void *ctx, uint64_t gpa, unsigned size, uint64_t *val)
{
	(void)ctx;
	if ((size != 4 && size != 8) || gpa % size)
		abort();
	if (++reads > 5)
		abort(); /* more reads than levels */
	if (gpa >= GMEM || GMEM - gpa < size)
		return -14;
	uint64_t v = 0;
	memcpy(&v, gmem + gpa, size);
	*val = v;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 11)
		return 0;
	uint8_t mode = data[0];
	struct guest_pt_mode m = {
		.cr0 = (mode & 1) ? CR0_PG : 0,
		.cr3 = (uint64_t)(data[1] | data[2] << 8) << 7,
		.cr4 = ((mode & 2) ? CR4_PSE : 0) | ((mode & 4) ? CR4_PAE : 0) |
		       ((mode & 8) ? CR4_LA57 : 0),
		.efer = (mode & 16) ? EFER_LMA : 0,
	};
	uint64_t la;
	memcpy(&la, data + 3, 8);
	if (!(m.efer & EFER_LMA))
		la &= 0xffffffffull;
	gmem = calloc(1, GMEM);
	size_t fill = size - 11 < GMEM ? size - 11 : GMEM;
	memcpy(gmem, data + 11, fill);
	const struct guest_pt_ops ops = { 0, gread };
	uint64_t gpa = 0;
	reads = 0;
	int r = guest_pt_translate(&ops, &m, la, &gpa);
	if (r != 0 && r != -14)
		abort();
	if (r == 0 && (m.cr0 & CR0_PG)) {
		if ((gpa & 0xfff) != (la & 0xfff))
			abort();
		if (gpa >> 52)
			abort(); /* beyond MAXPHYADDR's architectural limit */
		if (!(m.efer & EFER_LMA) && !(m.cr4 & CR4_PAE) && gpa >> 40)
			abort(); /* 32-bit paging: at most 40 bits (PSE-36) */
	}
	if (r == 0 && !(m.cr0 & CR0_PG) && gpa != la)
		abort();
	free(gmem);
	return 0;
}
