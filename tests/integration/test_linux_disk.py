"""A stock Debian Linux guest on hako's virtio-blk disks (issue 5 item 2, issue 7
item 3), on QEMU TCG with AMD-V: it mounts an ext4 image from the boot medium
(disk=esp:disk.img), verifies its checksums and writes a file; a read-only disk
refuses the write; a ram: disk shows the right size. The guest's /init
(guests/linux/init) prints CHECK PASS or CHECK FAIL for hako.check=/dev/vdX."""
import re
import time

import pytest

from hako import Qemu
from shell_helpers import console, ok

# `make all` puts build/linux/{vmlinuz,initrd.img,disk.img} in \hako\ (guests/guests.mk)
KERNEL = "kernel=esp:vmlinuz initrd=esp:initrd.img"


@pytest.fixture(scope="module")
def m():
    q = Qemu(smp=4, mem="2G", cpu="qemu64,+svm,+npt", name="linux-disk")
    q.start()
    q.wait_prompt()
    yield q
    q.stop()


def shell(m, line, pattern, timeout=60):
    """Runs `line` in the attached guest's shell; returns the match of `pattern`.
    Sends it in pieces: the guest UART's receive FIFO holds 64 bytes."""
    line += "\n"
    for i in range(0, len(line), 32):
        m.send(line[i:i + 32])
        time.sleep(0.3)
    return m.expect(pattern, timeout)


def test_linux_guest_on_esp_ro_and_ram_disks(m):
    """One boot (Linux under TCG is slow): vda = the ext4 image, checked and
    written by /init; vdb = the same image read-only; vdc = a 64 MiB ram disk."""
    ok(m, 'define lx mem=256M %s cmdline="console=ttyS0 hako.check=/dev/vda" '
          'disk=esp:disk.img disk=esp:disk.img,ro disk=ram:64M' % KERNEL)
    ok(m, "start lx")
    out = console(m, "lx", r"CHECK (PASS|FAIL)", 240)
    assert "hello.txt: OK" in out and "CHECK PASS" in out, out

    m.send("console lx\r")
    m.expect(r"\[attached to lx", 10)
    try:
        shell(m, "", r"# ", 30)
        r = shell(m, "cat /sys/block/vda/ro /sys/block/vdb/ro /sys/block/vdc/size",
                  r"\n(\d)\s+(\d)\s+(\d+)\s", 30)
        assert r.groups() == ("0", "1", str(64 * 2048)), r.group(0)
        # the read-only disk: readable, and no write reaches it
        r = shell(m, "mount -t ext4 /dev/vdb /mnt; (cd /mnt && sha256sum -c SHA256SUMS) && "
                     "echo x > /mnt/new.txt; echo ro-rc=$?; umount /mnt", r"ro-rc=(\d+)", 60)
        assert r.group(1) != "0", r.group(0)
        shell(m, "dd if=/dev/zero of=/dev/vdb bs=4096 count=1 conv=fsync; echo dd-rc=$?",
              r"dd-rc=[1-9]", 30)
        # the ram disk: 1 MiB written, caches dropped, read back the same
        r = shell(m, "dd if=/dev/urandom of=/tmp/r bs=4096 count=256 2>/dev/null && "
                     "dd if=/tmp/r of=/dev/vdc bs=4096 seek=1000 conv=fsync 2>/dev/null && "
                     "echo 3 > /proc/sys/vm/drop_caches && "
                     "dd if=/dev/vdc bs=4096 skip=1000 count=256 2>/dev/null | sha256sum && "
                     "sha256sum < /tmp/r", r"\n([0-9a-f]{64})\s.*\n([0-9a-f]{64})\s", 60)
        assert r.group(1) == r.group(2), r.group(0)
    finally:
        m.send(b"\x1d")
        m.expect(r"\[detached from lx\]", 10)
        m.wait_prompt(10)

    stats = ok(m, "stats lx")
    disk = {}
    for d, reads, writes, errors, bwritten in re.findall(
            r"disk (vd.) \S+: (\d+) reads (\d+) writes \d+ flushes (\d+) errors, "
            r"\d+ bytes read, (\d+) bytes written", stats):
        disk[d] = (int(reads), int(writes), int(errors), int(bwritten))
    assert set(disk) == {"vda", "vdb", "vdc"}, stats
    assert disk["vda"][0] > 0 and disk["vda"][1] > 0 and disk["vda"][2] == 0, stats
    assert disk["vdb"][0] > 0 and disk["vdb"][1] == 0, stats     # nothing written
    assert disk["vdc"][3] >= 1 << 20, stats                      # the 1 MiB
    # each disk's latency line: memory and boot-medium disks have no network
    # between kick and completion, so only the total
    lat = dict(re.findall(r"disk (vd.) .*\n    latency (\d+) requests, us mean/p99: "
                          r"total \d+\.\d/\d+\.\d$", stats, re.M))
    assert set(lat) == {"vda", "vdb", "vdc"}, stats
    for d, n in lat.items():  # requests that succeeded: reads, writes and flushes
        assert int(n) >= disk[d][0] + disk[d][1], stats
    ok(m, "destroy lx")
    ok(m, "undefine lx")
