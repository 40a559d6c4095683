"""Guest networks (issue 13): four Linux guests on hako's switch, through the
shell, in one hako under QEMU (AMD-V, virtio-net host NIC on QEMU's user
network, every frame on that wire recorded with -object filter-dump):

    a  eth0 lan:class 10.9.0.1    eth1 uplink (untagged)
    b  eth0 lan:class 10.9.0.2    vda on an iSCSI LUN (tgtd on the host)
    c  eth0 lan:other 10.9.0.3
    d  eth0 lan:class 10.9.0.4    eth1 uplink 10.0.2.42     vlan=42

a and b ping each other and move 16 MiB over TCP intact; c (another LAN)
and d (the same LAN name on VLAN 42) cannot reach them, at IP or at
Ethernet level, and no LAN frame ever shows on the wire; d's uplink frames
are on the wire tagged 42 and hako's own are untagged; frames a sends with
a forged source MAC reach no one; 100,000 frames a floods out of its uplink
NIC leave b's iSCSI disk, the network console and the serial shell working.
Slow: four Linux guests under TCG inside TCG."""
import hashlib
import os
import re
import shutil
import subprocess
import time

import pytest

from guestnet import KERNEL, attached, net_lines, read_pcap, sh, vlan_of, wait_guest
from hako import BUILD, ROOT, Qemu, free_port, make_image
from netconsole import wait_login_prompt
from shell_helpers import ok
from tgt import Tgt

pytestmark = pytest.mark.slow

IQN = "iqn.2026-11.org.hako.test:guestnet"
USER, PASSWORD = "test", "correct horse"
HAKO_MAC = "52:54:00:6e:10:01"
GUESTS = {
    "a": ("net=lan:class net=uplink", "hako.ip=eth0:10.9.0.1/24,eth1:10.0.2.61/24"),
    "b": ("net=lan:class", "hako.ip=eth0:10.9.0.2/24"),
    "c": ("net=lan:other", "hako.ip=eth0:10.9.0.3/24"),
    "d": ("net=lan:class net=uplink vlan=42", "hako.ip=eth0:10.9.0.4/24,eth1:10.0.2.42/24"),
}


@pytest.fixture(scope="module")
def san():
    with Tgt(name="guestnet") as t:
        lun = os.path.join(t.dir, "b.img")
        shutil.copyfile(os.path.join(BUILD, "linux", "disk.img"), lun)
        t.add_target(IQN, {1: (lun, os.path.getsize(lun))})
        t.disk_sha = hashlib.sha256(open(lun, "rb").read()).hexdigest()
        yield t


@pytest.fixture(scope="module")
def lab(san):
    p = subprocess.run([os.path.join(ROOT, "tools", "hako-passwd"), "--stdin", USER],
                       input=PASSWORD + "\n", stdout=subprocess.PIPE, check=True, text=True)
    cfg = "net=dhcp\nmgmt_port=2323\n%s\n" % p.stdout.strip()
    files = [os.path.join(BUILD, "linux", f) for f in ("vmlinuz", "initrd.img")]
    img = make_image(os.path.join(BUILD, "test-guestnet.img"), cfg, files=files)
    port = free_port()
    pcap = os.path.join(BUILD, "test-logs", "guestnet-wire.pcap")
    if os.path.exists(pcap):
        os.remove(pcap)
    m = Qemu(smp=5, mem="1536M", image=img, name="guestnet-lan",
             extra_args=["-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:2323" % port,
                         "-device", "virtio-net-pci,netdev=n0,mac=" + HAKO_MAC,
                         "-object", "filter-dump,id=f0,netdev=n0,file=" + pcap])
    m.start()
    m.wait_prompt()
    m.expect(r"net: \S+ address 10\.0\.2\.15", 60)
    m.port, m.pcap, m.disk_sha = port, pcap, san.disk_sha
    for name, (nets, ips) in GUESTS.items():
        disk = " disk=iscsi://10.0.2.2:%d/%s/1" % (san.port, IQN) if name == "b" else ""
        ok(m, 'define %s mem=160M %s %s%s cmdline="console=ttyS0 quiet %s"'
           % (name, KERNEL, nets, disk, ips))
    for name in GUESTS:
        ok(m, "start " + name, 120)
    m.nets = {name: net_lines(wait_guest(m, name)) for name in GUESTS}
    yield m
    m.stop()


