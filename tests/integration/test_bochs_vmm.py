"""The probe-guest test set of the AMD-V issue (tests/integration/test_svm.py),
run unchanged under Bochs 2.7 with OVMF from the same USB image (issue 4): on an
emulated Intel Haswell (VT-x, EPT, VPID, unrestricted guest) it exercises the
VMX back end; on an emulated Ryzen, the SVM back end against Bochs's VMCB
consistency checks, which are stricter than QEMU's.

The test bodies are test_svm's own: they are imported here, so pytest runs them
again with this module's `m` fixture, a 4-core Bochs machine (three guest
cores, as the QEMU set expects). Bochs runs ~110 M instructions/s; the 100
start/destroy cycles are marked slow.
"""
import re

import pytest

from hako import Bochs

import test_svm
from test_svm import (  # noqa: F401  (collected by pytest from this module)
    test_refusals_are_one_clear_error,
    test_three_guests_pattern_check_and_fourth_refused,
    test_uart_flood_does_not_stall_the_shell,
    test_virtualization_instructions_and_unknown_msr_raise_exceptions,
)
from test_trace import test_trace_shows_the_cpuid_exits_with_leaf_and_rip  # noqa: F401

MODELS = {"corei7_haswell_4770": "vmx", "ryzen": "svm"}


@pytest.fixture(scope="module", params=sorted(MODELS))
def m(request):
    """One 4-core Bochs machine per processor model, shared by the module's tests."""
    b = Bochs(model=request.param, cpus=4, mem_mb=512, name="bochs-vmm-" + request.param)
    b.start()
    b.wait_prompt()
    assert "(%s)" % MODELS[request.param] in b.cmd("version")
    yield b
    b.stop()


def test_backend_is_the_models(m):
    out = m.cmd("version")
    assert ("(vmx)" in out) == (m.model == "corei7_haswell_4770"), out


@pytest.mark.parametrize("what,reason", [
    ("beyond-read", r"read outside guest memory at GPA 0x1001000"),
    ("beyond-write", r"write outside guest memory at GPA 0x1001000"),
    ("triple", r"triple-fault"),
])
def test_misbehaviour_ends_only_its_guest(m, what, reason):
    if what == "triple" and MODELS[m.model] == "svm":
        # Bochs 2.7 does not check the SHUTDOWN intercept on a guest's triple
        # fault (bochs/cpu/exception.cc; fixed in Bochs 2.8, commit f8c94e83f
        # "add missing SVM VMEXIT in case of triple fault shutdown"): it
        # resets the whole emulated PC. Not run, or it would take the host.
        pytest.xfail("Bochs 2.7 resets the machine on an SVM guest's triple fault")
    test_svm.test_misbehaviour_ends_only_its_guest(m, what, reason)


def test_destroy_stops_guest_spinning_with_interrupts_off(m):
    if MODELS[m.model] == "svm":
        # Bochs 2.7 bug (still in its current source): VMRUN loads the guest's
        # RFLAGS (bochs/cpu/svm.cc, SvmEnterLoadCheckGuestState -> setEFlags)
        # before it sets in_svm_guest, so handleInterruptMaskChange() masks
        # physical interrupts for a guest entered with IF=0 despite
        # V_INTR_MASKING and host IF=1 (APM Vol. 2 15.21.1): the kick never
        # causes #VMEXIT(INTR). Real AMD CPUs and QEMU (test_svm.py) are fine.
        # Not run: the stuck guest would hold its core for the later tests.
        pytest.xfail("Bochs 2.7 masks INTR for SVM guests entered with IF=0")
    test_svm.test_destroy_stops_guest_spinning_with_interrupts_off(m)


@pytest.mark.slow
def test_start_destroy_cycles_return_all_memory(m):
    test_svm.test_start_destroy_cycles_return_all_memory(m)


def test_vmx_instructions_raise_ud(m):
    """VMCALL and VMXON exit on VT-x (SDM Vol. 3C 26.1.2) and hako injects #UD;
    on AMD they are undefined opcodes and fault without an exit."""
    test_svm.define(m, "vi", "vmcall vmxon")
    test_svm.ok(m, "start vi")
    test_svm.console(m, "vi", r"probe: vmcall #UD PASS")
    test_svm.console(m, "vi", r"probe: vmxon #UD PASS")
    test_svm.console(m, "vi", r"probe: done")
    assert test_svm.state(m, "vi") == "running"
    if MODELS[m.model] == "vmx":
        stats = m.cmd("stats vi")
        assert re.search(r"^\s+virt-insn\s+2$", stats, re.M), stats
    test_svm.cleanup(m, "vi")
