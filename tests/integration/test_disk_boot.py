"""Guests boot the system installed on their disk (issue 19): boot=disk.

The Debian 12 system of tools/mkdebian.sh (build/debian/disk.img: systemd, the
stock kernel, serial autologin, hako-identity.service) sits on tgt LUNs. hako
reads the kernel and initrd from the LUN (GPT, ext4, /vmlinuz and /initrd.img
links) and boots them with root=PARTUUID=... and the guest's identity on the
command line. Slow: the Debian boots take a minute or more each under TCG in TCG.
The bad-disk cases (a blank LUN, an ext4 LUN with a damaged superblock, one whose
/vmlinuz points nowhere) need no Linux boot and are not slow, nor is the read
held up by a target that leaves its READs unanswered (tests/lib/hostile_target.py):
the shell answers meanwhile, and Ctrl-C or destroy end the start.
"""
import hashlib
import os
import re
import shutil
import subprocess
import time

import pytest

from hako import BUILD, ROOT, Qemu, free_port, make_image
from hostile_target import HostileTarget
from netconsole import wait_login_prompt
from shell_helpers import ok, state
from tgt import Tgt

IQN = "iqn.2026-12.org.hako.test:diskboot"
DEBIAN = os.path.join(BUILD, "debian", "disk.img")
FSIMG = os.path.join(BUILD, "unit", "fsimg")
PROMPT = r"root@%s:~# "
# bash's bracketed-paste switch, printed before a command's output until
# at_shell() turns the mode off
ESC = r"(?:\x1b\[\?2004[hl])?"


def debian_image():
    if not os.path.exists(DEBIAN) or os.path.getmtime(DEBIAN) < os.path.getmtime(
            os.path.join(ROOT, "tools", "mkdebian.sh")):
        subprocess.run(["make", "-C", ROOT, "debian-image"], check=True)
    return DEBIAN


def sparse_copy(src, dst):
    subprocess.run(["cp", "--sparse=always", src, dst], check=True)


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def typed(m, line):
    """Types a line into an attached guest (its UART FIFO holds 64 bytes)."""
    line += "\r"
    for i in range(0, len(line), 32):
        m.send(line[i:i + 32])
        time.sleep(0.3)


def run(m, name, line, pattern, timeout=120):
    typed(m, line)
    return m.expect(pattern, timeout)


class Console:
    """Attached to a guest's console for a while (Ctrl-] on leaving)."""

    def __init__(self, m, name):
        self.m, self.name = m, name

    def __enter__(self):
        self.m.send("console %s\r" % self.name)
        self.m.expect(r"\[attached to %s" % self.name, 10)
        return self

    def __exit__(self, *exc):
        self.m.send(b"\x1d")
        self.m.expect(r"\[detached from %s\]" % self.name, 10)
        self.m.wait_prompt(10)


def at_shell(m, name, timeout):
    """Waits for the autologin shell and turns bash's bracketed paste off, so
    that command output lines carry no escape sequences."""
    m.expect(PROMPT % name, timeout)
    run(m, name, "bind 'set enable-bracketed-paste off'; echo paste-off", r"\n" + ESC + r"paste-off")
    m.expect(PROMPT % name, 30)


def system_state(m, name):
    """`systemctl is-system-running --wait`, and the failed units if degraded."""
    r = run(m, name, "systemctl is-system-running --wait; echo state-done",
            r"\n" + ESC + r"(running|degraded|maintenance|starting|stopping|offline|unknown)\s*\r?\n.*state-done",
            300)
    failed = ""
    if r.group(1) == "degraded":
        failed = run(m, name, "systemctl --failed --no-legend --plain | cut -d' ' -f1 | tr '\\n' ' '; "
                     "echo failed-done", r"\n" + ESC + r"([^\n]*)failed-done").group(1)
    return r.group(1), failed.strip()


