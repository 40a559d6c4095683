#!/usr/bin/env python3
"""tests/bench_clone.py - clone time against disk size, and sequential read
through a copy-on-write overlay against the plain LUN (issue 8). Catalog,
pool and templates are LUNs of a private tgtd; hako runs in QEMU TCG and
reaches it at 10.0.2.2. Prints figures; judges nothing."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from hako import BUILD, Qemu, make_image  # noqa: E402
from tgt import Tgt  # noqa: E402

IQN = "iqn.2026-11.org.hako.bench:clone"
SIZES = [(3, 64 << 20), (4, 256 << 20), (5, 1 << 30), (6, 4 << 30)]
READ = 32 << 20


def cmd(m, line, timeout=300):
    out = m.cmd(line, timeout)
    if re.search(r"^error: ", out, re.M):
        raise SystemExit("%s -> %s" % (line, out))
    return out


def mbps(m, url):
    out = cmd(m, "diskread %s %d" % (url, READ))
    return int(re.search(r"(\d+) MB/s", out).group(1))


def main():
    with Tgt(name="bench-clone") as t:
        luns = {1: (os.path.join(t.dir, "catalog.img"), 4 << 20),
                2: (os.path.join(t.dir, "pool.img"), 512 << 20)}
        for n, size in SIZES:
            luns[n] = (os.path.join(t.dir, "t%d.img" % n), size)
        t.add_target(IQN, luns)
        with open(luns[3][0], "r+b") as f:
            f.write(os.urandom(READ))
        url = lambda n: "iscsi://10.0.2.2:%d/%s/%d" % (t.port, IQN, n)
        img = make_image(os.path.join(BUILD, "bench-clone.img"),
                         "net=dhcp\ncatalog=%s\npool=%s\n" % (url(1), url(2)))
        m = Qemu(smp=2, mem="512M", image=img, name="bench-clone",
                 extra_args=["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"])
        try:
            m.start()
            m.wait_prompt(120)
            for n, size in SIZES:
                cmd(m, "define t%d kernel=esp:probe.elf disk=%s" % (n, url(n)))
                t0 = time.time()
                cmd(m, "clone t%d c%d" % (n, n))
                print("clone: %5d MiB template: %.0f ms (shell round trip included)"
                      % (size >> 20, (time.time() - t0) * 1000))
            over = re.search(r"disk=(\S+)", cmd(m, "show c3")).group(1)
            plain = mbps(m, url(3))
            through = mbps(m, over)
            print("read %d MiB sequentially, 256 KiB requests: LUN %d MB/s, overlay over it "
                  "(nothing written) %d MB/s" % (READ >> 20, plain, through))
            t0 = time.time()
            cmd(m, "clone t3 f3 full", 600)
            print("full clone of the 64 MiB template (%d MiB data): %.1f s"
                  % (READ >> 20, time.time() - t0))
            full = re.search(r"disk=(\S+)", cmd(m, "show f3")).group(1)
            print("read %d MiB from the full clone (pool chunks): %d MB/s" % (READ >> 20, mbps(m, full)))
        finally:
            m.stop()
            os.unlink(img)


if __name__ == "__main__":
    main()
