"""The portable iSCSI initiator (net/iscsi) over host sockets against a real tgtd.

build/unit/iscsi_live links net/iscsi with a POSIX-socket transport; each test
drives it against a private tgtd on 127.0.0.1 (tests/lib/tgt.py): discovery,
LUN listing, CHAP one-way and mutual, a wrong secret, CRC32C digests, writes
and reads with many tasks in flight checked against the backing file, tgtd
killed and restarted in the middle of a 32 MiB write, and the task timeout.
"""
import os
import re
import subprocess
import time

import pytest

from hako import ROOT, BUILD
from tgt import Tgt

LIVE = os.path.join(BUILD, "unit", "iscsi_live")
DISK = "iqn.2026-11.org.hako.test:disk"
CHAP = "iqn.2026-11.org.hako.test:chap"
USER, SECRET = "alice", "alicesecret12"
TUSER, TSECRET = "target", "targetsecret34"


@pytest.fixture(scope="module")
def tgt():
    subprocess.run(["make", "-s", "iscsi-live"], cwd=ROOT, check=True, timeout=300)
    with Tgt(name="iscsi-native") as t:
        t.add_target(DISK, {1: (os.path.join(t.dir, "lun1.img"), 64 << 20),
                            2: (os.path.join(t.dir, "lun2.img"), 8 << 20)})
        t.add_target(CHAP, {1: (os.path.join(t.dir, "chap1.img"), 4 << 20)},
                     chap=(USER, SECRET), mutual=(TUSER, TSECRET))
        yield t


