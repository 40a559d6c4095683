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
from shell_helpers import console, ok, probe_progress, state
from test_console_hardening import second_address
from test_sched import cpu_times

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


def gdb_start(m, *commands):
    """Starts Debian's gdb in batch mode on probe.elf against hako; returns the process."""
    argv = ["gdb", "-nx", "-batch", "-ex", "set pagination off", "-ex", "set confirm off",
            "-ex", "set remotetimeout 60", "-ex", "file " + PROBE_ELF, "-ex", "target remote 127.0.0.1:%d" % m.gdb_port]
    for c in commands:
        argv += ["-ex", c]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)


def gdb_finish(p, timeout=180):
    """gdb's output once it ended (killed after `timeout` seconds)."""
    try:
        return p.communicate(timeout=timeout)[0]
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()


def gdb(m, *commands, timeout=180, ctrl_c_after=None, ctrl_c_at=None):
    """Runs Debian's gdb in batch mode on probe.elf against hako; returns its output.
    ctrl_c_after: seconds after which gdb gets SIGINT, as from Ctrl-C at its terminal
    (it sends the target the protocol's interrupt). ctrl_c_at: a Handshake whose
    point the commands reach (`shell` + its .reached), after which it gets SIGINT
    3 s later."""
    p = gdb_start(m, *commands)
    try:
        if ctrl_c_after is not None:
            time.sleep(ctrl_c_after)
            p.send_signal(signal.SIGINT)
        if ctrl_c_at is not None:
            ctrl_c_at.wait_reached(p, timeout)
            time.sleep(3)
            p.send_signal(signal.SIGINT)
    except BaseException:
        p.kill()
        raise
    return gdb_finish(p, timeout)


class Handshake:
    """A point in a gdb script the test waits for and, optionally, holds gdb at:
    `reached` is a gdb command that removes a file the test made; `hold` one that
    then waits until the test lets go (release)."""

    def __init__(self, name):
        self.path = os.path.join(BUILD, "gdb-%s.mark" % name)
        self.go = self.path + ".go"
        for f in (self.path, self.go):
            if os.path.exists(f):
                os.remove(f)
        open(self.path, "w").close()
        self.reached = "shell rm -f %s" % self.path
        self.hold = ("shell rm -f %s; while [ ! -e %s ]; do sleep 0.2; done; rm -f %s"
                     % (self.path, self.go, self.go))

    def wait_reached(self, p, timeout):
        deadline = time.time() + timeout
        while os.path.exists(self.path):
            assert p.poll() is None, "gdb ended early:\n" + p.communicate()[0]
            assert time.time() < deadline, "gdb did not get there in %d s" % timeout
            time.sleep(0.2)

    def release(self):
        open(self.go, "w").close()


def start_gdb_loop(m, name):
    ok(m, 'define %s mem=16M kernel=esp:probe.elf cmdline="gdb"' % name)
    ok(m, "start " + name)
    console(m, name, r"probe: gdb loop")


def cleanup(m, *names):
    """Destroys and undefines what a test defined, whatever became of it."""
    listing = m.cmd("list")
    for n in names:
        if re.search(r"^%s\s+running" % n, listing, re.M):
            m.cmd("destroy " + n)
        if re.search(r"^%s\s" % n, listing, re.M):
            m.cmd("undefine " + n)


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


def test_a_held_guest_on_a_shared_core_leaves_the_core_to_the_others(m):
    """sched=shared (#14): a vCPU the debugger holds is not runnable, like a
    halted one, so the guest beside it on the core gets all of it while gdb
    sits at a breakpoint (hako's accounting: the neighbour runs and does not
    wait, the held guest neither runs nor waits, and `host` shows it held;
    the neighbour's own counter goes on); after detach it runs on."""
    ok(m, 'define dsh mem=16M kernel=esp:probe.elf sched=shared cores=2 cmdline="gdb"')
    ok(m, 'define nbr mem=16M kernel=esp:probe.elf sched=shared cores=2 cmdline="progress=0"')
    held = Handshake("held")
    p = None
    try:
        ok(m, "start dsh")
        ok(m, "start nbr")
        console(m, "dsh", r"probe: gdb loop")
        ok(m, "debug dsh %d" % GDB_PORT)
        p = gdb_start(m, "break gdb_tick", "continue", "info registers rip", held.hold,
                      "print gdb_count", "delete", "set var gdb_value = 4343", "detach")
        held.wait_reached(p, 180)
        before = cpu_times(m, "dsh"), cpu_times(m, "nbr"), probe_progress(m, "nbr")
        time.sleep(6)
        after = cpu_times(m, "dsh"), cpu_times(m, "nbr"), probe_progress(m, "nbr")
        host = ok(m, "host")
        held.release()
        assert re.search(r"^core 2: shared, 2 vCPUs, .*dsh/0\(w100,held\)", host, re.M), host
        out = gdb_finish(p)
        (d_run, d_wait, d_halt), (n_run, n_wait, _) = [
            [a - b for a, b in zip(after[i], before[i])] for i in (0, 1)]
        assert re.search(r"^rip\s+0x%x " % symbol("gdb_tick"), out, re.M), out
        assert "Detaching" in out or "detached" in out.lower(), out
        assert n_run > 2, (before, after)                    # the neighbour ran meanwhile,
        assert n_wait < 0.1 * n_run, (before, after)         # without waiting for the core,
        assert after[2] > before[2], (before, after)         # and its own counter went on;
        assert d_run < 0.05 * n_run and d_wait < 0.05 * n_run, (before, after)  # dsh: neither
        assert d_halt > 0.8 * n_run, (before, after)         # held counts as halted
        console(m, "dsh", r"probe: gdb_value=4343")          # and it runs on after detach
        assert state(m, "dsh") == "running" and state(m, "nbr") == "running"
    finally:
        if p is not None and p.poll() is None:
            p.kill()
            p.communicate()
        cleanup(m, "dsh", "nbr")


