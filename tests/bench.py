#!/usr/bin/env python3
"""tests/bench.py - `make bench`: hako's figures. Prints, never judges.

Runs each tests/bench_*.py after its own boot figures:
  - ms from the kernel's first instruction to the first prompt (TSC)
  - size of hako's binaries (loader + kernel as loaded)
  - memory hako keeps for itself after boot
"""
import glob
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from hako import BUILD, Qemu, make_image  # noqa: E402

TARGETS = {"boot_ms": 100, "image_kib": 1024, "own_mib": 16}


def kernel_sizes():
    """(bytes the ELF's loadable segments carry, bytes they occupy in memory with .bss)."""
    out = subprocess.run(["readelf", "-lW", os.path.join(BUILD, "kernel.elf")],
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    filesz = memsz = 0
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            filesz += int(f[4], 16)
            memsz += int(f[5], 16)
    return filesz, memsz


def boot_figures(runs=3):
    """On an image with hako alone: `host` counts the files the loader read from
    the stick (guest kernels, disk images) as hako's, and they are not its own."""
    figures = []
    with open(os.path.join(BUILD, "..", "tools", "hako.cfg.default")) as f:
        img = make_image(os.path.join(BUILD, "bench-boot.img"), f.read())
    for i in range(runs):
        with Qemu(smp=4, mem="1G", image=img, name="bench-boot-%d" % i) as m:
            m.wait_prompt()
            out = m.cmd("host")
            ms = int(re.search(r"boot: (\d+) ms", out).group(1))
            own = int(re.search(r"(\d+) KiB used by hako", out).group(1))
            figures.append((ms, own))
    return figures


def main():
    figs = boot_figures()
    ms = sorted(f[0] for f in figs)
    own_kib = figs[0][1]
    efi = os.path.getsize(os.path.join(BUILD, "BOOTX64.EFI"))
    kern_file, kern_mem = kernel_sizes()
    print("boot: kernel entry to prompt: %s ms (median %d ms; target < %d ms; QEMU TCG, 4 cores, 1 GiB)"
          % (", ".join(map(str, ms)), ms[len(ms) // 2], TARGETS["boot_ms"]))
    print("size: BOOTX64.EFI %d KiB + kernel code and data %d KiB = %d KiB (target < %d KiB); "
          "the kernel occupies %d KiB in memory with .bss"
          % (efi // 1024, kern_file // 1024, (efi + kern_file) // 1024, TARGETS["image_kib"],
             kern_mem // 1024))
    print("memory: hako keeps %.1f MiB for itself on a 1 GiB machine, without files from the "
          "stick (target < %d MiB)"
          % (own_kib / 1024, TARGETS["own_mib"]))
    sys.stdout.flush()
    for b in sorted(glob.glob(os.path.join(os.path.dirname(__file__), "bench_*.py"))):
        subprocess.run([sys.executable, b])


if __name__ == "__main__":
    main()
