"""Isolation between guests that use the same core one after another, and
hako's own hardening (issue 17: findings 3, 4, 5 and part of 11), on AMD-V
under QEMU TCG. The machine has 2 cores, so every guest runs on core 1.

Two processor models: `qemu64` has no XSAVE (hako switches guest state with
FXSAVE/FXRSTOR), `max` has XSAVE, XSAVEOPT and AVX (XSAVE/XRSTOR with the
guest's XCR0). QEMU 7.2's TCG does not implement the SVM XSETBV intercept (a
guest's XSETBV runs without an exit there), so the exit itself is checked on
Bochs (tests/integration/test_bochs_isolation.py, which reuses these bodies
on VT-x and on Bochs's AMD-V).
"""
import re
import time

import pytest

from hako import Qemu
from shell_helpers import console, ok, state

PROBE = "kernel=esp:probe.elf"
VBLK = "kernel=esp:vblk.elf"
CPUS = {"qemu64": "qemu64,+svm,+npt", "max": "max,+svm,+npt"}


@pytest.fixture(scope="module", params=sorted(CPUS))
def m(request):
    """One 2-core AMD-V machine per processor model: core 0 serves, core 1 runs guests."""
    q = Qemu(smp=2, mem="512M", cpu=CPUS[request.param], name="isolation-" + request.param)
    q.start()
    q.wait_prompt()
    yield q
    q.stop()


def define(m, name, cmdline, kernel=PROBE, extra=""):
    ok(m, 'define %s mem=16M %s %s cmdline="%s"' % (name, kernel, extra, cmdline))


def start_on_core_1(m, name):
    out = ok(m, "start " + name)
    assert re.search(r"started %s on core 1$" % name, out, re.M), out


def cleanup(m, *names):
    for n in names:
        if state(m, n) == "running":
            ok(m, "destroy " + n)
        ok(m, "undefine " + n)


def exits(m, name, kind):
    row = re.search(r"^\s+%s\s+(\d+)$" % kind, ok(m, "stats " + name), re.M)
    return int(row.group(1)) if row else 0


def test_fpu_state_does_not_reach_the_next_guest_on_the_core(m, xsetbv_exits=False):
    """Guest A fills XMM/YMM0-15, the x87 stack, FCW, MXCSR (and XCR0) and is
    destroyed; guest B, next on the same core, finds a processor out of reset.
    So does the first guest on the core (the first test of the module): not
    what the firmware left there either."""
    define(m, "fa", "fpu-fill")
    define(m, "fb", "fpu-zero")
    try:
        start_on_core_1(m, "fb")
        out = console(m, "fb", r"probe: fpu-zero (PASS|FAIL).*\n")
        assert "probe: fpu-zero PASS" in out, out
        ok(m, "destroy fb")
        start_on_core_1(m, "fa")
        filled = console(m, "fa", r"probe: fpu-fill .*\n")
        if xsetbv_exits and "ymm" in filled:
            assert exits(m, "fa", "xsetbv") == 1, ok(m, "stats fa")
        ok(m, "destroy fa")
        start_on_core_1(m, "fb")
        out = console(m, "fb", r"probe: fpu-zero (PASS|FAIL).*\n")
        assert "probe: fpu-zero PASS" in out, out
        assert ("ymm0-15" in out) == ("ymm0-15" in filled), (filled, out)
    finally:
        cleanup(m, "fa", "fb")


def test_fpu_state_survives_its_own_exits(m, xsetbv_exits=False):
    define(m, "fk", "fpu-keep")
    try:
        start_on_core_1(m, "fk")
        out = console(m, "fk", r"probe: fpu-keep (PASS|FAIL).*\n", timeout=120)
        assert "probe: fpu-keep PASS" in out, out
        assert exits(m, "fk", "cpuid") >= 20000 and exits(m, "fk", "port-io") >= 2000
        assert exits(m, "fk", "msr-read") == 10
        if xsetbv_exits and "ymm" in console(m, "fk", r"probe: done"):
            assert exits(m, "fk", "xsetbv") == 2, ok(m, "stats fk")
    finally:
        cleanup(m, "fk")


