#!/usr/bin/env python3
"""tests/bench_linux.py - time from `start` to the Linux test guest's
HAKO-LINUX-INIT marker under hako (AMD-V on QEMU TCG), side by side in the
same run with the same kernel and initramfs booted by plain QEMU TCG
(-M microvm,pit=on,pic=on,rtc=on -cpu max), and their ratio (target: at most
1.3). Both use 1 vCPU, 256 MiB and console=ttyS0. Prints, never judges."""
import os
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from hako import BUILD, Qemu  # noqa: E402

MARKER = b"HAKO-LINUX-INIT"
TIMEOUT = 600


def plain_qemu():
    """Seconds from QEMU's start to the marker with direct kernel boot."""
    lin = os.path.join(BUILD, "linux")
    argv = ["qemu-system-x86_64", "-M", "microvm,pit=on,pic=on,rtc=on", "-cpu", "max",
            "-accel", "tcg", "-m", "256M", "-smp", "1", "-nodefaults", "-no-user-config",
            "-display", "none", "-serial", "stdio",
            "-kernel", os.path.join(lin, "vmlinuz"), "-initrd", os.path.join(lin, "initrd.img"),
            "-append", "console=ttyS0"]
    t0 = time.time()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    buf = b""
    try:
        while MARKER not in buf and time.time() - t0 < TIMEOUT:
            r, _, _ = select.select([p.stdout], [], [], 1)
            if r:
                chunk = os.read(p.stdout.fileno(), 65536)
                if not chunk:
                    break
                buf += chunk
        return time.time() - t0 if MARKER in buf else None
    finally:
        p.kill()
        p.wait()


def under_hako():
    """Seconds from `start` (sent on hako's shell) to the marker on the guest's console."""
    with Qemu(smp=2, mem="1G", cpu="qemu64,+svm,+npt", name="bench-linux") as m:
        m.wait_prompt()
        m.cmd('define lx cpus=1 mem=256M kernel=esp:vmlinuz initrd=esp:initrd.img '
              'cmdline="console=ttyS0"')
        t0 = time.time()
        m.send("start lx\r")
        m.wait_prompt(60)
        m.send("console lx\r")
        m.expect(MARKER.decode(), TIMEOUT)
        t = time.time() - t0
        m.send(b"\x1d")
        return t


def main():
    hako = under_hako()
    plain = plain_qemu()
    if hako is None or plain is None:
        print("linux: boot to init: not measured (hako %s, plain QEMU %s)" % (hako, plain))
        return
    print("linux: start to HAKO-LINUX-INIT: hako %.1f s, plain QEMU microvm %.1f s, ratio %.2f "
          "(target <= 1.3; both QEMU TCG, 1 vCPU, 256 MiB)" % (hako, plain, hako / plain))


if __name__ == "__main__":
    main()
