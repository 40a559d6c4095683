/*
 * vmm/core/smp.c - application processor start-up and parking.
 *
 * The boot processor stays the service core (shell, network, storage).
 * Each other core is woken with INIT-SIPI-SIPI (SDM Vol. 3A 9.4.4.1,
 * "Typical BSP Initialization Sequence"), sets up its own GDT/TSS/IDT and
 * LAPIC, then parks with `sti; hlt` until the service core puts a
 * function in its mailbox and sends it a VEC_WAKEUP IPI. A parked core
 * zeroes guest memory first while there is some to zero (vmm/core/scrub.h).
 */
#include "vmm/core/smp.h"

#include "vmm/core/lapic.h"
#include "vmm/core/lib/buddy.h"
#include "vmm/core/lib/errno.h"
#include "vmm/core/lib/log.h"
#include "vmm/core/lib/string.h"
#include "vmm/core/page.h"
#include "vmm/core/percpu.h"
#include "vmm/core/scrub.h"
#include "vmm/core/time.h"
#include "vmm/core/trap.h"

extern const char smp_trampoline_start[], smp_trampoline_end[];
extern const char smp_tr_gdtr[], smp_tr_pm_ptr[], smp_tr_lm_ptr[], smp_tr_cr3_low[];
extern const char smp_tr_cr3[], smp_tr_table[], smp_tr_count[], smp_tr_entry[];
extern const char smp_tr_gdt[], smp_tr_pm32[], smp_tr_lm64[], smp_tr_efer[];

#define TR_OFF(sym) ((uint64_t)(sym) - (uint64_t)smp_trampoline_start)

static uint64_t tramp; /* physical page of the trampoline; next page: low PML4 */

/* What each starting AP looks up by its APIC ID (boot/trampoline.S). */
struct ap_boot {
	uint64_t apic_id;
	uint64_t stack;
	uint64_t percpu;
};
static struct ap_boot ap_table[MAX_CPUS];

static void wakeup_irq(struct trap_frame *f)
{
	(void)f; /* the mailbox, not the frame, carries the work */
	lapic_eoi();
}

static void park(struct percpu *c)
{
	for (;;) {
		irq_disable();
		void (*fn)(void *) = c->work;
		if (fn) {
			void *arg = c->work_arg;
			c->work = 0;
			irq_enable();
			fn(arg);
			continue;
		}
		irq_enable();
		if (scrub_idle_step(1)) /* a free core zeroes guest memory, a chunk at a time */
			continue;
		irq_disable();
		if (c->work)
			continue;
		scrub_core_parked(c->index, 1); /* the service core kicks it when there is some */
		/* STI's one-instruction shadow makes "sti; hlt" race-free. */
		__asm__ volatile("sti; hlt" ::: "memory");
		scrub_core_parked(c->index, 0);
	}
}

void ap_entry(struct percpu *c);
void ap_entry(struct percpu *c)
{
	cpu_setup_tables(c);
	lapic_init();
	__atomic_store_n(&c->online, 1, __ATOMIC_RELEASE);
	park(c);
}

/* Finds two free pages below 1 MiB (SIPI vectors address 4 KiB pages). */
static uint64_t find_low_pages(const struct boot_info *bi)
{
	for (uint32_t i = 0; i < bi->mem_count; i++) {
		const struct boot_mem_range *r = &bi->mem[i];
		uint64_t start = r->base < 0x1000 ? 0x1000 : (r->base + 0xfff) & ~0xfffull;
		if (r->type == BOOT_MEM_USABLE && start + 0x2000 <= r->base + r->length &&
		    start + 0x2000 <= 0x9f000)
			return start;
	}
	return 0;
}

static void patch32(uint64_t off, uint32_t v) { *(volatile uint32_t *)(tramp + off) = v; }
static void patch64(uint64_t off, uint64_t v) { *(volatile uint64_t *)(tramp + off) = v; }

/*
 * Copies and patches the start-up code, then seals its page read-only
 * and executable: the identity map executes nothing else.
 */
static void install_trampoline(unsigned n)
{
	memcpy((void *)tramp, smp_trampoline_start, smp_trampoline_end - smp_trampoline_start);
	patch32(TR_OFF(smp_tr_gdtr) + 2, (uint32_t)(tramp + TR_OFF(smp_tr_gdt)));
	patch32(TR_OFF(smp_tr_pm_ptr), (uint32_t)(tramp + TR_OFF(smp_tr_pm32)));
	patch32(TR_OFF(smp_tr_lm_ptr), (uint32_t)(tramp + TR_OFF(smp_tr_lm64)));
	/* The 32-bit MOV to CR3 needs a PML4 below 4 GiB: copy the top level. */
	memcpy((void *)(tramp + 0x1000), (void *)paging_kernel_cr3(), 0x1000);
	patch64(TR_OFF(smp_tr_cr3_low), tramp + 0x1000);
	patch64(TR_OFF(smp_tr_cr3), paging_kernel_cr3());
	patch64(TR_OFF(smp_tr_entry), (uint64_t)ap_entry);
	patch64(TR_OFF(smp_tr_efer), EFER_LME | (paging_nx() ? EFER_NXE : 0));
	patch64(TR_OFF(smp_tr_table), (uint64_t)ap_table);
	patch64(TR_OFF(smp_tr_count), n);
	if (paging_seal_code(tramp))
		hv_panic("smp: cannot make the start-up page at 0x%lx executable", tramp);
}

