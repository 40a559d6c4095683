/*
 * vmm/vcpu_debug.c - stopping, inspecting and resuming a guest's vCPUs
 * for a debugger (vmm/vcpu_debug.h).
 */
#include "vmm/vcpu_debug.h"

#include "vmm/backend.h"
#include "vmm/core/cpu.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"
#include "vmm/exit_dispatch.h"
#include "vmm/guest_mem.h"
#include "vmm/guest_pt.h"
#include "vmm/insn.h"
#include "vmm/vcpu_regs.h"
#include "vmm/vcpu_signal.h"
#include "vmm/vm.h"

#define VEC_DB 1
#define VEC_BP 3
#define INT3 0xcc

/* ---- the vCPU's side ---- */

static int access(struct vm *vm, int phys, unsigned vcpu, uint64_t addr, uint8_t *buf, size_t len,
		  int write);
static void pushf_note(struct vcpu *v);
static void pushf_hide_tf(struct vcpu *v);

static const enum vseg seg_of[] = { VSEG_CS, VSEG_SS, VSEG_DS, VSEG_ES, VSEG_FS, VSEG_GS };

static void regs_copy_out(struct vcpu *v)
{
	uint64_t *r = v->dbg.regs;
	const struct guest_regs *g = &v->regs;
	r[DBG_RAX] = g->rax, r[DBG_RBX] = g->rbx, r[DBG_RCX] = g->rcx, r[DBG_RDX] = g->rdx;
	r[DBG_RSI] = g->rsi, r[DBG_RDI] = g->rdi, r[DBG_RBP] = g->rbp;
	r[DBG_R8] = g->r8, r[DBG_R9] = g->r9, r[DBG_R10] = g->r10, r[DBG_R11] = g->r11;
	r[DBG_R12] = g->r12, r[DBG_R13] = g->r13, r[DBG_R14] = g->r14, r[DBG_R15] = g->r15;
	r[DBG_RSP] = backend->reg_read(v, VREG_RSP);
	r[DBG_RIP] = backend->reg_read(v, VREG_RIP);
	r[DBG_RFLAGS] = backend->reg_read(v, VREG_RFLAGS);
	for (unsigned i = 0; i < 6; i++) {
		struct vseg_desc s;
		backend->seg_read(v, seg_of[i], &s);
		r[DBG_CS + i] = s.selector;
		if (seg_of[i] == VSEG_FS)
			r[DBG_FS_BASE] = s.base;
		if (seg_of[i] == VSEG_GS)
			r[DBG_GS_BASE] = s.base;
	}
	r[DBG_CR0] = backend->reg_read(v, VREG_CR0);
	r[DBG_CR2] = g->cr2;
	r[DBG_CR3] = backend->reg_read(v, VREG_CR3);
	r[DBG_CR4] = backend->reg_read(v, VREG_CR4);
	r[DBG_EFER] = backend->reg_read(v, VREG_EFER);
}

static void regs_copy_in(struct vcpu *v)
{
	const uint64_t *r = v->dbg.regs;
	struct guest_regs *g = &v->regs;
	g->rax = r[DBG_RAX], g->rbx = r[DBG_RBX], g->rcx = r[DBG_RCX], g->rdx = r[DBG_RDX];
	g->rsi = r[DBG_RSI], g->rdi = r[DBG_RDI], g->rbp = r[DBG_RBP];
	g->r8 = r[DBG_R8], g->r9 = r[DBG_R9], g->r10 = r[DBG_R10], g->r11 = r[DBG_R11];
	g->r12 = r[DBG_R12], g->r13 = r[DBG_R13], g->r14 = r[DBG_R14], g->r15 = r[DBG_R15];
	backend->reg_write(v, VREG_RSP, r[DBG_RSP]);
	if (r[DBG_RIP] != backend->reg_read(v, VREG_RIP))
		backend->reg_write(v, VREG_RIP, r[DBG_RIP]);
	/* the status flags, TF, IF and DF are the debugger's; IOPL, VM, RF and the rest stay */
	const uint64_t mask = 0xfd5;
	uint64_t fl = backend->reg_read(v, VREG_RFLAGS);
	backend->reg_write(v, VREG_RFLAGS, (fl & ~mask) | (r[DBG_RFLAGS] & mask) | 2);
}

