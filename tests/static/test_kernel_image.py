"""What the built kernel (build/kernel.elf) must and must not contain, read with
binutils: the stack protector is compiled in with hako's own global guard
(vmm/core/stack_guard.c), and no code but the FPU switch (vmm/vcpu_fpu.c)
touches x87, MMX, SSE or AVX state, so that a guest's registers can stay
loaded while hako handles its exits. Skipped when the kernel is not built."""
import os
import re
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KERNEL = os.path.join(ROOT, "build", "kernel.elf")

# The only functions allowed to execute FPU/SIMD instructions: the guest
# state switch of vmm/vcpu_fpu.c (XSAVE/XRSTOR/FXSAVE/FXRSTOR and AMD's
# FIP/FDP scrub).
FPU_FUNCTIONS = {"vcpu_fpu_arrive", "vcpu_fpu_leave"}

FPU_MNEMONIC = re.compile(r"^(f[a-z0-9]+|emms|femms|v?ldmxcsr|v?stmxcsr|xsave\w*|xrstor\w*|"
                          r"vzero\w+)$")
FPU_OPERAND = re.compile(r"%(x|y|z)mm\d+|%st\b|%st\(\d\)|%mm\d\b|%k[0-7]\b")


def need_kernel():
    if not os.path.exists(KERNEL):
        pytest.skip("build/kernel.elf is not built (make)")


def disassembly():
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", KERNEL], check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    func = None
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ <([^>]+)>:$", line)
        if m:
            func = m.group(1)
            continue
        m = re.match(r"^\s*[0-9a-f]+:\s+(\S+)\s*(.*)$", line)
        if m:
            yield func, m.group(1), m.group(2)


def test_stack_protector_is_compiled_in_with_the_global_guard():
    need_kernel()
    syms = subprocess.run(["nm", KERNEL], check=True, stdout=subprocess.PIPE,
                          universal_newlines=True).stdout
    assert re.search(r" T __stack_chk_fail$", syms, re.M), "no __stack_chk_fail in the kernel"
    assert re.search(r" [DdBb] __stack_chk_guard$", syms, re.M), "no global __stack_chk_guard"
    calls = guard_reads = tls_reads = 0
    for _, mnem, ops in disassembly():
        calls += mnem.startswith("call") and "<__stack_chk_fail>" in ops
        guard_reads += "<__stack_chk_guard>" in ops
        tls_reads += "%gs:0x28" in ops or "%fs:0x28" in ops
    # -fstack-protector-strong protects every function with a local array:
    # hundreds of them (the shell, the iSCSI initiator, lwIP).
    assert calls > 50, "only %d calls of __stack_chk_fail: is the protector off?" % calls
    assert guard_reads > 2 * 50, guard_reads
    assert tls_reads == 0, "a TLS guard (%gs:40) is read: -mstack-protector-guard=global is missing"


def test_no_fpu_or_simd_instruction_outside_the_fpu_switch():
    need_kernel()
    bad = []
    for func, mnem, ops in disassembly():
        if func in FPU_FUNCTIONS:
            continue
        if FPU_MNEMONIC.match(mnem) or FPU_OPERAND.search(ops):
            bad.append("%s: %s %s" % (func, mnem, ops))
    assert not bad, "FPU/SIMD instructions outside %s:\n%s" % (sorted(FPU_FUNCTIONS),
                                                               "\n".join(bad[:20]))


def test_the_fpu_check_sees_simd_code():
    """The checks above are not vacuous: they recognise the instructions they forbid."""
    for mnem, ops in [("movdqu", "(%rax),%xmm0"), ("vmovdqu", "%ymm3,(%rdi)"), ("fldcw", "(%rsp)"),
                      ("fxsave64", "(%rdi)"), ("xrstor64", "(%rdi)"), ("vzeroupper", ""),
                      ("fld", "%st(1)"), ("ldmxcsr", "(%rax)")]:
        assert FPU_MNEMONIC.match(mnem) or FPU_OPERAND.search(ops), (mnem, ops)
    for mnem, ops in [("mov", "%rax,%rbx"), ("xsetbv", ""), ("rep", "stos %rax,%es:(%rdi)")]:
        assert not (FPU_MNEMONIC.match(mnem) or FPU_OPERAND.search(ops)), (mnem, ops)
