#!/usr/bin/env python3
"""tests/bench_initiators.py - hako's iSCSI initiator against Linux's own, on the
same tgt LUN, the same kernel and the same six dd tests (issue 18). Prints, never
judges.

  - Linux: plain QEMU (microvm, TCG, 1 vCPU, 256 MiB) with a virtio-net NIC on
    QEMU's user network; the guest logs in with open-iscsi's iscsistart (the
    bench initramfs, guests/linux/build-iscsi.sh) and runs the tests on /dev/sda
    through the kernel's iscsi_tcp.
  - hako: hako in QEMU (AMD-V on TCG, 2 cores, virtio-net, user network) runs a
    guest (1 vCPU, 256 MiB, the same kernel and initramfs) whose /dev/vda is the
    LUN through hako's initiator; after the tests `stats` shows hako's latency
    breakdown of the guest's disk requests, printed below the table.
Both reach tgt at 10.0.2.2 through QEMU's slirp. The guest's /init
(guests/linux/init, hako.dd6=) drops the page cache before each test and times it
by the guest's clock: 1 MiB reads through the page cache, 4 KiB reads through the
page cache, 1 MiB writes then fsync, 1 MiB direct reads, 4 KiB direct reads (one
in flight), 1 MiB direct writes; MB/s = 10^6 bytes a second. RUNS rounds, each
Linux then hako (interleaved, so a busy host slows both alike); the median of
each column, and hako / Linux.
"""
import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from hako import BUILD, Qemu, make_image  # noqa: E402
from plain_qemu import LINUX, PlainLinux  # noqa: E402
from tgt import Tgt  # noqa: E402

IQN = "iqn.2026-11.org.hako.bench:initiators"
LUN_MIB = 64
RUNS = 3
TIMEOUT = 300
INITRD = os.path.join(LINUX, "initrd-iscsi.img")
TESTS = [("read-1M-cache", "1 MiB reads, page cache"),
         ("read-4K-cache", "4 KiB reads, page cache"),
         ("write-1M-fsync", "1 MiB writes + fsync"),
         ("read-1M-direct", "1 MiB direct reads"),
         ("read-4K-direct", "4 KiB direct reads (one in flight)"),
         ("write-1M-direct", "1 MiB direct writes")]
RESULT = re.compile(r"HAKO-DD6 (\S+) (\S+)")


def results(text):
    """{test: MB/s} from a guest's console; a missing or failed test is absent."""
    out = {}
    for name, rate in RESULT.findall(text):
        try:
            out[name] = float(rate)
        except ValueError:
            pass
    return out


def linux_run(t):
    cmdline = ("console=ttyS0 hako.dhcp=eth0 hako.iscsi_target=%s hako.iscsi_addr=10.0.2.2 "
               "hako.iscsi_port=%d hako.dd6=/dev/sda:%d hako.poweroff=1" % (IQN, t.port, LUN_MIB))
    with PlainLinux(cmdline, name="bench-initiators-linux", initrd=INITRD,
                    extra_args=["-netdev", "user,id=n0",
                                "-device", "virtio-net-device,netdev=n0"]) as p:
        if not p.wait(b"HAKO-DD6-END", TIMEOUT):
            raise RuntimeError("Linux's initiator: no results (see %s)" % p.serial_log)
        return results(p.output().decode("latin-1"))


def hako_run(t, img):
    cmdline = "console=ttyS0 hako.dd6=/dev/vda:%d hako.poweroff=1" % LUN_MIB
    with Qemu(smp=2, mem="1G", image=img, name="bench-initiators-hako",
              extra_args=["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"]) as m:
        m.wait_prompt()
        m.expect(r"net: \S+ address 10\.0\.2\.15", 60)
        out = m.cmd('define lx cpus=1 mem=256M kernel=esp:vmlinuz initrd=esp:initrd-iscsi.img '
                    'cmdline="%s" disk=iscsi://10.0.2.2:%d/%s/1' % (cmdline, t.port, IQN))
        out += m.cmd("start lx", timeout=60)
        if re.search(r"^error: ", out, re.M):
            raise RuntimeError("hako: " + out.strip())
        start = m.mark()
        m.send("console lx\r")
        m.expect(r"HAKO-DD6-END", TIMEOUT)
        text = m.output_since(start)
        m.send(b"\x1d")
        m.wait_prompt(30)
        stats = m.cmd("stats lx")
    lat = re.search(r"^\s*(latency .*)$", stats, re.M)
    return results(text), lat.group(1) if lat else "no latency line in stats"


def main():
    try:
        with Tgt(name="bench-initiators") as t:
            lun = os.path.join(t.dir, "lun1.img")
            with open(lun, "wb") as f:
                for _ in range(LUN_MIB):
                    f.write(os.urandom(1 << 20))
            t.add_target(IQN, {1: (lun, LUN_MIB << 20)})
            img = make_image(os.path.join(BUILD, "bench-initiators.img"), "net=dhcp\n",
                             files=[os.path.join(LINUX, "vmlinuz"), INITRD], size="128M")
            linux, hako, lats = [], [], []
            for _ in range(RUNS):
                linux.append(linux_run(t))
                h, lat = hako_run(t, img)
                hako.append(h)
                lats.append(lat)
    except Exception as e:  # a benchmark reports what failed and lets the others run
        print("initiators: not measured: %s" % e)
        return
    print("initiators: MB/s (10^6 bytes), median of %d interleaved runs; the same tgt LUN "
          "(%d MiB), kernel and dd; QEMU TCG, user network, 1 vCPU guests" % (RUNS, LUN_MIB))
    print("initiators:   %-36s %10s %10s %7s" % ("test", "Linux", "hako", "ratio"))
    for key, what in TESTS:
        lv = [r[key] for r in linux if key in r]
        hv = [r[key] for r in hako if key in r]
        lm = statistics.median(lv) if lv else None
        hm = statistics.median(hv) if hv else None
        ratio = "%.2f" % (hm / lm) if lm and hm is not None else "-"
        print("initiators:   %-36s %10s %10s %7s" % (
            what, "%.1f" % lm if lm is not None else "failed",
            "%.1f" % hm if hm is not None else "failed", ratio))
    for i, lat in enumerate(lats):
        print("initiators:   hako run %d, the guest's disk: %s" % (i + 1, lat))


if __name__ == "__main__":
    main()
