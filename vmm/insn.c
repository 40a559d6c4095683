/*
 * vmm/insn.c - decoder for the MMIO-access instructions of vmm/insn.h,
 * and PUSHF for a debugger's single step. Portable. Encodings: SDM Vol.
 * 2A 2.1 (prefixes, ModR/M, SIB), 2.2.1 (REX), Vol. 2B "MOV", "MOVZX",
 * "MOVSX", "PUSHF"; the guest controls every byte.
 */
#include "vmm/insn.h"

#include "vmm/core/lib/errno.h"

#define REX_W 0x8
#define REX_R 0x4

struct cursor {
	const uint8_t *b;
	unsigned n, pos;
};

static int next(struct cursor *c, uint8_t *out)
{
	if (c->pos >= c->n || c->pos >= INSN_MAX_LEN)
		return -EINVAL;
	*out = c->b[c->pos++];
	return 0;
}

static int skip(struct cursor *c, unsigned k)
{
	if (c->pos + k > c->n || c->pos + k > INSN_MAX_LEN)
		return -EINVAL;
	c->pos += k;
	return 0;
}

/* Skips SIB and displacement of a memory ModR/M (SDM Vol. 2A Tables 2-1..2-3). */
static int modrm_mem(struct cursor *c, uint8_t modrm, int addr32)
{
	unsigned mod = modrm >> 6, rm = modrm & 7;
	uint8_t sib = 0;
	if (mod == 3)
		return -EINVAL; /* a register operand cannot fault on memory */
	if (!addr32) {  /* 16-bit addressing */
		if (mod == 0 && rm == 6)
			return skip(c, 2);
		return skip(c, mod == 1 ? 1 : mod == 2 ? 2 : 0);
	}
	if (rm == 4 && next(c, &sib))
		return -EINVAL;
	if (mod == 0 && (rm == 5 || (rm == 4 && (sib & 7) == 5)))
		return skip(c, 4);
	return skip(c, mod == 1 ? 1 : mod == 2 ? 4 : 0);
}

static int read_imm(struct cursor *c, unsigned size, uint64_t *imm)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++) {
		uint8_t b;
		if (next(c, &b))
			return -EINVAL;
		v |= (uint64_t)b << (8 * i);
	}
	*imm = v;
	return 0;
}

struct prefixes {
	int opsize16, addr_override, rex;
};

static int read_prefixes(struct cursor *c, int long64, struct prefixes *p, uint8_t *op)
{
	for (;;) {
		if (next(c, op))
			return -EINVAL;
		if (*op == 0x66)
			p->opsize16 = 1;
		else if (*op == 0x67)
			p->addr_override = 1;
		else if (*op == 0x26 || *op == 0x2e || *op == 0x36 || *op == 0x3e ||
			 *op == 0x64 || *op == 0x65)
			continue; /* segment: the fault already gave the address */
		else
			break;
	}
	if (long64 && (*op & 0xf0) == 0x40) {  /* REX must come last */
		p->rex = *op;
		return next(c, op);
	}
	return 0;
}

static unsigned op_size(const struct prefixes *p, int long64, int def32)
{
	if (long64 && (p->rex & REX_W))
		return 8;
	return (p->opsize16 ^ !def32) ? 2 : 4;
}

static void set_reg(struct insn *in, const struct prefixes *p, uint8_t modrm)
{
	in->reg = (uint8_t)(((modrm >> 3) & 7) | ((p->rex & REX_R) ? 8 : 0));
	in->reg_high8 = in->size == 1 && !p->rex && in->reg >= 4;
	if (in->reg_high8)
		in->reg -= 4;
}

static int decode_0f(struct cursor *c, const struct prefixes *p, unsigned osz, int a32,
		     struct insn *in)
{
	uint8_t op, modrm;
	if (next(c, &op) || (op != 0xb6 && op != 0xb7 && op != 0xbe && op != 0xbf) ||
	    next(c, &modrm) || modrm_mem(c, modrm, a32))
		return -EINVAL;
	in->kind = INSN_LOAD;
	in->size = (op & 1) ? 2 : 1;
	in->dst_size = (uint8_t)osz;
	in->sign_extend = op >= 0xbe;
	in->reg = (uint8_t)(((modrm >> 3) & 7) | ((p->rex & REX_R) ? 8 : 0));
	return 0;
}

