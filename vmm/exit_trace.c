/*
 * vmm/exit_trace.c - the cost of each exit and the guest's exit ring
 * (vmm/exit_trace.h). Portable: the unit tests run it with the exit path.
 */
#include "vmm/exit_trace.h"

#include "vmm/core/cpu.h"
#include "vmm/core/lib/fmt.h"
#include "vmm/exit_names.h"
#include "vmm/vcpu.h"
#include "vmm/vcpu_regs.h"
#include "vmm/vm.h"

static uint64_t edx_eax(const struct vcpu *v)
{
	return (uint32_t)v->regs.rax | v->regs.rdx << 32;
}

static uint32_t io_mask(uint8_t size)
{
	return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

/* The operands the handler is about to consume (CPUID's leaf is gone after it). */
static void note_operands(struct vcpu *v, const struct exit_info *e, struct exit_trace_rec *r)
{
	switch (e->kind) {
	case EXIT_CPUID:
		r->a = (uint32_t)v->regs.rax, r->b = (uint32_t)v->regs.rcx;
		break;
	case EXIT_PORT_IO:
		r->a = e->io.port;
		r->flags = (uint8_t)(e->io.size | (e->io.in ? EXIT_TRACE_IN : 0));
		r->b = e->io.in ? 0 : (uint32_t)v->regs.rax & io_mask(e->io.size);
		break;
	case EXIT_MSR_READ:
	case EXIT_MSR_WRITE:
		r->a = e->msr.index, r->b = edx_eax(v);
		break;
	case EXIT_MEM_VIOLATION:
	case EXIT_MEM_MISCONFIG:
		r->a = e->mem.gpa, r->b = e->mem.gla_valid ? e->mem.gla : 0;
		r->flags = e->mem.access;
		break;
	case EXIT_EXCEPTION:
		r->a = e->exc.vector, r->b = e->exc.error;
		break;
	case EXIT_CR_ACCESS:
		r->a = e->cr.cr | (uint32_t)e->cr.op << 8;
		r->b = e->cr.op == EXIT_CR_LMSW ? e->cr.lmsw : vcpu_gpr_get(v, e->cr.gpr);
		break;
	case EXIT_XSETBV:
		r->a = (uint32_t)v->regs.rcx, r->b = edx_eax(v);
		break;
	default:
		r->a = e->hw_reason, r->b = e->hw_info[0];
		break;
	}
}

void exit_trace_begin(struct vcpu *v, const struct exit_info *e, struct exit_trace_mark *m)
{
	m->t0 = rdtsc();
	m->ring = v->vm->trace;
	if (!m->ring || !m->ring->on) {
		m->ring = 0;
		return;
	}
	m->rec = (struct exit_trace_rec){ .tsc = m->t0, .rip = e->rip, .vcpu = (uint8_t)v->id,
					  .kind = (uint8_t)e->kind };
	note_operands(v, e, &m->rec);
}

static void cost_add(struct exit_cost *c, uint64_t cycles)
{
	__atomic_add_fetch(&c->sum, cycles, __ATOMIC_RELAXED);
	uint64_t max = __atomic_load_n(&c->max, __ATOMIC_RELAXED);
	while (cycles > max && !__atomic_compare_exchange_n(&c->max, &max, cycles, 1,
							    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static void ring_put(struct exit_trace *t, const struct exit_trace_rec *r)
{
	uint64_t i = __atomic_fetch_add(&t->head, 1, __ATOMIC_RELAXED);
	struct exit_trace_rec *slot = &t->rec[i % EXIT_TRACE_LEN];
	__atomic_store_n(&slot->seq, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	*slot = *r; /* its seq is still 0 */
	__atomic_store_n(&slot->seq, i + 1, __ATOMIC_RELEASE);
}

void exit_trace_end(struct vcpu *v, const struct exit_info *e, struct exit_trace_mark *m)
{
	uint64_t cycles = rdtsc() - m->t0;
	cost_add(&v->vm->exit_cost[(unsigned)e->kind < EXIT_KIND_COUNT ? e->kind : 0], cycles);
	if (!m->ring)
		return;
	m->rec.cycles = cycles > UINT32_MAX ? UINT32_MAX : (uint32_t)cycles;
	if (e->kind == EXIT_PORT_IO && e->io.in)
		m->rec.b = (uint32_t)v->regs.rax & io_mask(e->io.size);
	if (e->kind == EXIT_MSR_READ)
		m->rec.b = edx_eax(v);
	ring_put(m->ring, &m->rec);
}

int exit_trace_read(const struct exit_trace *t, uint64_t index, struct exit_trace_rec *out)
{
	const struct exit_trace_rec *slot = &t->rec[index % EXIT_TRACE_LEN];
	if (__atomic_load_n(&slot->seq, __ATOMIC_ACQUIRE) != index + 1)
		return -1;
	*out = *slot;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&slot->seq, __ATOMIC_RELAXED) != index + 1)
		return -1;
	out->seq = index + 1;
	return 0;
}

/* ---- decoding a record ---- */

static const char *access_name(uint8_t access)
{
	return access & EXIT_ACCESS_WRITE ? "write" : access & EXIT_ACCESS_EXEC ? "execute" : "read";
}

static const char *const cr_ops[] = { "mov to", "mov from", "clts", "lmsw" };

static int format_detail(const struct exit_trace_rec *r, char *buf, size_t cap)
{
	switch (r->kind) {
	case EXIT_CPUID:
		return fmt_snprintf(buf, cap, "leaf 0x%lx subleaf 0x%lx", r->a, r->b);
	case EXIT_PORT_IO:
		return fmt_snprintf(buf, cap, "%s 0x%lx size %u value 0x%lx",
				    r->flags & EXIT_TRACE_IN ? "in" : "out", r->a,
				    r->flags & ~EXIT_TRACE_IN, r->b);
	case EXIT_MSR_READ:
	case EXIT_MSR_WRITE:
		return fmt_snprintf(buf, cap, "%s 0x%lx value 0x%lx",
				    r->kind == EXIT_MSR_READ ? "rdmsr" : "wrmsr", r->a, r->b);
	case EXIT_MEM_VIOLATION:
	case EXIT_MEM_MISCONFIG:
		return r->b ? fmt_snprintf(buf, cap, "%s gpa 0x%lx gla 0x%lx", access_name(r->flags),
					   r->a, r->b)
			    : fmt_snprintf(buf, cap, "%s gpa 0x%lx", access_name(r->flags), r->a);
	case EXIT_EXCEPTION:
		return fmt_snprintf(buf, cap, "vector %lu error 0x%lx", r->a, r->b);
	case EXIT_CR_ACCESS:
		return fmt_snprintf(buf, cap, "%s cr%lu value 0x%lx", cr_ops[(r->a >> 8) & 3],
				    r->a & 0xff, r->b);
	case EXIT_XSETBV:
		return fmt_snprintf(buf, cap, "xcr%lu value 0x%lx", r->a, r->b);
	default:
		return fmt_snprintf(buf, cap, "code 0x%lx info 0x%lx", r->a, r->b);
	}
}

size_t exit_trace_format(const struct exit_trace_rec *r, uint64_t start_tsc, uint64_t tsc_khz,
			 char *buf, size_t cap)
{
	char detail[96];
	uint64_t d = r->tsc > start_tsc ? r->tsc - start_tsc : 0;
	uint64_t us = tsc_khz ? d / tsc_khz * 1000 + d % tsc_khz * 1000 / tsc_khz : 0;
	format_detail(r, detail, sizeof(detail));
	int n = fmt_snprintf(buf, cap, "%5lu.%06lu vcpu%u %-13s rip 0x%lx %s, %u cycles",
			     us / 1000000, us % 1000000, r->vcpu,
			     exit_kind_name((enum exit_kind)r->kind), r->rip, detail, r->cycles);
	return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}
