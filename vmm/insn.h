/*
 * vmm/insn.h - decoding the guest instructions that access MMIO (portable).
 *
 * QEMU's TCG has no SVM decode assists (APM Vol. 2 15.33), and VMX
 * reports no operand for EPT violations, so hako decodes the faulting
 * instruction itself. Only the forms Linux uses on APIC, IOAPIC and
 * virtio-mmio registers are accepted (SDM Vol. 2 / APM Vol. 3 "MOV",
 * "MOVZX", "MOVSX"): 88/89/8A/8B (MOV r/m, r and back), C6/C7 (MOV r/m,
 * imm), 0F B6/B7 (MOVZX), 0F BE/BF (MOVSX), A0-A3 (MOV with moffs), with
 * 66, REX, segment, LOCK-free prefixes. The memory operand's address is
 * not computed: the nested page fault already gives the guest-physical
 * address.
 */
#ifndef HAKO_INSN_H
#define HAKO_INSN_H

#include <stdint.h>

#define INSN_MAX_LEN 15

enum insn_kind {
	INSN_LOAD,   /* register <- memory (zero- or sign-extended) */
	INSN_STORE,  /* memory <- register or immediate */
};

struct insn {
	enum insn_kind kind;
	uint8_t len;        /* bytes, prefixes included */
	uint8_t size;       /* memory access size: 1, 2, 4 or 8 */
	uint8_t reg;        /* GPR number 0-15 (rax..r15), for loads and register stores */
	uint8_t reg_high8;  /* reg names AH/CH/DH/BH (no REX, 8-bit) */
	uint8_t dst_size;   /* register width written by a load: 1, 2, 4 or 8 */
	uint8_t sign_extend;
	uint8_t has_imm;    /* a store of `imm` rather than a register */
	uint64_t imm;
};

/*
 * Decodes the instruction in bytes[0..n) for a CPU in 64-bit mode
 * (`long64` = 1) or a 32/16-bit mode with default operand size `def32`.
 * Returns 0, -EINVAL for anything not in the list above or truncated.
 */
int insn_decode(const uint8_t *bytes, unsigned n, int long64, int def32, struct insn *out);

/*
 * The value a load writes back into the 64-bit register `old`: MOV of 8
 * and 16 bits keeps the upper bits, 32-bit results zero-extend to 64
 * (SDM Vol. 1 3.4.1.1), MOVZX/MOVSX extend to dst_size.
 */
uint64_t insn_load_result(const struct insn *in, uint64_t old, uint64_t mem);

/* The value a store writes, from the register file (rax..r15, 16 entries). */
uint64_t insn_store_value(const struct insn *in, const uint64_t gpr[16]);

/*
 * Is bytes[0..n) PUSHF (9C, with 66, segment or REX prefixes)? Its
 * operand size in bytes (2, 4 or 8) with *len set, or 0. A debugger's
 * single step on AMD-V sets RFLAGS.TF, which PUSHF would store
 * (vmm/vcpu_debug.c hides it).
 */
unsigned insn_pushf(const uint8_t *bytes, unsigned n, int long64, int def32, uint8_t *len);

#endif
