/*
 * vmm/exit_dispatch.h - the neutral exit table (vmm/exit.c).
 */
#ifndef HAKO_EXIT_DISPATCH_H
#define HAKO_EXIT_DISPATCH_H

#include "vmm/exit.h"
#include "vmm/vcpu.h"

enum exit_result {
	EXIT_RESUME,       /* enter the guest again */
	EXIT_HALT,         /* the vCPU executed HLT: idle until a wake-up */
	EXIT_GUEST_FAULT,  /* vcpu_fail() was called; the guest is ending */
	EXIT_GUEST_STOP,   /* the guest asked to stop */
};

/* A handler of one exit kind; it advances RIP only when it emulated the instruction. */
typedef enum exit_result (*exit_handler_fn)(struct vcpu *v, const struct exit_info *e);

/* Handles one decoded exit. */
enum exit_result exit_dispatch(struct vcpu *v, const struct exit_info *e);

#endif
