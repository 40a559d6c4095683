#!/usr/bin/env python3
"""tests/bench_diskboot.py - a real Debian system booted from its disk (issue 19):
time from `start` to its login prompt under hako with boot=disk, against the
same disk image under plain QEMU with direct kernel boot, as a ratio (issue
target: at most 1.1). Prints, never judges.

The system is tools/mkdebian.sh's (build/debian/disk.img): systemd, the stock
kernel, root autologin on ttyS0; each side boots a fresh sparse copy (a first
boot: hako-identity makes its machine id and host keys on both).
  - hako: QEMU TCG -cpu max, q35, 2 cores, the disk on a local tgt LUN; the
    guest has 1 vCPU and 512 MiB, `define deb boot=disk disk=iscsi://...`:
    hako reads the kernel and initrd from the LUN. Measured from sending
    `start` until "login: root (automatic login)" on the guest's console.
  - plain QEMU: -M q35 -cpu max, 1 vCPU, 512 MiB, -kernel/-initrd (the same
    files, taken out of the image with debugfs), the copy as a virtio disk
    from a local file, the same command line hako passes. Measured from
    starting qemu-system-x86_64 until the same line.
The CPU time of the TCG thread that runs the guest is printed too: on a
shared machine wall time swings with the load (this 2-core machine gave
ratios from 0.75 to 1.73 within an hour), CPU time much less.
A third run boots the same system under hako with its kernel and initrd on
the stick (kernel=esp:), so the figures separate what reading the disk costs
from what hako costs a guest anyway.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from hako import BUILD, Qemu, make_image  # noqa: E402
from plain_qemu import PlainLinux  # noqa: E402
from bench_linux import tcg_cpu_delta, thread_cpu  # noqa: E402
from tgt import Tgt  # noqa: E402

DEBIAN = os.path.join(BUILD, "debian", "disk.img")
IQN = "iqn.2026-12.org.hako.bench:debian"
LOGIN = "login: root (automatic login)"
PARTUUID = "6861b0d1-5c0e-4f3a-9d2b-00000000d15c"
TIMEOUT = 900


def extract(tmp):
    """The image's kernel and initrd as files (for plain QEMU and kernel=esp:)."""
    kernel, initrd = os.path.join(tmp, "vmlinuz"), os.path.join(tmp, "initrd.img")
    # mkdebian.sh wrote where /vmlinuz and /initrd.img point (debugfs dumps files, not links)
    with open(DEBIAN + ".kernel") as f:
        targets = f.read().split()
    for name, out in zip(targets, (kernel, initrd)):
        subprocess.run(["debugfs", "-R", "dump /%s %s" % (name, out), DEBIAN + "?offset=1048576"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not os.path.exists(out):
            raise RuntimeError("debugfs could not take /%s out of %s" % (name, DEBIAN))
    return kernel, initrd


def under_hako(tmp, files=None):
    """boot=disk; or, with files (kernel, initrd), the same system with kernel=esp:
    (what boot=disk costs on top of hako itself)."""
    disk = os.path.join(tmp, "hako.img")
    subprocess.run(["cp", "--sparse=always", DEBIAN, disk], check=True)
    r = {}
    with Tgt(name="bench-diskboot") as t:
        t.add_target(IQN, {1: (disk, os.path.getsize(disk))})
        img = make_image(os.path.join(BUILD, "bench-diskboot.img"), "net=dhcp\n",
                         files=list(files or ()), size="128M")
        lun = "disk=iscsi://10.0.2.2:%d/%s/1" % (t.port, IQN)
        how = ("boot=disk" if not files else 'kernel=esp:vmlinuz initrd=esp:initrd.img '
               'cmdline="root=PARTUUID=%s ro console=ttyS0"' % PARTUUID)
        try:
            with Qemu(smp=2, mem="1G", cpu="max", image=img, name="bench-diskboot",
                      extra_args=["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0",
                                  "-name", "hako,debug-threads=on"]) as m:
                m.wait_prompt()
                m.cmd("define deb mem=512M %s %s" % (how, lun))
                cpu0 = thread_cpu(m.proc.pid)
                t0 = time.time()
                out = m.cmd("start deb", 300)
                core = re.search(r"on core (\d+)", out)
                r["start"] = time.time() - t0
                read = re.search(r"boot=disk: ([^\n]*)", out)
                r["read"] = read.group(1).strip() if read else "?"
                m.send("console deb\r")
                m.expect(re.escape(LOGIN), TIMEOUT)
                r["login"] = time.time() - t0
                cpu = tcg_cpu_delta(cpu0, thread_cpu(m.proc.pid))
                r["guest_cpu"] = cpu.get("CPU %s/TCG" % core.group(1)) if core else None
                m.send(b"\x1d")
                m.wait_prompt(30)
        finally:
            os.unlink(img)
            os.unlink(disk)
    return r


def plain(tmp, kernel, initrd):
    disk = os.path.join(tmp, "plain.img")
    subprocess.run(["cp", "--sparse=always", DEBIAN, disk], check=True)
    cmdline = ("root=PARTUUID=%s ro console=ttyS0 systemd.hostname=deb "
               "ds=nocloud;h=deb;i=0123456789abcdef" % PARTUUID)
    with PlainLinux(cmdline, name="bench-diskboot-plain", mem="512M", kernel=kernel, initrd=initrd,
                    machine="q35", extra_args=["-drive", "file=%s,format=raw,if=virtio" % disk,
                                               "-name", "plain,debug-threads=on"]) as p:
        if not p.wait(LOGIN.encode(), TIMEOUT):
            raise RuntimeError("plain QEMU: no login prompt within %d s (see %s)"
                               % (TIMEOUT, p.serial_log))
        return {"login": p.seconds_to(LOGIN.encode()),
                "guest_cpu": sum(tcg_cpu_delta({}, thread_cpu(p.proc.pid)).values())}


def main():
    if not os.path.exists(DEBIAN):
        print("diskboot: not measured: no %s (make debian-image)" % DEBIAN)
        return
    tmp = tempfile.mkdtemp(prefix="bench-diskboot-", dir=BUILD)
    try:
        kernel, initrd = extract(tmp)
        h = under_hako(tmp)
        e = under_hako(tmp, (kernel, initrd))
        q = plain(tmp, kernel, initrd)
    except Exception as e:  # a benchmark reports what failed and lets the others run
        print("diskboot: start to login prompt: not measured: %s" % e)
        return
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("diskboot: start to login prompt of the Debian system: hako (boot=disk, LUN) %.1f s, "
          "plain QEMU q35 (direct kernel boot, local file) %.1f s, ratio %.2f (target <= 1.1; "
          "QEMU TCG, 1 vCPU, 512 MiB)" % (h["login"], q["login"], h["login"] / q["login"]))
    print("diskboot:   hako read %s; `start` returned after %.1f s" % (h["read"], h["start"]))
    print("diskboot:   the same system with its kernel and initrd on the stick (kernel=esp:, "
          "disk on the LUN): %.1f s to the login prompt, ratio to plain QEMU %.2f: what hako "
          "costs without boot=disk" % (e["login"], e["login"] / q["login"]))
    # Wall time on a shared machine also counts waiting for a host core; the CPU
    # time of the TCG thread that ran the guest does not.
    if h.get("guest_cpu") and e.get("guest_cpu") and q.get("guest_cpu"):
        print("diskboot:   CPU time of the guest's TCG thread to the login prompt: hako boot=disk "
              "%.1f s, hako kernel=esp: %.1f s, plain %.1f s; ratio boot=disk/plain %.2f (wall "
              "time above also counts waiting for one of this machine's %d cores)"
              % (h["guest_cpu"], e["guest_cpu"], q["guest_cpu"], h["guest_cpu"] / q["guest_cpu"],
                 os.cpu_count()))


if __name__ == "__main__":
    main()