/* DR7 enable, R/W and LEN fields (SDM Vol. 3B 18.2.4) for the debugger's watches. */
static unsigned dr_from(const struct vm_debug *d, struct debug_dr *dr)
{
	static const uint8_t len_bits[9] = { 0, 0, 1, 0, 3, 0, 0, 0, 2 };
	*dr = (struct debug_dr){ { 0, 0, 0, 0 }, 0 };
	for (unsigned i = 0; d && i < DEBUG_MAX_WATCH; i++) {
		if (!d->hw[i].used)
			continue;
		dr->dr[i] = d->hw[i].addr;
		dr->dr7 |= 1ull << (2 * i) | (uint64_t)d->hw[i].type << (16 + 4 * i) |
			   (uint64_t)len_bits[d->hw[i].len] << (18 + 4 * i);
	}
	return dr->dr7 ? DEBUG_CTL_HW : 0;
}

/* The debugger's DR0-DR3 into this core's registers (VMRUN and VM entry leave them as they are). */
static void dr_load(const struct debug_dr *dr)
{
	__asm__ volatile("mov %0, %%db0" ::"r"(dr->dr[0]));
	__asm__ volatile("mov %0, %%db1" ::"r"(dr->dr[1]));
	__asm__ volatile("mov %0, %%db2" ::"r"(dr->dr[2]));
	__asm__ volatile("mov %0, %%db3" ::"r"(dr->dr[3]));
}

/* Arms or disarms the back end's controls for the next entries. */
static void controls_set(struct vcpu *v, unsigned ctl, const struct debug_dr *dr)
{
	static const struct debug_dr none;
	if (ctl == v->dbg_ctl && !(ctl & DEBUG_CTL_HW))
		return;
	if (ctl & DEBUG_CTL_HW)
		dr_load(dr);
	backend->debug_set(v, ctl, dr ? dr : &none);
	v->dbg_ctl = ctl;
}

/* The vCPU stops for the debugger: the guest's own TF and DR7 back, its registers copied out. */
static void hold(struct vcpu *v)
{
	controls_set(v, v->dbg_ctl & ~(DEBUG_CTL_STEP | DEBUG_CTL_HW), 0);
	v->dbg.step = 0;
	regs_copy_out(v);
	pushf_hide_tf(v);
	v->dbg.dirty = 0;
	__atomic_store_n(&v->dbg.parked, 1, __ATOMIC_RELEASE);
}

/* The debugger let it go: what it changed goes in, its controls are armed for the next entries. */
static void release(struct vcpu *v)
{
	v->dbg.go = 0;
	if (v->dbg.dirty)
		regs_copy_in(v);
	struct vm_debug *d = v->vm->debug; /* 0 when the debugger detached meanwhile */
	struct debug_dr dr;
	unsigned ctl = (d && d->nbp ? DEBUG_CTL_BREAKPOINTS : 0) | dr_from(d, &dr);
	if (d && v->dbg.step) {
		ctl |= DEBUG_CTL_STEP;
		v->dbg.step_rip = backend->reg_read(v, VREG_RIP);
		pushf_note(v);
	}
	controls_set(v, ctl, &dr);
	__atomic_store_n(&v->dbg.parked, 0, __ATOMIC_RELEASE);
}

