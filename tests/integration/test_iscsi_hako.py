"""hako's iSCSI initiator on lwIP in QEMU against a tgtd on the host.

QEMU's user network reaches the host's loopback at 10.0.2.2, where the test's
own tgtd listens on a free port (tests/lib/tgt.py). Checks the shell verbs of
shared/CLI.md: `iscsi discover` lists the targets, `iscsi luns` shows both
LUNs with their sizes, a wrong CHAP secret gives a clear error, and `disk
check` (after confirmation) passes and leaves the pattern in the backing file
on the host.
"""
import os
import re
import subprocess
import time

import pytest

from hako import BUILD, ROOT, Qemu, make_image
from tgt import Tgt

LIVE = os.path.join(BUILD, "unit", "iscsi_live")
DISK = "iqn.2026-11.org.hako.test:disk"
CHAP = "iqn.2026-11.org.hako.test:chap"
USER, SECRET = "alice", "alicesecret12"


@pytest.fixture(scope="module")
def tgt():
    subprocess.run(["make", "-s", "iscsi-live"], cwd=ROOT, check=True, timeout=300)
    with Tgt(name="iscsi-hako") as t:
        t.add_target(DISK, {1: (os.path.join(t.dir, "lun1.img"), 64 << 20),
                            2: (os.path.join(t.dir, "lun2.img"), 8 << 20)})
        t.add_target(CHAP, {1: (os.path.join(t.dir, "chap1.img"), 4 << 20)}, chap=(USER, SECRET))
        yield t


@pytest.fixture(scope="module")
def vm(tgt):
    cfg = "net=dhcp\ninitiator=iqn.2026-11.org.hako:itest\n"
    img = make_image(os.path.join(BUILD, "test-iscsi.img"), cfg,
                     files=[os.path.join(BUILD, "guests", "vblk.elf")])
    m = Qemu(smp=3, mem="512M", image=img, name="iscsi",
             extra_args=["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"])
    m.start()
    m.wait_prompt()
    m.expect(r"net: \S+ address 10\.0\.2\.15", 60)
    yield m
    m.stop()


def url(tgt, iqn, lun=None, auth=""):
    return "iscsi://%s10.0.2.2:%d/%s%s" % (auth, tgt.port, iqn, "" if lun is None else "/%d" % lun)


def test_discover_lists_targets(vm, tgt):
    out = vm.cmd("iscsi discover 10.0.2.2:%d" % tgt.port, timeout=60)
    assert re.search(r"^%s \S+:%d,1$" % (re.escape(DISK), tgt.port), out, re.M), out
    assert re.search(r"^%s " % re.escape(CHAP), out, re.M), out


def test_luns_with_sizes(vm, tgt):
    out = vm.cmd("iscsi luns " + url(tgt, DISK), timeout=60)
    assert re.search(r"^1\s+disk\s+%d\s+512\s+IET VIRTUAL-DISK$" % (64 << 20), out, re.M), out
    assert re.search(r"^2\s+disk\s+%d\s+512\s" % (8 << 20), out, re.M), out
    assert re.search(r"^0\s+controller\s", out, re.M), out
    out = vm.cmd("iscsi luns " + url(tgt, CHAP, auth="%s%%%s@" % (USER, SECRET)), timeout=60)
    assert re.search(r"^1\s+disk\s+%d\s" % (4 << 20), out, re.M), out


def test_show_masks_chap_secret(vm, tgt):
    disk = url(tgt, CHAP, 1, auth="%s%%%s@" % (USER, SECRET))
    out = vm.cmd('define sec1 mem=16M kernel=esp:vblk.elf cmdline="size" disk=%s' % disk)
    assert not re.search(r"^error: ", out, re.M), out
    try:
        out = vm.cmd("show sec1")
        assert "%s%%****@" % USER in out, out
        assert SECRET not in out, out
    finally:
        vm.cmd("undefine sec1")


def test_wrong_chap_secret_is_a_clear_error(vm, tgt):
    out = vm.cmd("iscsi luns " + url(tgt, CHAP, auth="%s%%wrongsecret1@" % USER), timeout=60)
    assert re.search(r"^error: login failed: authentication failed .*%s" % re.escape(CHAP), out, re.M), out
    assert "wrongsecret1" not in out.replace(url(tgt, CHAP, auth="%s%%wrongsecret1@" % USER), "")
    out = vm.cmd("iscsi luns " + url(tgt, CHAP), timeout=60)
    assert re.search(r"^error: login failed: ", out, re.M), out