int insn_decode(const uint8_t *bytes, unsigned n, int long64, int def32, struct insn *in)
{
	struct cursor c = { bytes, n, 0 };
	struct prefixes p = { 0, 0, 0 };
	uint8_t op, modrm;
	*in = (struct insn){ 0 };
	if (read_prefixes(&c, long64, &p, &op))
		return -EINVAL;
	unsigned osz = op_size(&p, long64, long64 || def32);
	int a32 = long64 ? 1 : (p.addr_override ^ !!def32);
	if (op == 0x0f) {
		if (decode_0f(&c, &p, osz, a32, in))
			return -EINVAL;
	} else if (op >= 0xa0 && op <= 0xa3) {  /* MOV AL/eAX <-> moffs */
		in->kind = op >= 0xa2 ? INSN_STORE : INSN_LOAD;
		in->size = in->dst_size = (op & 1) ? (uint8_t)osz : 1;
		if (skip(&c, long64 && !p.addr_override ? 8 : a32 ? 4 : 2))
			return -EINVAL;
	} else if (op == 0x88 || op == 0x89 || op == 0x8a || op == 0x8b) {
		if (next(&c, &modrm) || modrm_mem(&c, modrm, a32))
			return -EINVAL;
		in->kind = (op & 2) ? INSN_LOAD : INSN_STORE;
		in->size = in->dst_size = (op & 1) ? (uint8_t)osz : 1;
		set_reg(in, &p, modrm);
	} else if (op == 0xc6 || op == 0xc7) {
		if (next(&c, &modrm) || ((modrm >> 3) & 7) || modrm_mem(&c, modrm, a32))
			return -EINVAL;
		in->kind = INSN_STORE;
		in->size = (op & 1) ? (uint8_t)osz : 1;
		in->has_imm = 1;
		/* imm32 sign-extends for 64-bit stores (SDM "MOV" C7 /0 with REX.W) */
		if (read_imm(&c, in->size == 8 ? 4 : in->size, &in->imm))
			return -EINVAL;
		if (in->size == 8)
			in->imm = (uint64_t)(int64_t)(int32_t)in->imm;
	} else {
		return -EINVAL;
	}
	in->len = (uint8_t)c.pos;
	return 0;
}

unsigned insn_pushf(const uint8_t *bytes, unsigned n, int long64, int def32, uint8_t *len)
{
	struct cursor c = { bytes, n, 0 };
	struct prefixes p = { 0, 0, 0 };
	uint8_t op;
	if (read_prefixes(&c, long64, &p, &op) || op != 0x9c)
		return 0;
	*len = (uint8_t)c.pos;
	/* 64-bit mode: 64 bits, or 16 with 66 and no REX.W (SDM Vol. 2B "PUSHF/PUSHFD/PUSHFQ") */
	if (long64)
		return p.opsize16 && !(p.rex & REX_W) ? 2 : 8;
	return op_size(&p, 0, def32);
}

static uint64_t mask_of(unsigned size)
{
	return size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

uint64_t insn_load_result(const struct insn *in, uint64_t old, uint64_t mem)
{
	uint64_t v = mem & mask_of(in->size);
	if (in->sign_extend) {
		uint64_t sign = 1ull << (8 * in->size - 1);
		v = (v ^ sign) - sign;
	}
	if (in->reg_high8)
		return (old & ~0xff00ull) | (v & 0xff) << 8;
	switch (in->dst_size) {
	case 1:  return (old & ~0xffull) | (v & 0xff);
	case 2:  return (old & ~0xffffull) | (v & 0xffff);
	case 4:  return v & 0xffffffffull;
	default: return v;
	}
}

uint64_t insn_store_value(const struct insn *in, const uint64_t gpr[16])
{
	if (in->has_imm)
		return in->imm & mask_of(in->size);
	uint64_t r = gpr[in->reg & 15];
	if (in->reg_high8)
		r >>= 8;
	return r & mask_of(in->size);
}