/* Records the first reason to stop and makes every vCPU stop. Any core. */
static void stop_all(struct vm *vm, struct vm_debug *d, unsigned vcpu, enum dbg_stop why)
{
	int none = DBG_STOP_NONE;
	if (__atomic_compare_exchange_n(&d->stop_why, &none, (int)why, 0, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE))
		d->stop_vcpu = (int)vcpu;
	__atomic_store_n(&d->stop_req, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vcpu_wake(vm->vcpu[i]);
}

int vcpu_debug_check(struct vcpu *v)
{
	if (v->dbg.parked) {
		if (!__atomic_load_n(&v->dbg.go, __ATOMIC_ACQUIRE))
			return 1;
		release(v);
	}
	struct vm_debug *d = v->vm->debug;
	if (!d) {
		if (v->dbg_ctl) /* the debugger left while this vCPU ran */
			controls_set(v, 0, 0);
		v->dbg.step = 0;
		return 0;
	}
	if (v->dbg.step && backend->reg_read(v, VREG_RIP) != v->dbg.step_rip)
		stop_all(v->vm, d, v->id, DBG_STOP_STEP);
	if (!__atomic_load_n(&d->stop_req, __ATOMIC_ACQUIRE))
		return 0;
	hold(v);
	return 1;
}

int vcpu_debug_held(const struct vcpu *v)
{
	return __atomic_load_n(&v->dbg.parked, __ATOMIC_ACQUIRE);
}

int vcpu_debug_released(const struct vcpu *v)
{
	return __atomic_load_n(&v->dbg.go, __ATOMIC_ACQUIRE);
}

int vcpu_debug_wanted(const struct vcpu *v)
{
	const struct vm_debug *d = v->vm->debug;
	return d && d->stop_req && !v->dbg.parked;
}

static int is_breakpoint(const struct vm_debug *d, uint64_t gva)
{
	for (unsigned i = 0; i < d->nbp; i++)
		if (d->bp[i].gva == gva)
			return 1;
	return 0;
}

void vcpu_debug_step_done(struct vcpu *v)
{
	struct vm_debug *d = v->vm->debug;
	if (d && v->dbg.step)
		stop_all(v->vm, d, v->id, DBG_STOP_STEP);
}

/* The bytes at the guest's RIP, through its page tables (vCPU's own core). */
static int fetch(struct vcpu *v, uint64_t rip, uint8_t *buf, size_t n)
{
	regs_copy_out(v); /* CR0/CR3/CR4/EFER for the walk */
	return access(v->vm, 0, v->id, rip, buf, n, 0);
}

/*
 * AMD-V's INTn intercept: INT3 (QEMU's TCG reports it here, not as #BP)
 * is handled as #BP; any other INT n goes to the guest as the
 * instruction itself would deliver it: a software interrupt, so that the
 * CPU checks the gate's DPL against the CPL (#GP(n * 8 + 2) from user
 * mode through a kernel-only gate, SDM Vol. 3A 6.12.1.1) and pushes the
 * address after the INT. A step ends here, before the delivery would
 * push hako's TF.
 */
static int intn(struct vcpu *v, const struct exit_info *e)
{
	uint8_t insn[2];
	if (fetch(v, e->rip, insn, 2) || (insn[0] != INT3 && insn[0] != 0xcd)) {
		vcpu_fail(v, e, "INTn intercept without an INT instruction at rip 0x%lx", e->rip);
		return EXIT_GUEST_FAULT;
	}
	if (insn[0] == INT3) {
		struct exit_info bp = *e;
		bp.exc.intn = 0, bp.exc.vector = VEC_BP;
		return vcpu_debug_exception(v, &bp);
	}
	const struct vevent ev = { .type = VEVENT_SOFT_INTR, .vector = insn[1],
				   .next_rip = e->rip + 2 };
	if (backend->inject(v, &ev)) {
		vcpu_fail(v, e, "INT 0x%x while another event is pending", insn[1]);
		return EXIT_GUEST_FAULT;
	}
	if (v->dbg_ctl & DEBUG_CTL_STEP)
		vcpu_debug_step_done(v);
	return EXIT_RESUME;
}

int vcpu_debug_exception(struct vcpu *v, const struct exit_info *e)
{
	struct vm_debug *d = v->vm->debug;
	if (e->exc.intn)
		return intn(v, e);
	if (e->exc.vector == VEC_BP) {
		if (d && is_breakpoint(d, e->rip)) {
			stop_all(v->vm, d, v->id, DBG_STOP_BREAKPOINT); /* RIP stays on the INT3 */
			return EXIT_RESUME;
		}
		/* the guest's own INT3: a trap, delivered after the instruction */
		backend->reg_write(v, VREG_RIP, e->rip + 1);
		vcpu_inject_exception(v, VEC_BP, 0, 0);
		return EXIT_RESUME;
	}
	unsigned hits = e->exc.dr_hits & (unsigned)((v->dbg_ctl & DEBUG_CTL_HW) ? 0xf : 0);
	if (e->exc.vector == VEC_DB && d && hits) {
		unsigned i = (unsigned)__builtin_ctz(hits);
		if (d->hw[i].used && !d->stop_watch)
			d->stop_watch = (int)i + 1;
		stop_all(v->vm, d, v->id, DBG_STOP_BREAKPOINT);
		return EXIT_RESUME;
	}
	if (e->exc.vector == VEC_DB && (v->dbg_ctl & DEBUG_CTL_STEP)) {
		vcpu_debug_step_done(v);
		return EXIT_RESUME;
	}
	if (e->exc.vector == VEC_DB) {
		vcpu_inject_exception(v, VEC_DB, 0, 0);
		return EXIT_RESUME;
	}
	vcpu_fail(v, e, "exception %u intercepted without a reason (hako bug)", e->exc.vector);
	return EXIT_GUEST_FAULT;
}

/* ---- AMD-V: a stepped PUSHF (backend step_tf) ---- */

/* Where RSP points, as a linear address, and the stack's width mask (SDM Vol. 1 6.2.3). */
static uint64_t stack_top(struct vcpu *v, uint64_t rsp, uint64_t *mask)
{
	struct vseg_desc ss, cs;
	backend->seg_read(v, VSEG_SS, &ss);
	backend->seg_read(v, VSEG_CS, &cs);
	int long64 = (backend->reg_read(v, VREG_EFER) & EFER_LMA) && (cs.attr & SEG_ATTR_L);
	*mask = long64 ? ~0ull : (ss.attr & SEG_ATTR_DB) ? 0xffffffffull : 0xffffull;
	return (long64 ? 0 : ss.base) + (rsp & *mask);
}

/* At the start of a step: is it a PUSHF? Notes its size, length and RSP. */
static void pushf_note(struct vcpu *v)
{
	uint8_t b[INSN_MAX_LEN];
	struct vseg_desc cs;
	v->dbg.pushf_size = 0;
	if (!backend->step_tf)
		return;
	backend->seg_read(v, VSEG_CS, &cs);
	uint64_t rip = v->dbg.step_rip;
	int long64 = (backend->reg_read(v, VREG_EFER) & EFER_LMA) && (cs.attr & SEG_ATTR_L);
	/* the bytes up to the end of the page may be all there is: fetch what can be */
	size_t n = 4096 - ((rip + (long64 ? 0 : cs.base)) & 4095);
	if (n > sizeof(b))
		n = sizeof(b);
	if (fetch(v, rip + (long64 ? 0 : cs.base), b, n))
		return;
	v->dbg.pushf_size = (uint8_t)insn_pushf(b, (unsigned)n, long64,
					       !!(cs.attr & SEG_ATTR_DB), &v->dbg.pushf_len);
	v->dbg.pushf_rsp = backend->reg_read(v, VREG_RSP);
}

/*
 * At the end of a step that ran a PUSHF to completion (RIP past it, RSP
 * down by its size): the word it pushed holds hako's TF, which the
 * guest's own TF replaces. Registers already copied out (the walk).
 */
static void pushf_hide_tf(struct vcpu *v)
{
	unsigned size = v->dbg.pushf_size;
	v->dbg.pushf_size = 0;
	uint64_t mask, rsp = backend->reg_read(v, VREG_RSP);
	if (!size || backend->reg_read(v, VREG_RIP) != v->dbg.step_rip + v->dbg.pushf_len)
		return;
	uint64_t top = stack_top(v, rsp, &mask);
	if (rsp != ((v->dbg.pushf_rsp - size) & mask))
		return;
	uint64_t word = 0;
	if (access(v->vm, 0, v->id, top, (uint8_t *)&word, size, 0))
		return;
	word = (word & ~(uint64_t)RFLAGS_TF) | v->dbg.tf_saved;
	if (access(v->vm, 0, v->id, top, (uint8_t *)&word, size, 1))
		log_warn("guest %s: vcpu %u: cannot hide the debugger's TF from PUSHF at 0x%lx",
			 v->vm->def.name, v->id, top);
}

/* ---- the debugger's side ---- */

int vcpu_debug_attach(struct vm *vm)
{
	struct vm_debug *d = &vm->debug_state;
	memset(d, 0, sizeof(*d));
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vm->vcpu[i]->dbg.go = 0;
	__atomic_store_n(&vm->debug, d, __ATOMIC_RELEASE);
	return 0;
}

void vcpu_debug_detach(struct vm *vm)
{
	struct vm_debug *d = vm->debug;
	if (!d)
		return;
	while (d->nbp && vm->state == VM_RUNNING) /* else its memory is gone */
		vcpu_debug_break_remove(vm, d->bp[d->nbp - 1].gva);
	d->nbp = 0;
	memset(d->hw, 0, sizeof(d->hw));
	__atomic_store_n(&vm->debug, (struct vm_debug *)0, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		__atomic_store_n(&vm->vcpu[i]->dbg.go, 1, __ATOMIC_RELEASE);
		vcpu_wake(vm->vcpu[i]);
	}
}

void vcpu_debug_stop_all(struct vm *vm, enum dbg_stop why)
{
	if (vm->debug)
		stop_all(vm, vm->debug, 0, why);
}

/* Held and not let go: one the debugger let go is not stopped before it saw that. */
static int stopped(const struct vcpu *v)
{
	return vcpu_debug_held(v) && !vcpu_debug_released(v);
}

void vcpu_debug_kick(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if (!stopped(vm->vcpu[i]) && vm->vcpu[i]->running)
			vcpu_wake(vm->vcpu[i]);
}

int vcpu_debug_all_parked(const struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		const struct vcpu *v = vm->vcpu[i];
		if (!stopped(v) && v->running && !v->wait_sipi)
			return 0;
	}
	return 1;
}

