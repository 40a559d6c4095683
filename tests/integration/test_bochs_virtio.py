"""The virtio-blk device model on VT-x: the vblk test guest (guests/vblk) drives
a ram: disk through virtio-mmio under Bochs 2.7 (emulated Haswell: VMX, EPT),
so the MMIO path of the VMX back end (EPT violation -> instruction decode ->
device) is tested without Linux. Slow (Bochs boots OVMF and hako in minutes):
skipped by `make test-fast`. Needs the VMX back end (main) together with the platform's
interrupt-window back-end ops (linux-platform); before both are in one tree
the back end is not `vmx` and this fails on its first check."""
import re

import pytest

from hako import Bochs

from test_virtio_blk import console


@pytest.mark.slow
def test_vblk_guest_on_vmx():
    b = Bochs(model="corei7_haswell_4770", cpus=2, mem_mb=512, name="bochs-vblk")
    b.start()
    try:
        b.wait_prompt()
        assert "(vmx)" in b.cmd("version")
        out = b.cmd('define v1 mem=16M kernel=esp:vblk.elf disk=ram:1M disk=ram:64K,ro '
                    'cmdline="size rw verify beyond bad-ring dev=1 ro"')
        assert not re.search(r"^error: ", out, re.M), out
        out = b.cmd("start v1", 60)
        assert not re.search(r"^error: ", out, re.M), out
        out = console(b, "v1", r"vblk: done", timeout=300)
        assert "vblk: device 0 id=2 capacity 2048 sectors" in out, out
        for check in ("rw: write, read back, verify", "rw: flush", "rw: get-id",
                      "verify: the data of the earlier run is there",
                      "beyond: reads past the end fail, the device works on",
                      "bad-ring: needs reset, then works",
                      "ro: feature offered, write refused, read works"):
            assert "vblk: %s PASS" % check in out, out
        assert "FAIL" not in out, out
    finally:
        b.stop()
