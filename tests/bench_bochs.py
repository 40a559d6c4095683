#!/usr/bin/env python3
"""tests/bench_bochs.py - CPUID exits per second inside a guest under Bochs 2.7,
for both back ends on the same emulator: VMX on an emulated Haswell and SVM on
an emulated Ryzen. The probe guest runs 1,000,000 CPUIDs timed with the TSC
(its frequency from hako's CPUID leaf 0x40000010); with `clock: sync=none`
Bochs's TSC follows emulated instructions, so the figure is in emulated time.
The wall-clock rate of the same run is printed beside it. Prints, never judges."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from hako import Bochs  # noqa: E402

MODELS = (("vmx", "corei7_haswell_4770"), ("svm", "ryzen"))


def measure(backend, model):
    with Bochs(model=model, cpus=2, mem_mb=512, name="bench-bochs-" + backend) as m:
        m.wait_prompt()
        m.cmd('define bench mem=8M kernel=esp:probe.elf cmdline="cpuid-bench"')
        out = m.cmd("start bench")
        if "error:" in out:
            print("%s: CPUID exits under Bochs: not measured (%s)" % (backend, out.strip()))
            return
        t0 = time.time()
        m.send("console bench\r")
        r = m.expect(r"probe: cpuid-bench (\d+) exits in (\d+) us: (\d+) exits/s", 600)
        wall = time.time() - t0
        m.send(b"\x1d")
        print("%s: CPUID exits under Bochs: %s exits/s emulated (%s in %.2f s of guest TSC), "
              "%.0f exits/s wall clock (Bochs 2.7, model=%s)"
              % (backend, r.group(3), r.group(1), int(r.group(2)) / 1e6,
                 int(r.group(1)) / wall, model))
        sys.stdout.flush()


def main():
    for backend, model in MODELS:
        measure(backend, model)


if __name__ == "__main__":
    main()