def test_bad_arguments(vm, tgt):
    assert vm.cmd("iscsi luns http://x/y").strip().startswith("error: bad URL")
    assert vm.cmd("iscsi discover 10.0.2.2:99999").strip().startswith("error: ")
    out = vm.cmd("disk check %s" % url(tgt, DISK))
    assert re.search(r"^error: bad disk URL: URL needs /LUN", out, re.M), out
    out = vm.cmd("iscsi discover 10.0.2.2:1", timeout=60)  # nothing listens there
    assert re.search(r"^error: discovery at 10.0.2.2:1 failed: ", out, re.M), out


def test_disk_check_needs_confirmation(vm, tgt):
    vm.send(("disk check %s 1M\r" % url(tgt, DISK, 2)).encode())
    vm.expect(r"Type 'yes' to continue: ", 30)
    out = vm.cmd("no", timeout=30)
    assert "error: not confirmed; nothing written" in out, out


def test_disk_check_writes_and_verifies(vm, tgt):
    size = 4 << 20
    vm.send(("disk check %s 4M\r" % url(tgt, DISK, 2)).encode())
    vm.expect(r"Type 'yes' to continue: ", 30)
    out = vm.cmd("yes", timeout=300)
    assert len(re.findall(r"^write: \d+% ", out, re.M)) >= 5, out   # progress
    assert re.search(r"^verify: 100% \(4 of 4 MiB\)$", out, re.M), out
    m = re.search(r"^disk check passed: %d bytes written and verified \(seed (\d+)\)" % size, out, re.M)
    assert m, out
    want = subprocess.run([LIVE, "pattern", str(size), m.group(1)], stdout=subprocess.PIPE,
                          check=True).stdout
    with open(os.path.join(tgt.dir, "lun2.img"), "rb") as f:
        assert f.read(size) == want


def test_guest_disk_opens_and_closes(vm, tgt):
    """`start` logs in and reads the capacity (block layer iscsi://); `destroy` logs out."""
    out = vm.cmd('define g1 mem=16M kernel=esp:vblk.elf cmdline="size" disk=%s' % url(tgt, DISK, 2))
    assert not re.search(r"^error: ", out, re.M), out
    for _ in range(2):
        out = vm.cmd("start g1", timeout=60)
        assert not re.search(r"^error: ", out, re.M), out
        stats = vm.cmd("stats g1")
        assert re.search(r"disk vda iscsi://10\.0\.2\.2:%d/%s/2: 0 reads" % (tgt.port, re.escape(DISK)),
                         stats), stats
        vm.cmd("destroy g1", timeout=60)
    vm.cmd("undefine g1")


def console(m, name, pattern, timeout=60):
    """Attaches to NAME's console, waits for `pattern`, returns the guest's output, detaches."""
    mark = m.mark()
    m.send("console %s\r" % name)
    m.expect(r"\[attached to %s" % name, 10)
    try:
        m.expect(pattern, timeout)
        out = m.output_since(mark)
        return re.sub(r"\[ *\d+\.\d{6}\] [^\n]*\n", "", out[out.index("[attached to"):])
    finally:
        m.send(b"\x1d")
        m.expect(r"\[detached from %s\]" % name, 10)
        m.wait_prompt(10)


def vblk_pattern(seed, n):
    return bytes(((i * 31 + seed) ^ (i >> 9)) & 0xff for i in range(n))


