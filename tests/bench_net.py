#!/usr/bin/env python3
"""tests/bench_net.py - network figures (issue 6), for `make bench`. Prints, never judges.

For each NIC model: boots hako with QEMU user networking, then
  - throughput: `netsrc` sends 64 MiB from hako to a sink on the host
    (through hostfwd), timed from connect to the last byte;
  - latency: round trip of a console command (`version`) over the network
    console, median and 95th percentile of 100.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from hako import BUILD, ROOT, Qemu, free_port, make_image  # noqa: E402
from netconsole import NetConsole, wait_login_prompt  # noqa: E402

SIZE = 64 << 20
MODELS = tuple(sys.argv[1:]) or ("virtio-net-pci", "e1000", "e1000e")
USER, PASSWORD = "bench", "bench-pass"


def image():
    line = subprocess.run([os.path.join(ROOT, "tools", "hako-passwd"), "--stdin", USER],
                          input=PASSWORD + "\n", stdout=subprocess.PIPE, check=True,
                          text=True).stdout.strip()
    return make_image(os.path.join(BUILD, "bench-net.img"), "net=dhcp\n%s\n" % line)


def throughput(m, port):
    out = m.cmd("netsrc 2324 %d" % SIZE)
    assert "will send" in out, out
    c = NetConsole(port, timeout=30)
    got, t0 = 0, time.time()
    c.sock.settimeout(120)
    while True:
        d = c.sock.recv(1 << 20)
        if not d:
            break
        got += len(d)
    secs = time.time() - t0
    c.close()
    return got, secs


def latency(port, n=100):
    c = wait_login_prompt(port)
    c.login(USER, PASSWORD)
    c.cmd("version")
    times = []
    for _ in range(n):
        t = time.time()
        out = c.cmd("version")
        times.append((time.time() - t) * 1000)
        assert out.startswith("hako "), out
    c.close()
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.95)]


def main():
    img = image()
    for model in MODELS:
        cport, sport = free_port(), free_port()
        fwd = "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:2323,hostfwd=tcp:127.0.0.1:%d-:2324" % (cport, sport)
        with Qemu(smp=2, mem="512M", image=img, name="bench-net-" + model,
                  extra_args=["-netdev", fwd, "-device", "%s,netdev=n0" % model]) as m:
            m.wait_prompt()
            m.expect(r"net: \S+ address ", 60)
            got, secs = throughput(m, sport)
            med, p95 = latency(cport)
            mbs = got / secs / 1e6 if secs else 0
            print("net %-14s: hako->host TCP %d MiB in %.2f s = %.1f MB/s%s; console round trip "
                  "median %.2f ms, p95 %.2f ms (QEMU TCG, user networking)"
                  % (model, got >> 20, secs, mbs, "" if got == SIZE else " (SHORT: %d bytes)" % got,
                     med, p95), flush=True)


if __name__ == "__main__":
    main()
