/*
 * tests/unit/fuzz_insn.c - libFuzzer target for vmm/insn.c, the decoder of
 * the guest instructions that touch MMIO (and of PUSHF, for a debugger's
 * single step): a guest chooses those bytes.
 *
 * Byte 0 picks the CPU mode (64-bit, or 32/16-bit default operand size);
 * the rest (at most 15 bytes) is the instruction, in a buffer of exactly
 * its size so ASan sees any read past it. Whatever decodes must be
 * self-consistent: a length within the bytes given, the same result from
 * exactly those bytes, a failure from one byte fewer, sizes and registers
 * in range, and a load or store value that fits the access size.
 *   make fuzz-build && build/fuzz/fuzz_insn -max_total_time=60 tests/unit/data/corpus_insn
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/insn.h"

static int size_ok(unsigned s)
{
	return s == 1 || s == 2 || s == 4 || s == 8;
}

static uint64_t mask(unsigned size)
{
	return size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static int same(const struct insn *a, const struct insn *b)
{
	return a->kind == b->kind && a->len == b->len && a->size == b->size && a->reg == b->reg &&
	       a->reg_high8 == b->reg_high8 && a->dst_size == b->dst_size &&
	       a->sign_extend == b->sign_extend && a->has_imm == b->has_imm &&
	       (!a->has_imm || a->imm == b->imm);
}

static void check(const struct insn *in, const uint8_t *bytes, unsigned n, int long64, int def32)
{
	if (in->len < 1 || in->len > n || in->len > INSN_MAX_LEN || !size_ok(in->size) ||
	    in->reg > 15 || (in->kind != INSN_LOAD && in->kind != INSN_STORE))
		abort();
	if (in->kind == INSN_LOAD && (!size_ok(in->dst_size) || in->dst_size < in->size))
		abort();
	if (in->reg_high8 && (in->size != 1 || in->reg > 3))
		abort();
	/* Exactly the decoded bytes decode the same; one fewer does not. */
	struct insn again = { 0 };
	uint8_t *exact = malloc(in->len);
	memcpy(exact, bytes, in->len);
	if (insn_decode(exact, in->len, long64, def32, &again) || !same(&again, in))
		abort();
	if (!insn_decode(exact, in->len - 1u, long64, def32, &again))
		abort();
	free(exact);
	uint64_t gpr[16];
	for (int i = 0; i < 16; i++)
		gpr[i] = 0x0123456789abcdefull * (uint64_t)(i + 1);
	if (in->kind == INSN_STORE) {
		if (insn_store_value(in, gpr) & ~mask(in->size))
			abort();
	} else {
		uint64_t old = gpr[in->reg], r = insn_load_result(in, old, ~0ull);
		if (!in->reg_high8 && in->dst_size < 4 && (r & ~mask(in->dst_size)) != (old & ~mask(in->dst_size)))
			abort(); /* 8- and 16-bit destinations keep the rest */
		if (in->dst_size == 4 && r >> 32)
			abort(); /* 32-bit destinations zero-extend */
	}
}

/* PUSHF (a debugger's step): a size of 2, 4 or 8 and a length within the bytes, ending at 9C. */
static void check_pushf(const uint8_t *bytes, unsigned n, int long64, int def32)
{
	uint8_t len = 0;
	unsigned s = insn_pushf(bytes, n, long64, def32, &len);
	if (!s)
		return;
	if ((s != 2 && s != 4 && s != 8) || (!long64 && s == 8) || len < 1 || len > n ||
	    len > INSN_MAX_LEN || bytes[len - 1] != 0x9c)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int long64 = data[0] & 1, def32 = (data[0] >> 1) & 1;
	unsigned n = size - 1 > INSN_MAX_LEN ? INSN_MAX_LEN : (unsigned)(size - 1);
	uint8_t *bytes = malloc(n ? n : 1);
	memcpy(bytes, data + 1, n);
	struct insn in;
	memset(&in, 0, sizeof(in));
	if (insn_decode(bytes, n, long64, def32, &in) == 0)
		check(&in, bytes, n, long64, def32);
	check_pushf(bytes, n, long64, def32);
	free(bytes);
	return 0;
}
