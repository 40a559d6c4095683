#!/usr/bin/env python3
"""tests/bench_iscsi.py - hako's iSCSI initiator to tgt on the host (QEMU user
network, virtio-net): `disk bench` sequential write and read MB/s with 4 KiB and
256 KiB requests, 1 and 16 in flight, through the block layer. Prints, never judges.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from hako import BUILD, Qemu, make_image  # noqa: E402
from tgt import Tgt  # noqa: E402

IQN = "iqn.2026-11.org.hako.bench:disk"
SIZE = "16M"


def main():
    with Tgt(name="bench-iscsi") as t:
        t.add_target(IQN, {1: (os.path.join(t.dir, "lun1.img"), 64 << 20)})
        img = make_image(os.path.join(BUILD, "bench-iscsi.img"), "net=dhcp\n")
        with Qemu(smp=2, mem="512M", image=img, name="bench-iscsi",
                  extra_args=["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"]) as m:
            m.wait_prompt()
            m.expect(r"net: \S+ address 10\.0\.2\.15", 60)
            m.send(("disk bench iscsi://10.0.2.2:%d/%s/1 %s\r" % (t.port, IQN, SIZE)).encode())
            m.expect(r"Type 'yes' to continue: ", 60)
            out = m.cmd("yes", timeout=900)
    rows = re.findall(r"^((?:write|read) \d+K x\d+): (\d+\.\d) MB/s.*\n\s*(latency .*)$",
                      out, re.M)
    if len(rows) != 8:
        print("iscsi: disk bench failed:\n" + out)
        return
    for what, mbs, lat in rows:
        print("iscsi: hako -> tgt sequential %-14s %7s MB/s (%s, QEMU TCG user net, virtio-net)"
              % (what, mbs, SIZE))
        print("iscsi:   %s" % lat.strip())


if __name__ == "__main__":
    main()
