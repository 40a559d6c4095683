"""Verbs that wait on the network, from the network console (issue 7).

mgmt/console/console.c runs a network session's command outside lwIP's callbacks, so
`iscsi discover`, `iscsi luns`, `disk check` (with its confirmation) and
`start` of a guest on an iscsi:// disk work there as on the serial console.
While one session's command waits, another session logs in and is served; a
session that disconnects in the middle of its command leaves hako running.
Also: every session hako closes is logged out (hako logs the Logout Response
and tgtd keeps no I_T nexus), and
SendTargets from a tgtd with 40 long-named targets (more than 8 KiB of text,
so tgtd sends it in pieces) lists them all.
"""
import os
import re
import subprocess
import time

import pytest

from hako import BUILD, ROOT, Qemu, free_port, make_image
from netconsole import NetConsole, wait_login_prompt
from tgt import Tgt

LIVE = os.path.join(BUILD, "unit", "iscsi_live")
DISK = "iqn.2026-11.org.hako.test:ncdisk"
MANY = ["iqn.2026-11.org.hako.test:many-%02d-" % i + "x" * 180 for i in range(40)]
USER, PASSWORD = "test", "correct horse"


@pytest.fixture(scope="module")
def tgt():
    subprocess.run(["make", "-s", "iscsi-live"], cwd=ROOT, check=True, timeout=300)
    with Tgt(name="netcon-iscsi") as t:
        t.add_target(DISK, {1: (os.path.join(t.dir, "lun1.img"), 16 << 20),
                            2: (os.path.join(t.dir, "lun2.img"), 8 << 20)})
        yield t


@pytest.fixture(scope="module")
def vm(tgt):
    p = subprocess.run([os.path.join(ROOT, "tools", "hako-passwd"), "--stdin", USER],
                       input=PASSWORD + "\n", stdout=subprocess.PIPE, check=True, text=True)
    cfg = "net=dhcp\nmgmt_port=2323\ninitiator=iqn.2026-11.org.hako:nctest\n%s\n" % p.stdout.strip()
    img = make_image(os.path.join(BUILD, "test-netcon-iscsi.img"), cfg,
                     files=[os.path.join(BUILD, "guests", "vblk.elf")])
    port = free_port()
    m = Qemu(smp=3, mem="512M", image=img, name="netcon-iscsi",
             extra_args=["-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:2323" % port,
                         "-device", "virtio-net-pci,netdev=n0"])
    m.start()
    m.wait_prompt()
    m.port = port
    m.expect(r"net: \S+ address 10\.0\.2\.15", 60)
    yield m
    m.stop()


def login(vm):
    c = wait_login_prompt(vm.port)
    c.login(USER, PASSWORD)
    return c


@pytest.fixture
def nc(vm):
    c = login(vm)
    yield c
    c.close()


def url(tgt, iqn, lun=None):
    return "iscsi://10.0.2.2:%d/%s%s" % (tgt.port, iqn, "" if lun is None else "/%d" % lun)


def nexus(tgt, iqn):
    """tgtd's I_T nexus lines (open sessions) for target `iqn`."""
    out = tgt.adm("--op", "show", "--mode", "target")
    block = out.split("Target ")
    mine = [b for b in block if b.split("\n", 1)[0].endswith(": " + iqn)]
    assert mine, out
    return re.findall(r"^\s+I_T nexus: \d+", mine[0], re.M)


def no_nexus_left(tgt, iqn, wait=15):
    """True once tgtd lists no session for iqn (the logout is asynchronous)."""
    deadline = time.time() + wait
    while nexus(tgt, iqn):
        if time.time() > deadline:
            return False
        time.sleep(0.5)
    return True


def logged_out(vm, before):
    """How many `iscsi DISK: logged out` lines (Logout Responses) the log gained."""
    return len(re.findall(r"iscsi %s: logged out" % re.escape(DISK), vm.cmd("log"))) - before


