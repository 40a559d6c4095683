/*
 * vmm/guest_boot.c - loading an ELF64 guest and giving it hako's 64-bit
 * entry state: long mode (AMD APM Vol. 2 14.6, SDM Vol. 3A 10.8.5) with
 * page tables built by hako that identity-map the first 4 GiB with 2 MiB
 * pages, a flat GDT, interrupts off. Guest authors read guests/README.md.
 */
#include "vmm/guest_boot.h"

#include "vmm/backend.h"
#include "vmm/elf_guest.h"
#include "vmm/lib/string.h"

#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_PS 0x80ull
#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define EFER_LMA_ (1ull << 10)
#define RFLAGS_FIXED 0x2ull

static const uint64_t gdt[] = {
	0,
	0x00af9b000000ffffull, /* 0x08: 64-bit code, DPL 0 */
	0x00cf93000000ffffull, /* 0x10: data, DPL 0 */
};

static void copy_cb(void *ctx, uint64_t gpa, const void *src, uint64_t n)
{
	struct vm *vm = ctx;
	while (n) {
		uint64_t piece = VM_CHUNK_SIZE - (gpa % VM_CHUNK_SIZE);
		if (piece > n)
			piece = n;
		memcpy(vm_gpa_to_hva(vm, gpa, piece), src, piece);
		gpa += piece, src = (const uint8_t *)src + piece, n -= piece;
	}
}

static void put64(struct vm *vm, uint64_t gpa, uint64_t val)
{
	copy_cb(vm, gpa, &val, sizeof(val));
}

static void build_page_tables(struct vm *vm)
{
	put64(vm, GB_PML4, GB_PDPT | PTE_P | PTE_RW);
	for (uint64_t i = 0; i < 4; i++)
		put64(vm, GB_PDPT + 8 * i, (GB_PD + 0x1000 * i) | PTE_P | PTE_RW);
	for (uint64_t i = 0; i < 4 * 512; i++)
		put64(vm, GB_PD + 8 * i, (i << 21) | PTE_P | PTE_RW | PTE_PS);
}

/*
 * Checks and loads `img`, then writes page tables, GDT and command line.
 * Returns 0 or -ENOEXEC with *why set. vm->mem must be populated.
 */
int guest_boot_load(struct vm *vm, const void *img, uint64_t len, const char **why)
{
	int err = elf_guest_check(img, len, vm->mem.size, why);
	if (err)
		return err;
	vm->entry = elf_guest_load(img, vm, copy_cb);
	build_page_tables(vm);
	copy_cb(vm, GB_GDT, gdt, sizeof(gdt));
	copy_cb(vm, GB_CMDLINE, vm->def.cmdline, strlen(vm->def.cmdline) + 1);
	return 0;
}

static void set_seg(struct vcpu *v, enum vseg s, uint16_t sel, uint16_t attr, uint32_t limit,
		    uint64_t base)
{
	const struct vseg_desc d = { sel, attr, limit, base };
	backend->seg_write(v, s, &d);
}

void guest_boot_vcpu(struct vcpu *v)
{
	const uint16_t code = SEG_TYPE_CODE_XR_A | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_L | SEG_ATTR_G;
	const uint16_t data = SEG_TYPE_DATA_RW_A | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G;
	set_seg(v, VSEG_CS, GB_SEL_CODE, code, 0xffffffff, 0);
	for (enum vseg s = VSEG_ES; s <= VSEG_GS; s++)
		if (s != VSEG_CS)
			set_seg(v, s, GB_SEL_DATA, data, 0xffffffff, 0);
	set_seg(v, VSEG_TR, 0, SEG_TYPE_TSS64_BUSY | SEG_ATTR_P, 0x67, 0);
	set_seg(v, VSEG_LDTR, 0, SEG_TYPE_LDT | SEG_ATTR_P, 0, 0);
	set_seg(v, VSEG_GDTR, 0, 0, sizeof(gdt) - 1, GB_GDT);
	set_seg(v, VSEG_IDTR, 0, 0, 0, 0);
	backend->reg_write(v, VREG_CR0, CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG);
	backend->reg_write(v, VREG_CR3, GB_PML4);
	backend->reg_write(v, VREG_CR4, CR4_PAE);
	backend->reg_write(v, VREG_EFER, EFER_LME | EFER_LMA_);
	backend->reg_write(v, VREG_RFLAGS, RFLAGS_FIXED);
	backend->reg_write(v, VREG_RIP, v->vm->entry);
	backend->reg_write(v, VREG_RSP, GB_STACK_TOP - 0x1000ull * v->id);
	v->regs.rdi = v->vm->mem.size;
	v->regs.rsi = GB_CMDLINE;
	v->regs.rdx = v->id;
}
