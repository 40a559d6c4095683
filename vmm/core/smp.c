/*
 * vmm/core/smp.c - application processor start-up and parking.
 *
 * The boot processor stays the service core (shell, network, storage).
 * Each other core is woken with INIT-SIPI-SIPI (SDM Vol. 3A 9.4.4.1,
 * "Typical BSP Initialization Sequence"), sets up its own GDT/TSS/IDT and
 * LAPIC, then parks with `sti; hlt` until the service core puts a
 * function in its mailbox and sends it a VEC_WAKEUP IPI.
 */
#include "vmm/core/smp.h"

#include "drivers/apic/lapic.h"
#include "vmm/core/percpu.h"
#include "vmm/core/time.h"
#include "vmm/core/trap.h"
#include "vmm/lib/errno.h"
#include "vmm/lib/log.h"
#include "vmm/lib/string.h"
#include "vmm/mm/page.h"

extern const char smp_trampoline_start[], smp_trampoline_end[];
extern const char smp_tr_gdtr[], smp_tr_pm_ptr[], smp_tr_lm_ptr[], smp_tr_cr3_low[];
extern const char smp_tr_cr3[], smp_tr_stack[], smp_tr_percpu[], smp_tr_entry[];
extern const char smp_tr_gdt[], smp_tr_pm32[], smp_tr_lm64[];

#define TR_OFF(sym) ((uint64_t)(sym) - (uint64_t)smp_trampoline_start)

static uint64_t tramp; /* physical page of the trampoline; next page: low PML4 */

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
		/* STI's one-instruction shadow makes "sti; hlt" race-free. */
		__asm__ volatile("sti; hlt" ::: "memory");
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

static void install_trampoline(void)
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
}

static int start_core(struct percpu *c)
{
	/* A slot whose probe failed keeps its stack for the next candidate. */
	if (!c->kstack_top)
		c->kstack_top = page_alloc_bytes(KSTACK_SIZE) + KSTACK_SIZE;
	patch64(TR_OFF(smp_tr_stack), c->kstack_top);
	patch64(TR_OFF(smp_tr_percpu), (uint64_t)c);

	lapic_send_init(c->apic_id);
	delay_us(10000);
	for (int sipi = 0; sipi < 2 && !c->online; sipi++) {
		lapic_send_sipi(c->apic_id, (uint8_t)(tramp >> 12));
		for (int i = 0; i < 1000 && !__atomic_load_n(&c->online, __ATOMIC_ACQUIRE); i++)
			delay_us(sipi ? 100 : 200);
	}
	return c->online ? 0 : -ETIMEDOUT;
}

/* Starts the core with `apic_id` as the next cpus[] entry; 0 or -ETIMEDOUT. */
static int add_core(uint32_t apic_id)
{
	struct percpu *c = &cpus[cpu_count];
	c->index = cpu_count;
	c->apic_id = apic_id;
	int err = start_core(c);
	if (err)
		return err;
	cpu_count++;
	return 0;
}

/*
 * Without a MADT (OVMF on Bochs publishes no ACPI tables at all) the
 * processors are found by asking: APIC IDs are probed upwards from the
 * service core's and the first one that does not answer INIT-SIPI-SIPI
 * ends the search. Bochs numbers its processors 0..N-1, and real PCs
 * always have a MADT, so this only serves emulators.
 */
static void probe_cores(uint32_t self)
{
	for (uint32_t id = self + 1; id < 0xff && cpu_count < MAX_CPUS; id++)
		if (add_core(id))
			return;
}

unsigned smp_init(const struct boot_info *bi, const struct acpi_info *acpi)
{
	irq_register(VEC_WAKEUP, wakeup_irq);
	uint32_t self = lapic_id();

	tramp = find_low_pages(bi);
	if (!tramp) {
		log_warn("smp: no free page below 1 MiB for the start-up code; using one core");
		return 1;
	}
	install_trampoline();
	if (acpi->cpu_count == 0) {
		log_warn("smp: ACPI lists no processors; probing APIC IDs from %u up", self + 1);
		probe_cores(self);
	}
	for (uint32_t i = 0; i < acpi->cpu_count && cpu_count < MAX_CPUS; i++) {
		if (acpi->cpu_apic_ids[i] == self)
			continue;
		if (add_core(acpi->cpu_apic_ids[i]))
			log_warn("smp: core with APIC ID %u did not start", acpi->cpu_apic_ids[i]);
	}
	log_info("smp: %u cores online (1 service core, %u for guests)", cpu_count,
		 cpu_count - 1);
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
	if (index && index < cpu_count)
		lapic_send_ipi(cpus[index].apic_id, VEC_KICK);
}
