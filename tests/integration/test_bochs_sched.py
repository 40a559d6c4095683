"""Shared guest cores (issue 14) on VT-x under Bochs 2.7 (emulated Haswell):
two guests share the one guest core of a 2-core machine and both make
progress, the slices ended by the VMX-preemption timer (`stats` counts its
exits), each keeping its own vector registers and the MSRs a VMCS does not
hold (LSTAR, KERNEL_GS_BASE) across the switches. About 2 minutes.
"""
import re
import time

import pytest

from hako import Bochs
from shell_helpers import console, ok, probe_progress


@pytest.fixture(scope="module")
def m():
    b = Bochs(model="corei7_haswell_4770", cpus=2, mem_mb=512, name="bochs-sched")
    b.start()
    b.wait_prompt()
    assert "(vmx)" in b.cmd("version")
    yield b
    b.stop()


def define(m, name, cmdline):
    ok(m, 'define %s mem=16M kernel=esp:probe.elf sched=shared cmdline="%s"' % (name, cmdline))


def progress(m, name):
    return probe_progress(m, name, 120)


def exits(m, name, kind):
    row = re.search(r"^\s+%s\s+(\d+)$" % kind, ok(m, "stats " + name), re.M)
    return int(row.group(1)) if row else 0


def test_two_shared_guests_on_one_core_both_progress(m):
    define(m, "pa", "progress=0")
    define(m, "pb", "progress=0")
    try:
        assert re.search(r"started pa on core 1$", ok(m, "start pa"), re.M)
        assert re.search(r"started pb on core 1$", ok(m, "start pb"), re.M)
        a0, b0 = progress(m, "pa"), progress(m, "pb")
        time.sleep(10)
        a1, b1 = progress(m, "pa"), progress(m, "pb")
        assert a1 > a0 and b1 > b0, (a0, a1, b0, b1)
        for name in ("pa", "pb"):
            assert exits(m, name, "preempt-timer") > 0, ok(m, "stats " + name)
            run = re.search(r"cpu: run ([\d.]+) s, wait ([\d.]+) s", ok(m, "stats " + name))
            assert float(run.group(1)) > 0 and float(run.group(2)) > 0, run.group(0)
    finally:
        for n in ("pa", "pb"):
            ok(m, "destroy " + n)
            ok(m, "undefine " + n)


def test_registers_and_msrs_stay_each_guests_own(m):
    define(m, "fa", "fpu-share=1")
    define(m, "fb", "fpu-share=2")
    try:
        ok(m, "start fa")
        ok(m, "start fb")
        for name in ("fa", "fb"):
            out = console(m, name, r"probe: fpu-share (PASS|FAIL).*\n", 300)
            assert "probe: fpu-share PASS" in out, out
        assert int(re.search(r"^core 1: shared, \d+ vCPUs, (\d+) switches", ok(m, "host"),
                             re.M).group(1)) >= 10
    finally:
        for n in ("fa", "fb"):
            ok(m, "destroy " + n)
            ok(m, "undefine " + n)