void vcpu_debug_resume(struct vm *vm, int step_vcpu)
{
	struct vm_debug *d = vm->debug;
	if (!d)
		return;
	d->stop_why = DBG_STOP_NONE;
	d->stop_watch = 0;
	__atomic_store_n(&d->stop_req, 0, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = vm->vcpu[i];
		if (step_vcpu >= 0 && (int)i != step_vcpu)
			continue;
		v->dbg.step = (int)i == step_vcpu;
		__atomic_store_n(&v->dbg.go, 1, __ATOMIC_RELEASE);
		vcpu_wake(v);
	}
}

/* ---- memory ---- */

static int gpa_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *val)
{
	const void *p = vm_gpa_to_hva(ctx, gpa, size);
	if (!p)
		return -EFAULT;
	*val = 0;
	memcpy(val, p, size);
	return 0;
}

static int translate(struct vm *vm, unsigned vcpu, uint64_t gva, uint64_t *gpa)
{
	if (vcpu >= vm->nvcpus)
		return -EFAULT;
	const uint64_t *r = vm->vcpu[vcpu]->dbg.regs;
	const struct guest_pt_ops ops = { vm, gpa_read };
	const struct guest_pt_mode mode = { r[DBG_CR0], r[DBG_CR3], r[DBG_CR4], r[DBG_EFER] };
	return guest_pt_translate(&ops, &mode, gva, gpa);
}

