"""Catalog and clones on a SAN (issue 8): the catalog and the pool are LUNs
of a tgtd on the host (reached from QEMU at 10.0.2.2), templates are LUNs.

Cloning a 64 MiB and a 1 GiB template takes about the same, short time; the
template LUN is byte-identical afterwards; a restarted hako (same stick, same
target) lists every guest; killing QEMU in the middle of a burst of define,
clone and undefine leaves a catalog where each operation happened or not,
with no pool volume left that no guest uses; undefine reclaims space."""
import hashlib
import os
import re
import time

import pytest

from hako import BUILD, Qemu, make_image
from shell_helpers import ok
from tgt import Tgt

IQN = "iqn.2026-11.org.hako.test:catalog"


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@pytest.fixture(scope="module")
def san():
    with Tgt(name="catalog") as t:
        d = t.dir
        t.add_target(IQN, {1: (os.path.join(d, "catalog.img"), 4 << 20),
                           2: (os.path.join(d, "pool.img"), 256 << 20),
                           3: (os.path.join(d, "t64.img"), 64 << 20),
                           4: (os.path.join(d, "t1g.img"), 1 << 30)})
        with open(os.path.join(d, "t64.img"), "r+b") as f:   # a template with data
            f.write(os.urandom(1 << 20))
        yield t


def lun(san, n):
    return "iscsi://10.0.2.2:%d/%s/%d" % (san.port, IQN, n)


@pytest.fixture(scope="module")
def image(san):
    cfg = "net=dhcp\ncatalog=%s\npool=%s\n" % (lun(san, 1), lun(san, 2))
    img = make_image(os.path.join(BUILD, "test-catalog-iscsi.img"), cfg,
                     files=[os.path.join(BUILD, "guests", "probe.elf")])
    yield img
    os.unlink(img)


def boot(image, name):
    m = Qemu(smp=2, mem="512M", image=image, name=name,
             extra_args=["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"])
    m.start()
    m.wait_prompt(120)
    return m


def guests(m):
    return set(re.findall(r"^([a-z][a-z0-9_-]*)\s+(?:stopped|running|crashed)", ok(m, "list"), re.M))


def pool(m):
    got = re.search(r"^pool: \S+, (\d+) KiB of \d+ MiB used, (\d+) volumes", ok(m, "host"), re.M)
    assert got, ok(m, "host")
    return int(got.group(1)), int(got.group(2))


def cow_disks(m, names):
    return sum(len(re.findall(r"disk=cow:", ok(m, "show " + g))) for g in names)


def timed(m, line):
    t0 = time.time()
    out = ok(m, line, 60)
    return time.time() - t0, out


def disk_url(m, guest):
    return re.search(r"disk=(\S+)", ok(m, "show " + guest)).group(1)


def disk_check(m, url, size="2M"):
    """`disk check` writes, reads back and verifies pseudo-random data."""
    m.send("disk check %s %s\r" % (url, size))
    m.expect(r"Type 'yes' to continue: ", 30)
    m.send("yes\r")
    m.expect(r"disk check passed", 120)
    m.wait_prompt(10)


def test_clone_time_restart_and_reclaim(san, image):
    t64 = os.path.join(san.dir, "t64.img")
    before = sha(t64)
    m = boot(image, "catalog-iscsi")
    try:
        assert re.search(r"^catalog: iscsi://", ok(m, "host"), re.M)
        ok(m, "define t64 kernel=esp:probe.elf disk=%s" % lun(san, 3))
        ok(m, "define t1g kernel=esp:probe.elf disk=%s" % lun(san, 4))
        used0, vols0 = pool(m)
        small, _ = timed(m, "clone t64 c64")
        big, _ = timed(m, "clone t1g c1g")
        print("clone of 64 MiB: %.2f s, of 1 GiB: %.2f s" % (small, big))
        assert small < 3 and big < 3 and big < small * 2 + 0.5
        for c in ("c1", "c2", "c3"):
            ok(m, "clone t64 " + c)
            ok(m, 'set %s cmdline="console=ttyS0 hostname=%s"' % (c, c))
        assert pool(m)[1] == vols0 + 5
        used1, _ = pool(m)
        for c in ("c1", "c2", "c3"):             # each clone writes its own data
            disk_check(m, disk_url(m, c))
        assert pool(m)[0] >= used1 + 3 * 2048
    finally:
        m.stop()
    m = boot(image, "catalog-iscsi-2")          # same stick, same target
    try:
        assert {"t64", "t1g", "c64", "c1g", "c1", "c2", "c3"} <= guests(m)
        assert "hostname=c2" in ok(m, "show c2")
        assert re.search(r"disk=cow:\d+:iscsi://", ok(m, "show c3"))
        assert re.search(r"^error: guest 't64' is a template", m.cmd("start t64"), re.M)
        for c in ("c64", "c1g", "c1", "c2", "c3"):
            ok(m, "undefine " + c)
        assert pool(m) == (used0, vols0)          # overlay space reclaimed
        ok(m, "undefine t64")
        ok(m, "undefine t1g")
    finally:
        m.stop()
    assert sha(t64) == before                     # the template LUN never changed


def test_kill_during_burst(san, image):
    m = boot(image, "catalog-burst")
    try:
        ok(m, "define base kernel=esp:probe.elf disk=%s" % lun(san, 3))
        ok(m, "clone base keep")
        # a burst the shell works through while QEMU is killed part way
        burst = []
        for i in range(6):
            burst += ["define d%d kernel=esp:probe.elf" % i, "clone base k%d" % i,
                      "undefine d%d" % (i - 1) if i else "set keep cpus=2"]
        m.send("".join(line + "\r" for line in burst))
        m.expect(r"cloned base to k2", 120)
    finally:
        m.stop()                                  # SIGKILL in the middle of the burst
    m = boot(image, "catalog-burst-2")
    try:
        names = guests(m)
        assert {"base", "keep"} <= names
        assert names <= {"base", "keep"} | {"d%d" % i for i in range(6)} | {"k%d" % i for i in range(6)}
        # every clone in the catalog has its volume; no volume without a guest survived the boot
        assert pool(m)[1] == cow_disks(m, names)
        for g in sorted(names - {"base"}):
            ok(m, "undefine " + g)
        ok(m, "undefine base")
        assert pool(m)[1] == 0
    finally:
        m.stop()
