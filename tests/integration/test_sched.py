"""Shared guest cores (issue 14) on AMD-V under QEMU TCG, with the probe
guest: a 3-core machine, core 0 serves, cores 1 and 2 run guests.

Shares are measured by hako's own accounting (`stats`: run, wait, halted
per guest) and by the guests' own counters (`progress=0` prints a line per
fixed unit of work). The Linux side (six guests on two cores, weights, a
spinning probe beside `sleep 5`, an SMP guest) is test_sched_linux.py.
"""
import os
import re
import time

import pytest

from hako import BUILD, Qemu, make_image
from shell_helpers import console, ok, probe_progress, state

PROBE = "kernel=esp:probe.elf"


@pytest.fixture(scope="module")
def m():
    q = Qemu(smp=3, mem="512M", cpu="max,+svm,+npt", name="sched")
    q.start()
    q.wait_prompt()
    yield q
    q.stop()


def define(m, name, cmdline, extra=""):
    ok(m, 'define %s mem=16M %s %s cmdline="%s"' % (name, PROBE, extra, cmdline))


def cleanup(m, *names):
    for n in names:
        if n in m.cmd("list") and state(m, n) == "running":
            ok(m, "destroy " + n)
        if re.search(r"^%s\s" % n, m.cmd("list"), re.M):
            ok(m, "undefine " + n)


def cpu_times(m, name):
    """(run, wait, halted) seconds of NAME from `stats`."""
    out = ok(m, "stats " + name)
    row = re.search(r"^\s+cpu: run ([\d.]+) s, wait ([\d.]+) s, halted ([\d.]+) s$", out, re.M)
    assert row, out
    return tuple(float(x) for x in row.groups())


def progress(m, name):
    return probe_progress(m, name, 60)


def test_bad_input_is_refused_and_changes_nothing(m):
    define(m, "bad", "report", "sched=shared cores=1")
    try:
        before = ok(m, "show bad")
        for word, why in (("weight=0", "weight must be a number from 1 to 10000"),
                          ("weight=10001", "weight must be"),
                          ("cores=0", "core 0 is the service core"),
                          ("cores=1-3", "there is no core 3"),
                          ("cores=9", "there is no core 9"),
                          ("sched=fair", "sched must be dedicated or shared")):
            out = m.cmd("set bad " + word)
            assert re.search(r"^error: .*%s" % re.escape(why), out, re.M), (word, out)
            out = m.cmd("define bad2 %s %s" % (PROBE, word))
            assert re.search(r"^error: ", out, re.M), out
        assert ok(m, "show bad") == before
        assert "bad2" not in m.cmd("list")
        ok(m, "set bad cmdline=\"progress=0\"")
        assert re.search(r"started bad on core 1$", ok(m, "start bad"), re.M)
        out = m.cmd("set bad sched=dedicated")
        assert re.search(r"^error: guest 'bad' is running", out, re.M), out
        assert "sched=shared" in ok(m, "show bad")
        assert "state=running" in ok(m, "show bad")
    finally:
        cleanup(m, "bad", "bad2")


def test_two_guests_on_one_core_keep_their_registers(m):
    """Two guests share core 1, each with its own pattern in XMM/YMM0-15 and
    no exits of its own while it spins: only the slices' end switches them,
    and each finds its own registers every time (the FPU switch of a core
    that changes guests, vmm/vcpu_fpu.c). `host` shows the run queue."""
    define(m, "fa", "fpu-share=1", "sched=shared cores=1")
    define(m, "fb", "fpu-share=2", "sched=shared cores=1")
    try:
        assert re.search(r"started fa on core 1$", ok(m, "start fa"), re.M)
        assert re.search(r"started fb on core 1$", ok(m, "start fb"), re.M)
        host = ok(m, "host")
        assert re.search(r"^scheduling: time slice 10 ms; shared cores: 1$", host, re.M), host
        assert re.search(r"^core 1: shared, 2 vCPUs, .* fa/0\(w100,\w+\) fb/0\(w100,\w+\)", host,
                         re.M), host
        assert re.search(r"^cores: 3 total, 1 service, 1 free for guests$", host, re.M), host
        for name in ("fa", "fb"):
            out = console(m, name, r"probe: fpu-share (PASS|FAIL).*\n", 120)
            assert "probe: fpu-share PASS" in out, out
        sw = int(re.search(r"^core 1: shared, \d+ vCPUs, (\d+) switches", ok(m, "host"),
                           re.M).group(1))
        assert sw >= 10, ok(m, "host")
        for name in ("fa", "fb"):
            run, wait, halted = cpu_times(m, name)
            assert run > 1 and wait > 0.5, (name, run, wait, halted)
    finally:
        cleanup(m, "fa", "fb")


