"""The gdb stub (issue 15): `debug NAME [PORT]` and `debug NAME off`, driven
with Debian's own gdb in batch mode against the probe guest's `gdb` loop
(guests/probe/probe.c, built with symbols) on QEMU TCG (AMD-V).

hako's management address is reached through QEMU's user network: hostfwd
takes 127.0.0.1:PORT on this host to the guest-side ports, and hako sees a
client on 127.0.0.1 as 10.0.2.2 and one on another loopback address (the
refused one) as that address itself.
"""
import os
import re
import socket
import subprocess
import time

import pytest

from hako import BUILD, ROOT, Qemu, free_port, make_image
from netconsole import wait_login_prompt
from shell_helpers import console, ok, state

USER, PASSWORD = "test", "correct horse"
PROBE_ELF = os.path.join(BUILD, "guests", "probe.elf")
GDB_PORT = 1234


@pytest.fixture(scope="module")
def image():
    p = subprocess.run([os.path.join(ROOT, "tools", "hako-passwd"), "--stdin", USER],
                       input=PASSWORD + "\n", stdout=subprocess.PIPE, check=True, text=True)
    cfg = "net=dhcp\nmgmt_port=2323\n%s\n" % p.stdout.strip()
    return make_image(os.path.join(BUILD, "test-gdb.img"), cfg, files=[PROBE_ELF])


@pytest.fixture(scope="module")
def m(image):
    con, dbg = free_port(), free_port()
    q = Qemu(smp=3, mem="512M", image=image, name="gdb",
             extra_args=["-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:2323,"
                         "hostfwd=tcp::%d-:%d" % (con, dbg, GDB_PORT),
                         "-device", "virtio-net-pci,netdev=n0"])
    q.start()
    q.wait_prompt()
    q.expect(r"net: \S+ address 10\.0\.2\.15", 60)
    q.con_port, q.gdb_port = con, dbg
    yield q
    q.stop()


def gdb(m, *commands, timeout=120):
    """Runs Debian's gdb in batch mode on probe.elf against hako; returns its output."""
    argv = ["gdb", "-nx", "-batch", "-ex", "set pagination off", "-ex", "set confirm off",
            "-ex", "file " + PROBE_ELF, "-ex", "target remote 127.0.0.1:%d" % m.gdb_port]
    for c in commands:
        argv += ["-ex", c]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                       universal_newlines=True)
    return p.stdout


def start_gdb_loop(m, name):
    ok(m, 'define %s mem=16M kernel=esp:probe.elf cmdline="gdb"' % name)
    ok(m, "start " + name)
    console(m, name, r"probe: gdb loop")


def objdump_bytes(symbol, n):
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", PROBE_ELF], check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    return out


def next_insn(addr):
    """The address of the instruction after the one at `addr` in probe.elf."""
    out = subprocess.run(["objdump", "-d", "--start-address=%d" % addr,
                          "--stop-address=%d" % (addr + 16), PROBE_ELF], check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    addrs = [int(a, 16) for a in re.findall(r"^\s*([0-9a-f]+):", out, re.M)]
    return addrs[1]


def symbol(name):
    out = subprocess.run(["nm", PROBE_ELF], check=True, stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    return int(re.search(r"^([0-9a-f]+) \w %s$" % name, out, re.M).group(1), 16)


def test_break_step_read_and_change_a_variable(m):
    start_gdb_loop(m, "dbg")
    out = ok(m, "debug dbg %d" % GDB_PORT)
    assert re.search(r"^\(gdb\) target remote 10\.0\.2\.15:%d$" % GDB_PORT, out, re.M), out
    assert "any address may connect" in out, out
    tick = symbol("gdb_tick")
    out = gdb(m, "break gdb_tick", "continue", "info registers rip", "stepi",
              "info registers rip", "x/8xb &gdb_bytes", "print gdb_value",
              "set var gdb_value = 4242", "delete", "detach")
    assert re.search(r"Breakpoint 1 at 0x%x" % tick, out), out
    rips = [int(x, 16) for x in re.findall(r"^rip\s+0x([0-9a-f]+)", out, re.M)]
    assert rips[:1] == [tick], out
    assert rips[1:2] == [next_insn(tick)], out  # stepi: one instruction on
    assert re.search(r":\s+0x68\s+0x61\s+0x6b\s+0x6f\s+0xde\s+0xad\s+0xbe\s+0xef$", out, re.M), out
    assert re.search(r"^\$1 = 1111$", out, re.M), out
    assert "Detaching" in out or "detached" in out.lower(), out
    console(m, "dbg", r"probe: gdb_value=4242")  # it runs on with the new value
    assert state(m, "dbg") == "running"
    ok(m, "debug dbg off")
    ok(m, "destroy dbg")
    ok(m, "undefine dbg")
