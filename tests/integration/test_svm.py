"""AMD-V back end and guest lifecycle (issue 3), through the serial shell on
QEMU TCG with -cpu qemu64,+svm,+npt -smp 4 -m 1G: guests on cores 1-3 in their
own memory, misbehaving guests end alone with a reason, destroy always works,
and start/destroy cycles return every byte."""
import re
import time

import pytest

from hako import Qemu
from shell_helpers import console, ok, state

PROBE = "kernel=esp:probe.elf"


@pytest.fixture(scope="module")
def m():
    """One 4-core AMD-V machine shared by the tests of this module."""
    q = Qemu(smp=4, mem="1G", cpu="qemu64,+svm,+npt", name="svm")
    q.start()
    q.wait_prompt()
    yield q
    q.stop()


def define(m, name, cmdline, mem="16M"):
    ok(m, 'define %s mem=%s %s cmdline="%s"' % (name, mem, PROBE, cmdline))


def wait_state(m, name, want, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if state(m, name) == want:
            return
        time.sleep(0.5)
    pytest.fail("%s did not become %s; list:\n%s" % (name, want, m.cmd("list")))


def free_cores(m):
    return int(re.search(r"(\d+) free for guests", m.cmd("host")).group(1))


def free_mem(m):
    return re.search(r"^memory: (.*)$", m.cmd("host"), re.M).group(1)


def cleanup(m, *names):
    for n in names:
        if state(m, n) == "running":
            ok(m, "destroy " + n)
        ok(m, "undefine " + n)


def test_three_guests_pattern_check_and_fourth_refused(m):
    names = ["p1", "p2", "p3"]
    for n in names:
        define(m, n, "report pattern", mem="64M")
    cores = set()
    for n in names:
        cores.add(re.search(r"started %s on core (\d+)" % n, ok(m, "start " + n)).group(1))
    assert cores == {"1", "2", "3"}
    for n in names:
        console(m, n, r"probe: vendor=\S+ hypervisor=hakohakohako hv-bit=1 vmx=0 svm=0 mem=64M")
        console(m, n, r"probe: pattern PASS \d+ MiB")
    define(m, "p4", "report")
    out = m.cmd("start p4")
    assert re.search(r"^error: not enough free cores", out, re.M), out
    assert state(m, "p4") == "stopped"
    stats = m.cmd("stats p1")
    assert re.search(r"^\s+cpuid\s+\d+", stats, re.M) and re.search(r"port-io\s+\d+", stats), stats
    cleanup(m, *names, "p4")
    assert free_cores(m) == 3


def test_virtualization_instructions_and_unknown_msr_raise_exceptions(m):
    define(m, "ud", "vmrun vmmcall msr")
    ok(m, "start ud")
    console(m, "ud", r"probe: vmrun #UD PASS")
    console(m, "ud", r"probe: vmmcall #UD PASS")
    console(m, "ud", r"probe: msr #GP PASS")
    console(m, "ud", r"probe: done")
    assert state(m, "ud") == "running"
    cleanup(m, "ud")


@pytest.mark.parametrize("what,reason", [
    ("beyond-read", r"read outside guest memory at GPA 0x1001000"),
    ("beyond-write", r"write outside guest memory at GPA 0x1001000"),
    ("triple", r"triple-fault"),
])
def test_misbehaviour_ends_only_its_guest(m, what, reason):
    define(m, "good", "report count=1000")
    ok(m, "start good")
    console(m, "good", r"probe: counted to 1000")
    define(m, "bad", what)
    ok(m, "start bad")
    wait_state(m, "bad", "crashed")
    assert re.search(r"^bad\s+crashed.*%s" % reason, m.cmd("list"), re.M)
    show = m.cmd("show bad")
    assert "state=crashed" in show and re.search(r"^reason=.*%s" % reason, show, re.M), show
    assert state(m, "good") == "running"
    assert free_cores(m) == 2  # the crashed guest's core is back
    cleanup(m, "good", "bad")


def test_destroy_stops_guest_spinning_with_interrupts_off(m):
    define(m, "spin", "spin")
    ok(m, "start spin")
    console(m, "spin", r"probe: spinning with interrupts off")
    # Generous timeout: "destroy works at all", not a speed target.
    assert "destroyed spin" in ok(m, "destroy spin", timeout=60)
    assert state(m, "spin") == "stopped"
    assert free_cores(m) == 3
    cleanup(m, "spin")


def port_io_exits(m, name):
    stats = ok(m, "stats %s" % name)
    row = re.search(r"port-io\s+(\d+)", stats)
    return int(row.group(1)) if row else 0  # no such exit yet


def test_uart_flood_does_not_stall_the_shell(m):
    define(m, "flood", "flood")
    ok(m, "start flood")
    try:
        # The shell keeps answering while the guest floods its UART (each
        # command must come back; the timeout only means "not stalled").
        deadline = time.time() + 120
        while port_io_exits(m, "flood") < 5000:
            assert "flood" in ok(m, "list", timeout=30)
            assert time.time() < deadline, "the flood guest made no progress"
        console(m, "flood", r"flood flood", timeout=30)
        assert "flood" in ok(m, "list", timeout=30)
    finally:
        cleanup(m, "flood")


def test_start_destroy_cycles_return_all_memory(m):
    define(m, "cyc", "report", mem="4M")
    try:
        cores_before = free_cores(m)
        ok(m, "start cyc")  # the first start may settle one-time state
        ok(m, "destroy cyc")
        before = free_mem(m)
        for _ in range(100):
            ok(m, "start cyc")
            ok(m, "destroy cyc")
        assert free_mem(m) == before
        assert free_cores(m) == cores_before == 3
    finally:
        cleanup(m, "cyc")


def test_refusals_are_one_clear_error(m):
    cases = {
        "start nosuch": r"error: unknown guest 'nosuch'",
        "define 9bad": r"error: bad name",
        "define x1 mem=3M": r"error: bad size",
        "define x1 cpus=0": r"error: cpus must be",
        "define x1 bogus": r"error: malformed 'bogus'",
        "define x1 color=red": r"error: unknown key 'color'",
    }
    for line, want in cases.items():
        out = m.cmd(line)
        assert re.search(r"^" + want, out, re.M), "%s -> %r" % (line, out)
    ok(m, "define nok kernel=esp:missing.elf")
    assert re.search(r"^error: kernel file 'missing.elf' is not on the boot medium",
                     m.cmd("start nok"), re.M)
    define(m, "run1", "report")
    ok(m, "start run1")
    assert m.cmd("set run1 cpus=2").strip().startswith("error: guest 'run1' is running")
    assert m.cmd("undefine run1").strip().startswith("error: guest 'run1' is running")
    assert re.match(r"define run1 cpus=1 mem=16M kernel=esp:probe.elf cmdline=\"report\" "
                    r"instance-id=[0-9a-f]{16}\nstate=running",
                    m.cmd("show run1").strip())
    cleanup(m, "run1", "nok")
