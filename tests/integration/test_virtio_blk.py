"""Guest disks (issue 5 virtio-blk, issue 7 block layer) through the serial
shell on QEMU TCG with AMD-V: the disk= key, opening disks at start and
closing them at every stop, and the disk counters of `stats`."""
import re

import pytest

from hako import Qemu
from shell_helpers import console, ok

PROBE = "kernel=esp:probe.elf"


@pytest.fixture(scope="module")
def m():
    q = Qemu(smp=4, mem="1G", cpu="qemu64,+svm,+npt", name="vblk")
    q.start()
    q.wait_prompt()
    yield q
    q.stop()


def refused(m, line, pattern):
    out = m.cmd(line)
    errors = re.findall(r"^error: .*$", out, re.M)
    assert len(errors) == 1, "%s -> %s" % (line, out)
    assert re.search(pattern, errors[0]), errors[0]
    return errors[0]


def free_mem(m):
    return re.search(r"^memory: (.*)$", m.cmd("host"), re.M).group(1)


def row(m, name):
    r = re.search(r"^%s\s+(\w+)\s+(\d+)\s+(\d+)M\s+(\d+)" % name, m.cmd("list"), re.M)
    assert r, m.cmd("list")
    return r.groups()


def test_disk_key_round_trips_and_bad_urls_are_refused(m):
    ok(m, "define d1 mem=16M %s disk=ram:64M disk=esp:vblk.elf,ro" % PROBE)
    show = ok(m, "show d1")
    assert "disk=ram:64M disk=esp:vblk.elf,ro" in show, show
    assert row(m, "d1")[3] == "2"
    refused(m, "set d1 disk=nbd://host/x", r"unknown disk URL 'nbd://host/x'")
    refused(m, "set d1 disk=ram:100", r"multiple of 512")
    refused(m, "set d1 disk=ram:64M,rw", r"only ,ro")
    refused(m, "define d2 disk=esp:", r"esp:PATH")
    assert "disk=ram:64M disk=esp:vblk.elf,ro" in ok(m, "show d1")   # unchanged
    ok(m, "set d1 disk= disk=ram:1M")
    assert re.search(r"disk=ram:1M( instance-id=\S+)?$", ok(m, "show d1"), re.M)
    ok(m, "undefine d1")


def test_missing_disk_file_refuses_start_clearly(m):
    before = free_mem(m)
    ok(m, "define d3 mem=16M %s disk=ram:8M disk=esp:nosuch.img" % PROBE)
    refused(m, "start d3", r"disk file 'nosuch.img' is not on the boot medium")
    assert row(m, "d3")[0] == "stopped"
    ok(m, "undefine d3")
    assert free_mem(m) == before


def test_disks_live_as_long_as_the_definition(m):
    before = free_mem(m)
    ok(m, 'define d4 mem=16M %s cmdline="report" disk=ram:64M disk=esp:vblk.elf' % PROBE)
    ok(m, "start d4")
    held = free_mem(m)
    assert held != before                       # the 64M disk and the image copy
    stats = ok(m, "stats d4")
    assert re.search(r"^\s+disk vda ram:64M: 0 reads 0 writes", stats, re.M), stats
    assert re.search(r"^\s+disk vdb esp:vblk.elf: ", stats, re.M), stats
    for _ in range(3):                          # runs come and go, the disks stay
        ok(m, "destroy d4")
        ok(m, "start d4")
    ok(m, "destroy d4")
    ok(m, "set d4 disk= disk=ram:64M")          # vdb dropped at the next start
    ok(m, "start d4")
    ok(m, "destroy d4")
    assert "disk vdb" not in ok(m, "stats d4")
    ok(m, "undefine d4")
    assert free_mem(m) == before                # every byte back

VBLK = "kernel=esp:vblk.elf"


def test_vblk_guest_reads_writes_and_survives_bad_rings(m):
    ok(m, 'define v1 mem=16M %s disk=ram:1M disk=esp:vblk.elf,ro '
          'cmdline="size rw beyond bad-ring bad-addr dev=1 size ro"' % VBLK)
    ok(m, "start v1")
    out = console(m, "v1", r"vblk: done", timeout=120)
    assert "vblk: device 0 id=2 capacity 2048 sectors" in out, out
    assert re.search(r"vblk: device 1 id=2 capacity \d+ sectors", out), out
    for check in ("rw: write, read back, verify", "rw: flush", "rw: get-id",
                  "beyond: reads past the end fail, the device works on",
                  "bad-ring: needs reset, then works", "bad-addr: needs reset, then works",
                  "ro: feature offered, write refused, read works"):
        assert "vblk: %s PASS" % check in out, out
    assert "FAIL" not in out, out
    assert "vblk: id hako-v1-vda" in out
    assert ok(m, "list") and row(m, "v1")[0] == "running"
    stats = ok(m, "stats v1")
    assert re.search(r"disk vda ram:1M: \d+ reads \d+ writes \d+ flushes \d+ errors, "
                     r"\d+ bytes read, (\d+) bytes written", stats), stats
    written = int(re.search(r"disk vda .* (\d+) bytes written", stats).group(1))
    assert written == 16 * 4096 + 512, stats
    log = ok(m, "log")
    assert re.search(r"guest v1: vda: virtio: chain head index out of range; device needs reset", log), log
    assert re.search(r"guest v1: vda: virtio: descriptor points outside guest memory", log), log
    # the disk keeps what the guest wrote across a power cut and a new start
    ok(m, "destroy v1")
    ok(m, 'set v1 cmdline="verify"')
    ok(m, "start v1")
    out = console(m, "v1", r"vblk: verify: .* (PASS|FAIL)", timeout=60)
    assert "vblk: verify: the data of the earlier run is there PASS" in out, out
    ok(m, "destroy v1")
    ok(m, "undefine v1")
