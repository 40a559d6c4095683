"""iSCSI URLs that name their target host by name (hako.cfg `dns=`, issue 12).

A small DNS responder on the host (tests/lib/dns_responder.py) answers
`san.hako.test` with 10.0.2.2, the host as QEMU's user network shows it,
and NXDOMAIN for anything else; hako.cfg says `dns=10.0.2.2`, which QEMU
forwards to the host's 127.0.0.1:53. The DHCP lease names QEMU's own DNS
server (10.0.2.3), so these tests also show that `dns=` wins over it.
`iscsi discover NAME:PORT`, `iscsi luns` and a guest disk URL naming the
target by that name work; an unknown name is one clear error, quickly.
"""
import os
import re
import time

import pytest

from dns_responder import DnsResponder
from hako import BUILD, Qemu, make_image
from shell_helpers import console, ok, state
from tgt import Tgt

DISK = "iqn.2026-11.org.hako.test:dns"
NAME = "san.hako.test"


@pytest.fixture(scope="module")
def tgt():
    with Tgt(name="iscsi-dns") as t:
        t.add_target(DISK, {1: (os.path.join(t.dir, "lun1.img"), 8 << 20)})
        yield t


@pytest.fixture(scope="module")
def dns():
    with DnsResponder({NAME: "10.0.2.2"}) as d:
        yield d


@pytest.fixture(scope="module")
def vm(tgt, dns):
    cfg = "net=dhcp\ndns=10.0.2.2\ninitiator=iqn.2026-11.org.hako:dnstest\n"
    img = make_image(os.path.join(BUILD, "test-iscsi-dns.img"), cfg,
                     files=[os.path.join(BUILD, "guests", "vblk.elf")])
    m = Qemu(smp=2, mem="512M", image=img, name="iscsi-dns",
             extra_args=["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"])
    m.start()
    m.wait_prompt()
    m.expect(r"net: \S+ address 10\.0\.2\.15", 60)
    yield m
    m.stop()


def test_dns_key_wins_over_dhcp(vm):
    out = ok(vm, "net")
    assert re.search(r"^dns: 10\.0\.2\.2 \(dns= in hako\.cfg\)$", out, re.M), out


def test_discover_and_luns_by_name(vm, tgt, dns):
    out = ok(vm, "iscsi discover %s:%d" % (NAME, tgt.port), timeout=60)
    assert re.search(r"^%s \S+:%d,1$" % (re.escape(DISK), tgt.port), out, re.M), out
    assert (NAME, 1) in dns.queries, dns.queries
    out = ok(vm, "iscsi luns iscsi://%s:%d/%s" % (NAME, tgt.port, DISK), timeout=60)
    assert re.search(r"^1\s+disk\s+%d\s+512\s" % (8 << 20), out, re.M), out


def test_guest_disk_by_name(vm, tgt):
    ok(vm, 'define n1 mem=16M kernel=esp:vblk.elf cmdline="size rw" disk=iscsi://%s:%d/%s/1'
       % (NAME, tgt.port, DISK))
    try:
        out = ok(vm, "start n1", timeout=60)
        assert re.search(r"^started n1 on core", out, re.M), out
        out = console(vm, "n1", r"vblk: done", 120)
        assert "vblk: device 0 id=2 capacity %d sectors" % ((8 << 20) // 512) in out, out
        assert "vblk: rw: write, read back, verify PASS" in out, out
        ok(vm, "destroy n1", timeout=60)
    finally:
        vm.cmd("destroy n1", timeout=60)
        vm.cmd("undefine n1")


def test_unknown_name_is_one_clear_error(vm, tgt, dns):
    t0 = time.time()
    out = vm.cmd("iscsi discover nosuch.hako.test:%d" % tgt.port, timeout=60)
    errors = re.findall(r"^error: .*$", out, re.M)
    assert len(errors) == 1, out
    assert re.search(r"discovery at nosuch\.hako\.test:%d failed: cannot resolve host "
                     r"'nosuch\.hako\.test'" % tgt.port, errors[0]), errors[0]
    ok(vm, 'define n2 mem=16M kernel=esp:vblk.elf cmdline="size" '
           'disk=iscsi://nosuch.hako.test:%d/%s/1' % (tgt.port, DISK))
    out = vm.cmd("start n2", timeout=60)
    errors = re.findall(r"^error: .*$", out, re.M)
    assert len(errors) == 1, out
    assert "cannot resolve host 'nosuch.hako.test'" in errors[0], errors[0]
    assert state(vm, "n2") == "stopped"
    assert re.search(r"^n2\s+stopped\s.*\(start failed: iSCSI disk .*cannot resolve host",
                     vm.cmd("list"), re.M), vm.cmd("list")
    ok(vm, "undefine n2")
    assert time.time() - t0 < 30  # the DNS server said no: no waiting for a timeout
    assert ("nosuch.hako.test", 1) in dns.queries, dns.queries
