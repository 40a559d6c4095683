/*
 * vmm/guest_boot.c - loading an ELF64 guest and giving it hako's 64-bit
 * entry state: long mode (AMD APM Vol. 2 14.6, SDM Vol. 3A 10.8.5) with
 * page tables built by hako that identity-map the first 4 GiB with 2 MiB
 * pages, a flat GDT, interrupts off. Guest authors read guests/README.md.
 */
#include "vmm/guest_boot.h"

#include "vmm/backend.h"
#include "vmm/bzimage.h"
#include "vmm/core/host.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/time.h"
#include "vmm/dev/acpi_tables.h"
#include "vmm/devices.h"
#include "vmm/elf_guest.h"
#include "vmm/irq.h"
#include "vmm/core/lib/x86.h"

#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_PS 0x80ull
#define RFLAGS_FIXED 0x2ull
#define PAT_POWER_ON 0x0007040600070406ull  /* SDM Vol. 3A 12.12.4 */

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
		if (src)
			memcpy(vm_gpa_to_hva(vm, gpa, piece), src, piece);
		else
			memset(vm_gpa_to_hva(vm, gpa, piece), 0, piece);
		gpa += piece, n -= piece;
		if (src)
			src = (const uint8_t *)src + piece;
	}
}

/* Copies n bytes (src 0: zeros) into the guest at gpa; [gpa, gpa + n) must be its RAM. */
void guest_boot_put(struct vm *vm, uint64_t gpa, const void *src, uint64_t n)
{
	copy_cb(vm, gpa, src, n);
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

/* The Linux boot GDT: __BOOT_CS at 0x10 and __BOOT_DS at 0x18 (boot.rst 64-bit protocol). */
static const uint64_t linux_gdt[] = {
	0, 0,
	0x00af9b000000ffffull, /* 0x10: 64-bit code */
	0x00cf93000000ffffull, /* 0x18: data */
};

/*
 * The real-mode reset vector (F000:FFF0, SDM Vol. 3A 9.1.4): there is no
 * BIOS, so a guest that jumps there to restart (Linux's BOOT_BIOS, its
 * choice on hardware-reduced ACPI without EFI) finds code that writes the
 * ACPI reset register: mov al, 1; mov dx, RESET_PORT; out dx, al; hlt; jmp $-3.
 */
#define GB_RESET_VECTOR 0xffff0ull
static const uint8_t reset_stub[] = {
	0xb0, GUEST_ACPI_RESET_VALUE,
	0xba, GUEST_ACPI_RESET_PORT & 0xff, GUEST_ACPI_RESET_PORT >> 8,
	0xee, 0xf4, 0xeb, 0xfd,
};

/* Whether the command line already has parameter `key` (like "pci="). */
static int cmdline_has(const char *line, const char *key)
{
	for (const char *p = strstr(line, key); p; p = strstr(p + 1, key))
		if (p == line || p[-1] == ' ')
			return 1;
	return 0;
}

/*
 * The command line Linux gets: for a system booted from its disk, what
 * the disk names (`head`: its loader's options, or root= for the
 * partition found) and hako's console unless the definition picks one;
 * the definition's; the guest's identity (systemd.hostname= and
 * cloud-init's NoCloud seed, vm_def_identity_args); then the TSC rate
 * (the guest's PIT is too slow to calibrate against when every read is a
 * VM exit) and, unless the definition says otherwise, `pci=off`: the
 * platform has no PCI, and without it Linux's early code still scans 256
 * buses through ports 0xcf8/0xcfc (on AMD family 0Fh, twice, looking for
 * an AGP bridge), 33,000 VM exits for nothing. Firecracker passes the same.
 * Last, unless it names one, `tsc=reliable`: the guest reads the host's
 * TSC, which runs at one rate on every core, but Linux's clocksource
 * watchdog checks it against jiffies (the platform has no HPET or ACPI PM
 * timer), which fall behind while a vCPU waits for a shared core; a guest
 * that then calls its TSC unstable switches to jiffies as its clock, and
 * its clock, sleeps and timers run at its share of the core.
 */
static int linux_cmdline(struct vm *vm, const char *head, const char **why)
{
	static char line[GB_LINUX_CMDLINE_MAX]; /* service core only */
	const char *cl = vm->def.cmdline;
	int n = 0;
	if (head)
		n = fmt_snprintf(line, sizeof(line), "%s%s%s", head,
				 cmdline_has(cl, "console=") ? "" : " console=ttyS0", cl[0] ? " " : "");
	if (n >= 0 && (unsigned)n < sizeof(line))
		n += fmt_snprintf(line + n, sizeof(line) - n, "%s", cl);
	if (n < 0 || (unsigned)n >= sizeof(line) || vm_def_identity_args(&vm->def, line, sizeof(line)))
		return *why = "command line too long", -E2BIG;
	n = (int)strlen(line);
	n += fmt_snprintf(line + n, sizeof(line) - n, " tsc_early_khz=%lu%s%s", tsc_khz,
			  cmdline_has(cl, "pci=") ? "" : " pci=off",
			  cmdline_has(cl, "tsc=") ? "" : " tsc=reliable");
	if ((unsigned)n >= sizeof(line))
		return *why = "command line too long", -E2BIG;
	copy_cb(vm, GB_LINUX_CMDLINE, line, (uint64_t)n + 1);
	return 0;
}

static int linux_acpi(struct vm *vm, uint64_t *rsdp, const char **why)
{
	const struct acpi_guest g = { vm->def.cpus, (unsigned)virtio_mmio_count(vm) };
	uint8_t *area = vm_gpa_to_hva(vm, GB_LINUX_ACPI, GB_LINUX_ACPI_SIZE);
	if (!area || acpi_tables_build(area, GB_LINUX_ACPI_SIZE, GB_LINUX_ACPI, &g, rsdp))
		return *why = "ACPI tables do not fit", -ENOSPC;
	return 0;
}

/* Linux guests' RAM as the boot protocol sees it. */
static int linux_mem_ok(struct vm *vm, const char **why)
{
	if (vm->mem.size > GB_LINUX_MEM_MAX)
		return *why = "a Linux guest can have at most 3328M (RAM ends at the MMIO hole)", -EINVAL;
	return 0;
}

int guest_boot_initrd_gpa(struct vm *vm, const void *img, uint64_t len, uint64_t initrd_len,
			  uint64_t *gpa, const char **why)
{
	struct bz_plan plan;
	int err = linux_mem_ok(vm, why);
	if (!err)
		err = bzimage_plan(img, len, vm->mem.size, initrd_len, &plan, why);
	if (!err)
		*gpa = plan.initrd_gpa;
	return err;
}

/*
 * Loads a bzImage and the initrd (copied from `initrd` when given, else
 * already in guest memory where bzimage_plan puts it), ACPI tables, zero
 * page and command line, and the identity page tables and GDT of the
 * 64-bit boot protocol.
 */
int guest_boot_linux(struct vm *vm, const void *img, uint64_t len, const void *initrd,
		     uint64_t initrd_len, const char *head, const char **why)
{
	static struct boot_params bp; /* service core only */
	struct bz_plan plan;
	uint64_t rsdp;
	int err = linux_mem_ok(vm, why);
	if (!err)
		err = bzimage_plan(img, len, vm->mem.size, initrd_len, &plan, why);
	if (!err)
		err = linux_acpi(vm, &rsdp, why);
	if (!err)
		err = linux_cmdline(vm, head, why);
	if (err)
		return err;
	copy_cb(vm, plan.kernel_gpa, (const uint8_t *)img + plan.setup_len, plan.kernel_len);
	if (initrd)
		copy_cb(vm, plan.initrd_gpa, initrd, initrd_len);
	memset(&bp, 0, sizeof(bp));
	bzimage_boot_params(&bp, img, &plan, vm->mem.size, GB_LINUX_CMDLINE, rsdp);
	copy_cb(vm, GB_LINUX_BOOT_PARAMS, &bp, sizeof(bp));
	build_page_tables(vm);
	copy_cb(vm, GB_GDT, linux_gdt, sizeof(linux_gdt));
	copy_cb(vm, GB_RESET_VECTOR, reset_stub, sizeof(reset_stub));
	vm->platform = VM_PLATFORM_PC;
	vm->entry = plan.entry;
	vm->boot_params = GB_LINUX_BOOT_PARAMS;
	return 0;
}

/* A bzImage from the boot medium, with the definition's initrd= from there too. */
static int linux_load(struct vm *vm, const void *img, uint64_t len, const char **why)
{
	const struct boot_file *initrd = 0;
	if (vm->def.initrd[0] && !(initrd = bootfs_find(vm->def.initrd)))
		return *why = "the initrd file is not on the boot medium (\\hako\\)", -ENOENT;
	return guest_boot_linux(vm, img, len, initrd ? (const void *)initrd->phys : 0,
				initrd ? initrd->size : 0, 0, why);
}

/*
 * Checks and loads `img` (a bzImage or an ELF64 image), then writes page
 * tables, GDT and command line. Returns 0 or -E... with *why set.
 * vm->mem must be populated.
 */
int guest_boot_load(struct vm *vm, const void *img, uint64_t len, const char **why)
{
	vm->platform = VM_PLATFORM_BARE;
	if (bzimage_is(img, len))
		return linux_load(vm, img, len, why);
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

void guest_boot_sipi(struct vcpu *v, uint8_t vector)
{
	const uint16_t code = SEG_TYPE_CODE_XR_A | SEG_ATTR_S | SEG_ATTR_P;
	const uint16_t data = SEG_TYPE_DATA_RW_A | SEG_ATTR_S | SEG_ATTR_P;
	set_seg(v, VSEG_CS, (uint16_t)(vector << 8), code, 0xffff, (uint64_t)vector << 12);
	for (enum vseg s = VSEG_ES; s <= VSEG_GS; s++)
		if (s != VSEG_CS)
			set_seg(v, s, 0, data, 0xffff, 0);
	set_seg(v, VSEG_TR, 0, 0x3 | SEG_ATTR_P, 0xffff, 0);   /* 16-bit busy TSS */
	set_seg(v, VSEG_LDTR, 0, SEG_TYPE_LDT | SEG_ATTR_P, 0xffff, 0);
	set_seg(v, VSEG_GDTR, 0, 0, 0xffff, 0);
	set_seg(v, VSEG_IDTR, 0, 0, 0xffff, 0);
	backend->reg_write(v, VREG_CR0, CR0_ET);
	backend->reg_write(v, VREG_CR3, 0);
	backend->reg_write(v, VREG_CR4, 0);
	backend->reg_write(v, VREG_EFER, 0);
	backend->reg_write(v, VREG_RFLAGS, RFLAGS_FIXED);
	backend->reg_write(v, VREG_RSP, 0);
	backend->reg_write(v, VREG_RIP, 0);
	memset(&v->regs, 0, sizeof(v->regs));
	backend->tlb_flush(v);
}

static void boot_state_64(struct vcpu *v, uint16_t sel_code, uint16_t sel_data, unsigned gsize)
{
	const uint16_t code = SEG_TYPE_CODE_XR_A | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_L | SEG_ATTR_G;
	const uint16_t data = SEG_TYPE_DATA_RW_A | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G;
	set_seg(v, VSEG_CS, sel_code, code, 0xffffffff, 0);
	for (enum vseg s = VSEG_ES; s <= VSEG_GS; s++)
		if (s != VSEG_CS)
			set_seg(v, s, sel_data, data, 0xffffffff, 0);
	set_seg(v, VSEG_TR, 0, SEG_TYPE_TSS64_BUSY | SEG_ATTR_P, 0x67, 0);
	set_seg(v, VSEG_LDTR, 0, SEG_TYPE_LDT | SEG_ATTR_P, 0, 0);
	set_seg(v, VSEG_GDTR, 0, 0, gsize - 1, GB_GDT);
	set_seg(v, VSEG_IDTR, 0, 0, 0, 0);
	backend->reg_write(v, VREG_CR0, CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG);
	backend->reg_write(v, VREG_CR3, GB_PML4);
	backend->reg_write(v, VREG_CR4, CR4_PAE);
	backend->reg_write(v, VREG_EFER, EFER_LME | EFER_LMA);
	backend->reg_write(v, VREG_RFLAGS, RFLAGS_FIXED);
	backend->reg_write(v, VREG_RIP, v->vm->entry);
}

void guest_boot_vcpu(struct vcpu *v)
{
	irq_vcpu_reset(v, v->id == 0);
	v->msr_pat = PAT_POWER_ON;
	v->msr_mtrr_def_type = 0;
	v->wait_sipi = v->sipi_pending = v->init_pending = 0;
	if (v->vm->platform == VM_PLATFORM_PC) {
		if (v->id) {
			v->wait_sipi = 1;
			return;
		}
		boot_state_64(v, GB_LINUX_SEL_CODE, GB_LINUX_SEL_DATA, sizeof(linux_gdt));
		v->regs.rsi = v->vm->boot_params;
		return;
	}
	boot_state_64(v, GB_SEL_CODE, GB_SEL_DATA, sizeof(gdt));
	backend->reg_write(v, VREG_RSP, GB_STACK_TOP - 0x1000ull * v->id);
	v->regs.rdi = v->vm->mem.size;
	v->regs.rsi = GB_CMDLINE;
	v->regs.rdx = v->id;
}
