"""The isolation tests of tests/integration/test_isolation.py under Bochs 2.7:
on an emulated Haswell (VT-x: XSETBV and INVD always exit, XSAVEOPT, AVX), an
emulated Ryzen (AMD-V with the XSETBV, INVD and WBINVD intercepts that QEMU's
TCG lacks or mislabels, XSAVE, AVX) and an emulated Tiger Lake (VT-x with
IBRS/IBPB, SSBD, ARCH_CAPABILITIES and AVX-512). Two cores, so guests run one after
another on core 1. The test bodies are test_isolation's, asked for the
stricter checks these processors allow (an xsetbv exit per XSETBV, INVD and
WBINVD told apart).
"""
import pytest

from hako import Bochs

import test_isolation

# Tiger Lake: Bochs's side-channel mitigations (IBRS/IBPB, STIBP, SSBD,
# ARCH_CAPABILITIES) and AVX-512, so IBPB between guests and SPEC_CTRL run.
MODELS = {"corei7_haswell_4770": "vmx", "ryzen": "svm", "tigerlake": "vmx"}


@pytest.fixture(scope="module", params=sorted(MODELS))
def m(request):
    b = Bochs(model=request.param, cpus=2, mem_mb=512, name="bochs-isolation-" + request.param)
    b.start()
    b.wait_prompt()
    assert "(%s)" % MODELS[request.param] in b.cmd("version")
    yield b
    b.stop()


def test_fpu_state_does_not_reach_the_next_guest_on_the_core(m):
    test_isolation.test_fpu_state_does_not_reach_the_next_guest_on_the_core(m, xsetbv_exits=True)


def test_fpu_state_survives_its_own_exits(m):
    test_isolation.test_fpu_state_survives_its_own_exits(m, xsetbv_exits=True)


def test_invd_and_wbinvd_exit_and_the_guest_goes_on(m):
    test_isolation.test_invd_and_wbinvd_exit_and_the_guest_goes_on(m, exact_codes=True)


def test_a_flooded_virtqueue_leaves_the_shell_answering(m):
    """Bochs interleaves its emulated cores a few instructions at a time, so
    the flooding guest refills its queue while hako's service core empties it,
    as two real cores would: without the budget the service core never left
    the device (under QEMU's TCG it drains the queue within its time slice)."""
    test_isolation.test_a_flooded_virtqueue_leaves_the_shell_answering(m)


def test_speculation_msrs_exist_as_cpuid_says(m):
    test_isolation.test_speculation_msrs_exist_as_cpuid_says(m)
    if m.model == "tigerlake":
        out = test_isolation.ok(m, "host")
        assert "IBPB between guests on" in out and "SPEC_CTRL the guest's own" in out, out


def test_host_and_log_say_what_protects_guests_and_hako(m):
    test_isolation.test_host_and_log_say_what_protects_guests_and_hako(m)
