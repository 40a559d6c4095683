"""A hostile iSCSI target against hako in QEMU (issue 17, finding 1).

tests/lib/hostile_target.py logs hako in properly and then misbehaves as
each test sets it: a stream of F=0 Text Responses into a shut TCP window,
Data-In beyond a READ's length, R2Ts beyond the transfer or the burst, a
MaxRecvDataSegmentLength of 16 MiB, garbage after login. In every case hako
stays up (the serial shell answers), the affected disk or verb fails with
one clear `error:` line (or, for the large MaxRecvDataSegmentLength, simply
works), and a guest whose disk is on the real tgt keeps working.
"""
import os
import re
import time

import pytest

from hako import BUILD, Qemu, make_image
from hostile_target import HostileTarget
from shell_helpers import console, ok, state
from tgt import Tgt

GOOD = "iqn.2026-11.org.hako.test:good"
BAD = "iqn.2026-11.org.hako.test:hostile"


@pytest.fixture(scope="module")
def tgt():
    with Tgt(name="iscsi-hostile") as t:
        t.add_target(GOOD, {1: (os.path.join(t.dir, "good.img"), 8 << 20)})
        yield t


@pytest.fixture(scope="module")
def hostile():
    with HostileTarget(BAD) as h:
        yield h


@pytest.fixture(scope="module")
def vm(tgt, hostile):
    cfg = "net=dhcp\ninitiator=iqn.2026-11.org.hako:hostiletest\niscsi_timeout=20\n"
    img = make_image(os.path.join(BUILD, "test-iscsi-hostile.img"), cfg,
                     files=[os.path.join(BUILD, "guests", "vblk.elf")])
    m = Qemu(smp=3, mem="512M", image=img, name="iscsi-hostile",
             extra_args=["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"])
    m.start()
    m.wait_prompt()
    m.expect(r"net: \S+ address 10\.0\.2\.15", 60)
    ok(m, 'define good mem=16M kernel=esp:vblk.elf cmdline="rw" '
          'disk=iscsi://10.0.2.2:%d/%s/1' % (tgt.port, GOOD))
    yield m
    m.stop()


def bad_url(hostile, lun=1):
    return "iscsi://10.0.2.2:%d/%s/%d" % (hostile.port, BAD, lun)


def one_error(out):
    errors = re.findall(r"^error: .*$", out, re.M)
    assert len(errors) == 1, out
    return errors[0]


def still_fine(vm):
    """hako answers at once, and a guest on the real target reads and writes."""
    t0 = time.time()
    assert re.search(r"^hako \S+ \((svm|vmx)\)$", vm.cmd("version", timeout=5), re.M)
    assert time.time() - t0 < 5
    out = ok(vm, "start good", timeout=60)
    assert re.search(r"^started good", out, re.M), out
    out = console(vm, "good", r"vblk: done", 120)
    assert "vblk: rw: write, read back, verify PASS" in out, out
    ok(vm, "destroy good", timeout=60)


def guest_on_hostile(vm, hostile, name, cmdline="rw"):
    ok(vm, 'define %s mem=16M kernel=esp:vblk.elf cmdline="%s" disk=%s'
       % (name, cmdline, bad_url(hostile)))


def test_text_flood_into_a_shut_window(vm, hostile):
    hostile.set_mode("text_flood")
    before = hostile.logins["Discovery"]
    t0 = time.time()
    err = one_error(vm.cmd("iscsi discover 10.0.2.2:%d" % hostile.port, timeout=60))
    assert re.search(r"discovery at 10\.0\.2\.2:%d failed: target broke the protocol 3 times "
                     r"in a row: " % hostile.port, err), err
    assert time.time() - t0 < 15
    assert hostile.logins["Discovery"] - before == 3  # not dozens of logins
    still_fine(vm)