/* Copies in pieces that never cross a guest page (nor a host chunk). */
static int access(struct vm *vm, int phys, unsigned vcpu, uint64_t addr, uint8_t *buf, size_t len,
		  int write)
{
	while (len) {
		size_t n = 4096 - (addr & 4095);
		if (n > len)
			n = len;
		uint64_t gpa = addr;
		if (!phys && translate(vm, vcpu, addr, &gpa))
			return -EFAULT;
		uint8_t *p = vm_gpa_to_hva(vm, gpa, n);
		if (!p)
			return -EFAULT;
		if (write)
			memcpy(p, buf, n);
		else
			memcpy(buf, p, n);
		addr += n, buf += n, len -= n;
	}
	return 0;
}

int vcpu_debug_read(struct vm *vm, unsigned vcpu, uint64_t gva, void *buf, size_t len)
{
	return access(vm, 0, vcpu, gva, buf, len, 0);
}

int vcpu_debug_write(struct vm *vm, unsigned vcpu, uint64_t gva, const void *buf, size_t len)
{
	return access(vm, 0, vcpu, gva, (uint8_t *)buf, len, 1);
}

int vcpu_debug_read_phys(struct vm *vm, uint64_t gpa, void *buf, size_t len)
{
	return access(vm, 1, 0, gpa, buf, len, 0);
}

