/*
 * vmm/vmx/vmcs.h - the Virtual-Machine Control Structure: field
 * encodings (SDM Vol. 3D Appendix B), control bits (SDM Vol. 3C 25.6-25.8),
 * basic exit reasons (Appendix C), and the VMX instructions (SDM Vol. 3C
 * chapter 31).
 *
 * The VMCS is not a memory layout: software may touch it only through
 * VMREAD/VMWRITE with a field encoding. Bits 14:13 of an encoding give the
 * field's width (SDM Vol. 3C 25.11.2); vmcs_read16/32/64/nat and the
 * matching writes refuse, at compile time, a field of another width.
 */
#ifndef HAKO_VMX_VMCS_H
#define HAKO_VMX_VMCS_H

#include <stdint.h>

enum vmcs_field {
	/* 16-bit control and guest/host state (B.1) */
	VMCS_VPID                       = 0x0000,
	VMCS_GUEST_ES_SELECTOR          = 0x0800,
	VMCS_GUEST_CS_SELECTOR          = 0x0802,
	VMCS_GUEST_SS_SELECTOR          = 0x0804,
	VMCS_GUEST_DS_SELECTOR          = 0x0806,
	VMCS_GUEST_FS_SELECTOR          = 0x0808,
	VMCS_GUEST_GS_SELECTOR          = 0x080a,
	VMCS_GUEST_LDTR_SELECTOR        = 0x080c,
	VMCS_GUEST_TR_SELECTOR          = 0x080e,
	VMCS_HOST_ES_SELECTOR           = 0x0c00,
	VMCS_HOST_CS_SELECTOR           = 0x0c02,
	VMCS_HOST_SS_SELECTOR           = 0x0c04,
	VMCS_HOST_DS_SELECTOR           = 0x0c06,
	VMCS_HOST_FS_SELECTOR           = 0x0c08,
	VMCS_HOST_GS_SELECTOR           = 0x0c0a,
	VMCS_HOST_TR_SELECTOR           = 0x0c0c,
	/* 64-bit (B.2) */
	VMCS_IO_BITMAP_A                = 0x2000,
	VMCS_IO_BITMAP_B                = 0x2002,
	VMCS_MSR_BITMAP                 = 0x2004,
	VMCS_EPT_POINTER                = 0x201a,
	VMCS_GUEST_PHYSICAL_ADDRESS     = 0x2400,
	VMCS_LINK_POINTER               = 0x2800,
	VMCS_GUEST_IA32_DEBUGCTL        = 0x2802,
	VMCS_GUEST_IA32_EFER            = 0x2806,
	VMCS_HOST_IA32_EFER             = 0x2c02,
	/* 32-bit (B.3) */
	VMCS_PIN_BASED_CTLS             = 0x4000,
	VMCS_PROC_BASED_CTLS            = 0x4002,
	VMCS_EXCEPTION_BITMAP           = 0x4004,
	VMCS_CR3_TARGET_COUNT           = 0x400a,
	VMCS_EXIT_CTLS                  = 0x400c,
	VMCS_EXIT_MSR_STORE_COUNT       = 0x400e,
	VMCS_EXIT_MSR_LOAD_COUNT        = 0x4010,
	VMCS_ENTRY_CTLS                 = 0x4012,
	VMCS_ENTRY_MSR_LOAD_COUNT       = 0x4014,
	VMCS_ENTRY_INTR_INFO            = 0x4016,
	VMCS_ENTRY_EXCEPTION_ERROR_CODE = 0x4018,
	VMCS_ENTRY_INSTRUCTION_LEN      = 0x401a,
	VMCS_PROC_BASED_CTLS2           = 0x401e,
	VMCS_VM_INSTRUCTION_ERROR       = 0x4400,
	VMCS_EXIT_REASON                = 0x4402,
	VMCS_EXIT_INTR_INFO             = 0x4404,
	VMCS_EXIT_INTR_ERROR_CODE       = 0x4406,
	VMCS_IDT_VECTORING_INFO         = 0x4408,
	VMCS_IDT_VECTORING_ERROR_CODE   = 0x440a,
	VMCS_EXIT_INSTRUCTION_LEN       = 0x440c,
	VMCS_GUEST_ES_LIMIT             = 0x4800,
	VMCS_GUEST_GDTR_LIMIT           = 0x4810,
	VMCS_GUEST_IDTR_LIMIT           = 0x4812,
	VMCS_GUEST_ES_AR                = 0x4814,
	VMCS_GUEST_INTERRUPTIBILITY     = 0x4824,
	VMCS_GUEST_ACTIVITY_STATE       = 0x4826,
	VMCS_GUEST_SYSENTER_CS          = 0x482a,
	VMCS_PREEMPTION_TIMER_VALUE     = 0x482e,
	VMCS_HOST_SYSENTER_CS           = 0x4c00,
	/* natural width (B.4) */
	VMCS_CR0_GUEST_HOST_MASK        = 0x6000,
	VMCS_CR4_GUEST_HOST_MASK        = 0x6002,
	VMCS_CR0_READ_SHADOW            = 0x6004,
	VMCS_CR4_READ_SHADOW            = 0x6006,
	VMCS_EXIT_QUALIFICATION         = 0x6400,
	VMCS_GUEST_LINEAR_ADDRESS       = 0x640a,
	VMCS_GUEST_CR0                  = 0x6800,
	VMCS_GUEST_CR3                  = 0x6802,
	VMCS_GUEST_CR4                  = 0x6804,
	VMCS_GUEST_ES_BASE              = 0x6806,
	VMCS_GUEST_GDTR_BASE            = 0x6816,
	VMCS_GUEST_IDTR_BASE            = 0x6818,
	VMCS_GUEST_DR7                  = 0x681a,
	VMCS_GUEST_RSP                  = 0x681c,
	VMCS_GUEST_RIP                  = 0x681e,
	VMCS_GUEST_RFLAGS               = 0x6820,
	VMCS_GUEST_PENDING_DBG          = 0x6822,
	VMCS_GUEST_SYSENTER_ESP         = 0x6824,
	VMCS_GUEST_SYSENTER_EIP         = 0x6826,
	VMCS_HOST_CR0                   = 0x6c00,
	VMCS_HOST_CR3                   = 0x6c02,
	VMCS_HOST_CR4                   = 0x6c04,
	VMCS_HOST_FS_BASE               = 0x6c06,
	VMCS_HOST_GS_BASE               = 0x6c08,
	VMCS_HOST_TR_BASE               = 0x6c0a,
	VMCS_HOST_GDTR_BASE             = 0x6c0c,
	VMCS_HOST_IDTR_BASE             = 0x6c0e,
	VMCS_HOST_SYSENTER_ESP          = 0x6c10,
	VMCS_HOST_SYSENTER_EIP          = 0x6c12,
	VMCS_HOST_RSP                   = 0x6c14,
	VMCS_HOST_RIP                   = 0x6c16,
};

