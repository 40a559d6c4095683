"""Guest memory handed out already zeroed (issue 18): a guest writes a pattern
over all its memory and is destroyed; the next guest, which gets the same
2 MiB chunks, reads all of its memory and finds zeros. Once with the idle
scrubber (the default, scrub=idle: a free core zeroes the chunks, `start`
takes them zeroed) and once with scrub=start (`start` zeroes the dirty chunks
itself; the pool's memory goes back to hako when it runs short), plus the
bad values of both hako.cfg keys. AMD-V under QEMU TCG,
2 cores: core 1 runs the guests and, while free, scrubs.
"""
import os
import re
import time

import pytest

from hako import BUILD, Qemu, make_image
from shell_helpers import console, ok

PROBE = os.path.join(BUILD, "guests", "probe.elf")
MIB = 128


def scrub_line(m):
    line = re.search(r"^scrub: (.*)$", m.cmd("host"), re.M)
    assert line, m.cmd("host")
    return line.group(1)


def zeroed_by_start(m, name):
    row = re.search(r"^\s+memory (\d+) MiB, (\d+) MiB of it zeroed by start", ok(m, "stats " + name),
                    re.M)
    assert row, ok(m, "stats " + name)
    return int(row.group(2))


def define_both(m):
    ok(m, 'define a mem=%dM kernel=esp:probe.elf cmdline="pattern"' % MIB)
    ok(m, 'define b mem=%dM kernel=esp:probe.elf cmdline="zero"' % MIB)


def pattern_then_destroy(m):
    """Guest a writes (and verifies) its pattern over all its memory, then is destroyed."""
    ok(m, "start a")
    out = console(m, "a", r"probe: pattern (PASS|FAIL).*\n")
    assert "probe: pattern PASS" in out, out
    zeroed = zeroed_by_start(m, "a")
    ok(m, "destroy a")
    return zeroed


def next_guest_reads_zeros(m):
    ok(m, "start b")
    out = console(m, "b", r"probe: zero (PASS|FAIL).*\n")
    assert "probe: zero PASS %d MiB" % (MIB - 2) in out, out
    return zeroed_by_start(m, "b")


def cleanup(m):
    ok(m, "destroy b")
    ok(m, "undefine a")
    ok(m, "undefine b")


def machine(cfg, name):
    img = make_image(os.path.join(BUILD, "test-%s.img" % name), cfg, [PROBE])
    q = Qemu(smp=2, mem="512M", cpu="max", name=name, image=img)
    q.start()
    q.wait_prompt()
    return q, img


def test_idle_cores_scrub_a_destroyed_guests_memory_before_the_next_guest():
    q, img = machine("scrub_ahead=64M\n", "scrub-idle")
    try:
        # nothing defined: nothing is zeroed ahead
        assert scrub_line(q).startswith("on idle cores, 0 MiB zeroed and ready (0 MiB wanted: "
                                        "the largest stopped guest, at most scrub_ahead=64M)")
        # a free core zeroes never-used memory ahead for the largest stopped
        # guest (128M), up to scrub_ahead
        define_both(q)
        deadline = time.time() + 60
        while not scrub_line(q).startswith("on idle cores, 64 MiB zeroed and ready (64 MiB wanted"):
            assert time.time() < deadline, scrub_line(q)
            time.sleep(0.5)
        assert pattern_then_destroy(q) == MIB - 64   # start zeroed only what was not ahead
        # the 128 MiB guest a gave back are scrubbed in the background
        deadline = time.time() + 60
        while True:
            got = re.match(r"on idle cores, (\d+) MiB zeroed and ready .*, (\d+) MiB to scrub, "
                           r"(\d+) MiB scrubbed since boot", scrub_line(q))
            assert got, scrub_line(q)
            if int(got.group(2)) == 0 and int(got.group(1)) >= MIB:
                break
            assert time.time() < deadline, scrub_line(q)
            time.sleep(0.5)
        assert int(got.group(3)) >= MIB + 64
        # b gets a's chunks (last scrubbed, first handed out), all zeroed ahead
        assert next_guest_reads_zeros(q) == 0
        assert "free for guests" in ok(q, "host")
        cleanup(q)
    finally:
        q.stop()
        os.unlink(img)


def test_with_scrub_start_start_zeroes_what_guests_gave_back_and_hako_takes_it_back_when_short():
    q, img = machine("scrub=start\nscrub_ahead=1G\n", "scrub-start")
    try:
        assert scrub_line(q) == "by start (scrub=start), 0 MiB given back by guests to zero"
        before = re.search(r"^memory: (.*)$", q.cmd("host"), re.M).group(1)
        define_both(q)
        assert pattern_then_destroy(q) == MIB
        time.sleep(2)  # nobody scrubs in the background: the chunks stay dirty
        assert scrub_line(q) == "by start (scrub=start), %d MiB given back by guests to zero" % MIB
        assert re.search(r"^memory: (.*)$", q.cmd("host"), re.M).group(1) == before
        assert next_guest_reads_zeros(q) == MIB
        assert scrub_line(q) == "by start (scrub=start), 0 MiB given back by guests to zero"
        cleanup(q)
        # memory waiting in the pool is free memory: a 400 MiB memory disk
        # takes it back when the allocator alone is short (about 350 MiB)
        ok(q, 'define a mem=%dM kernel=esp:probe.elf cmdline="pattern"' % MIB)
        pattern_then_destroy(q)
        assert scrub_line(q) == "by start (scrub=start), %d MiB given back by guests to zero" % MIB
        ok(q, 'define r mem=16M kernel=esp:probe.elf disk=ram:400M cmdline="report"')
        ok(q, "start r")
        console(q, "r", r"probe: vendor=.* mem=16M")
        assert scrub_line(q) == "by start (scrub=start), 0 MiB given back by guests to zero"
        ok(q, "destroy r")
        ok(q, "undefine r")
        ok(q, "undefine a")
        assert re.search(r"^memory: (.*)$", q.cmd("host"), re.M).group(1) == before
    finally:
        q.stop()
        os.unlink(img)


def test_bad_scrub_keys_are_reported_and_the_default_kept():
    q, img = machine("scrub=sometimes\nscrub_ahead=lots\n", "scrub-bad")
    try:
        log = q.cmd("log")
        assert "hako.cfg:1: scrub must be idle (idle cores zero freed memory) or start (line ignored)" in log, log
        assert "hako.cfg:2: expected a size like 512M or 4G (line ignored)" in log, log
        assert scrub_line(q).startswith("on idle cores, ")
        assert "at most scrub_ahead=256M)" in scrub_line(q)
    finally:
        q.stop()
        os.unlink(img)