def in_guest(m, name, line, timeout=120):
    with attached(m, name):
        return sh(m, line, timeout)


def count_test_frames(m, listener, senders, seconds=12):
    """Starts `hakonet count` on listener's eth0, runs each (guest, line) of
    senders, returns how many test frames the listener saw."""
    out, st = in_guest(m, listener, "rm -f /tmp/cnt; (hakonet count eth0 %d > /tmp/cnt &); sleep 1"
                       % seconds)
    assert st == 0, out
    for guest, line in senders:
        out, st = in_guest(m, guest, line)
        assert st == 0 and "HAKONET sent" in out, out
    out, st = in_guest(m, listener, "while ! grep -q count /tmp/cnt; do sleep 1; done; cat /tmp/cnt",
                       seconds + 60)
    return int(re.search(r"HAKONET count (\d+)", out).group(1))


def test_lan_ping_and_16_mib(lab):
    """a and b on lan:class: ping both ways, then 16 MiB over TCP with the same SHA-256."""
    for guest, peer in (("a", "10.9.0.2"), ("b", "10.9.0.1")):
        out, st = in_guest(lab, guest, "ping -c 3 -W 5 %s" % peer)
        assert st == 0 and "3 packets received" in out, out
    # nc ends its side when its input ends: a FIFO nobody writes keeps it open
    out, st = in_guest(lab, "b", "rm -f /tmp/done /tmp/in; mkfifo /tmp/in; (sleep 900 > /tmp/in &); "
                       "((nc -l -p 5000 < /tmp/in > /tmp/r; touch /tmp/done) &); sleep 1")
    assert st == 0, out
    out, st = in_guest(lab, "a", "head -c 16777216 /dev/urandom > /tmp/x && sha256sum /tmp/x")
    sent = re.search(r"^([0-9a-f]{64})\s", out, re.M).group(1)
    t0 = time.time()
    out, st = in_guest(lab, "a", "nc 10.9.0.2 5000 < /tmp/x", 600)
    print("16 MiB a -> b: %.1f s (console round trips included)" % (time.time() - t0))
    assert st == 0, out
    out, st = in_guest(lab, "b", "while [ ! -f /tmp/done ]; do sleep 1; done; sha256sum /tmp/r", 300)
    assert re.search(r"^%s\s" % sent, out, re.M), out
    assert re.search(r"^a/eth0\s+\S+\s+lan:class\s+\d+", lab.cmd("net"), re.M)


def test_other_lan_and_other_vlan_are_isolated(lab):
    """c (lan:other) and d (lan:class, VLAN 42) reach neither a nor b, by IP or
    by Ethernet broadcast; b's broadcast reaches a (the control)."""
    for guest, target in (("c", "10.9.0.1"), ("c", "10.9.0.2"), ("d", "10.9.0.1"), ("d", "10.9.0.2")):
        out, st = in_guest(lab, guest, "ping -c 2 -W 2 -I eth0 %s" % target)
        assert st != 0 and "0 packets received" in out, (guest, target, out)
    seen = count_test_frames(lab, "a", [("c", "hakonet flood eth0 50"),
                                        ("d", "hakonet flood eth0 50"),
                                        ("b", "hakonet flood eth0 30")])
    assert seen == 30, "a saw %d test frames; only b's 30 may reach it" % seen


def test_vlan_tagged_on_the_wire(lab):
    """d's uplink NIC (vlan=42) is tagged 42 on the emulated wire; hako's own
    frames are untagged; no LAN frame ever reaches the wire."""
    out, st = in_guest(lab, "d", "ping -c 3 -W 1 -I eth1 10.0.2.2")
    assert "0 packets received" in out, out     # nobody answers on VLAN 42
    d_mac = lab.nets["d"]["eth1"][0]
    lan_macs = {lab.nets[g]["eth0"][0] for g in "abcd"}
    frames = [vlan_of(f) for f in read_pcap(lab.pcap)]
    d_vlans = [v for v, src in frames if src == d_mac]
    hako_vlans = [v for v, src in frames if src == HAKO_MAC]
    assert d_vlans and all(v == 42 for v in d_vlans), d_vlans
    assert hako_vlans and all(v is None for v in hako_vlans), hako_vlans[:20]
    assert not [src for _, src in frames if src in lan_macs]


