#!/usr/bin/env python3
"""tests/bench_sched.py - shared guest cores on QEMU TCG (AMD-V): the time a
core takes to switch from one guest's vCPU to another's (two probe guests
sharing core 1, from `host`: the exit of one to the entry of the next,
pick, FPU and SPEC_CTRL switch included), beside the cost of one CPUID exit
round trip for scale; and the throughput of a CPU-bound guest alone on a
shared core against the same guest on a dedicated core (goal: >= 97%),
the best of three runs each, timed by the guest with the TSC. Prints,
never judges."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from hako import Qemu  # noqa: E402


def run_probe(m, name, cmdline, pattern, extra=""):
    m.cmd('define %s mem=16M kernel=esp:probe.elf %s cmdline="%s"' % (name, extra, cmdline))
    m.cmd("start " + name)
    m.send("console %s\r" % name)
    r = m.expect(pattern, 600)
    m.send(b"\x1d")
    m.expect(r"\[detached", 10)
    m.wait_prompt(10)
    m.cmd("destroy " + name)
    m.cmd("undefine " + name)
    return r


def switch_time(m):
    for name in ("sa", "sb"):
        m.cmd('define %s mem=16M kernel=esp:probe.elf sched=shared cores=1 cmdline="progress=0"'
              % name)
        m.cmd("start " + name)
    time.sleep(10)
    row = re.search(r"^core 1: shared, 2 vCPUs, (\d+) switches \((\d+) ns", m.cmd("host"), re.M)
    for name in ("sa", "sb"):
        m.cmd("destroy " + name)
        m.cmd("undefine " + name)
    return int(row.group(1)), int(row.group(2))


def loop_us(m, extra):
    r = run_probe(m, "lb", "loop-bench", r"probe: loop-bench \d+ iterations in (\d+) us", extra)
    return int(r.group(1))


def throughput(m, runs=3):
    """Best of `runs` each, dedicated and shared runs taking turns (the
    emulator's speed drifts with the host's load)."""
    ded, shr = [], []
    for _ in range(runs):
        ded.append(loop_us(m, ""))
        shr.append(loop_us(m, "sched=shared"))
    return min(ded), min(shr), ded, shr


def main():
    with Qemu(smp=3, mem="512M", cpu="max,+svm,+npt", name="bench-sched") as m:
        m.wait_prompt()
        r = run_probe(m, "cb", "cpuid-bench", r"probe: cpuid-bench (\d+) exits in (\d+) us")
        exit_ns = int(r.group(2)) * 1000 / int(r.group(1))
        n, ns = switch_time(m)
        print("sched: switch between two guests' vCPUs on one core: %.1f us (%d switches in 10 s, "
              "10 ms slices); one CPUID exit round trip: %.1f us (QEMU TCG)"
              % (ns / 1000, n, exit_ns / 1000))
        ded, shr, all_ded, all_shr = throughput(m)
        print("sched: CPU-bound guest alone on a shared core %.1f%% of a dedicated core "
              "(2^26 loop iterations: shared %d us, dedicated %d us, best of 3 taking turns; "
              "all runs %s / %s; goal >= 97%%)" % (100.0 * ded / shr, shr, ded, all_shr, all_ded))


if __name__ == "__main__":
    main()