def shares(m, a, b, seconds):
    """What guests a and b got over `seconds`: their run times by hako's
    accounting, read at one moment each time, and their own counters, read
    in the same order both times (so the two windows have the same length)."""
    pa, pb = progress(m, a), progress(m, b)
    ra, rb = cpu_times(m, a)[0], cpu_times(m, b)[0]
    time.sleep(seconds)
    ra, rb = cpu_times(m, a)[0] - ra, cpu_times(m, b)[0] - rb
    pa, pb = progress(m, a) - pa, progress(m, b) - pb
    return (ra, rb), (pa, pb)


def test_weights_share_a_core_in_proportion(m):
    """weight=200 against weight=100 on one core: twice the CPU time within
    1.6-2.4, by hako's accounting and by the guests' own work counters."""
    define(m, "w2", "progress=0", "sched=shared weight=200 cores=2")
    define(m, "w1", "progress=0", "sched=shared cores=2")
    try:
        ok(m, "start w2")
        ok(m, "start w1")
        time.sleep(3)
        (r2, r1), (p2, p1) = shares(m, "w2", "w1", 12)
        assert 1.6 <= r2 / r1 <= 2.4, (r2, r1)
        assert p1 > 0 and 1.6 <= p2 / p1 <= 2.4, (p2, p1)
    finally:
        cleanup(m, "w2", "w1")


def test_weight_changes_while_guests_run(m):
    """`set NAME weight=N` of a running guest takes effect at once (as
    `xl sched-credit2 -w` does): two guests of weight 100 share core 2
    evenly, then 300:100 gives three times the CPU within 2.4-3.6, by hako's
    accounting and by the guests' own counters. Any other key, or a bad
    weight, is still refused while it runs, and nothing changes."""
    define(m, "wa", "progress=0", "sched=shared cores=2")
    define(m, "wb", "progress=0", "sched=shared cores=2")
    try:
        ok(m, "start wa")
        ok(m, "start wb")
        time.sleep(2)
        ra, rb = cpu_times(m, "wa")[0], cpu_times(m, "wb")[0]
        time.sleep(4)
        ra, rb = cpu_times(m, "wa")[0] - ra, cpu_times(m, "wb")[0] - rb
        assert 0.75 <= ra / rb <= 1.33, (ra, rb)
        for word, why in (("weight=300 mem=32M", "guest 'wa' is running; destroy it first"),
                          ("cmdline=\"report\"", "guest 'wa' is running; destroy it first"),
                          ("weight=0", "weight must be a number from 1 to 10000")):
            out = m.cmd("set wa " + word)
            assert re.search(r"^error: .*%s" % re.escape(why), out, re.M), (word, out)
        assert "weight=" not in ok(m, "show wa")
        ok(m, "set wa weight=300")
        assert re.search(r"^  sched shared, weight 300, cores 2$", ok(m, "stats wa"), re.M)
        assert re.search(r" wa/0\(w300,\w+\)", ok(m, "host"))
        assert "weight=300" in ok(m, "show wa") and "mem=16M" in ok(m, "show wa")
        time.sleep(1)
        (ra, rb), (pa, pb) = shares(m, "wa", "wb", 10)
        assert 2.4 <= ra / rb <= 3.6, (ra, rb)
        assert pb > 0 and 2.4 <= pa / pb <= 3.6, (pa, pb)
    finally:
        cleanup(m, "wa", "wb")