def test_a_stepped_pushf_does_not_push_the_debuggers_trap_flag(m):
    """AMD-V steps with RFLAGS.TF and #DB intercepted; the guest must not
    see that TF, neither in RFLAGS nor in what PUSHFQ stores, nor the
    single-step mark (BS) its #DB leaves in DR6 (probe's gdb_pushf(), which
    runs with TF clear and reads DR6 after the PUSHFQ)."""
    try:
        start_gdb_loop(m, "dpf")
        ok(m, "debug dpf %d" % GDB_PORT)
        at = symbol("gdb_pushf_insn")
        out = gdb(m, "break *0x%x" % at, "continue", "stepi", "info registers rip",
                  "info registers eflags", "x/gx $rsp", "delete", "break gdb_tick", "continue",
                  "print/x gdb_dr6", "delete", "detach")
        assert re.search(r"^rip\s+0x%x " % (at + 1), out, re.M), out   # PUSHFQ ran, and only it
        flags = re.search(r"^eflags\s+0x([0-9a-f]+)\s+(.*)$", out, re.M)
        assert flags and not int(flags.group(1), 16) & 0x100 and "TF" not in flags.group(2), out
        pushed = re.search(r"^0x[0-9a-f]+:\s+0x([0-9a-f]+)$", out, re.M)
        assert pushed, out
        assert not int(pushed.group(1), 16) & 0x100, out     # the pushed word: no TF
        assert int(pushed.group(1), 16) & 0x2, out           # (it is RFLAGS: bit 1 is always set)
        dr6 = re.search(r"^\$1 = 0x([0-9a-f]+)$", out, re.M)   # DR6 as the guest read it next:
        assert dr6 and int(dr6.group(1), 16) & 0xff0 == 0xff0, out  # (bits 4-11 read as 1)
        assert not int(dr6.group(1), 16) & 0x4000, out       # no BS from hako's step
        assert state(m, "dpf") == "running"
    finally:
        cleanup(m, "dpf")


def test_int_n_from_user_mode_keeps_its_privilege_check_under_a_debugger(m):
    """While a debugger has breakpoints, AMD-V's INTn intercept brings every
    INT n to hako; it must reach the guest as the instruction would: from
    ring 3 through a DPL 3 gate returning after the INT, and #GP at a DPL 0
    gate, the handler never reached (probe's `int-user`, run once natively,
    then again while gdb holds a breakpoint)."""
    try:
        ok(m, 'define din mem=16M kernel=esp:probe.elf cmdline="int-user gdb"')
        ok(m, "start din")
        out = console(m, "din", r"probe: gdb loop")
        assert "probe: int-user dpl3 gate PASS" in out, out
        assert "probe: int-user dpl0 gate #GP PASS" in out, out
        ok(m, "debug din %d" % GDB_PORT)
        out = gdb(m, "break gdb_int_done", "set var gdb_int_test = 1", "continue", "delete",
                  "detach")
        assert re.search(r"^Breakpoint 1, .*gdb_int_done", out, re.M), out
        out = console(m, "din", r"(probe: int-user dpl0 gate #GP \w+\r?\n[\s\S]*){2}")
        assert out.count("probe: int-user dpl3 gate PASS") == 2, out
        assert out.count("probe: int-user dpl0 gate #GP PASS") == 2, out
        assert "FAIL" not in out, out
        assert state(m, "din") == "running"
    finally:
        cleanup(m, "din")


def test_two_vcpus_are_two_threads_that_stop_and_run_together(m):
    """A 2-vCPU probe guest: vCPU 0 runs the `gdb` loop, vCPU 1 counts in
    gdb_ap_loop(). gdb sees two threads with their own registers; a
    breakpoint hit on one stops both (all-stop), continue runs both."""
    running = Handshake("running")
    try:
        ok(m, 'define dmp cpus=2 mem=16M kernel=esp:probe.elf cmdline="gdb"')
        ok(m, "start dmp")
        console(m, "dmp", r"probe: gdb loop")
        ok(m, "debug dmp %d" % GDB_PORT)
        out = gdb(m, "info threads", "thread 2", "info registers rip", "thread 1",
                  "info registers rip", "break gdb_tick", "continue", "print gdb_ap_count",
                  "shell sleep 2", "print gdb_ap_count", "print gdb_count", "delete",
                  running.reached, "continue", "print gdb_ap_count", "print gdb_count", "detach",
                  ctrl_c_at=running)
        assert re.search(r"^\* 1\s+Thread 1 ", out, re.M), out
        assert re.search(r"^  2\s+Thread 2 ", out, re.M), out
        rips = re.findall(r"^rip\s+0x[0-9a-f]+\s+0x[0-9a-f]+ <(\w+)", out, re.M)
        assert rips[:1] == ["gdb_ap_loop"], out                 # thread 2: the other vCPU
        assert rips[1:2] and rips[1] != "gdb_ap_loop", out      # thread 1: its own RIP
        assert re.search(r"^Thread 1 hit Breakpoint 1, gdb_tick", out, re.M), out
        vals = [int(x) for x in re.findall(r"^\$\d+ = (\d+)$", out, re.M)]
        assert len(vals) == 5, out
        ap1, ap2, n1, ap3, n2 = vals
        assert ap1 == ap2, out               # vCPU 1 stood still while vCPU 0 sat at the breakpoint
        assert ap3 > ap2 and n2 > n1, out    # continue ran both until Ctrl-C
        assert "received signal SIGINT" in out, out
        assert state(m, "dmp") == "running"
    finally:
        cleanup(m, "dmp")
