"""Linux guests (issue 5) on the VT-x back end: the stock Debian kernel and
busybox initramfs that test_linux.py boots on AMD-V, here under Bochs 2.7 on an
emulated Haswell (VMX, EPT, VPID, unrestricted guest), defined and driven
through the shell the same way. A two-vCPU guest exercises the VMX paths
Linux needs beyond the probe guests: the application processor's INIT-SIPI
start in real mode, CR0/CR4 writes that exit (vmm/cr.c), XSETBV, interrupt
injection with interrupt-window exits.

Bochs runs about 110 M instructions/s (less on a loaded host), and the kernel
decompresses and boots in it for minutes: slow, skipped by `make test-fast`."""
import re

import pytest

from hako import Bochs
from shell_helpers import ok, state
from test_linux import LINUX, attached, sh, wait_marker, wait_state

BOOT_TIMEOUT = 1500  # start to /init's marker; minutes of emulated boot


@pytest.fixture(scope="module")
def m():
    """hako in Bochs with VT-x: a service core and two guest cores."""
    b = Bochs(model="corei7_haswell_4770", cpus=3, mem_mb=768, name="bochs-linux")
    b.start()
    b.wait_prompt()
    yield b
    b.stop()


@pytest.mark.slow
def test_linux_boots_to_its_shell_on_vmx(m):
    """cpus=2: the marker, uname -r and /proc/cpuinfo over `console`, then poweroff."""
    assert "(vmx)" in m.cmd("version")
    ok(m, 'define lxv cpus=2 mem=256M %s cmdline="console=ttyS0"' % LINUX)
    ok(m, "start lxv", 60)
    with attached(m, "lxv"):
        release, cpus = wait_marker(m, BOOT_TIMEOUT)
        assert cpus == 2
        out, status = sh(m, "uname -r", timeout=300)
        assert status == 0 and release in out, out
        out, status = sh(m, "grep -c ^processor /proc/cpuinfo", timeout=300)
        assert status == 0 and re.search(r"^2\s*$", out, re.M), out
        m.send("poweroff -f\r")
        m.expect(r"reboot: Power down", 300)
    wait_state(m, "lxv", "stopped", 120)
    assert "powered off" in m.cmd("log")
    # The application processor's trampoline writes CR0.NE, a bit VMX fixes
    # to 1 (SDM Vol. 3D A.7), and the kernel enables AVX with XSETBV: both exit
    # on VT-x and were carried out by hako.
    stats = m.cmd("stats lxv")
    assert re.search(r"^\s+cr-access\s+[1-9]", stats, re.M), stats
    assert re.search(r"^\s+xsetbv\s+[1-9]", stats, re.M), stats
    assert not re.search(r"entry-failed|unknown|triple-fault", stats), stats
