"""Linux guests (issue 5) on the VT-x back end: the stock Debian kernel and
busybox initramfs that test_linux.py boots on AMD-V, here under Bochs 2.7 on an
emulated Haswell (VMX, EPT, VPID, unrestricted guest), defined and driven
through the shell the same way. A two-vCPU guest exercises the VMX paths
Linux needs beyond the probe guests: the application processor's INIT-SIPI
start in real mode, CR0/CR4 writes that exit (vmm/cr.c), XSETBV, interrupt
injection with interrupt-window exits.

The guest also has a NIC bridged to the physical network (issue 13): hako's
e1000 driver on Bochs's 82540EM, on Bochs's own user network (slirp), is the
switch's uplink; the guest gets its own DHCP lease and downloads a file from
the host through 10.0.2.2 (SHA-256 checked) while the network console, reached
through a slirp host forward, logs in and answers.

Bochs runs about 110 M instructions/s (less on a loaded host), and the kernel
decompresses and boots in it for minutes: slow, skipped by `make test-fast`."""
import hashlib
import os
import re
import subprocess
import threading

import pytest

from guestnet import FileServer, wait_for
from hako import BUILD, ROOT, Bochs, free_port, make_image
from netconsole import wait_login_prompt
from shell_helpers import ok
from test_linux import LINUX, attached, sh, wait_marker, wait_state

BOOT_TIMEOUT = 1500  # start to /init's marker; minutes of emulated boot
USER, PASSWORD = "test", "correct horse"
BLOB = os.urandom(1 << 20)


@pytest.fixture(scope="module")
def m():
    """hako in Bochs with VT-x: a service core and two guest cores, an e1000 on slirp."""
    p = subprocess.run([os.path.join(ROOT, "tools", "hako-passwd"), "--stdin", USER],
                       input=PASSWORD + "\n", stdout=subprocess.PIPE, check=True, text=True)
    files = [os.path.join(BUILD, "linux", f) for f in ("vmlinuz", "initrd.img")]
    img = make_image(os.path.join(BUILD, "test-bochs-linux.img"),
                     "net=dhcp\nmgmt_port=2323\n%s\n" % p.stdout.strip(), files=files)
    port = free_port()
    b = Bochs(model="corei7_haswell_4770", cpus=3, mem_mb=768, name="bochs-linux", image=img,
              nic_mac="52:54:00:6e:30:01", hostfwd=["tcp::%d-:2323" % port])
    b.start()
    b.wait_prompt()
    b.port = port
    yield b
    b.stop()


@pytest.mark.slow
def test_linux_boots_to_its_shell_on_vmx(m):
    """cpus=2: the marker, uname -r and /proc/cpuinfo over `console`, a DHCP
    lease and a download on its bridged NIC, then poweroff."""
    assert "(vmx)" in m.cmd("version")
    wait_for(lambda: re.search(r"^ipv4: 10\.0\.2\.15 ", m.cmd("net"), re.M), 240,
             "hako's own DHCP lease on Bochs's user network")
    ok(m, 'define lxv cpus=2 mem=256M %s net=uplink cmdline="console=ttyS0 hako.dhcp=eth0"' % LINUX)
    ok(m, "start lxv", 60)
    srv = FileServer({"blob": BLOB})
    try:
        with attached(m, "lxv"):
            release, cpus = wait_marker(m, BOOT_TIMEOUT)
            assert cpus == 2
            m.expect(r"HAKO-NET-READY", 300)
            out, status = sh(m, "uname -r", timeout=300)
            assert status == 0 and release in out, out
            out, status = sh(m, "grep -c ^processor /proc/cpuinfo", timeout=300)
            assert status == 0 and re.search(r"^2\s*$", out, re.M), out
            out, status = sh(m, "cat /sys/class/net/eth0/address; ip -4 addr show eth0", timeout=300)
            assert re.search(r"inet 10\.0\.2\.(1[6-9]|[2-9]\d)/24", out), out
            answers = []

            def netconsole():
                c = wait_login_prompt(m.port, timeout=120)
                try:
                    c.login(USER, PASSWORD, timeout=120)
                    answers.append(bool(re.search(r"^lxv/eth0\s+\S+\s+uplink\s",
                                                  c.cmd("net", timeout=120), re.M)))
                finally:
                    c.close()
            t = threading.Thread(target=netconsole)
            t.start()
            out, status = sh(m, "wget -q -O /tmp/blob http://10.0.2.2:%d/blob && sha256sum /tmp/blob"
                             % srv.port, timeout=600)
            t.join(300)
            assert status == 0 and hashlib.sha256(BLOB).hexdigest() in out, out
            assert answers == [True], answers
            m.send("poweroff -f\r")
            m.expect(r"reboot: Power down", 300)
    finally:
        srv.close()
    wait_state(m, "lxv", "stopped", 120)
    assert "powered off" in m.cmd("log")
    # The application processor's trampoline writes CR0.NE, a bit VMX fixes
    # to 1 (SDM Vol. 3D A.7), and the kernel enables AVX with XSETBV: both exit
    # on VT-x and were carried out by hako.
    stats = m.cmd("stats lxv")
    assert re.search(r"^\s+cr-access\s+[1-9]", stats, re.M), stats
    assert re.search(r"^\s+xsetbv\s+[1-9]", stats, re.M), stats
    assert not re.search(r"entry-failed|unknown|triple-fault", stats), stats
