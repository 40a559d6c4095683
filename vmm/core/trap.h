/*
 * vmm/core/trap.h - exception and interrupt dispatch, and hv_panic().
 */
#ifndef HAKO_TRAP_H
#define HAKO_TRAP_H

#include <stddef.h>
#include <stdint.h>

/* The stack as vmm/core/trap.S leaves it (lowest address first). */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

/* Vectors hako uses for its own interrupts (all above the exceptions). */
#define VEC_WAKEUP 0xf0  /* IPI: a parked core has work in its mailbox */
#define VEC_KICK 0xf1    /* IPI: make a running vCPU exit to hako */
#define VEC_TIMER 0xf2   /* the local APIC timer */
#define VEC_NIC_RX 0xf3  /* MSI-X: a NIC received frames; wakes the halted service core */
#define VEC_SPURIOUS 0xff

typedef void (*irq_handler_t)(struct trap_frame *f);
void irq_register(uint8_t vector, irq_handler_t fn);

/* Called from trap.S for every vector. */
void trap_dispatch(struct trap_frame *f);

/*
 * For broken host invariants only: prints the message, a register dump
 * and a backtrace on the serial port, stops every core. Never returns.
 */
void hv_panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/*
 * Where hv_panic() and unexpected exceptions write, without locks or the
 * log ring: a raw console write (the serial port). Set once at boot.
 */
void trap_set_console(void (*write)(const char *s, size_t n));

/*
 * A machine check that a VM exit caught for hako (the guest was running):
 * returns IA32_MCG_STATUS and clears it (MCIP), or 0 when the CPU has no
 * machine-check architecture (CPUID.1:EDX.MCA). On the core that took it.
 */
uint64_t mce_guest_event(void);

/* Prints return addresses by walking the frame-pointer chain from rbp. */
void backtrace_print(uint64_t rbp);

#endif
