/*
 * vmm/exit_names.c - the short name of each neutral exit kind, as
 * `stats`, crash reasons and the log print them.
 */
#include "vmm/exit_names.h"

static const char *const names[EXIT_KIND_COUNT] = {
	[EXIT_UNKNOWN]       = "unknown",
	[EXIT_CPUID]         = "cpuid",
	[EXIT_HLT]           = "hlt",
	[EXIT_PORT_IO]       = "port-io",
	[EXIT_MSR_READ]      = "msr-read",
	[EXIT_MSR_WRITE]     = "msr-write",
	[EXIT_MEM_VIOLATION] = "mem",
	[EXIT_MEM_MISCONFIG] = "mem-misconfig",
	[EXIT_TRIPLE_FAULT]  = "triple-fault",
	[EXIT_EXT_INTERRUPT] = "interrupt",
	[EXIT_NMI]           = "nmi",
	[EXIT_VIRT_INSN]     = "virt-insn",
	[EXIT_EXCEPTION]     = "exception",
	[EXIT_INIT_SIPI]     = "init-sipi",
	[EXIT_ENTRY_FAILED]  = "entry-failed",
	[EXIT_INTR_WINDOW]   = "intr-window",
	[EXIT_CR_ACCESS]     = "cr-access",
	[EXIT_XSETBV]        = "xsetbv",
	[EXIT_INVD]          = "invd",
	[EXIT_WBINVD]        = "wbinvd",
	[EXIT_MACHINE_CHECK] = "machine-check",
};

const char *exit_kind_name(enum exit_kind k)
{
	return (unsigned)k < EXIT_KIND_COUNT && names[k] ? names[k] : "?";
}
