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
import signal
import socket
import subprocess
import time

import pytest

from hako import BUILD, ROOT, Qemu, free_port, make_image
from netconsole import wait_login_prompt
from shell_helpers import console, ok, state
from test_console_hardening import second_address

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


def gdb(m, *commands, timeout=180, ctrl_c_after=None):
    """Runs Debian's gdb in batch mode on probe.elf against hako; returns its output.
    ctrl_c_after: seconds after which gdb gets SIGINT, as from Ctrl-C at its terminal
    (it sends the target the protocol's interrupt)."""
    argv = ["gdb", "-nx", "-batch", "-ex", "set pagination off", "-ex", "set confirm off",
            "-ex", "set remotetimeout 60", "-ex", "file " + PROBE_ELF, "-ex", "target remote 127.0.0.1:%d" % m.gdb_port]
    for c in commands:
        argv += ["-ex", c]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True)
    try:
        if ctrl_c_after is not None:
            time.sleep(ctrl_c_after)
            p.send_signal(signal.SIGINT)
        return p.communicate(timeout=timeout)[0]
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()


def start_gdb_loop(m, name):
    ok(m, 'define %s mem=16M kernel=esp:probe.elf cmdline="gdb"' % name)
    ok(m, "start " + name)
    console(m, name, r"probe: gdb loop")


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


def test_ctrl_c_continue_threads_and_physical_memory(m):
    start_gdb_loop(m, "dbc")
    ok(m, "debug dbc %d" % GDB_PORT)
    out = gdb(m, "info threads", "monitor phys 0x%x 8" % symbol("gdb_bytes"), "print gdb_count",
              "continue", "print gdb_count", "detach", ctrl_c_after=15)
    assert re.search(r"^\* 1\s+Thread 1 ", out, re.M), out  # the vCPU as a thread
    assert re.search(r"^0x%x: 68 61 6b 6f de ad be ef$" % symbol("gdb_bytes"), out, re.M), out
    assert "Program received signal SIGINT" in out, out  # Ctrl-C stopped it
    counts = [int(x) for x in re.findall(r"^\$\d+ = (\d+)$", out, re.M)]
    assert len(counts) == 2 and counts[1] > counts[0], out  # it ran between the two
    assert state(m, "dbc") == "running"
    ok(m, "destroy dbc")  # closes the server with the guest
    out = m.cmd("debug dbc off")
    assert re.search(r"^error: guest 'dbc' has no debug server", out, re.M), out
    ok(m, "undefine dbc")


def raw(m, data, host="127.0.0.1", wait=2.0):
    """Sends `data` to the debug port; returns what came back before the close or `wait`."""
    s = socket.create_connection((host, m.gdb_port), timeout=10)
    got = b""
    try:
        s.sendall(data)
        s.settimeout(wait)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    finally:
        s.close()
    return got


def test_hostile_debuggers_leave_guest_and_hako_running(m):
    start_gdb_loop(m, "dbh")
    ok(m, "debug dbh %d" % GDB_PORT)
    # malformed packets: bad checksums, junk, unknown and truncated commands
    got = raw(m, b"$g#00$zz#zz+-+\x00\xff$m10,#a1$M0,1:zz#00$Z9,0,0#00$qXfer:features:read:x#00"
              b"$H#48$vCont;q#00$p999#00")
    assert got.count(b"-") >= 2, got
    # one packet of 100 KB, then a debugger that vanishes in the middle of a packet
    big = b"$" + b"m" * 100000 + b"#00"
    got = raw(m, big + b"$?#3f", wait=5)
    assert got.startswith(b"-"), got[:100]
    raw(m, b"$m1000,10", wait=0.5)
    line = console(m, "dbh", r"probe: gdb loop")
    assert state(m, "dbh") == "running"
    assert "hako" in m.cmd("version")
    # and a real debugger still gets in and out
    out = gdb(m, "print gdb_value", "detach")
    assert re.search(r"^\$1 = 1111$", out, re.M), out
    ok(m, "debug dbh off")
    ok(m, "destroy dbh")
    ok(m, "undefine dbh")


def test_only_the_issuing_sessions_address_and_only_while_it_lasts(m):
    start_gdb_loop(m, "dbn")
    c = wait_login_prompt(m.con_port)
    try:
        c.login(USER, PASSWORD)
        out = c.cmd("debug dbn %d" % GDB_PORT)
        assert "only 10.0.2.2 may connect" in out, out
        # another address is refused before any byte of the protocol
        other = second_address()
        assert other, "this host has no second address to connect from"
        assert raw(m, b"$?#3f", host=other) == b""
        m.expect(r"debug: guest dbn: refused a debugger from %s " % re.escape(other), 10)
        # the issuing session's address gets in (QEMU shows 127.0.0.1 as 10.0.2.2)
        out = gdb(m, "print gdb_value", "detach")
        assert re.search(r"^\$1 = 1111$", out, re.M), out
        c.send("exit\r\n")
        c.read_all(5)
    finally:
        c.close()
    m.expect(r"debug: guest dbn: port %d closed \(the session that opened it ended\)" % GDB_PORT, 20)
    assert raw(m, b"$?#3f") == b""  # nobody listens any more
    assert state(m, "dbn") == "running"
    ok(m, "destroy dbn")
    ok(m, "undefine dbn")
