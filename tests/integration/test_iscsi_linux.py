"""A Linux guest whose root disk is an iSCSI LUN (issue 7, item 6).

The ext4 test disk of guests/linux (files and their SHA256SUMS, made on the
host) is copied into a LUN of the test's own tgtd; hako logs in at `start`,
the guest's /init mounts /dev/vda, verifies the checksums, writes
written.txt and powers off; the host then finds the new file with debugfs.
Slow (about a minute of TCG): skipped by `make test-fast`.
"""
import os
import re
import shutil
import subprocess
import time

import pytest

from hako import BUILD, ROOT, Qemu, make_image
from tgt import Tgt

LINUX = os.path.join(BUILD, "linux")
IQN = "iqn.2026-11.org.hako.test:linux"


@pytest.mark.slow
def test_linux_root_disk_on_a_lun():
    subprocess.run(["make", "-s", "linux-guest"], cwd=ROOT, check=True, timeout=900)
    with Tgt(name="iscsi-linux") as t:
        root = os.path.join(t.dir, "root.img")
        shutil.copy(os.path.join(LINUX, "disk.img"), root)
        t.add_target(IQN, {1: (root, os.path.getsize(root))})
        img = make_image(os.path.join(BUILD, "test-iscsi-linux.img"), "net=dhcp\n",
                         files=[os.path.join(LINUX, "vmlinuz"), os.path.join(LINUX, "initrd.img")],
                         size="128M")
        with Qemu(smp=2, mem="1G", image=img, name="iscsi-linux",
                  extra_args=["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"]) as m:
            m.wait_prompt()
            m.expect(r"net: \S+ address 10\.0\.2\.15", 60)
            out = m.cmd('define lx mem=256M kernel=esp:vmlinuz initrd=esp:initrd.img '
                        'cmdline="console=ttyS0 hako.check=/dev/vda hako.poweroff=1" '
                        'disk=iscsi://10.0.2.2:%d/%s/1' % (t.port, IQN))
            assert not re.search(r"^error: ", out, re.M), out
            out = m.cmd("start lx", timeout=60)
            assert not re.search(r"^error: ", out, re.M), out
            m.send("console lx\r")
            result = m.expect(r"CHECK (PASS|FAIL)", 400).group(0)
            m.send(b"\x1d")
            m.wait_prompt(30)
            assert result == "CHECK PASS"
            for _ in range(60):
                if re.search(r"^lx\s+stopped", m.cmd("list"), re.M):
                    break
                time.sleep(1)
            assert re.search(r"^lx\s+stopped", m.cmd("list"), re.M), m.cmd("list")
        p = subprocess.run(["debugfs", "-R", "cat written.txt", root], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, timeout=30)
        assert p.stdout.startswith(b"written by "), p.stdout
