"""The gdb stub on a Linux guest (issue 15): the Debian test guest (`make
linux-guest`, no kernel symbols) on QEMU TCG (AMD-V). Its console gives the
addresses of `linux_banner` and of the uname syscall's entry from
/proc/kallsyms; gdb attaches while the guest runs, reads the banner there,
breaks on the syscall entry, the guest hits it when its shell runs `uname`,
`stepi` goes to the next instruction (not into the handler of the timer
interrupt that fell due meanwhile), and after `detach` the command
finishes. One Linux boot (about a minute).
"""
import os
import re
import subprocess
import time

import pytest

from hako import BUILD, Qemu, free_port, make_image
from shell_helpers import ok, state
from test_linux import BOOT_TIMEOUT, LINUX, attached, sh, wait_marker

GDB_PORT = 1234
SYSCALL = "__x64_sys_newuname"


@pytest.fixture(scope="module")
def m():
    files = [os.path.join(BUILD, "linux", f) for f in ("vmlinuz", "initrd.img")]
    img = make_image(os.path.join(BUILD, "test-gdb-linux.img"), "net=dhcp\n", files=files)
    port = free_port()
    q = Qemu(smp=2, mem="1G", image=img, name="gdb-linux",
             extra_args=["-netdev", "user,id=n0,hostfwd=tcp::%d-:%d" % (port, GDB_PORT),
                         "-device", "virtio-net-pci,netdev=n0"])
    q.start()
    q.wait_prompt()
    q.expect(r"net: \S+ address 10\.0\.2\.15", 60)
    q.gdb_port = port
    yield q
    q.stop()


def kallsyms(m, name):
    out, status = sh(m, "grep -E ' %s$' /proc/kallsyms" % name)
    found = re.search(r"^([0-9a-f]{16}) \w %s$" % name, out, re.M)
    assert status == 0 and found, out
    return int(found.group(1), 16)


def test_attach_read_the_banner_and_break_on_a_syscall(m):
    ok(m, 'define lx cpus=1 mem=256M %s cmdline="console=ttyS0"' % LINUX)
    ok(m, "start lx")
    with attached(m, "lx"):
        release, _ = wait_marker(m, BOOT_TIMEOUT)
        banner, entry = kallsyms(m, "linux_banner"), kallsyms(m, SYSCALL)
    assert banner >= 0xffffffff80000000 and entry >= 0xffffffff80000000, (hex(banner), hex(entry))
    out = ok(m, "debug lx %d" % GDB_PORT)
    assert "target remote 10.0.2.15:%d" % GDB_PORT in out, out
    argv = ["gdb", "-nx", "-batch", "-ex", "set pagination off", "-ex", "set confirm off",
            "-ex", "set remotetimeout 60", "-ex", "set architecture i386:x86-64",
            "-ex", "target remote 127.0.0.1:%d" % m.gdb_port,
            "-ex", "x/s 0x%x" % banner, "-ex", "break *0x%x" % entry, "-ex", "continue",
            "-ex", "info registers rip", "-ex", "x/2i $pc", "-ex", "stepi",
            "-ex", "info registers rip eflags", "-ex", "delete", "-ex", "detach"]
    g = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True)
    try:
        time.sleep(10)  # gdb attaches (the guest stops), reads, sets the breakpoint, continues
        with attached(m, "lx"):
            m.send("uname -r; echo @@uname-done@@\r")
            out = g.communicate(timeout=120)[0]
            m.expect(r"^%s\s*$" % re.escape(release), 60)  # detached: the command finishes
            m.expect(r"@@uname-done@@", 30)
    finally:
        if g.poll() is None:
            g.kill()
            g.communicate()
    assert re.search(r'0x%x[^:]*:\s+"Linux version %s ' % (banner, re.escape(release)), out), out
    assert re.search(r"^Breakpoint 1, 0x0*%x in " % entry, out, re.M), out
    assert re.search(r"^rip\s+0x%x\s" % entry, out, re.M), out
    # stepi: the next instruction, not a timer interrupt's handler, though the guest's
    # timer fell due while gdb held it (a step takes no interrupt)
    listing = re.findall(r"^(?:=>)?\s+0x([0-9a-f]+):\s+(\S+)", out, re.M)
    assert len(listing) >= 2 and int(listing[0][0], 16) == entry, out
    assert not listing[0][1].startswith(("j", "call", "ret")), out  # it falls through
    rips = re.findall(r"^rip\s+0x([0-9a-f]+)\s", out, re.M)
    assert [int(r, 16) for r in rips] == [entry, int(listing[1][0], 16)], out
    flags = re.search(r"^eflags\s+0x([0-9a-f]+)\s+(.*)$", out, re.M)
    assert flags and int(flags.group(1), 16) & 0x200, out  # interrupts were on: one was not taken
    assert state(m, "lx") == "running"
    ok(m, "debug lx off")
    ok(m, "destroy lx")
    ok(m, "undefine lx")