int vcpu_debug_break_insert(struct vm *vm, unsigned vcpu, uint64_t gva)
{
	struct vm_debug *d = vm->debug;
	if (!d)
		return -EINVAL;
	if (is_breakpoint(d, gva))
		return 0;
	if (d->nbp == DEBUG_MAX_BREAKPOINTS)
		return -ENOSPC;
	struct debug_breakpoint *b = &d->bp[d->nbp];
	uint8_t *p;
	if (translate(vm, vcpu, gva, &b->gpa) || !(p = vm_gpa_to_hva(vm, b->gpa, 1)))
		return -EFAULT;
	b->gva = gva;
	b->saved = *p;
	*p = INT3;
	d->nbp++;
	return 0;
}

int vcpu_debug_break_remove(struct vm *vm, uint64_t gva)
{
	struct vm_debug *d = vm->debug;
	for (unsigned i = 0; d && i < d->nbp; i++) {
		if (d->bp[i].gva != gva)
			continue;
		uint8_t *p = vm_gpa_to_hva(vm, d->bp[i].gpa, 1);
		if (p && *p == INT3)
			*p = d->bp[i].saved;
		d->bp[i] = d->bp[--d->nbp];
		return 0;
	}
	return 0;
}

/* ---- hardware breakpoints and watchpoints ---- */

int vcpu_debug_watch_insert(struct vm *vm, enum debug_watch_type type, uint64_t addr, unsigned len)
{
	struct vm_debug *d = vm->debug;
	if (!d || (type == WATCH_EXEC && len != 1) ||
	    (len != 1 && len != 2 && len != 4 && len != 8) || (addr & (len - 1)))
		return -EINVAL;
	struct debug_watch *free = 0;
	for (unsigned i = 0; i < DEBUG_MAX_WATCH; i++) {
		struct debug_watch *w = &d->hw[i];
		if (w->used && w->addr == addr && w->len == len && w->type == type)
			return 0;
		if (!w->used && !free)
			free = w;
	}
	if (!free)
		return -ENOSPC;
	*free = (struct debug_watch){ addr, (uint8_t)len, (uint8_t)type, 1 };
	return 0;
}

int vcpu_debug_watch_remove(struct vm *vm, enum debug_watch_type type, uint64_t addr, unsigned len)
{
	struct vm_debug *d = vm->debug;
	for (unsigned i = 0; d && i < DEBUG_MAX_WATCH; i++) {
		struct debug_watch *w = &d->hw[i];
		if (w->used && w->addr == addr && w->len == len && w->type == type)
			w->used = 0;
	}
	return 0;
}
