#!/usr/bin/env python3
"""tests/bench_guestnet.py - guest networking through hako's switch (issue 13),
against the same kernel and initramfs under plain QEMU, in one run. Prints,
never judges (goals: guest -> host at least 70% of plain QEMU's, guest ->
guest faster than guest -> host).

  - TCP guest -> host: the test guest's `hakonet send 10.0.2.2 PORT MIB` to a
    sink on the host's 127.0.0.1, timed by the sink (first byte to end of
    stream), through QEMU's user network in both cases:
      hako:  guest virtio-net (virtio-mmio) -> hako's switch -> hako's
             virtio-net-pci driver -> QEMU's virtio-net-pci -> slirp
      plain: guest virtio-net -> QEMU's -device virtio-net-device -> slirp
    (QEMU TCG, 1 guest vCPU each; hako on q35 with 4 cores.)
  - TCP guest -> guest through hako: two guests on net=lan:bench, `hakonet
    recv` in one timing what `hakonet send` in the other sends.
  - ping guest -> guest through hako: 20 pings, busybox's min/avg/max.
"""
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from guestnet import KERNEL, attached, sh, wait_guest  # noqa: E402
from hako import Qemu  # noqa: E402
from plain_qemu import PlainLinux  # noqa: E402

MIB = 32
RUNS = 3


class Sink:
    """TCP sink on 127.0.0.1: each connection's bytes, first byte to end of stream."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(4)
        self.port = self.srv.getsockname()[1]
        self.results = []
        self.cv = threading.Condition()
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self.take, args=(c,), daemon=True).start()

    def take(self, c):
        total, t0 = 0, None
        while True:
            data = c.recv(1 << 20)
            if not data:
                break
            if t0 is None:
                t0 = time.time()
            total += len(data)
        secs = time.time() - (t0 or time.time())
        c.close()
        with self.cv:
            self.results.append((total, secs))
            self.cv.notify_all()

    def wait(self, n, timeout):
        with self.cv:
            self.cv.wait_for(lambda: len(self.results) >= n, timeout)
            return self.results[n - 1] if len(self.results) >= n else None


def mbps(r):
    return r[0] / r[1] / 1e6 if r and r[1] > 0 else 0.0


def plain_guest_to_host(sink, n):
    cmd = "console=ttyS0 quiet hako.dhcp=eth0 hako.netsend=10.0.2.2:%d:%d" % (sink.port, MIB)
    with PlainLinux(cmd, name="bench-guestnet-plain",
                    extra_args=["-netdev", "user,id=n0",
                                "-device", "virtio-net-device,netdev=n0"]) as p:
        if not p.wait(b"HAKONET send", 600):
            return None
        return sink.wait(n, 60)


def hako_runs(sink, first):
    """guest -> host, guest -> guest and ping under hako; sink results from index `first`."""
    res = {"g2h": [], "g2g": [], "ping": None}
    with Qemu(smp=4, mem="1G", name="bench-guestnet",
              extra_args=["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"]) as m:
        m.wait_prompt()
        m.expect(r"net: \S+ address 10\.0\.2\.15", 60)
        m.cmd('define g1 mem=256M %s net=uplink net=lan:bench cmdline="console=ttyS0 quiet '
              'hako.dhcp=eth0 hako.ip=eth1:10.9.0.1/24"' % KERNEL)
        m.cmd('define g2 mem=256M %s net=lan:bench cmdline="console=ttyS0 quiet '
              'hako.ip=eth0:10.9.0.2/24"' % KERNEL)
        m.cmd("start g1", 120)
        m.cmd("start g2", 120)
        wait_guest(m, "g1")
        wait_guest(m, "g2")
        for i in range(RUNS):
            with attached(m, "g1"):
                sh(m, "hakonet send 10.0.2.2 %d %d" % (sink.port, MIB), 600)
            res["g2h"].append(sink.wait(first + i + 1, 60))
            with attached(m, "g2"):
                sh(m, "rm -f /tmp/r; (hakonet recv 5001 > /tmp/r &); sleep 1")
            with attached(m, "g1"):
                sh(m, "hakonet send 10.9.0.2 5001 %d" % MIB, 600)
            with attached(m, "g2"):
                out, _ = sh(m, "while ! grep -q bytes /tmp/r; do sleep 1; done; cat /tmp/r", 120)
            got = re.search(r"HAKONET recv (\d+) bytes in ([\d.]+) s", out)
            res["g2g"].append((int(got.group(1)), float(got.group(2))) if got else None)
        with attached(m, "g1"):
            out, _ = sh(m, "ping -c 20 -i 0.2 10.9.0.2", 120)
        rtt = re.search(r"min/avg/max = ([\d.]+)/([\d.]+)/([\d.]+) ms", out)
        res["ping"] = tuple(float(x) for x in rtt.groups()) if rtt else None
        res["stats"] = re.findall(r"^\s+(?:nic|dropped).*$", m.cmd("stats g1") + m.cmd("stats g2"),
                                  re.M)
        res["net"] = m.cmd("net")
    return res


def main():
    sink = Sink()
    plain = []
    for i in range(RUNS):
        plain.append(plain_guest_to_host(sink, len(sink.results) + 1))
    h = hako_runs(sink, len(sink.results))
    best = lambda rs: max((mbps(r) for r in rs if r), default=0.0)  # noqa: E731
    p, g2h, g2g = best(plain), best(h["g2h"]), best(h["g2g"])
    print("guestnet: TCP guest -> host, %d MiB, best of %d: hako %.1f MB/s, plain QEMU "
          "(virtio-net-device) %.1f MB/s, ratio %.2f (goal >= 0.70)"
          % (MIB, RUNS, g2h, p, g2h / p if p else 0.0))
    print("guestnet: TCP guest -> guest through hako's switch: %.1f MB/s, %.2f x guest -> host "
          "(goal > 1)" % (g2g, g2g / g2h if g2h else 0.0))
    if h["ping"]:
        print("guestnet: ping guest -> guest: min/avg/max %.3f/%.3f/%.3f ms" % h["ping"])
    print("guestnet: runs: plain %s; hako guest -> host %s; guest -> guest %s"
          % (", ".join("%.1f" % mbps(r) for r in plain),
             ", ".join("%.1f" % mbps(r) for r in h["g2h"]),
             ", ".join("%.1f" % mbps(r) for r in h["g2g"])))
    for line in h["stats"]:
        print("guestnet: g1, g2:" + line)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