def logouts(vm):
    return logged_out(vm, 0)


def confirm_then(c, line, answer, timeout=300):
    c.send(line + "\r\n")
    c.read_until(b"Type 'yes' to continue: ", 30)
    return c.cmd(answer, timeout)


def test_discover_and_luns(nc, vm, tgt):
    n = logouts(vm)
    out = nc.cmd("iscsi discover 10.0.2.2:%d" % tgt.port, timeout=60)
    assert re.search(r"^%s \S+:%d,1$" % (re.escape(DISK), tgt.port), out, re.M), out
    out = nc.cmd("iscsi luns " + url(tgt, DISK), timeout=60)
    assert re.search(r"^1\s+disk\s+%d\s+512\s+IET VIRTUAL-DISK$" % (16 << 20), out, re.M), out
    assert re.search(r"^2\s+disk\s+%d\s+512\s" % (8 << 20), out, re.M), out
    assert no_nexus_left(tgt, DISK), "tgtd still lists a session after `iscsi luns`"
    assert logged_out(vm, n) == 1


def test_disk_check_asks_over_the_network(nc, vm, tgt):
    out = confirm_then(nc, "disk check %s 1M" % url(tgt, DISK, 2), "no", 30)
    assert "error: not confirmed; nothing written" in out, out
    nc.send("disk check %s 1M\r\n" % url(tgt, DISK, 2))
    nc.read_until(b"Type 'yes' to continue: ", 30)
    nc.send(b"\x03")  # Ctrl-C answers too
    out = nc.read_until(b"hako> ", 30).decode("latin-1")
    assert "error: not confirmed; nothing written" in out, out
    size = 2 << 20
    n = logouts(vm)
    out = confirm_then(nc, "disk check %s 2M" % url(tgt, DISK, 2), "yes")
    assert re.search(r"^verify: 100% \(2 of 2 MiB\)$", out, re.M), out
    m = re.search(r"^disk check passed: %d bytes written and verified \(seed (\d+)\)" % size, out, re.M)
    assert m, out
    want = subprocess.run([LIVE, "pattern", str(size), m.group(1)], stdout=subprocess.PIPE,
                          check=True).stdout
    with open(os.path.join(tgt.dir, "lun2.img"), "rb") as f:
        assert f.read(size) == want
    assert no_nexus_left(tgt, DISK), "tgtd still lists a session after `disk check`"
    assert logged_out(vm, n) == 1


def test_input_typed_during_a_command_is_kept(nc, tgt):
    nc.send("disk check %s 1M\r\n" % url(tgt, DISK, 2))
    nc.read_until(b"Type 'yes' to continue: ", 30)
    nc.send("yes\r\nversion\r\n")  # `version` waits until the check is done
    out = nc.read_until(b"hako> ", 300).decode("latin-1")
    assert "disk check passed" in out, out
    out = nc.read_until(b"hako> ", 30).decode("latin-1")
    assert re.search(r"hako \d+\.\d+\.\d+ \(svm\)", out), out


def test_ctrl_c_interrupts_a_running_command(nc, vm, tgt):
    nc.send("disk check %s\r\n" % url(tgt, DISK, 1))
    nc.read_until(b"Type 'yes' to continue: ", 30)
    nc.send("yes\r\n")
    nc.read_until(re.compile(rb"write: \d+%"), 120)
    nc.send(b"\x03")
    out = nc.read_until(b"hako> ", 120).decode("latin-1")
    assert re.search(r"^error: disk check failed: interrupted", out.replace("\r", ""), re.M), out
    assert re.search(r"^1\s+disk\s", nc.cmd("iscsi luns " + url(tgt, DISK), timeout=60), re.M)


