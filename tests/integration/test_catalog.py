"""Guest catalog, copy-on-write clones and templates (issue 8), on memory
devices until the iscsi:// backend lands: catalog=ram: and pool=ram: in
hako.cfg, a template whose disk is a file from the boot medium (esp:).
The power-cut guarantees are proven natively (tests/unit/test_catalog.c,
test_cow.c); these tests drive the shell contract end to end."""
import os
import re
import time

import pytest

from hako import BUILD, Qemu, make_image
from shell_helpers import console, ok

CFG = "catalog=ram:1M\npool=ram:96M\n"


def refused(m, line, pattern):
    out = m.cmd(line, 60)
    assert re.search(r"^error: .*" + pattern, out, re.M), "%s -> %s" % (line, out)
    return out


def pool_used(m):
    got = re.search(r"^pool: \S+, (\d+) KiB of (\d+) MiB used, (\d+) volumes", ok(m, "host"), re.M)
    assert got, "no pool line in host"
    return int(got.group(1)), int(got.group(3))


@pytest.fixture(scope="module")
def m():
    disk = os.path.join(BUILD, "test-cow-base.img")
    with open(disk, "wb") as f:   # 4 MiB, data in the first and last MiB only
        f.write(b"hako-base!" * 104858 + b"\0" * (2 << 20))
        f.truncate(4 << 20)
        f.seek((3 << 20) + 4096)
        f.write(os.urandom((1 << 20) - 8192))
    img = make_image(os.path.join(BUILD, "test-catalog.img"), CFG,
                     [os.path.join(BUILD, "guests", "probe.elf"),
                      os.path.join(BUILD, "guests", "vblk.elf"), disk])
    q = Qemu(smp=2, mem="1G", name="catalog", image=img)
    q.start()
    q.wait_prompt()
    yield q
    q.stop()
    os.unlink(img)
    os.unlink(disk)


def test_host_reports_catalog_and_pool(m):
    out = ok(m, "host")
    assert re.search(r"^catalog: ram:1M \(update \d+\)", out, re.M), out
    assert re.search(r"^pool: ram:96M, 128 KiB of 96 MiB used, 0 volumes", out, re.M), out


def test_define_set_undefine_persist(m):
    seq = lambda: int(re.search(r"update (\d+)", ok(m, "host")).group(1))
    s0 = seq()
    ok(m, "define p1 kernel=esp:probe.elf disk=esp:test-cow-base.img mac=02:11:22:33:44:55")
    ok(m, "set p1 cpus=2")
    assert seq() == s0 + 2
    refused(m, "set p1 cpus=99", "cpus")
    assert seq() == s0 + 2          # a refused change writes nothing
    ok(m, "undefine p1")
    assert seq() == s0 + 3


def test_clone_template_and_refusals(m):
    ok(m, "define tmpl kernel=esp:probe.elf disk=esp:test-cow-base.img "
          'cmdline="console=ttyS0 hostname=tmpl"')
    used0, vols0 = pool_used(m)
    out = ok(m, "clone tmpl c1")
    assert "cloned tmpl to c1" in out
    show = ok(m, "show c1")
    assert re.search(r"disk=cow:\d+:esp:test-cow-base.img", show), show
    mac = re.search(r"mac=([0-9a-f:]+)", show).group(1)
    assert int(mac[:2], 16) & 3 == 2, mac        # locally administered unicast
    ok(m, "clone tmpl c2")
    assert re.search(r"mac=([0-9a-f:]+)", ok(m, "show c2")).group(1) != mac
    ok(m, 'set c2 cmdline="console=ttyS0 hostname=c2"')
    assert "hostname=c2" in ok(m, "show c2")
    assert "hostname=tmpl" in ok(m, "show tmpl")
    refused(m, "start tmpl", "template.*c1, c2")
    refused(m, "undefine tmpl", "template of c1, c2")
    refused(m, "clone tmpl c1", "already exists")
    refused(m, "clone nosuch c9", "unknown guest")
    refused(m, "clone tmpl Bad", "bad name")
    # a clone of a clone stacks a second overlay; the first clone becomes a template
    ok(m, "clone c1 c1a")
    assert re.search(r"disk=cow:\d+:cow:\d+:esp:", ok(m, "show c1a"))
    refused(m, "start c1", "template")
    used, vols = pool_used(m)
    assert vols == vols0 + 3
    for g in ("c1a", "c1", "c2"):
        ok(m, "undefine " + g)
    used, vols = pool_used(m)
    assert (used, vols) == (used0, vols0)        # overlay space reclaimed
    ok(m, "undefine tmpl")


def test_full_clone_copies_and_ctrl_c_leaves_nothing(m):
    ok(m, "define src kernel=esp:probe.elf disk=esp:test-cow-base.img")
    used0, vols0 = pool_used(m)
    out = ok(m, "clone src full1 full", 120)
    assert re.search(r"copying disk 0: 4 of 4 MiB", out), out
    assert re.search(r"disk=cow:\d+ ", ok(m, "show full1") + " ")
    used, vols = pool_used(m)
    assert vols == vols0 + 1 and used >= used0 + 2048   # the non-zero MiBs were copied
    ok(m, "start src")                                # full clones leave no template behind
    ok(m, "destroy src")
    # Ctrl-C queued behind the command line interrupts the copy at once
    m.send("clone src full2 full\r\x03")
    m.expect(r"error: interrupted; nothing was made", 60)
    m.wait_prompt(10)
    assert not re.search(r"^full2 ", ok(m, "list"), re.M)
    assert pool_used(m) == (used, vols)
    ok(m, "undefine full1")
    ok(m, "undefine src")
    assert pool_used(m) == (used0, vols0)


def test_clone_disk_serves_a_guest(m):
    """The virtio-blk test guest writes, reads back and flushes through an overlay."""
    ok(m, 'define vplain mem=16M kernel=esp:vblk.elf disk=ram:1M cmdline="size"')
    ok(m, "start vplain")
    time.sleep(2)
    crashed = "crashed" in ok(m, "show vplain")
    if not crashed:
        ok(m, "destroy vplain")
    ok(m, "undefine vplain")
    if crashed:   # guest MMIO dispatch (linux-platform) is not merged into this tree yet
        pytest.skip("virtio-mmio devices do not answer in this tree (no guest MMIO dispatch)")
    ok(m, "define vt mem=16M kernel=esp:vblk.elf disk=esp:test-cow-base.img")
    ok(m, "clone vt v1")
    ok(m, 'set v1 cmdline="size rw"')
    used0, _ = pool_used(m)
    ok(m, "start v1")
    console(m, "v1", r"vblk: rw\b.*PASS")
    ok(m, "destroy v1")
    used, _ = pool_used(m)
    assert used == used0 + 128     # chunk 0 written whole, the last chunk read-modify-written
    ok(m, "start v1")              # its data stays in the pool across runs
    console(m, "v1", r"vblk: rw\b.*PASS")
    ok(m, "destroy v1")
    assert pool_used(m)[0] == used
    ok(m, "undefine v1")
    ok(m, "undefine vt")
