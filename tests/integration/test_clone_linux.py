"""Three Linux clones of one template on a SAN (issue 8 item 5): the template's
root disk is an ext4 LUN (built by guests/linux/build.sh, with checksums); three
clones run at once, each verifies the checksums and writes its own file through
its copy-on-write overlay; after hako restarts (same stick, same target) each
clone boots again and finds its own file, and the template LUN never changed.
Slow: three Linux guests under TCG inside TCG."""
import hashlib
import os
import re
import shutil
import time

import pytest

from hako import BUILD, Qemu, make_image
from shell_helpers import ok
from tgt import Tgt

IQN = "iqn.2026-11.org.hako.test:clones"
KERNEL = "kernel=esp:vmlinuz initrd=esp:initrd.img"
CLONES = ("web1", "web2", "web3")

pytestmark = pytest.mark.slow


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def shell(m, line, pattern, timeout=60):
    """Types `line` into the attached guest's shell (its UART FIFO holds 64 bytes)."""
    line += "\n"
    for i in range(0, len(line), 32):
        m.send(line[i:i + 32])
        time.sleep(0.3)
    return m.expect(pattern, timeout)


def in_guest(m, name, lines):
    """Attaches to NAME (its output since boot is replayed), waits for /init's
    check and its shell, runs (line, pattern) pairs; returns the check's result
    and the matches."""
    m.send("console %s\r" % name)
    m.expect(r"\[attached to %s" % name, 10)
    try:
        check = m.expect(r"CHECK (PASS|FAIL)", 300).group(1)
        shell(m, "", r"# ", 120)
        return check, [shell(m, line, pattern, 120) for line, pattern in lines]
    finally:
        m.send(b"\x1d")
        m.expect(r"\[detached from %s\]" % name, 10)
        m.wait_prompt(10)


@pytest.fixture(scope="module")
def san():
    with Tgt(name="clone-linux") as t:
        tmpl = os.path.join(t.dir, "template.img")
        shutil.copyfile(os.path.join(BUILD, "linux", "disk.img"), tmpl)
        with open(tmpl, "r+b") as f:
            f.truncate(64 << 20)
        t.add_target(IQN, {1: (os.path.join(t.dir, "catalog.img"), 4 << 20),
                           2: (os.path.join(t.dir, "pool.img"), 256 << 20),
                           3: (tmpl, 64 << 20)})
        yield t


def boot(image, name):
    m = Qemu(smp=4, mem="2G", image=image, name=name,
             extra_args=["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"])
    m.start()
    m.wait_prompt(120)
    return m


def test_three_linux_clones_keep_their_own_files(san):
    url = lambda n: "iscsi://10.0.2.2:%d/%s/%d" % (san.port, IQN, n)
    tmpl = os.path.join(san.dir, "template.img")
    before = sha(tmpl)
    img = make_image(os.path.join(BUILD, "test-clone-linux.img"),
                     "net=dhcp\ncatalog=%s\npool=%s\n" % (url(1), url(2)),
                     files=[os.path.join(BUILD, "linux", f) for f in ("vmlinuz", "initrd.img")])
    try:
        m = boot(img, "clone-linux")
        try:
            ok(m, 'define web mem=192M %s cmdline="console=ttyS0" disk=%s' % (KERNEL, url(3)))
            for c in CLONES:
                ok(m, "clone web " + c)
                ok(m, 'set %s cmdline="console=ttyS0 hako.check=/dev/vda hako.name=%s"' % (c, c))
            for c in CLONES:                       # all three run at once
                ok(m, "start " + c)
            for c in CLONES:
                check, r = in_guest(m, c, [("mount /dev/vda /mnt && echo mine-%s > /mnt/who.txt && "
                                            "sync && umount /mnt; echo w-rc=$?" % c, r"w-rc=(\d+)")])
                assert check == "PASS" and r[0].group(1) == "0", c
            for c in CLONES:
                ok(m, "destroy " + c)
        finally:
            m.stop()
        m = boot(img, "clone-linux-2")             # same stick, same target
        try:
            assert all(re.search(r"^%s\s" % g, ok(m, "list"), re.M) for g in ("web",) + CLONES)
            for c in CLONES:
                ok(m, "start " + c)
                check, r = in_guest(m, c, [("mount /dev/vda /mnt && cat /mnt/who.txt /mnt/written.txt"
                                            "; umount /mnt", r"(mine-\w+)\s+written by")])
                assert check == "PASS" and r[0].group(1) == "mine-" + c
                ok(m, "destroy " + c)
        finally:
            m.stop()
    finally:
        os.unlink(img)
    assert sha(tmpl) == before
