"""Storage faults under a Linux guest's writes (issue 17, "Target restart mid-write").

A Linux guest (guests/linux) has a raw disk on a LUN of the test's own tgtd
and writes 48 MiB to it with `dd conv=fsync`, round after round, each round
different data (a 49 MiB random file read from a different byte offset). While
a round is being written (the fault comes as the round starts):

  (a) tgtd is killed and started again two seconds later: the round ends
      without an error and the LUN file holds exactly what the guest wrote
      (the guest's checksum of its source against the host's of the LUN);
  (b) the network cable is pulled (QEMU monitor `set_link n0 off`) for 10 s,
      then put back: the same;
  (c) tgtd is gone for longer than iscsi_timeout (15 s here): the guest's dd
      fails with an I/O error while tgtd is still away (hako fails requests
      at once once the session has been down that long; before, each waited
      its own full timeout and dd hung for minutes), the round written before
      is still on the LUN (nothing acknowledged was lost), and once tgtd is
      back and hako has logged in again a new round succeeds and lands.

About two and a half minutes under TCG (the Linux boot is one). Slow: skipped by
`make test-fast`.
"""
import hashlib
import os
import re
import subprocess
import time

import pytest

from hako import BUILD, ROOT, Qemu, make_image
from shell_helpers import ok
from tgt import Tgt

IQN = "iqn.2026-11.org.hako.test:faults"
MIB = 1 << 20
TIMEOUT_S = 15

pytestmark = pytest.mark.slow

# w ROUND SEEK_MIB: writes 48 MiB of /pat, from byte ROUND*4099 on, at SEEK_MIB
# of /dev/vda with conv=fsync; prints dd's status and the data's checksum. The
# checksum is taken first, so W-BEGIN and W-END bracket the dd alone.
W_FUNC = ("w() { s=$(($1*4099)); "
          "h=$(dd if=/pat bs=1M count=48 skip=$s iflag=skip_bytes 2>/dev/null | sha256sum); "
          "echo W-BEGIN $1; "
          "dd if=/pat of=/dev/vda bs=1M count=48 seek=$2 skip=$s iflag=skip_bytes "
          "conv=fsync 2>/dev/null; r=$?; "
          "echo W-END $1 rc=$r ${h%% *}; }")


def lun_sha(path, seek_mib=0):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(seek_mib * MIB)
        h.update(f.read(48 * MIB))
    return h.hexdigest()


def typed(m, line):
    """Types `line` into the attached guest's shell (its UART FIFO holds 64 bytes)."""
    line += "\n"
    for i in range(0, len(line), 32):
        m.send(line[i:i + 32])
        time.sleep(0.3)


@pytest.fixture(scope="module")
def rig():
    subprocess.run(["make", "-s", "linux-guest"], cwd=ROOT, check=True, timeout=900)
    linux = os.path.join(BUILD, "linux")
    with Tgt(name="storage-faults") as t:
        lun = os.path.join(t.dir, "disk.img")
        t.add_target(IQN, {1: (lun, 100 * MIB)})
        cfg = "net=dhcp\niscsi_timeout=%d\n" % TIMEOUT_S
        img = make_image(os.path.join(BUILD, "test-storage-faults.img"), cfg,
                         files=[os.path.join(linux, "vmlinuz"), os.path.join(linux, "initrd.img")],
                         size="128M")
        m = Qemu(smp=2, mem="1G", image=img, name="storage-faults",
                 extra_args=["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"])
        m.start()
        try:
            m.wait_prompt(120)
            m.expect(r"net: \S+ address 10\.0\.2\.15", 60)
            ok(m, 'define lx mem=256M kernel=esp:vmlinuz initrd=esp:initrd.img '
                  'cmdline="console=ttyS0" disk=iscsi://10.0.2.2:%d/%s/1' % (t.port, IQN))
            ok(m, "start lx", timeout=60)
            m.send("console lx\r")
            m.expect(r"\[attached to lx", 10)
            m.expect(r"HAKO-LINUX-INIT", 300)
            typed(m, "")
            m.expect(r"# ", 60)
            typed(m, "dd if=/dev/urandom of=/pat bs=1M count=49 2>/dev/null; echo PAT-$((6*7))")
            m.expect(r"PAT-42", 300)
            typed(m, W_FUNC)
            yield m, t, lun
        finally:
            m.stop()


def write_round(m, rnd, seek_mib, fault=None, outlast=True, timeout=300, after=0.0):
    """Round `rnd` at SEEK_MIB; `after` seconds into it runs fault(), which
    (when `outlast`) must be over before the round is; returns (dd status,
    checksum of the data the guest wrote). The fault comes as soon as
    W-BEGIN is seen by default: on a quiet machine the 48 MiB and their
    fsync take about a second, so a later fault could miss the writes."""
    mark = m.mark()
    typed(m, "w %d %d" % (rnd, seek_mib))
    m.expect(r"W-BEGIN %d\r?\n" % rnd, 60)
    if fault:
        time.sleep(after)
        assert not re.search(r"W-END %d " % rnd, m.output_since(mark)), \
            "round %d ended before the fault: it would not hit the writes" % rnd
        fault()
        if outlast:
            assert not re.search(r"W-END %d " % rnd, m.output_since(mark)), \
                "round %d ended before the fault was over" % rnd
    end = m.expect(r"W-END %d rc=(\d+) ([0-9a-f]{64})" % rnd, timeout)
    return int(end.group(1)), end.group(2)


def test_tgtd_killed_and_restarted_mid_write(rig):
    m, t, lun = rig
    rc, sha = write_round(m, 0, 0)  # a round without a fault first
    assert rc == 0 and sha == lun_sha(lun)

    def restart():
        t.kill()
        time.sleep(2)
        t.start()
    rc, sha = write_round(m, 1, 0, restart)
    assert rc == 0, "the guest saw an error across a target restart"
    assert sha == lun_sha(lun), "the LUN does not hold what the guest wrote"


def test_link_pulled_for_10s_mid_write(rig):
    m, t, lun = rig

    mark = m.mark()

    def pull():
        m.monitor("set_link n0 off")
        time.sleep(10)
        m.monitor("set_link n0 on")
    rc, sha = write_round(m, 2, 0, pull)
    seen = m.output_since(mark)
    assert "net: virtio-net link down" in seen and "net: virtio-net link up" in seen, \
        "hako never saw the cable pulled and put back"
    assert rc == 0, "the guest saw an error across 10 s without a link"
    assert sha == lun_sha(lun), "the LUN does not hold what the guest wrote"


def test_tgtd_gone_past_the_timeout_is_an_io_error(rig):
    m, t, lun = rig
    rc, acked = write_round(m, 3, 0)
    assert rc == 0 and acked == lun_sha(lun)

    rc, _ = write_round(m, 4, 48, t.kill, outlast=False, timeout=TIMEOUT_S + 105)
    t.start()
    assert rc != 0, "the guest's writes failed silently: dd reported success"
    log = m.output_since(0)
    assert re.search(r"I/O error, dev vda", log), "the guest kernel reported no I/O error"
    assert lun_sha(lun) == acked, "an acknowledged round is no longer on the LUN"
    # tgtd is back: once hako has logged in again (until then new requests
    # fail at once, see the README) the disk works again
    m.expect(r"iscsi %s: logged in" % re.escape(IQN), 60)
    rc, sha = write_round(m, 5, 0, timeout=TIMEOUT_S + 120)
    assert rc == 0, "the disk did not recover once the target was back"
    assert sha == lun_sha(lun)