def live(t, *args, timeout=120):
    p = subprocess.run([LIVE] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def at(t):
    return ["127.0.0.1", str(t.port)]


def pattern(size, seed):
    return subprocess.run([LIVE, "pattern", str(size), str(seed)], stdout=subprocess.PIPE,
                          check=True).stdout


def backing(t, name, size):
    with open(os.path.join(t.dir, name), "rb") as f:
        return f.read(size)


def test_discovery_lists_both_targets(tgt):
    rc, out, err = live(tgt, "discover", *at(tgt))
    assert rc == 0, out + err
    assert "target %s 127.0.0.1:%d,1" % (DISK, tgt.port) in out
    assert "target %s 127.0.0.1:%d,1" % (CHAP, tgt.port) in out


def test_luns_with_sizes(tgt):
    rc, out, err = live(tgt, "luns", *at(tgt), DISK)
    assert rc == 0, out + err
    assert "lun 1 type 0 size %d blocksize 512" % (64 << 20) in out
    assert "lun 2 type 0 size %d blocksize 512" % (8 << 20) in out


def test_chap_one_way_and_mutual(tgt):
    rc, out, err = live(tgt, "-u", USER, "-p", SECRET, "luns", *at(tgt), CHAP)
    assert rc == 0 and "lun 1 type 0 size %d" % (4 << 20) in out, out + err
    rc, out, err = live(tgt, "-u", USER, "-p", SECRET, "-U", TUSER, "-P", TSECRET, "luns",
                        *at(tgt), CHAP)
    assert rc == 0 and "lun 1 type 0" in out, out + err


def test_wrong_secrets_give_clear_errors(tgt):
    t0 = time.time()
    rc, out, err = live(tgt, "-u", USER, "-p", "wrongsecret12", "luns", *at(tgt), CHAP)
    assert rc == 1 and "authentication failed" in out, out + err
    assert time.time() - t0 < 10  # refused at once, no retry loop
    rc, out, err = live(tgt, "luns", *at(tgt), CHAP)
    assert rc == 1 and "error: login" in out, out + err
    rc, out, err = live(tgt, "-u", USER, "-p", SECRET, "-U", TUSER, "-P", "notthetarget", "luns",
                        *at(tgt), CHAP)
    assert rc == 1 and "target's CHAP response is wrong" in out, out + err


def test_write_verify_many_in_flight(tgt):
    size = 8 << 20
    rc, out, err = live(tgt, "-q", "32", "-b", "65536", "write", *at(tgt), DISK, "2", str(size), "5")
    assert rc == 0 and "write ok" in out, out + err
    rc, out, err = live(tgt, "-q", "32", "verify", *at(tgt), DISK, "2", str(size), "5")
    assert rc == 0 and "verify ok" in out, out + err
    assert backing(tgt, "lun2.img", size) == pattern(size, 5)


def test_digests_and_large_bursts(tgt):
    for name in ("HeaderDigest", "DataDigest"):
        tgt.adm("--op", "update", "--mode", "target", "--tid", "1", "--name", name,
                "--value", "CRC32C,None")
    try:
        size = 4 << 20
        rc, out, err = live(tgt, "-d", "-q", "4", "-b", "1048576", "write", *at(tgt), DISK, "2",
                            str(size), "11")
        assert rc == 0, out + err
        assert "digests crc32c/crc32c" in err
        rc, out, err = live(tgt, "-d", "verify", *at(tgt), DISK, "2", str(size), "11")
        assert rc == 0, out + err
        assert backing(tgt, "lun2.img", size) == pattern(size, 11)
    finally:
        for name in ("HeaderDigest", "DataDigest"):
            tgt.adm("--op", "update", "--mode", "target", "--tid", "1", "--name", name,
                    "--value", "None")


def test_tgtd_restart_mid_write(tgt):
    size = 32 << 20
    p = subprocess.Popen([LIVE, "-q", "8", "write", *at(tgt), DISK, "1", str(size), "23"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        seen = b""
        while b"progress 3" not in seen and p.poll() is None:
            seen += p.stdout.readline()
        assert p.poll() is None, "write finished before the restart: " + seen.decode()
        tgt.kill()
        time.sleep(1)
        tgt.start()
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    out, err = (seen + out).decode(), err.decode()
    assert p.returncode == 0 and "write ok" in out, out + err
    assert "connection closed" in err
    assert int(out.split(" connections")[0].rsplit(" ", 1)[1]) >= 2
    assert backing(tgt, "lun1.img", size) == pattern(size, 23)


def test_timeout_when_target_stays_away(tgt):
    tgt.kill()
    try:
        t0 = time.time()
        rc, out, err = live(tgt, "-t", "3", "luns", *at(tgt), DISK)
        assert rc == 1 and "error: login" in out, out + err
        assert time.time() - t0 < 30
    finally:
        tgt.start()


def test_unsolicited_data_out(tgt):
    """InitialR2T=No on the target: the first burst goes as immediate + unsolicited Data-Out."""
    tgt.adm("--op", "update", "--mode", "target", "--tid", "1", "--name", "InitialR2T",
            "--value", "No")
    try:
        size = 4 << 20
        rc, out, err = live(tgt, "-q", "8", "-b", "262144", "write", *at(tgt), DISK, "2",
                            str(size), "17")
        assert rc == 0, out + err
        assert "R2T no, immediate yes" in err
        assert backing(tgt, "lun2.img", size) == pattern(size, 17)
    finally:
        tgt.adm("--op", "update", "--mode", "target", "--tid", "1", "--name", "InitialR2T",
                "--value", "Yes")


def test_target_pings_are_answered(tgt):
    """tgt's NOP-In pings (nop_interval 1 s, drop after 2 unanswered) while the initiator idles."""
    for name, value in (("nop_interval", "1"), ("nop_count", "2")):
        tgt.adm("--op", "update", "--mode", "target", "--tid", "1", "--name", name, "--value", value)
    try:
        rc, out, err = live(tgt, "-i", "5", "luns", *at(tgt), DISK)
        assert rc == 0, out + err
        m = re.search(r"^session: (\d+) connections, (\d+) target pings answered$", out, re.M)
        assert m and m.group(1) == "1" and int(m.group(2)) >= 3, out + err
        assert "connection closed" not in err, err
    finally:
        tgt.adm("--op", "update", "--mode", "target", "--tid", "1", "--name", "nop_interval",
                "--value", "0")