@pytest.fixture(scope="module")
def san():
    with Tgt(name="diskboot") as t:
        luns = {}
        blank = os.path.join(t.dir, "blank.img")
        with open(blank, "wb") as f:
            f.truncate(64 << 20)
        badsb = os.path.join(t.dir, "badsb.img")
        shutil.copyfile(os.path.join(FSIMG, "gpt_ext4.img"), badsb)
        with open(badsb, "r+b") as f:           # ext4 superblock at partition + 1024
            f.seek((1 << 20) + 1024 + 0x18)      # s_log_block_size
            f.write(b"\x09")
        luns[1] = (blank, 64 << 20)
        luns[2] = (badsb, os.path.getsize(badsb))
        link = os.path.join(t.dir, "link.img")
        shutil.copyfile(os.path.join(FSIMG, "broken_link.img"), link)
        luns[3] = (link, os.path.getsize(link))
        t.add_target(IQN, luns)
        yield t


@pytest.fixture(scope="module")
def debian_san():
    src = debian_image()
    with Tgt(name="diskboot-debian") as t:
        one, tmpl = os.path.join(t.dir, "debian.img"), os.path.join(t.dir, "template.img")
        sparse_copy(src, one)
        sparse_copy(src, tmpl)
        size = os.path.getsize(src)
        t.add_target(IQN, {1: (one, size), 2: (tmpl, size)})
        yield t


def url(t, n):
    return "iscsi://10.0.2.2:%d/%s/%d" % (t.port, IQN, n)


def boot_hako(name, cfg="net=dhcp\n", mem="2G"):
    img = make_image(os.path.join(BUILD, "test-%s.img" % name), cfg)
    m = Qemu(smp=4, mem=mem, image=img, name=name,
             extra_args=["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"])
    m.start()
    m.wait_prompt(120)
    return m, img


def test_bad_disks_give_one_error_each(san):
    """Blank LUN, damaged superblock, /vmlinuz pointing nowhere: one error line
    each from `start`, the guest stays stopped, the host goes on."""
    m, img = boot_hako("diskboot-bad")
    try:
        cases = {1: r"no partition table and no file system on the disk",
                 2: r"partition 1 \(ext4\): ext4 superblock: checksum mismatch",
                 3: r"partition 1 \(ext4\): /vmlinuz points nowhere \(boot/vmlinuz-missing: not found\)"}
        for n, why in cases.items():
            ok(m, "define bad%d boot=disk disk=%s" % (n, url(san, n)))
            out = m.cmd("start bad%d" % n, 120)
            errors = re.findall(r"^error: .*$", out, re.M)
            assert len(errors) == 1, out
            assert re.search(r"guest 'bad%d' has nothing to boot on vda \(iscsi://.*\): " % n
                             + why, errors[0]), errors[0]
            assert state(m, "bad%d" % n) == "stopped"
        # boot=disk without a disk, and kernel= still required otherwise
        ok(m, "define nodisk boot=disk")
        assert re.search(r"^error: guest 'nodisk' has boot=disk but no disk", m.cmd("start nodisk"), re.M)
        assert re.search(r"cores: \d+ total", ok(m, "host"))
        out = ok(m, "show bad1")
        assert re.search(r"^define bad1 .* boot=disk instance-id=[0-9a-f]{16}$", out, re.M), out
        assert re.search(r"^hostname=bad1$", out, re.M), out
    finally:
        m.stop()
        os.unlink(img)


def held_until(target, timeout=60):
    deadline = time.time() + timeout
    while not target.held:
        assert time.time() < deadline, "no READ reached the target"
        time.sleep(0.2)