def test_second_session_served_while_one_waits(vm, tgt):
    a = login(vm)
    b = None
    try:
        a.send("disk check %s 1M\r\n" % url(tgt, DISK, 2))
        a.read_until(b"Type 'yes' to continue: ", 30)  # a's command now waits
        b = login(vm)
        assert re.search(r"^NAME\s+STATE\s+CPUS\s+MEM\s+DISKS", b.cmd("list"), re.M)
        out = b.cmd("iscsi luns " + url(tgt, DISK), timeout=60)
        assert re.search(r"^error: another iSCSI or disk command is running", out, re.M), out
        assert re.match(r"hako \d+\.\d+\.\d+ \(svm\)$", vm.cmd("version").strip())  # serial too
        out = a.cmd("yes", timeout=300)
        assert "disk check passed" in out, out
        out = b.cmd("iscsi luns " + url(tgt, DISK), timeout=60)  # free again
        assert re.search(r"^1\s+disk\s+%d\s" % (16 << 20), out, re.M), out
    finally:
        a.close()
        if b:
            b.close()


def test_disconnect_during_a_command(vm, tgt):
    a = login(vm)
    a.send("disk check %s 4M\r\n" % url(tgt, DISK, 2))
    a.read_until(b"Type 'yes' to continue: ", 30)
    a.send("yes\r\n")
    a.read_until(re.compile(rb"write: \d+%"), 120)
    a.close()  # gone while the check runs
    c = login(vm)  # the check finishes (or is still running); hako serves on
    try:
        deadline = time.time() + 300
        while True:
            out = c.cmd("iscsi luns " + url(tgt, DISK), timeout=60)
            if not re.search(r"^error: another", out, re.M):
                break
            assert time.time() < deadline, "the orphaned disk check never ended"
            time.sleep(2)
        assert re.search(r"^1\s+disk\s+%d\s" % (16 << 20), out, re.M), out
    finally:
        c.close()
    # disconnect at the confirmation prompt: nothing is written
    a = login(vm)
    a.send("disk check %s 1M\r\n" % url(tgt, DISK, 2))
    a.read_until(b"Type 'yes' to continue: ", 30)
    a.close()
    c = login(vm)
    try:
        assert re.search(r"^NAME\s+STATE", c.cmd("list"), re.M)
    finally:
        c.close()
    assert vm.alive()
    assert no_nexus_left(tgt, DISK)


def test_start_guest_on_a_lun(nc, vm, tgt):
    out = nc.cmd('define ncg mem=16M kernel=esp:vblk.elf cmdline="size" disk=%s' % url(tgt, DISK, 1))
    assert not re.search(r"^error: ", out, re.M), out
    try:
        out = nc.cmd("start ncg", timeout=90)
        assert re.search(r"^started ncg on core", out, re.M), out
        assert nexus(tgt, DISK), "no session while the guest runs"
        assert re.search(r"^ncg\s+running", nc.cmd("list"), re.M)
        n = logouts(vm)
        nc.cmd("destroy ncg", timeout=60)
        assert no_nexus_left(tgt, DISK), "tgtd still lists the guest's session after destroy"
        assert logged_out(vm, n) == 1
    finally:
        nc.cmd("destroy ncg", timeout=60)
        nc.cmd("undefine ncg")


def test_discover_many_targets(nc, vm, tgt):
    """SendTargets of 40 targets with long names (> 8 KiB): joined across PDUs."""
    with Tgt(name="netcon-many") as t:
        for i, iqn in enumerate(MANY):
            t.add_target(iqn, {1: (os.path.join(t.dir, "m%d.img" % i), 1 << 20)})
        out = nc.cmd("iscsi discover 10.0.2.2:%d" % t.port, timeout=60)
        names = re.findall(r"^(iqn\S+) \S+:%d,1$" % t.port, out, re.M)
        assert names == MANY, out[-2000:]
        out = vm.cmd("iscsi discover 10.0.2.2:%d" % t.port, timeout=60)
        assert re.findall(r"^(iqn\S+) \S+:%d,1\r?$" % t.port, out, re.M) == MANY