/*
 * The guest segment fields come in runs of eight, ES CS SS DS FS GS LDTR
 * TR, two encodings apart (B.1.2, B.3.3, B.4.3): field = ES field + 2 * n.
 */
#define VMCS_GUEST_SEG(es_field, n) ((enum vmcs_field)((es_field) + 2 * (n)))

/* Width of a field from its encoding (SDM Vol. 3C 25.11.2). */
#define VMCS_WIDTH(f) (((unsigned)(f) >> 13) & 3)
#define  VMCS_W16 0
#define  VMCS_W64 1
#define  VMCS_W32 2
#define  VMCS_WNAT 3
/* A compile error (negative array size) when `f` is not of width `w`. */
#define VMCS_CHECK_WIDTH(f, w) ((void)sizeof(char[VMCS_WIDTH(f) == (w) ? 1 : -1]))

/* ---- control bits (SDM Vol. 3C 25.6.1, 25.6.2, 25.7.1, 25.8.1) ---- */
#define PIN_EXT_INTR_EXITING (1u << 0)
#define PIN_NMI_EXITING (1u << 3)
#define PIN_PREEMPT_TIMER (1u << 6)  /* activate VMX-preemption timer (SDM 25.6.1) */

#define PROC_INTR_WINDOW_EXITING (1u << 2)
#define PROC_HLT_EXITING (1u << 7)
#define PROC_USE_IO_BITMAPS (1u << 25)
#define PROC_MONITOR_TRAP_FLAG (1u << 27)
#define PROC_USE_MSR_BITMAPS (1u << 28)
#define PROC_ACTIVATE_SECONDARY (1u << 31)

