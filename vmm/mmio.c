/*
 * vmm/mmio.c - the guest's MMIO bus: registration of device ranges and
 * lookup by guest-physical address (see vmm/mmio.h).
 */
#include "vmm/mmio.h"

#include "vmm/backend.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/string.h"
#include "vmm/exit_dispatch.h"
#include "vmm/guest_pt.h"
#include "vmm/insn.h"
#include "vmm/vcpu_regs.h"
#include "vmm/vm.h"
#include "vmm/core/lib/x86.h"


static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/*
 * Claims a range (service core, vCPUs stopped). 0, -EINVAL for an empty
 * range, one that wraps or overlaps the guest's RAM or another range,
 * -ENOSPC when the bus is full.
 */
static int range_add(struct vm *vm, const struct mmio_range *nr)
{
	struct mmio_bus *b = &vm->mmio;
	if (!nr->size || nr->base + nr->size < nr->base || !nr->ops ||
	    overlaps(nr->base, nr->size, 0, vm->def.mem))
		return -EINVAL;
	for (unsigned i = 0; i < b->n; i++)
		if (overlaps(nr->base, nr->size, b->range[i].base, b->range[i].size))
			return -EINVAL;
	if (b->n == MMIO_MAX_RANGES)
		return -ENOSPC;
	b->range[b->n++] = *nr;
	return 0;
}

int mmio_register(struct vm *vm, uint64_t base, uint64_t size, const struct mmio_ops *ops,
		  void *dev)
{
	return range_add(vm, &(struct mmio_range){ base, size, ops, dev, 0 });
}

int mmio_register_vcpu(struct vm *vm, uint64_t base, uint64_t size, const struct mmio_ops *ops,
		       void *(*dev_of)(struct vcpu *v))
{
	if (!dev_of)
		return -EINVAL;
	return range_add(vm, &(struct mmio_range){ base, size, ops, 0, dev_of });
}

void mmio_reset(struct vm *vm)
{
	vm->mmio.n = 0;
}

const struct mmio_range *mmio_find(struct vm *vm, uint64_t gpa)
{
	for (unsigned i = 0; i < vm->mmio.n; i++) {
		const struct mmio_range *r = &vm->mmio.range[i];
		if (gpa >= r->base && gpa - r->base < r->size)
			return r;
	}
	return 0;
}

/* ---- emulating the faulting instruction ---- */

static int guest_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *val)
{
	const uint8_t *p = vm_gpa_to_hva(ctx, gpa, size);
	if (!p)
		return -EFAULT;
	uint64_t v = 0;
	memcpy(&v, p, size);
	*val = v;
	return 0;
}

/* Copies up to INSN_MAX_LEN bytes at guest RIP; returns how many could be read. */
static unsigned fetch(struct vcpu *v, uint64_t rip, uint8_t *buf, int *long64, int *def32)
{
	struct vseg_desc cs;
	backend->seg_read(v, VSEG_CS, &cs);
	const struct guest_pt_mode m = { backend->reg_read(v, VREG_CR0), backend->reg_read(v, VREG_CR3),
				    backend->reg_read(v, VREG_CR4), backend->reg_read(v, VREG_EFER) };
	const struct guest_pt_ops ops = { v->vm, guest_read };
	*long64 = (m.efer & EFER_LMA) && (cs.attr & SEG_ATTR_L);
	*def32 = !!(cs.attr & SEG_ATTR_DB);
	uint64_t la = *long64 ? rip : (cs.base + rip) & 0xffffffffull;
	unsigned n = 0;
	while (n < INSN_MAX_LEN) {
		uint64_t gpa;
		if (guest_pt_translate(&ops, &m, la + n, &gpa))
			break;
		unsigned chunk = (unsigned)(0x1000 - (gpa & 0xfff));
		if (chunk > INSN_MAX_LEN - n)
			chunk = INSN_MAX_LEN - n;
		const uint8_t *p = vm_gpa_to_hva(v->vm, gpa, chunk);
		if (!p)
			break;
		memcpy(buf + n, p, chunk);
		n += chunk;
	}
	return n;
}

static void *range_dev(const struct mmio_range *r, struct vcpu *v)
{
	return r->dev_of ? r->dev_of(v) : r->dev;
}

static uint64_t bus_read(struct vcpu *v, uint64_t gpa, unsigned size)
{
	const struct mmio_range *r = mmio_find(v->vm, gpa);
	return r ? r->ops->read(range_dev(r, v), gpa - r->base, size) : ~0ull;
}

static void bus_write(struct vcpu *v, uint64_t gpa, unsigned size, uint64_t val)
{
	const struct mmio_range *r = mmio_find(v->vm, gpa);
	if (r)
		r->ops->write(range_dev(r, v), gpa - r->base, size, val);
}

int mmio_emulate(struct vcpu *v, const struct exit_info *e)
{
	uint8_t bytes[INSN_MAX_LEN];
	int long64, def32;
	struct insn in;
	unsigned n = fetch(v, e->rip, bytes, &long64, &def32);
	if (insn_decode(bytes, n, long64, def32, &in)) {
		vcpu_fail(v, e, "cannot emulate the instruction accessing MMIO at GPA 0x%lx "
			  "(bytes %02x %02x %02x %02x, %u fetched)", e->mem.gpa, n > 0 ? bytes[0] : 0,
			  n > 1 ? bytes[1] : 0, n > 2 ? bytes[2] : 0, n > 3 ? bytes[3] : 0, n);
		return EXIT_GUEST_FAULT;
	}
	if (in.kind == INSN_LOAD) {
		uint64_t val = bus_read(v, e->mem.gpa, in.size);
		vcpu_gpr_set(v, in.reg, insn_load_result(&in, vcpu_gpr_get(v, in.reg), val));
	} else {
		uint64_t regs[16];
		for (unsigned i = 0; i < 16; i++)
			regs[i] = in.has_imm ? 0 : vcpu_gpr_get(v, i);
		bus_write(v, e->mem.gpa, in.size, insn_store_value(&in, regs));
	}
	backend->reg_write(v, VREG_RIP, e->rip + in.len);
	return v->vm->stop_request ? EXIT_GUEST_STOP : EXIT_RESUME;
}