def test_guest_virtio_disk_on_a_lun(vm, tgt):
    """guests/vblk through virtio-blk on LUN 1 (read-write) and LUN 2 (,ro)."""
    out = vm.cmd('define g3 mem=16M kernel=esp:vblk.elf cmdline="size rw beyond dev=1 size ro" '
                 'disk=%s disk=%s,ro' % (url(tgt, DISK, 1), url(tgt, DISK, 2)))
    assert not re.search(r"^error: ", out, re.M), out
    out = vm.cmd("start g3", timeout=60)
    assert not re.search(r"^error: ", out, re.M), out
    out = console(vm, "g3", r"vblk: done", timeout=120)
    assert "vblk: device 0 id=2 capacity %d sectors" % ((64 << 20) // 512) in out, out
    assert "vblk: device 1 id=2 capacity %d sectors" % ((8 << 20) // 512) in out, out
    for check in ("rw: write, read back, verify", "rw: flush",
                  "beyond: reads past the end fail, the device works on",
                  "ro: feature offered, write refused, read works"):
        assert "vblk: %s PASS" % check in out, out
    assert "FAIL" not in out, out
    vm.cmd("destroy g3", timeout=60)
    vm.cmd("undefine g3")
    with open(os.path.join(tgt.dir, "lun1.img"), "rb") as f:
        data = f.read(16 * 4096)
        for chunk in range(16):
            assert data[chunk * 4096:(chunk + 1) * 4096] == vblk_pattern(chunk, 4096), chunk
        f.seek((64 << 20) - 512)
        assert f.read(512) == vblk_pattern(99, 512)


def test_guest_disk_refused_when_login_fails(vm, tgt):
    out = vm.cmd('define g2 mem=16M kernel=esp:vblk.elf cmdline="size" disk=%s'
                 % url(tgt, CHAP, 1, auth="%s%%wrongsecret1@" % USER))
    assert not re.search(r"^error: ", out, re.M), out
    out = vm.cmd("start g2", timeout=60)
    assert re.search(r"^error: .*authentication failed", out, re.M), out
    vm.cmd("undefine g2")


def test_disk_check_interrupted_by_ctrl_c(vm, tgt):
    vm.send(("disk check %s\r" % url(tgt, DISK, 1)).encode())
    vm.expect(r"Type 'yes' to continue: ", 30)
    vm.send(b"yes\r")
    vm.expect(r"^write: \d+%", 120)
    vm.send(b"\x03")
    vm.expect(r"^error: disk check failed: interrupted", 60)
    vm.wait_prompt()
    assert "iqn" in vm.cmd("iscsi discover 10.0.2.2:%d" % tgt.port, timeout=60)  # still usable


def test_disk_check_survives_tgtd_restart(vm, tgt):
    """tgtd killed and restarted during a 32 MiB write: hako reconnects, re-issues, completes."""
    size = 32 << 20
    vm.send(("disk check %s 32M\r" % url(tgt, DISK, 1)).encode())
    vm.expect(r"Type 'yes' to continue: ", 30)
    vm.send(b"yes\r")
    vm.expect(r"^write: [3-5]\d% ", 300)
    tgt.kill()
    time.sleep(1)
    tgt.start()
    m = vm.expect(r"^(disk check passed: %d bytes written and verified \(seed (\d+)\)|error: .*)$"
                  % size, 300)
    assert m.group(1).startswith("disk check passed"), m.group(1)
    vm.wait_prompt()
    log = vm.cmd("log")
    assert re.search(r"iscsi %s: connection closed" % re.escape(DISK), log), log[-2000:]
    want = subprocess.run([LIVE, "pattern", str(size), m.group(2)], stdout=subprocess.PIPE,
                          check=True).stdout
    with open(os.path.join(tgt.dir, "lun1.img"), "rb") as f:
        assert f.read(size) == want


def test_two_guests_on_two_luns(vm, tgt):
    """Two guests running at once, each on its own LUN through its own session."""
    for name, lun in (("g4", 1), ("g5", 2)):
        out = vm.cmd('define %s mem=16M kernel=esp:vblk.elf cmdline="rw" disk=%s'
                     % (name, url(tgt, DISK, lun)))
        assert not re.search(r"^error: ", out, re.M), out
    for name in ("g4", "g5"):
        out = vm.cmd("start " + name, timeout=60)
        assert not re.search(r"^error: ", out, re.M), out
    for name in ("g4", "g5"):
        out = console(vm, name, r"vblk: done", 120)
        assert "vblk: rw: write, read back, verify PASS" in out, out
        assert "vblk: rw: flush PASS" in out, out
    assert re.search(r"^g4\s+running", vm.cmd("list"), re.M)
    for name in ("g4", "g5"):
        vm.cmd("destroy " + name, timeout=60)
        vm.cmd("undefine " + name)
    with open(os.path.join(tgt.dir, "lun2.img"), "rb") as f:
        assert f.read(4096) == vblk_pattern(0, 4096)


def list_row(m, name):
    row = re.search(r"^%s\s+(\w+).*$" % name, m.cmd("list", timeout=5), re.M)
    assert row, name
    return row.group(0)


def test_start_waits_for_its_disk_and_ctrl_c_ends_it(vm, tgt):
    """`start` of a guest whose LUN does not answer yet: no prompt until it is
    running (the shell still answers Ctrl-C); once the target answers, the
    result and then the prompt. Ctrl-C during the wait leaves it stopped."""
    out = vm.cmd('define g6 mem=16M kernel=esp:vblk.elf cmdline="size" disk=%s' % url(tgt, DISK, 2))
    assert not re.search(r"^error: ", out, re.M), out
    tgt.pause()
    try:
        mark = vm.mark()
        vm.send("start g6\r")
        time.sleep(3)
        assert "hako> " not in vm.output_since(mark), vm.output_since(mark)
        vm.send(b"\x03")
        vm.expect(r"^error: start of 'g6' interrupted; it stays stopped$", 10)
        vm.wait_prompt(10)
        assert re.match(r"g6\s+stopped\s", list_row(vm, "g6"))
        mark = vm.mark()
        vm.send("start g6\r")
        time.sleep(3)
        assert "hako> " not in vm.output_since(mark), vm.output_since(mark)
    finally:
        tgt.resume()
    vm.expect(r"^started g6 on core \d+$", 60)
    vm.wait_prompt(10)
    assert re.match(r"g6\s+running", list_row(vm, "g6"))
    vm.cmd("destroy g6", timeout=60)
    vm.cmd("undefine g6")


def test_discover_waits_without_a_prompt_and_ctrl_c_ends_it(vm, tgt):
    """`iscsi discover` finishes later too: no prompt while the target is silent,
    Ctrl-C ends it with one error, and the next one works."""
    tgt.pause()
    try:
        mark = vm.mark()
        vm.send("iscsi discover 10.0.2.2:%d\r" % tgt.port)
        time.sleep(2)
        assert "hako> " not in vm.output_since(mark), vm.output_since(mark)
        vm.send(b"\x03")
        vm.expect(r"^error: discovery interrupted$", 10)
        vm.wait_prompt(10)
    finally:
        tgt.resume()
    out = vm.cmd("iscsi discover 10.0.2.2:%d" % tgt.port, timeout=60)
    assert re.search(r"^%s \S+:%d,1$" % (re.escape(DISK), tgt.port), out, re.M), out


def test_reset_reopens_its_disk_without_holding_up_the_shell(vm, tgt):
    """A guest's reset logs its LUN in again. While the target is silent the
    serial shell answers at once (the guest shows as stopped, starting); the
    guest runs again once the target answers, and `destroy` ends such a start."""
    out = vm.cmd('define g7 mem=16M kernel=esp:vblk.elf cmdline="size" disk=%s' % url(tgt, DISK, 2))
    assert not re.search(r"^error: ", out, re.M), out
    out = vm.cmd("start g7", timeout=60)
    assert re.search(r"^started g7", out, re.M), out
    tgt.pause()
    try:
        assert "resetting g7" in vm.cmd("reset g7", timeout=5)
        time.sleep(1)
        t0 = time.time()
        row = list_row(vm, "g7")  # within 5 s, while the LUN's login waits
        assert time.time() - t0 < 5
        assert re.match(r"g7\s+stopped\s.*\(starting: its disks are opening\)", row), row
        assert "starting=its disks are opening" in vm.cmd("show g7", timeout=5)
        assert re.search(r"^error: guest 'g7' is starting", vm.cmd("set g7 cpus=1", timeout=5), re.M)
    finally:
        tgt.resume()
    deadline = time.time() + 60
    while not re.match(r"g7\s+running", list_row(vm, "g7")):
        assert time.time() < deadline, vm.cmd("log")[-2000:]
        time.sleep(1)
    tgt.pause()
    try:
        vm.cmd("reset g7", timeout=5)
        time.sleep(1)
        assert "destroyed g7" in vm.cmd("destroy g7", timeout=5)
        row = list_row(vm, "g7")
        assert re.match(r"g7\s+stopped\s", row) and "starting" not in row, row
    finally:
        tgt.resume()
    vm.cmd("undefine g7")


def test_disk_bench_prints_figures(vm, tgt):
    vm.send(("disk bench %s 1M\r" % url(tgt, DISK, 2)).encode())
    vm.expect(r"Type 'yes' to continue: ", 30)
    out = vm.cmd("yes", timeout=300)
    rows = re.findall(r"^(write|read) (4|256)K x(1|16): \d+\.\d MB/s \(1 MiB in \d+ ms\)$", out, re.M)
    assert len(rows) == 8, out
    # each run's latency breakdown: every request, all five hops of a LUN,
    # and the hops' means add up to the total's (each rounded to 0.1 us)
    hop = r"(\d+\.\d)/(\d+\.\d)"
    lat = re.findall(r"^  latency (\d+) requests, us mean/p99: kick->queued %s, queued->wire %s, "
                     r"wire->response %s, response->done %s, total %s$" % ((hop,) * 5), out, re.M)
    assert len(lat) == 8, out
    for (_, size, _), row in zip(rows, lat):
        assert int(row[0]) == (1 << 20) // (int(size) * 1024), row
        means = [float(v) for v in row[1::2]]
        assert means[4] > 0 and abs(sum(means[:4]) - means[4]) <= 0.5, row
        assert all(float(p99) >= 0 for p99 in row[2::2]), row
    out = vm.cmd("disk bench %s 1000" % url(tgt, DISK, 2))
    assert re.search(r"^error: the benchmark size must be a multiple of 256K", out, re.M), out