def test_forged_source_mac_reaches_no_one(lab):
    """Frames a sends from a MAC not its own are dropped at its port; its
    real frames right after arrive (the control)."""
    seen = count_test_frames(lab, "b", [("a", "hakonet forge eth0 02:66:66:66:66:66 200"),
                                        ("a", "hakonet flood eth0 20")])
    assert seen == 20, "b saw %d test frames; only a's 20 genuine ones may reach it" % seen
    stats = lab.cmd("stats a")
    m = re.search(r"nic eth0 .*\n\s+dropped: (\d+) spoofed", stats)
    assert m and int(m.group(1)) >= 200, stats


def received(m, guest, nic):
    """Frames the switch gave guest's NIC so far (`stats`)."""
    out = m.cmd("stats " + guest)
    got = re.search(r"nic %s .*received (\d+) frames" % nic, out)
    assert got, out
    return int(got.group(1))


def uplink_in(m):
    got = re.search(r"^uplink\s+-\s+trunk\s+(\d+)", m.cmd("net"), re.M)
    return int(got.group(1))


def test_iscsi_traffic_reaches_no_guest(lab):
    """b reads its disk: thousands of frames between the iSCSI target and hako
    cross the uplink, and a, whose eth1 sits untagged on the same wire, is
    handed none of them (only the odd broadcast)."""
    a0, up0 = received(lab, "a", "eth1"), uplink_in(lab)
    out, st = in_guest(lab, "b", "dd if=/dev/vda of=/dev/null bs=1M iflag=direct 2>&1 | tail -1", 300)
    assert st == 0, out
    a1, up1 = received(lab, "a", "eth1"), uplink_in(lab)
    assert up1 - up0 > 5000, (up0, up1)
    assert a1 - a0 < 20, "a got %d frames while %d came in on the uplink" % (a1 - a0, up1 - up0)


def test_flood_leaves_disk_and_consoles_working(lab):
    """a floods 100,000 broadcast frames out of its uplink NIC (to the wire,
    to hako's own interface, to every untagged uplink guest); all the while
    b reads its whole iSCSI disk over and over (each read's SHA-256 against
    the LUN's), the network console logs in and answers, and the serial
    shell answers."""
    out, st = in_guest(lab, "b", "rm -f /tmp/stop /tmp/reads; ((while [ ! -f /tmp/stop ]; do "
                       "dd if=/dev/vda bs=1M iflag=direct 2>/dev/null | sha256sum >> /tmp/reads; "
                       "done) &); sleep 2")
    assert st == 0, out
    out, st = in_guest(lab, "a", "rm -f /tmp/flood; (hakonet flood eth1 100000 > /tmp/flood &); sleep 1")
    assert st == 0, out
    answers, serial = [], []
    c = wait_login_prompt(lab.port)
    try:
        c.login(USER, PASSWORD)
        deadline = time.time() + 600
        while time.time() < deadline:
            t0 = time.time()
            answers.append(("host" in c.cmd("help", timeout=30), time.time() - t0))
            t0 = time.time()
            serial.append((bool(re.search(r"^a\s+running", lab.cmd("list", 30), re.M)),
                           time.time() - t0))
            out, st = in_guest(lab, "a", "cat /tmp/flood")
            if "HAKONET sent" in out:
                break
    finally:
        c.close()
    sent, failed, secs = re.search(r"HAKONET sent (\d+) failed (\d+) in ([\d.]+) s", out).groups()
    assert int(sent) + int(failed) == 100000, out
    out, st = in_guest(lab, "b", "touch /tmp/stop; sleep 5; cat /tmp/reads", 120)
    reads = re.findall(r"^([0-9a-f]{64})\s", out, re.M)
    assert reads and all(r == lab.disk_sha for r in reads), out
    assert all(a for a, _ in answers) and all(s for s, _ in serial), (answers, serial)
    print("flood: %s frames sent (%s refused by the guest's own queue) in %s s; meanwhile %d "
          "whole reads of b's disk, %d network console answers (slowest %.1f s), %d serial "
          "`list`s (slowest %.1f s)" % (sent, failed, secs, len(reads), len(answers),
                                       max(t for _, t in answers), len(serial),
                                       max(t for _, t in serial)))
    stats = lab.cmd("stats a")
    m = re.search(r"nic eth1 .*: sent (\d+) frames", stats)
    assert m and int(m.group(1)) >= int(sent) * 0.9, stats