def test_a_guest_alone_on_its_core_owes_nothing(m):
    """A guest that had core 2 to itself for a while (spinning with
    interrupts off, without a single exit) and one that arrives then share
    the core evenly from the start: time run while nobody else wanted the
    core is no debt to pay back by waiting (the newcomer starts at the
    core's virtual time, which follows a vCPU running alone)."""
    define(m, "al", "spin", "sched=shared cores=2")
    define(m, "nb", "progress=0", "sched=shared cores=2")
    try:
        ok(m, "start al")
        time.sleep(6)
        ok(m, "start nb")
        ra, rb = cpu_times(m, "al")[0], cpu_times(m, "nb")[0]
        time.sleep(4)
        ra, rb = cpu_times(m, "al")[0] - ra, cpu_times(m, "nb")[0] - rb
        assert 0.6 <= ra / rb <= 1.6, (ra, rb)
    finally:
        cleanup(m, "al", "nb")


def test_dedicated_core_runs_nobody_else(m):
    """A dedicated guest beside shared ones: its core is its own (the shared
    guests go to the other core, even when cores= would allow its core), it
    never waits, and shared guests that may only use its core cannot start;
    with every core taken, a dedicated guest is refused."""
    define(m, "ded", "progress=0")
    define(m, "s1", "progress=0", "sched=shared")
    define(m, "s2", "progress=0", "sched=shared cores=1-2")
    try:
        out = ok(m, "start ded")
        core = int(re.search(r"started ded on core (\d)$", out, re.M).group(1))
        # read at once: its accounting is RUNNING from the start, even
        # before its core has taken it up (a zeroed entry read "waiting")
        assert cpu_times(m, "ded")[1] == 0, ok(m, "stats ded")
        other = 3 - core
        assert re.search(r"started s1 on core %d$" % other, ok(m, "start s1"), re.M)
        assert re.search(r"started s2 on core %d$" % other, ok(m, "start s2"), re.M)
        define(m, "s3", "progress=0", "sched=shared cores=%d" % core)
        out = m.cmd("start s3")
        assert re.search(r"^error: no core to share for 's3'", out, re.M), out
        define(m, "d2", "progress=0")
        out = m.cmd("start d2")
        assert re.search(r"^error: not enough free cores: 'd2' needs 1, 0 free", out, re.M), out
        time.sleep(5)
        run, wait, halted = cpu_times(m, "ded")
        assert run > 4 and wait == 0, (run, wait, halted)
        host = ok(m, "host")
        assert re.search(r"shared cores: %d$" % other, host, re.M), host
        assert not re.search(r"^core %d:" % core, host, re.M), host
        for name in ("s1", "s2"):
            assert cpu_times(m, name)[1] > 1, ok(m, "stats " + name)
        stats = ok(m, "stats ded")
        assert re.search(r"vcpu0 on core %d \(running\)" % core, stats), stats
    finally:
        cleanup(m, "ded", "s1", "s2", "s3", "d2")


def test_timeslice_in_hako_cfg():
    """hako.cfg's timeslice= sets the slice; a bad value is reported with its
    line and the default stays."""
    for cfg, want, problem in (("timeslice=3\n", 3, None),
                               ("timeslice=0\n", 10, "timeslice is a number of milliseconds")):
        img = make_image(os.path.join(BUILD, "test-sched-cfg.img"), cfg)
        with Qemu(smp=2, mem="256M", image=img, name="sched-cfg") as q:
            q.wait_prompt()
            host = ok(q, "host")
            assert re.search(r"^scheduling: time slice %d ms; shared cores: none$" % want, host,
                             re.M), host
            if problem:
                assert problem in q.cmd("log"), q.cmd("log")