def test_shell_answers_while_the_boot_files_are_read():
    """The kernel is read from the LUN after `start` returned to the service
    loop: while the target holds the READs, `start` waits without a prompt,
    the network console's `list`, `show` and `host` answer and show the guest
    starting; Ctrl-C ends the start, and so does `destroy` from the other
    console, each with one error line for the waiting `start`; the memory
    comes back. Once the target answers, the read ends with the disk's error
    (this test disk's kernel is a pattern, not a bzImage)."""
    user, password = "test", "pw for disk boot"
    p = subprocess.run([os.path.join(ROOT, "tools", "hako-passwd"), "--stdin", user],
                       input=password + "\n", stdout=subprocess.PIPE, check=True, text=True)
    port = free_port()
    cfg = "net=dhcp\nmgmt_port=2323\niscsi_timeout=300\n%s\n" % p.stdout.strip()
    img = make_image(os.path.join(BUILD, "test-diskboot-held.img"), cfg)
    m = Qemu(smp=3, mem="1G", image=img, name="diskboot-held",
             extra_args=["-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:2323" % port,
                         "-device", "virtio-net-pci,netdev=n0"])
    with open(os.path.join(FSIMG, "gpt_ext4.img"), "rb") as f:
        disk = f.read()
    with HostileTarget(IQN, size=len(disk)) as t:
        t.store[:] = disk
        t.set_mode("hold_reads")
        m.start()
        try:
            m.wait_prompt(120)
            m.expect(r"net: \S+ address 10\.0\.2\.15", 60)
            nc = wait_login_prompt(port)
            nc.login(user, password)
            ok(m, "define slow mem=64M boot=disk disk=iscsi://10.0.2.2:%d/%s/1" % (t.port, IQN))
            free0 = re.search(r"(\d+) MiB free", ok(m, "host")).group(1)
            # 1. Ctrl-C while the read waits
            mark = m.mark()
            m.send("start slow\r")
            held_until(t)
            row = re.search(r"^slow .*$", nc.cmd("list"), re.M).group(0)
            assert re.match(r"slow\s+stopped\s.*\(starting: reading what vda boots\)$", row), row
            assert re.search(r"^starting=reading what vda boots$", nc.cmd("show slow"), re.M)
            assert re.search(r"^cores: ", nc.cmd("host"), re.M)
            assert "hako> " not in m.output_since(mark), m.output_since(mark)
            m.send(b"\x03")
            m.expect(r"^error: start of 'slow' interrupted; it stays stopped$", 10)
            m.wait_prompt(10)
            assert state(m, "slow") == "stopped"
            # 2. destroy from the network console while the read waits
            t.held = 0
            mark = m.mark()
            m.send("start slow\r")
            held_until(t)
            assert "destroyed slow" in nc.cmd("destroy slow")
            m.expect(r"^error: destroyed while it read what vda boots$", 10)
            m.wait_prompt(10)
            out = m.output_since(mark)
            assert len(re.findall(r"^error: ", out, re.M)) == 1, out
            row = re.search(r"^slow .*$", ok(m, "list"), re.M).group(0)
            assert re.match(r"slow\s+stopped\s", row) and "start" not in row, row
            assert re.search(r"(\d+) MiB free", ok(m, "host")).group(1) == free0
            # 3. the target answers: the read ends, with this disk's error
            t.set_mode(None)
            out = m.cmd("start slow", 60)
            errors = re.findall(r"^error: .*$", out, re.M)
            assert len(errors) == 1, out
            assert re.match(r"error: guest 'slow' has nothing to boot on vda \(iscsi://.*\): "
                            r"the kernel cannot be loaded: not a bzImage", errors[0]), errors[0]
            assert re.search(r"^slow\s+stopped\s.*\(start failed: guest 'slow' has nothing to boot",
                             nc.cmd("list"), re.M)
            assert re.search(r"(\d+) MiB free", ok(m, "host")).group(1) == free0
            nc.close()
        finally:
            m.stop()
            os.unlink(img)


