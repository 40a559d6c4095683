/*
 * vmm/exit.h - the vendor-neutral VM exit.
 *
 * A back end (vmm/svm/exit.c, vmm/vmx/exit.c) decodes every hardware exit
 * (SVM EXITCODE + EXITINFO1/2, APM Vol. 2 15.7 and Appendix C; VMX basic
 * exit reason + exit qualification, SDM Vol. 3C 28.2 and Appendix C) into
 * one `struct exit_info`. vmm/exit.c then dispatches it through a single
 * table indexed by `enum exit_kind` and counts it per guest (`stats`).
 * Nothing after the decode step knows which vendor produced the exit.
 */
#ifndef HAKO_EXIT_H
#define HAKO_EXIT_H

#include <stdint.h>

enum exit_kind {
	EXIT_UNKNOWN,        /* an exit hako has no decoder for: the guest fails */
	EXIT_CPUID,          /* SVM 0x72 / VMX 10 */
	EXIT_HLT,            /* SVM 0x78 / VMX 12 */
	EXIT_PORT_IO,        /* SVM 0x7b IOIO / VMX 30; see exit_info.io */
	EXIT_MSR_READ,       /* SVM 0x7c EXITINFO1=0 / VMX 31; index in exit_info.msr */
	EXIT_MSR_WRITE,      /* SVM 0x7c EXITINFO1=1 / VMX 32; value is guest EDX:EAX */
	EXIT_MEM_VIOLATION,  /* SVM 0x400 NPF / VMX 48 EPT violation; see exit_info.mem */
	EXIT_MEM_MISCONFIG,  /* VMX 49 EPT misconfiguration: a hako bug, the guest ends */
	EXIT_TRIPLE_FAULT,   /* SVM 0x7f SHUTDOWN / VMX 2 */
	EXIT_EXT_INTERRUPT,  /* SVM 0x60 INTR / VMX 1: a physical interrupt (kick, timer) */
	EXIT_NMI,            /* SVM 0x61 NMI / VMX 0 with an NMI vector */
	EXIT_VIRT_INSN,      /* VMRUN, VMMCALL, VMLOAD, ..., VMCALL, VMXON, ...: #UD */
	EXIT_EXCEPTION,      /* an intercepted guest exception; see exit_info.exc */
	EXIT_INIT_SIPI,      /* VMX 3/4 INIT and SIPI (SVM intercepts INIT as 0x63) */
	EXIT_ENTRY_FAILED,   /* SVM VMEXIT_INVALID (-1) / VMX entry failure: hako bug */
	EXIT_INTR_WINDOW,    /* SVM 0x64 VINTR / VMX 7: the guest accepts interrupts now */
	EXIT_CR_ACCESS,      /* VMX 28: a write to a CR0/CR4 bit hako owns; see exit_info.cr */
	EXIT_XSETBV,         /* VMX 55 (always exits) / SVM 0x8d (intercepted) */
	EXIT_INVD,           /* VMX 13 (always exits) / SVM 0x76 */
	EXIT_WBINVD,         /* VMX 54 ("WBINVD exiting") / SVM 0x89; WBNOINVD too */
	EXIT_MACHINE_CHECK,  /* #MC while the guest ran: VMX 0 vector 18, VMX 41 / SVM 0x52 */
	EXIT_KIND_COUNT
};

/* Access bits of a memory violation (exit_info.mem.access). */
#define EXIT_ACCESS_READ 0x1
#define EXIT_ACCESS_WRITE 0x2
#define EXIT_ACCESS_EXEC 0x4

/* Operations of a control-register access (exit_info.cr.op). */
#define EXIT_CR_MOV_TO 0
#define EXIT_CR_MOV_FROM 1
#define EXIT_CR_CLTS 2
#define EXIT_CR_LMSW 3

struct exit_info {
	enum exit_kind kind;
	uint64_t hw_reason;   /* the vendor's raw exit code, for logs */
	uint64_t hw_info[2];  /* SVM EXITINFO1/2, VMX qualification/guest-linear address */
	uint64_t rip;         /* guest RIP of the exiting instruction */
	uint8_t insn_len;     /* its length in bytes; 0 when the back end cannot know */
	union {
		struct {                /* EXIT_PORT_IO */
			uint16_t port;
			uint8_t size;   /* 1, 2 or 4 bytes */
			uint8_t in;     /* 1 = IN/INS (guest reads), 0 = OUT/OUTS */
			uint8_t string; /* INS/OUTS */
			uint8_t rep;    /* REP prefix */
		} io;
		struct {                /* EXIT_MSR_READ, EXIT_MSR_WRITE */
			uint32_t index; /* ECX */
		} msr;
		struct {                /* EXIT_MEM_VIOLATION, EXIT_MEM_MISCONFIG */
			uint64_t gpa;
			uint64_t gla;       /* valid when gla_valid */
			uint8_t access;     /* EXIT_ACCESS_* of the faulting access */
			uint8_t present;    /* the nested entry existed (permission fault) */
			uint8_t gla_valid;
		} mem;
		struct {                /* EXIT_EXCEPTION */
			uint8_t vector;
			uint8_t has_error;
			uint32_t error;
		} exc;
		struct {                /* EXIT_CR_ACCESS */
			uint8_t cr;     /* 0, 3, 4 or 8 */
			uint8_t op;     /* EXIT_CR_* */
			uint8_t gpr;    /* MOV's register, encoding order (RAX, RCX, ...) */
			uint16_t lmsw;  /* LMSW's source operand */
		} cr;
		struct {                /* EXIT_VIRT_INSN */
			const char *mnemonic; /* "vmrun", "vmmcall", "vmcall", ... */
		} insn;
	};
};

#endif
