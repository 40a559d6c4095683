#!/usr/bin/env python3
"""tests/bench_iscsi_linux.py - the Linux test guest's virtio disk on an iSCSI LUN,
dd read and write MB/s, under hako against the same kernel and initramfs under
plain QEMU with QEMU's own iSCSI driver (libiscsi, package qemu-block-extra),
on the same tgt target and LUN (issue 7). Prints, never judges.

Both guests: QEMU TCG, 1 vCPU, 256 MiB, cmdline "console=ttyS0 hako.dd=/dev/vda
hako.poweroff=1" (plus tsc_early_khz=). The guest's /init (guests/linux/init)
reads the whole LUN with dd (1 MiB O_DIRECT requests), then writes it
(1 MiB O_DIRECT, then fsync), and prints the MB/s it timed with its own clock.
The host also times each dd between the guest's "HAKO-DD begin" and "end"
lines as they arrive on the console (wall clock; includes console latency).
  - hako: AMD-V on QEMU TCG (q35, 2 cores, virtio-net, user networking),
    disk=iscsi://10.0.2.2:PORT/IQN/1, hako's initiator and virtio-mmio block device;
  - plain QEMU: -M microvm (TCG), -drive file=iscsi://127.0.0.1:PORT/IQN/1 on a
    virtio-blk-device (virtio-mmio), no network device in the guest either.
So hako's figure includes its initiator's path through the emulated NIC and
QEMU's user networking (slirp, no TCP window scaling), while libiscsi in plain
QEMU talks to tgt over the host's loopback: the ratio is what a guest sees,
not a comparison of two initiators on equal networks.
The LUN gets fresh random contents before each guest runs.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from hako import BUILD, Qemu, make_image  # noqa: E402
from plain_qemu import LINUX, PlainLinux  # noqa: E402
from tgt import Tgt  # noqa: E402

IQN = "iqn.2026-11.org.hako.bench:linux-dd"
LUN_MIB = 64
CMDLINE = "console=ttyS0 hako.dd=/dev/vda hako.poweroff=1"
RESULT = r"HAKO-DD read (\S+) write (\S+)"
TIMEOUT = 300


def fill(path):
    with open(path, "wb") as f:
        for _ in range(LUN_MIB):
            f.write(os.urandom(1 << 20))


def wall_mbs(times, what):
    """MB/s between the guest's begin and end lines for `what`, by the host's clock."""
    t = times.get("end " + what, 0) - times.get("begin " + what, 0)
    return LUN_MIB * 1.048576 / t if t > 0 else 0.0


def under_hako(t):
    img = make_image(os.path.join(BUILD, "bench-iscsi-linux.img"), "net=dhcp\n",
                     files=[os.path.join(LINUX, "vmlinuz"), os.path.join(LINUX, "initrd.img")],
                     size="128M")
    times = {}
    with Qemu(smp=2, mem="1G", image=img, name="bench-iscsi-linux",
              extra_args=["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"]) as m:
        m.wait_prompt()
        m.expect(r"net: \S+ address 10\.0\.2\.15", 60)
        out = m.cmd('define lx cpus=1 mem=256M kernel=esp:vmlinuz initrd=esp:initrd.img '
                    'cmdline="%s" disk=iscsi://10.0.2.2:%d/%s/1' % (CMDLINE, t.port, IQN))
        out += m.cmd("start lx", timeout=60)
        if re.search(r"^error: ", out, re.M):
            raise RuntimeError("hako: " + out.strip())
        m.send("console lx\r")
        for step in ("begin read", "end read", "begin write", "end write"):
            m.expect("HAKO-DD " + step, TIMEOUT)
            times[step] = time.time()
        result = m.expect(RESULT, 60)
        m.send(b"\x1d")
        m.wait_prompt(30)
        disk = re.search(r"disk vda .*: (\d+) reads (\d+) writes .*", m.cmd("stats lx"))
    if not disk:
        return result.groups(), times, "no disk stats"
    reads, writes = int(disk.group(1)), int(disk.group(2))
    return result.groups(), times, "%d reads, %d writes, %.0f KiB a request" % (
        reads, writes, 2 * LUN_MIB * 1024 / max(1, reads + writes))


def plain(t):
    drive = "file=iscsi://127.0.0.1:%d/%s/1,format=raw,if=none,id=d0" % (t.port, IQN)
    with PlainLinux(CMDLINE, name="bench-iscsi-linux-plain",
                    extra_args=["-drive", drive, "-device", "virtio-blk-device,drive=d0"]) as p:
        if not p.wait(re.compile(RESULT.encode() + rb"\r?\n"), TIMEOUT):
            raise RuntimeError("plain QEMU: no HAKO-DD result (see %s)" % p.serial_log)
        text = p.output().decode("latin-1")
        times = {s: p.t0 + p.seconds_to(("HAKO-DD " + s).encode())
                 for s in ("begin read", "end read", "begin write", "end write")}
    return re.search(RESULT, text).groups(), times


def main():
    try:
        with Tgt(name="bench-iscsi-linux") as t:
            lun = os.path.join(t.dir, "lun1.img")
            fill(lun)
            t.add_target(IQN, {1: (lun, LUN_MIB << 20)})
            h, h_times, h_disk = under_hako(t)
            fill(lun)
            q, q_times = plain(t)
    except Exception as e:  # a benchmark reports what failed and lets the others run
        print("iscsi-linux: dd on a LUN: not measured: %s" % e)
        return
    for what, hv, qv in (("read", h[0], q[0]), ("write", h[1], q[1])):
        print("iscsi-linux: guest dd %-5s %d MiB in 1 MiB direct requests: hako %s MB/s, plain QEMU "
              "(libiscsi) %s MB/s by the guest's clock; by the host's clock hako %.1f, plain %.1f"
              % (what, LUN_MIB, hv, qv, wall_mbs(h_times, what), wall_mbs(q_times, what)))
    print("iscsi-linux:   (QEMU TCG, 1 vCPU, 256 MiB, the same tgt LUN; hako's virtio disk saw %s; "
          "hako reaches tgt through QEMU user networking, plain QEMU over loopback)" % h_disk)


if __name__ == "__main__":
    main()