#define PROC2_ENABLE_EPT (1u << 1)
#define PROC2_ENABLE_VPID (1u << 5)
#define PROC2_UNRESTRICTED_GUEST (1u << 7)
#define PROC2_WBINVD_EXITING (1u << 6)

#define EXIT_CTL_SAVE_DEBUG_CONTROLS (1u << 2)  /* DR7, IA32_DEBUGCTL into the guest fields (SDM 25.7.1) */
#define EXIT_CTL_HOST_ADDR_SPACE_SIZE (1u << 9)
#define EXIT_CTL_SAVE_EFER (1u << 20)
#define EXIT_CTL_LOAD_EFER (1u << 21)

#define ENTRY_CTL_LOAD_DEBUG_CONTROLS (1u << 2) /* DR7, IA32_DEBUGCTL from them (SDM 25.8.1) */
#define ENTRY_CTL_IA32E_MODE_GUEST (1u << 9)
#define ENTRY_CTL_LOAD_EFER (1u << 15)

/* Interruption information, entry and exit (SDM Vol. 3C 25.8.3, 25.9.2). */
#define INTR_INFO_VECTOR(x) ((x) & 0xff)
#define INTR_INFO_TYPE(x) (((x) >> 8) & 7)
#define  INTR_TYPE_EXT_INTR 0
#define  INTR_TYPE_NMI 2
#define  INTR_TYPE_HW_EXCEPTION 3
#define  INTR_TYPE_SW_INTR 4
#define  INTR_TYPE_PRIV_SW_EXCEPTION 5
#define  INTR_TYPE_SW_EXCEPTION 6
#define INTR_INFO_DELIVER_ERROR (1u << 11)
#define INTR_INFO_VALID (1u << 31)

/* ---- basic exit reasons (SDM Vol. 3D Appendix C) ---- */
#define EXIT_REASON_BASIC(r) ((r) & 0xffff)
#define EXIT_REASON_ENTRY_FAILURE (1u << 31)
enum vmx_exit_reason {
	VMX_EXIT_EXCEPTION_NMI = 0,
	VMX_EXIT_EXT_INTERRUPT = 1,
	VMX_EXIT_TRIPLE_FAULT = 2,
	VMX_EXIT_INIT = 3,
	VMX_EXIT_SIPI = 4,
	VMX_EXIT_INTR_WINDOW = 7,
	VMX_EXIT_CPUID = 10,
	VMX_EXIT_HLT = 12,
	VMX_EXIT_INVD = 13,
	VMX_EXIT_VMCALL = 18,
	VMX_EXIT_VMCLEAR = 19,
	VMX_EXIT_VMLAUNCH = 20,
	VMX_EXIT_VMPTRLD = 21,
	VMX_EXIT_VMPTRST = 22,
	VMX_EXIT_VMREAD = 23,
	VMX_EXIT_VMRESUME = 24,
	VMX_EXIT_VMWRITE = 25,
	VMX_EXIT_VMXOFF = 26,
	VMX_EXIT_VMXON = 27,
	VMX_EXIT_CR_ACCESS = 28,
	VMX_EXIT_IO = 30,
	VMX_EXIT_RDMSR = 31,
	VMX_EXIT_WRMSR = 32,
	VMX_EXIT_INVALID_GUEST_STATE = 33,
	VMX_EXIT_MSR_LOADING = 34,
	VMX_EXIT_MONITOR_TRAP_FLAG = 37,
	VMX_EXIT_MACHINE_CHECK = 41,
	VMX_EXIT_EPT_VIOLATION = 48,
	VMX_EXIT_EPT_MISCONFIG = 49,
	VMX_EXIT_INVEPT = 50,
	VMX_EXIT_PREEMPT_TIMER = 52,
	VMX_EXIT_INVVPID = 53,
	VMX_EXIT_WBINVD = 54,
	VMX_EXIT_XSETBV = 55,
	VMX_EXIT_VMFUNC = 59,
};

/* I/O exit qualification (SDM Vol. 3C Table 28-5). */
#define IO_QUAL_SIZE(q) (((q) & 7) + 1)
#define IO_QUAL_IN (1u << 3)
#define IO_QUAL_STRING (1u << 4)
#define IO_QUAL_REP (1u << 5)
#define IO_QUAL_PORT(q) ((uint16_t)((q) >> 16))