def test_invd_and_wbinvd_exit_and_the_guest_goes_on(m, exact_codes=False):
    """Finding 4: both are intercepted (stats counts them) and carried out as
    no-ops (vmm/exit.c says why); the guest continues after them. QEMU 7.2's
    TCG reports INVD with WBINVD's exit code (0x89; its translate.c tests
    `b & 2` for 0F 08, fixed in later QEMU), so only Bochs tells them apart."""
    define(m, "iv", "invd")
    try:
        start_on_core_1(m, "iv")
        out = console(m, "iv", r"probe: (done|.*FAIL)")
        assert "probe: invd wbinvd PASS" in out, out
        assert state(m, "iv") == "running"
        stats = ok(m, "stats iv")
        assert exits(m, "iv", "invd") + exits(m, "iv", "wbinvd") == 2, stats
        if exact_codes:
            assert exits(m, "iv", "invd") == 1 and exits(m, "iv", "wbinvd") == 1, stats
    finally:
        cleanup(m, "iv")


def disk_reads(m, name):
    row = re.search(r"disk vda \S+: (\d+) reads", ok(m, "stats " + name))
    assert row, ok(m, "stats " + name)
    return int(row.group(1))


def test_a_flooded_virtqueue_leaves_the_shell_answering(m):
    """Finding 5: a guest keeps its virtio-blk queue full of GET_ID requests
    (which complete at once) and a read, refilling it without exits; the
    device takes a budget of chains per notify, completion or service-core
    round, so the shell keeps answering and the flood keeps being served.
    Before, the service core stayed in the device for as long as the guest
    refilled the ring. QEMU's TCG gives each core long time slices, so there
    the service core drains the ring before the guest refills it and this
    passes either way; Bochs interleaves its cores finely, like real ones,
    and there the shell stalled for seconds at a time
    (tests/integration/test_bochs_isolation.py)."""
    define(m, "vf", "flood-id", kernel=VBLK, extra="disk=ram:1M")
    try:
        start_on_core_1(m, "vf")
        console(m, "vf", r"vblk: flood-id 65536 requests", timeout=120)
        reads = disk_reads(m, "vf")
        slowest = 0.0
        for _ in range(20):
            t0 = time.time()
            assert "hako" in m.cmd("version", timeout=30)
            slowest = max(slowest, time.time() - t0)
            time.sleep(0.2)
        print("slowest 'version' during the flood: %.2f s" % slowest)
        # About a second is the aim; the bound is loose (emulated, shared host):
        # with the budget the slowest answer takes 0.1 s under Bochs, without
        # it 4-7 s.
        assert slowest < 2.0, "the shell stalled %.1f s during the flood" % slowest
        assert disk_reads(m, "vf") > reads, "the flood is no longer served"
        assert state(m, "vf") == "running"
    finally:
        cleanup(m, "vf")


def test_speculation_msrs_exist_as_cpuid_says(m):
    """Finding 11: SPEC_CTRL, PRED_CMD and ARCH_CAPABILITIES work where the
    guest's CPUID enumerates them and #GP where it does not; SPEC_CTRL is the
    guest's own (it keeps what it wrote) and the next guest on the core starts
    from 0. QEMU's TCG offers none of them (the #GP half); Bochs's Tiger Lake
    offers them all (tests/integration/test_bochs_isolation.py)."""
    define(m, "sa", "spec")
    define(m, "sb", "spec")
    try:
        start_on_core_1(m, "sa")
        out = console(m, "sa", r"probe: spec (PASS|FAIL).*\n")
        assert "probe: spec PASS" in out, out
        ok(m, "destroy sa")
        start_on_core_1(m, "sb")
        out = console(m, "sb", r"probe: spec (PASS|FAIL).*\n")
        assert re.search(r"probe: spec PASS .*start=0x0+ ", out), out
    finally:
        cleanup(m, "sa", "sb")


def test_host_and_log_say_what_protects_guests_and_hako(m):
    """Finding 11: what is in use is visible. Emulators offer no IBPB, L1D
    flush or SPEC_CTRL; tests/unit/test_spec.c covers the processors that do."""
    out = ok(m, "host")
    assert re.search(r"^isolation: FPU state by (FXSAVE|XSAVE|XSAVEOPT)", out, re.M), out
    assert re.search(r"^isolation: .*IBPB between guests (on|off|unavailable)", out, re.M), out
    assert re.search(r"^hardening: stack protector on \(guard from (RDSEED|RDRAND|TSC)", out, re.M), out
    log = ok(m, "log")
    assert re.search(r"stack protector: on \(strong, global guard from \S+", log), log
    assert re.search(r"fpu: guest state switched by (FXSAVE|XSAVE|XSAVEOPT)", log), log
    assert re.search(r"spec: IBPB between guests (on|unavailable); L1D flush at VM entry ", log), log