/*
 * INIT to every AP, one 10 ms wait, then STARTUP to all; a second STARTUP
 * after 200 us for any that did not respond (SDM Vol. 3A 9.4.4.1). All
 * cores start together, each picking its entry in ap_table.
 */
static void start_all(unsigned first, unsigned last, uint64_t wait_us)
{
	for (unsigned i = first; i < last; i++)
		lapic_send_init(cpus[i].apic_id);
	delay_us(10000);
	for (int sipi = 0; sipi < 2; sipi++) {
		for (unsigned i = first; i < last; i++)
			if (!__atomic_load_n(&cpus[i].online, __ATOMIC_ACQUIRE))
				lapic_send_sipi(cpus[i].apic_id, (uint8_t)(tramp >> 12));
		delay_us(200);
	}
	/* Emulators schedule vCPUs lazily: give them up to wait_us. */
	uint64_t deadline = time_us() + wait_us;
	for (unsigned i = first; i < last; i++)
		while (!__atomic_load_n(&cpus[i].online, __ATOMIC_ACQUIRE) && time_us() < deadline)
			cpu_relax();
}

/*
 * Without a MADT (OVMF on Bochs publishes no ACPI tables at all) hako
 * asks instead: it starts the APIC IDs just above its own and keeps those
 * that answer. Bochs numbers its processors 0..N-1 and real PCs always
 * have a MADT, so this only serves emulators.
 */
#define SMP_PROBE_MAX 7

/* Fills ids[] with the APs to start; returns how many. */
static unsigned ap_candidates(const uint32_t *apic_ids, unsigned count, uint32_t self,
			      uint32_t *ids)
{
	unsigned n = 0;
	if (count == 0) {
		log_warn("smp: ACPI lists no processors; probing APIC IDs %u-%u", self + 1,
			 self + SMP_PROBE_MAX);
		for (uint32_t id = self + 1; n < SMP_PROBE_MAX; id++)
			ids[n++] = id;
		return n;
	}
	for (uint32_t i = 0; i < count && 1 + n < MAX_CPUS; i++)
		if (apic_ids[i] != self)
			ids[n++] = apic_ids[i];
	return n;
}

/* Keeps the cores that came online in cpus[1..]; returns the new cpu_count. */
static unsigned compact(unsigned n, int probing)
{
	cpu_count = 1;
	for (unsigned i = 1; i <= n; i++) {
		if (!cpus[i].online && !probing) {
			/* Its stack stays allocated: the core may still wake up late. */
			log_warn("smp: core with APIC ID %u did not start", cpus[i].apic_id);
			continue;
		}
		if (!cpus[i].online) {
			/* A probed APIC ID nobody answered: no core, no stack needed. */
			page_free(cpus[i].kstack_top - KSTACK_SIZE, buddy_order_for(KSTACK_SIZE),
				  PAGE_HAKO);
			cpus[i].kstack_top = 0;
			continue;
		}
		if (cpu_count != i) {
			log_warn("smp: core numbering has gaps; cores after APIC ID %u unused",
				 cpus[i].apic_id);
			break;
		}
		cpu_count++;
	}
	return cpu_count;
}

unsigned smp_init(const struct boot_info *bi, const uint32_t *apic_ids, unsigned count)
{
	irq_register(VEC_WAKEUP, wakeup_irq);
	uint32_t self = lapic_id();
	uint32_t ids[MAX_CPUS];

	tramp = find_low_pages(bi);
	if (!tramp) {
		log_warn("smp: no free page below 1 MiB for the start-up code; using one core");
		return 1;
	}
	unsigned n = ap_candidates(apic_ids, count, self, ids);
	for (unsigned i = 0; i < n; i++) {
		struct percpu *c = &cpus[1 + i];
		c->index = 1 + i;
		c->apic_id = ids[i];
		c->kstack_top = page_alloc_bytes(KSTACK_SIZE) + KSTACK_SIZE;
		ap_table[i] = (struct ap_boot){ c->apic_id, c->kstack_top, (uint64_t)c };
	}
	install_trampoline(n);
	/* Probed IDs mostly do not exist: waiting the full second is waste. */
	int probing = count == 0;
	start_all(1, 1 + n, probing ? 100000 : 1000000);
	compact(n, probing);
	log_info("smp: %u cores online (1 service core, %u for guests)", cpu_count, cpu_count - 1);
	return cpu_count;
}

int smp_run_on(unsigned index, void (*fn)(void *), void *arg)
{
	if (index == 0 || index >= cpu_count || !cpus[index].online)
		return -EINVAL;
	struct percpu *c = &cpus[index];
	if (c->work)
		return -EBUSY;
	c->work_arg = arg;
	__atomic_store_n(&c->work, fn, __ATOMIC_RELEASE);
	lapic_send_ipi(c->apic_id, VEC_WAKEUP);
	return 0;
}

void smp_kick(unsigned index)
{
	if (index < cpu_count)
		lapic_send_ipi(cpus[index].apic_id, VEC_KICK);
}