/* Control-register access exit qualification (SDM Vol. 3C Table 28-3). */
#define CR_QUAL_CR(q) ((q) & 0xf)
#define CR_QUAL_TYPE(q) (((q) >> 4) & 3)  /* 0 MOV to CR, 1 MOV from CR, 2 CLTS, 3 LMSW */
#define CR_QUAL_GPR(q) (((q) >> 8) & 0xf)
#define CR_QUAL_LMSW_SRC(q) ((uint16_t)((q) >> 16))

/* EPT violation exit qualification (SDM Vol. 3C Table 28-7). */
#define EPT_QUAL_READ (1u << 0)
#define EPT_QUAL_WRITE (1u << 1)
#define EPT_QUAL_FETCH (1u << 2)
#define EPT_QUAL_PERMS (7u << 3)  /* the entry's R/W/X: nonzero = it was present */
#define EPT_QUAL_GLA_VALID (1u << 7)

/* ---- the VMX instructions; each returns 0 or -1 (VMfailInvalid/VMfailValid) ---- */

static inline int vmx_on(uint64_t pa)
{
	uint8_t fail;
	__asm__ volatile("vmxon %1; setbe %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	return fail ? -1 : 0;
}

static inline int vmx_clear(uint64_t pa)
{
	uint8_t fail;
	__asm__ volatile("vmclear %1; setbe %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	return fail ? -1 : 0;
}

static inline int vmx_ptrld(uint64_t pa)
{
	uint8_t fail;
	__asm__ volatile("vmptrld %1; setbe %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	return fail ? -1 : 0;
}

/* INVEPT/INVVPID descriptors are 128 bits (SDM Vol. 3C 31.3 "INVEPT", "INVVPID"). */
static inline int vmx_invept(uint64_t type, uint64_t eptp)
{
	struct { uint64_t eptp, zero; } desc = { eptp, 0 };
	uint8_t fail;
	__asm__ volatile("invept %1, %2; setbe %0" : "=qm"(fail) : "m"(desc), "r"(type)
			 : "cc", "memory");
	return fail ? -1 : 0;
}

static inline int vmx_invvpid(uint64_t type, uint16_t vpid)
{
	struct { uint64_t vpid, addr; } desc = { vpid, 0 };
	uint8_t fail;
	__asm__ volatile("invvpid %1, %2; setbe %0" : "=qm"(fail) : "m"(desc), "r"(type)
			 : "cc", "memory");
	return fail ? -1 : 0;
}

static inline uint64_t vmcs_read_raw(enum vmcs_field f)
{
	uint64_t v;
	__asm__ volatile("vmread %1, %0" : "=r"(v) : "r"((uint64_t)f) : "cc");
	return v;
}

static inline void vmcs_write_raw(enum vmcs_field f, uint64_t v)
{
	/* A failed VMWRITE means a wrong encoding or no current VMCS: a hako bug. */
	__asm__ volatile("vmwrite %1, %0" ::"r"((uint64_t)f), "r"(v) : "cc", "memory");
}

#define vmcs_read16(f) (VMCS_CHECK_WIDTH(f, VMCS_W16), (uint16_t)vmcs_read_raw(f))
#define vmcs_read32(f) (VMCS_CHECK_WIDTH(f, VMCS_W32), (uint32_t)vmcs_read_raw(f))
#define vmcs_read64(f) (VMCS_CHECK_WIDTH(f, VMCS_W64), vmcs_read_raw(f))
#define vmcs_readnat(f) (VMCS_CHECK_WIDTH(f, VMCS_WNAT), vmcs_read_raw(f))
#define vmcs_write16(f, v) (VMCS_CHECK_WIDTH(f, VMCS_W16), vmcs_write_raw(f, (uint16_t)(v)))
#define vmcs_write32(f, v) (VMCS_CHECK_WIDTH(f, VMCS_W32), vmcs_write_raw(f, (uint32_t)(v)))
#define vmcs_write64(f, v) (VMCS_CHECK_WIDTH(f, VMCS_W64), vmcs_write_raw(f, (uint64_t)(v)))
#define vmcs_writenat(f, v) (VMCS_CHECK_WIDTH(f, VMCS_WNAT), vmcs_write_raw(f, (uint64_t)(v)))

#endif
