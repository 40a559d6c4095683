/*
 * vmm/vmx/ctls.h - portable VMX arithmetic: fitting VM-execution, exit
 * and entry controls to what the processor allows (SDM Vol. 3D A.3-A.5),
 * the CR0/CR4 fixed bits (A.7, A.8), and converting segment attributes
 * between hako's neutral packed form and VMX access rights (SDM Vol. 3C
 * 25.4.1, Table 25-2). No hardware headers: unit-tested natively.
 */
#ifndef HAKO_VMX_CTLS_H
#define HAKO_VMX_CTLS_H

#include <stdint.h>

/*
 * Fits a control to its capability MSR: bits 31:0 are the allowed
 * 0-settings (a 1 there means the bit must be 1), bits 63:32 the allowed
 * 1-settings (a 0 there means the bit must be 0). Sets *out to `want`
 * plus the must-be-one bits. Returns 0, or -ENOTSUP when a bit of `want`
 * may not be 1 (*out then names only what is allowed).
 */
int vmx_fit_ctl(uint64_t cap, uint32_t want, uint32_t *out);

/*
 * A control register value the processor accepts in VMX operation:
 * every bit set in `fixed0` set, every bit clear in `fixed1` cleared
 * (IA32_VMX_CR0_FIXED0/1, CR4_FIXED0/1; SDM Vol. 3D A.7, A.8). `exempt`
 * bits keep their value (CR0.PE and PG for an unrestricted guest).
 */
uint64_t vmx_fix_cr(uint64_t val, uint64_t fixed0, uint64_t fixed1, uint64_t exempt);

/* VMX access rights bit 16: the segment is unusable (SDM Vol. 3C 25.4.1). */
#define VMX_AR_UNUSABLE (1u << 16)

/*
 * Neutral attributes (vmm/vcpu.h: bits 0-7 type/S/DPL/P, 8-11
 * AVL/L/DB/G) to VMX access rights (same low byte, the upper four at
 * 12-15) and back. A not-present segment becomes unusable.
 */
uint32_t vmx_ar_from_attr(uint16_t attr);
uint16_t vmx_attr_from_ar(uint32_t ar);

#endif
