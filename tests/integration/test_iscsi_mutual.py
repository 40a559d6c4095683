"""Mutual CHAP, CRC32C digests and secrets kept off the screen (issue 17,
findings 7 and 8), against a real tgtd.

The test's tgtd has one target that demands CHAP from hako (an incoming
account) and proves itself to hako (an outgoing account,
`tgtadm --op bind --mode account --outgoing`) and takes only CRC32C
digests (tgt's HeaderDigest and DataDigest), and one open target. hako's
catalog and pool are LUNs of the first, named in hako.cfg with the URL form
`iscsi://USER%SECRET@HOST/IQN/LUN?target_user=..&target_password=..
&header_digest=crc32c&data_digest=crc32c`; a guest's disk uses it too.
Every login is mutual and digested (the log says so); a wrong target secret
ends the login with one clear error; and neither secret ever appears in what
`host`, `log`, `stats`, `show`, `disk check` or `disk bench` print, while a
URL without secrets prints as it was typed. About half a minute under TCG.
"""
import os
import re

import pytest

from hako import BUILD, Qemu, make_image
from shell_helpers import console, ok
from tgt import Tgt

IQN = "iqn.2026-11.org.hako.test:mutual"
OPEN = "iqn.2026-11.org.hako.test:open"
USER, SECRET = "hakohost", "initiator-secret-1"
TUSER, TSECRET = "sanbox", "target-secret-22"
SECRETS = (SECRET, TSECRET)


@pytest.fixture(scope="module")
def san():
    with Tgt(name="iscsi-mutual") as t:
        d = t.dir
        t.add_target(IQN, {1: (os.path.join(d, "catalog.img"), 4 << 20),
                           2: (os.path.join(d, "pool.img"), 64 << 20),
                           3: (os.path.join(d, "disk.img"), 8 << 20)},
                     chap=(USER, SECRET), mutual=(TUSER, TSECRET),
                     params={"HeaderDigest": "CRC32C", "DataDigest": "CRC32C"})
        t.add_target(OPEN, {1: (os.path.join(d, "open.img"), 8 << 20)})
        yield t


def url(san, lun, target_secret=TSECRET, digests=True):
    u = "iscsi://%s%%%s@10.0.2.2:%d/%s/%d?target_user=%s&target_password=%s" % (
        USER, SECRET, san.port, IQN, lun, TUSER, target_secret)
    return u + ("&header_digest=crc32c&data_digest=crc32c" if digests else "")


def masked(san, lun):
    return ("iscsi://%s%%****@10.0.2.2:%d/%s/%d?target_user=%s&target_password=****"
            "&header_digest=crc32c&data_digest=crc32c" % (USER, san.port, IQN, lun, TUSER))


def no_secret(out):
    for s in SECRETS:
        assert s not in out, "a secret was shown:\n" + out


@pytest.fixture(scope="module")
def vm(san):
    cfg = "net=dhcp\ncatalog=%s\npool=%s\n" % (url(san, 1), url(san, 2))
    img = make_image(os.path.join(BUILD, "test-iscsi-mutual.img"), cfg,
                     files=[os.path.join(BUILD, "guests", "vblk.elf")])
    m = Qemu(smp=2, mem="512M", image=img, name="iscsi-mutual",
             extra_args=["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"])
    m.start()
    m.wait_prompt(120)
    yield m
    m.stop()


def test_catalog_and_pool_log_in_mutually_with_digests(vm, san):
    out = ok(vm, "host")
    assert "catalog: %s (update " % masked(san, 1) in out, out
    assert "pool: %s, " % masked(san, 2) in out, out
    no_secret(out)
    log = ok(vm, "log")
    assert re.search(r"iscsi %s: logged in \(digests crc32c/crc32c" % re.escape(IQN), log), log
    assert "catalog: %s: 0 guests" % masked(san, 1) in log, log
    no_secret(log)


def test_guest_disk_with_mutual_chap_and_digests(vm, san):
    ok(vm, 'define g mem=16M kernel=esp:vblk.elf cmdline="rw" disk=%s' % url(san, 3))
    out = ok(vm, "start g", timeout=60)
    assert re.search(r"^started g", out, re.M), out
    out = console(vm, "g", r"vblk: done", 120)
    assert "vblk: rw: write, read back, verify PASS" in out, out
    stats = ok(vm, "stats g")
    assert "disk vda %s: " % masked(san, 3) in stats, stats
    no_secret(stats)
    show = ok(vm, "show g")
    assert "disk=%s" % masked(san, 3) in show, show
    no_secret(show)
    ok(vm, "destroy g", timeout=60)
    no_secret(ok(vm, "log"))


def test_wrong_target_secret_ends_the_login(vm, san):
    out = vm.cmd("iscsi luns %s" % url(san, 3, target_secret="not-the-target-1"), timeout=60)
    errors = re.findall(r"^error: .*$", out, re.M)
    assert len(errors) == 1, out
    assert "target's CHAP response is wrong (mutual CHAP)" in errors[0], out
    ok(vm, 'define h mem=16M kernel=esp:vblk.elf cmdline="rw" disk=%s'
       % url(san, 3, target_secret="not-the-target-1"))
    out = vm.cmd("start h", timeout=60)
    assert re.search(r"^error: .*target's CHAP response is wrong \(mutual CHAP\)", out, re.M), out
    no_secret(out)
    ok(vm, "undefine h")
    out = ok(vm, "iscsi luns %s" % url(san, 3), timeout=60)  # the right one still works
    assert re.search(r"^3\s+disk\s+8388608\s", out, re.M), out


def test_disk_verbs_do_not_repeat_secrets(vm, san):
    vm.send("disk check %s 1M\r" % url(san, 3))
    prompt = vm.expect(r"This overwrites .*\n?.*Type 'yes' to continue: ", 30).group(0)
    assert masked(san, 3) in prompt, prompt
    no_secret(prompt)
    out = vm.cmd("yes", timeout=120)
    assert re.search(r"^disk check passed: 1048576 bytes", out, re.M), out
    no_secret(out)
    vm.send("disk bench %s 1M\r" % url(san, 3))
    prompt = vm.expect(r"This overwrites .*\n?.*Type 'yes' to continue: ", 30).group(0)
    no_secret(prompt)
    out = vm.cmd("yes", timeout=180)
    assert not re.search(r"^error: ", out, re.M), out
    no_secret(out)
    # a URL without secrets is shown as typed
    plain = "iscsi://10.0.2.2:%d/%s/1" % (san.port, OPEN)
    vm.send("disk check %s 1M\r" % plain)
    prompt = vm.expect(r"This overwrites .*\n?.*Type 'yes' to continue: ", 30).group(0)
    assert "of %s." % plain in prompt, prompt
    out = vm.cmd("no", timeout=30)
    assert "not confirmed" in out, out
    no_secret(ok(vm, "log"))