@pytest.mark.slow
def test_debian_boots_from_its_lun(debian_san):
    """The Debian system on a LUN, kernel and initrd read from the LUN: multi-user,
    an autologin shell on the console, systemd running (or degraded with the
    failed units named), its identity; `reboot` in the guest reads the disk
    again and comes back; then `shutdown` powers it off cleanly."""
    m, img = boot_hako("diskboot-debian")
    try:
        ok(m, "define deb mem=512M boot=disk disk=%s" % url(debian_san, 1))
        t0 = time.time()
        out = ok(m, "start deb", 300)
        log = re.search(r"guest deb: boot=disk: ([^\n]*)\n", out).group(1)
        with Console(m, "deb"):
            at_shell(m, "deb", 900)
            t_login = time.time() - t0
            st, failed = system_state(m, "deb")
            assert st in ("running", "degraded"), st
            cmdline = run(m, "deb", "cat /proc/cmdline", r"\n" + ESC + r"(root=PARTUUID=[^\n]*)\n").group(1)
            host = run(m, "deb", "hostname; echo h-done", r"\n" + ESC + r"(\S+)\s*\r?\nh-done").group(1)
            # A reboot starts the guest again: hako reads the disk again (a kernel
            # the system installed meanwhile would boot now).
            t2 = time.time()
            typed(m, "reboot")
            m.expect(r"guest deb: reset", 300)
            m.expect(r"guest deb: boot=disk: ", 120)
            at_shell(m, "deb", 900)
            t_reboot = time.time() - t2
        print("\n  deb: %s; login shell %.0f s after start; systemd %s%s; after `reboot` "
              "at its shell again in %.0f s" %
              (log.strip(), t_login, st, " (failed: %s)" % failed if failed else "", t_reboot))
        assert "partition 1 (ext4): /vmlinuz, initrd.img" in log
        assert re.match(r"root=PARTUUID=6861b0d1-5c0e-4f3a-9d2b-00000000d15c ro console=ttyS0 "
                        r"systemd.hostname=deb ds=nocloud;h=deb;i=[0-9a-f]{16} tsc_early_khz=", cmdline), \
            cmdline
        assert host == "deb"
        t1 = time.time()
        ok(m, "shutdown deb")
        m.expect(r"guest deb: powered off", 120)
        assert state(m, "deb") == "stopped"
        assert "did not power off in time" not in m.output_since(0)
        print("  deb: powered off %.0f s after `shutdown`" % (time.time() - t1))
    finally:
        m.stop()
        os.unlink(img)


@pytest.mark.slow
def test_two_clones_have_their_own_identity(debian_san):
    """The template is booted once (it gets a machine id of its own, as a
    class's system set up by a teacher would), then two clones of it boot side
    by side with their own hostnames and new machine ids; a file one writes is
    in neither the other nor the template."""
    tmpl = os.path.join(debian_san.dir, "template.img")
    m, img = boot_hako("diskboot-clones", "net=dhcp\ncatalog=ram:1M\npool=ram:512M\n", mem="3G")
    try:
        ok(m, "define tmpl mem=512M boot=disk disk=%s" % url(debian_san, 2))
        ok(m, "start tmpl", 300)
        with Console(m, "tmpl"):
            at_shell(m, "tmpl", 900)
            tmpl_id = run(m, "tmpl", "cat /etc/machine-id; echo id-done",
                          r"\n" + ESC + r"([0-9a-f]{32})\s*\r?\nid-done").group(1)
        ok(m, "shutdown tmpl")
        m.expect(r"guest tmpl: powered off", 120)
        before = sha(tmpl)
        ids = {}
        for c in ("c1", "c2"):
            ok(m, "clone tmpl " + c)
            ids[c] = re.search(r"^instance-id=(\S+)$", ok(m, "show " + c), re.M).group(1)
        assert ids["c1"] != ids["c2"]
        t0 = time.time()
        for c in ("c1", "c2"):
            ok(m, "start " + c, 300)
        seen = {}
        for c in ("c1", "c2"):
            with Console(m, c):
                at_shell(m, c, 900)
                seen[c] = run(m, c, "cat /etc/hostname /etc/machine-id; echo id-done",
                              r"\n" + ESC + r"(\S+)\s*\r?\n([0-9a-f]{32})\s*\r?\nid-done").groups()
                run(m, c, "echo %s > /root/only-%s && sync; echo w-done" % (c, c), r"w-done")
        print("\n  two clones at their shells %.0f s after start: %s" % (time.time() - t0, seen))
        for c, other in (("c1", "c2"), ("c2", "c1")):
            with Console(m, c):
                r = run(m, c, "ls /root/only-*; echo l-done", r"\n" + ESC + r"([^\n]*)\r?\nl-done")
                assert "only-" + c in r.group(1) and "only-" + other not in r.group(1), r.group(1)
        assert seen["c1"][0] == "c1" and seen["c2"][0] == "c2"
        assert seen["c1"][1] != seen["c2"][1]
        assert tmpl_id not in (seen["c1"][1], seen["c2"][1]), (tmpl_id, seen)
        for c in ("c1", "c2"):
            ok(m, "destroy " + c)
    finally:
        m.stop()
        os.unlink(img)
    assert sha(tmpl) == before, "the template's LUN changed"
