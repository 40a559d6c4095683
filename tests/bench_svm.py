#!/usr/bin/env python3
"""tests/bench_svm.py - CPUID exits per second inside an AMD-V guest on QEMU
TCG: the probe guest runs 1,000,000 CPUIDs timed with the TSC (its
frequency from hako's CPUID leaf 0x40000010). Prints, never judges."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from hako import Qemu  # noqa: E402


def main():
    with Qemu(smp=2, mem="1G", cpu="qemu64,+svm,+npt", name="bench-svm") as m:
        m.wait_prompt()
        m.cmd('define bench mem=8M kernel=esp:probe.elf cmdline="cpuid-bench"')
        out = m.cmd("start bench")
        if "error:" in out:
            print("svm: cpuid exits: not measured (%s)" % out.strip())
            return
        m.send("console bench\r")
        r = m.expect(r"probe: cpuid-bench (\d+) exits in (\d+) us: (\d+) exits/s", 300)
        m.send(b"\x1d")
        print("svm: CPUID exits: %s exits/s (%s in %.2f s; QEMU TCG, qemu64,+svm,+npt)"
              % (r.group(3), r.group(1), int(r.group(2)) / 1e6))


if __name__ == "__main__":
    main()