def test_data_in_beyond_the_request(vm, hostile):
    hostile.set_mode("datain_long")  # READs only: the disk opens, then reads fail
    guest_on_hostile(vm, hostile, "hd")
    out = ok(vm, "start hd", timeout=60)
    assert re.search(r"^started hd", out, re.M), out
    out = console(vm, "hd", r"vblk: done", 120)
    assert "vblk: rw: write, read back, verify FAIL" in out, out
    log = vm.cmd("log")
    assert re.search(r"target broke the protocol 3 times in a row: Data-In out of sequence", log), \
        log[-2000:]
    assert state(vm, "hd") == "running"  # an I/O error for the guest, nothing worse
    still_fine(vm)
    ok(vm, "destroy hd", timeout=60)
    ok(vm, "undefine hd")


def test_r2t_beyond_the_transfer(vm, hostile):
    hostile.set_mode("r2t_beyond_transfer")
    guest_on_hostile(vm, hostile, "hr")
    ok(vm, "start hr", timeout=60)
    out = console(vm, "hr", r"vblk: done", 120)
    assert "vblk: rw: write, read back, verify FAIL" in out, out
    assert re.search(r"target broke the protocol 3 times in a row: bad R2T", vm.cmd("log")), \
        vm.cmd("log")[-2000:]
    still_fine(vm)
    ok(vm, "destroy hr", timeout=60)
    ok(vm, "undefine hr")


def test_r2t_beyond_the_burst(vm, hostile):
    hostile.set_mode("r2t_beyond_burst")  # MaxBurstLength=16384, R2Ts of 32 KiB
    vm.send("disk check %s 1M\r" % bad_url(hostile))
    vm.expect(r"Type 'yes' to continue: ", 30)
    err = one_error(vm.cmd("yes", timeout=60))
    assert re.search(r"disk check failed: .*target broke the protocol 3 times in a row: bad R2T", err), err
    still_fine(vm)


def test_huge_max_recv_data_segment_length(vm, hostile):
    """A target that takes 16 MiB PDUs gets ones hako's send queue holds: 256 KiB
    writes (one R2T for the whole burst) go through instead of stalling."""
    hostile.set_mode("big_mrdsl")
    vm.send("disk bench %s 1M\r" % bad_url(hostile))
    vm.expect(r"Type 'yes' to continue: ", 30)
    out = vm.cmd("yes", timeout=120)
    assert not re.search(r"^error: ", out, re.M), out
    assert re.search(r"^write 256K x16: \d+\.\d MB/s", out, re.M), out
    vm.send("disk check %s 1M\r" % bad_url(hostile))
    vm.expect(r"Type 'yes' to continue: ", 30)
    out = vm.cmd("yes", timeout=120)
    assert re.search(r"^disk check passed: 1048576 bytes", out, re.M), out
    still_fine(vm)


def test_garbage_after_login(vm, hostile):
    """After a reset nobody waits for the start: its failure shows in list and show."""
    hostile.set_mode(None)
    guest_on_hostile(vm, hostile, "hg", cmdline="size")
    out = ok(vm, "start hg", timeout=60)
    assert re.search(r"^started hg", out, re.M), out
    hostile.set_mode("garbage_after_login")
    ok(vm, "reset hg", timeout=5)
    deadline = time.time() + 30
    while True:
        row = re.search(r"^hg\s.*$", vm.cmd("list", timeout=5), re.M).group(0)
        if "start failed" in row or time.time() > deadline:
            break
        time.sleep(1)
    assert re.match(r"hg\s+stopped\s.*\(start failed: iSCSI disk .*target broke the protocol 3 "
                    r"times in a row: malformed PDU", row), row
    assert re.search(r"^reason=start failed: iSCSI disk ", vm.cmd("show hg"), re.M)
    t0 = time.time()
    err = one_error(vm.cmd("start hg", timeout=60))
    assert re.search(r"iSCSI disk %s/1 at 10\.0\.2\.2:%d: target broke the protocol 3 times in a "
                     r"row: malformed PDU" % (re.escape(BAD), hostile.port), err), err
    assert time.time() - t0 < 15
    assert state(vm, "hg") == "stopped"
    err = one_error(vm.cmd("iscsi luns %s" % bad_url(hostile), timeout=60))
    assert "target broke the protocol" in err, err
    ok(vm, "undefine hg")
    still_fine(vm)
    hostile.set_mode(None)
