"""hako's random numbers (issue 17, finding 6), on QEMU TCG with AMD-V.

hako seeds one HMAC_DRBG (BearSSL) from RDSEED, else RDRAND, else TSC
jitter, and `host` says which. QEMU 7.2's TCG emulates RDRAND but not
RDSEED (it warns "TCG doesn't support requested feature: ... rdseed"), so
here a `qemu64,+rdrand` CPU must give "rng: rdrand" and plain `qemu64`
"rng: tsc-jitter (weak)". (RDSEED is checked under Bochs, whose Tiger Lake
has it: test_bochs_isolation.py.)

The DRBG keys lwIP's TCP initial sequence numbers (RFC 6528): the SYN-ACKs
hako sends to a client connecting to its network console several times,
read from the wire (QEMU's filter-dump), must carry unrelated ISNs. Before,
lwIP's counter gave ISNs a few hundred apart.
"""
import os
import socket
import struct
import time

import pytest

from guestnet import read_pcap
from hako import BUILD, Qemu, free_port, make_image

CONNECTIONS = 6


def host_rng(m):
    out = m.cmd("host")
    lines = [l for l in out.splitlines() if l.startswith("rng: ")]
    assert len(lines) == 1, out
    return lines[0]


def syn_ack_isns(frames, port):
    """Sequence numbers of the SYN-ACKs sent from TCP `port` (IPv4 over Ethernet)."""
    isns = []
    for f in frames:
        if len(f) < 34 or f[12:14] != b"\x08\x00" or f[23] != 6:
            continue
        tcp = f[14 + (f[14] & 15) * 4:]
        if len(tcp) < 20:
            continue
        sport, _, seq = struct.unpack(">HHI", tcp[:8])
        if sport == port and tcp[13] & 0x12 == 0x12:
            isns.append(seq)
    return isns


@pytest.fixture(scope="module")
def with_rdrand():
    img = make_image(os.path.join(BUILD, "test-rng.img"), "net=dhcp\nmgmt_port=2323\n")
    pcap = os.path.join(BUILD, "test-logs", "rng.pcap")
    if os.path.exists(pcap):
        os.remove(pcap)
    port = free_port()
    m = Qemu(smp=2, mem="512M", image=img, cpu="qemu64,+svm,+npt,+rdrand", name="rng-rdrand",
             extra_args=["-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:2323" % port,
                         "-device", "virtio-net-pci,netdev=n0",
                         "-object", "filter-dump,id=f0,netdev=n0,file=" + pcap])
    m.start()
    m.wait_prompt()
    m.expect(r"console: listening on TCP port 2323", 60)
    m.port, m.pcap = port, pcap
    yield m
    m.stop()
    os.remove(img)


def test_rdrand_seeds_the_drbg(with_rdrand):
    assert host_rng(with_rdrand).startswith("rng: rdrand, seeding an HMAC_DRBG-SHA256"), host_rng(with_rdrand)
    assert "rng: HMAC_DRBG-SHA256 seeded from rdrand" in with_rdrand.cmd("log")


def test_tcp_isns_are_unrelated(with_rdrand):
    for _ in range(CONNECTIONS):
        with socket.create_connection(("127.0.0.1", with_rdrand.port), timeout=30) as s:
            s.settimeout(30)
            assert s.recv(64), "hako's network console sent nothing"
        time.sleep(0.3)
    deadline = time.time() + 10
    while True:
        isns = syn_ack_isns(read_pcap(with_rdrand.pcap), 2323)
        if len(isns) >= CONNECTIONS or time.time() > deadline:
            break
        time.sleep(0.5)
    assert len(isns) >= CONNECTIONS, "only %d SYN-ACKs from port 2323 on the wire" % len(isns)
    # Unrelated 32-bit numbers are within 2^16 of each other once in 32768
    # pairs; a counter puts every pair that close.
    close = [(a, b) for i, a in enumerate(isns) for b in isns[i + 1:]
             if min((a - b) % 2**32, (b - a) % 2**32) < 2**16]
    assert len(close) <= 1, "ISNs %s: %d pairs within 65536" % (
        [hex(i) for i in isns], len(close))


def test_without_rdrand_jitter_is_reported_weak():
    with Qemu(smp=2, mem="512M", cpu="qemu64,+svm,+npt", name="rng-jitter") as m:
        m.wait_prompt()
        assert host_rng(m).startswith("rng: tsc-jitter (weak), seeding"), host_rng(m)
