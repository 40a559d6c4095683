"""The network console under hostile use (issue 17, findings 2 and 9), on
QEMU TCG with AMD-V and QEMU's user network.

Finding 2: a session attached to a guest console that disconnects must
detach it; before the fix the next client reusing the session's slot made
the next guest output call a NULL write, and the serial shell died. The
serial console can also take a guest console over.

Finding 9: clients that connect and never log in must not lock an
administrator out, and a password guesser must be slowed per address (not
per connection), while the right password from another address still works.
"""
import os
import re
import socket
import struct
import subprocess
import threading
import time

import pytest

from hako import BUILD, ROOT, Qemu, free_port, make_image
from netconsole import PROMPT, NetConsole, wait_login_prompt
from shell_helpers import console, ok, state

USER, PASSWORD = "test", "correct horse"
CTRL_RBRACKET = b"\x1d"


def second_address():
    """A non-loopback IPv4 address of this host, or None. QEMU's user network
    shows hako a client on 127.0.0.1 as 10.0.2.2 and one on any other address
    of the host as that address: two addresses for the per-address tests."""
    cands = []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("198.51.100.1", 9))  # no packet: only picks the route's source
            cands.append(s.getsockname()[0])
    except OSError:
        pass
    try:
        cands += socket.gethostbyname_ex(socket.gethostname())[2]
    except OSError:
        pass
    for a in cands:
        if a.startswith("127.") or a == "0.0.0.0":
            continue
        try:
            with socket.socket() as s:
                s.bind((a, 0))
            return a
        except OSError:
            continue
    return None


@pytest.fixture(scope="module")
def vm():
    p = subprocess.run([os.path.join(ROOT, "tools", "hako-passwd"), "--stdin", USER],
                       input=PASSWORD + "\n", stdout=subprocess.PIPE, check=True, text=True)
    cfg = "net=dhcp\nmgmt_port=2323\n%s\n" % p.stdout.strip()
    img = make_image(os.path.join(BUILD, "test-console-hardening.img"), cfg,
                     [os.path.join(BUILD, "guests", "probe.elf")])
    port, other = free_port(), second_address()
    fwd = "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:2323" % port
    if other:
        other_port = free_port()
        fwd += ",hostfwd=tcp:%s:%d-:2323" % (other, other_port)
    m = Qemu(smp=2, mem="512M", image=img, name="console-hardening",
             extra_args=["-netdev", fwd, "-device", "virtio-net-pci,netdev=n0"])
    m.start()
    m.wait_prompt()
    m.expect(r"console: listening on TCP port 2323", 60)
    m.port = port
    m.other = (other, other_port) if other else None
    yield m
    m.stop()
    os.remove(img)


def login(port, host="127.0.0.1", timeout=30):
    c = wait_login_prompt(port, host=host)
    c.login(USER, PASSWORD, timeout)
    return c


def attach(c, name):
    """Attaches a network session to NAME's console and waits for its output."""
    c.send("console %s\r\n" % name)
    c.read_until(b"[attached to %s" % name.encode(), 20)
    c.read_until(b"flood flood", 30)


def reset_hard(c):
    """Closes with unread data queued: the kernel sends RST, as a crashed client does."""
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


@pytest.fixture(scope="module")
def chatty(vm):
    """A probe guest that prints to its UART without end."""
    ok(vm, 'define chat mem=16M kernel=esp:probe.elf cmdline="flood"')
    ok(vm, "start chat")
    yield "chat"
    if state(vm, "chat") == "running":
        ok(vm, "destroy chat")
    ok(vm, "undefine chat")


def serial_and_network_answer(vm):
    assert vm.cmd("version", timeout=20).startswith("hako "), "the serial shell stopped answering"
    c = login(vm.port)
    try:
        assert c.cmd("version", timeout=20).startswith("hako ")
    finally:
        c.close()


@pytest.mark.parametrize("how", ["reset", "close"])
def test_session_ending_while_attached_detaches(vm, chatty, how):
    """Issue 17 finding 2: the session attached to a chatty guest goes away
    (RST, or an orderly close), four clients that never log in take the free
    slots, the guest keeps printing; the serial shell and a fresh session
    still answer, and the console can be attached again from both."""
    a = login(vm.port)
    attach(a, chatty)
    if how == "reset":
        reset_hard(a)
    else:
        a.sock.shutdown(socket.SHUT_WR)
        a.read_all(10)
        a.close()
    idle = [wait_login_prompt(vm.port) for _ in range(4)]
    try:
        time.sleep(2)  # the guest goes on printing into whatever was attached
        serial_and_network_answer(vm)
        assert re.search(r"console: guest chat detached: its session ended", vm.cmd("log"))
        b = login(vm.port)
        try:
            attach(b, chatty)
            b.send(CTRL_RBRACKET)
            b.read_until(b"[detached from chat]", 20)
            b.read_until(PROMPT, 20)
            assert b.cmd("version").startswith("hako ")
        finally:
            b.close()
        console(vm, chatty, r"flood flood", 30)
    finally:
        for c in idle:
            c.close()


def test_serial_takes_the_console_over(vm, chatty):
    a = login(vm.port)
    try:
        attach(a, chatty)
        out = vm.cmd("console %s" % chatty, timeout=20)
        assert re.search(r"^error: .*attached from another session.*console %s force" % chatty,
                         out, re.M), out
        vm.send("console %s force\r" % chatty)
        vm.expect(r"\[attached to %s" % chatty, 20)
        vm.expect(r"flood flood", 30)
        vm.send(CTRL_RBRACKET)
        vm.expect(r"\[detached from %s\]" % chatty, 20)
        vm.wait_prompt(20)
        a.read_until(b"[detached from chat: taken over by the serial console]", 20)
        a.read_until(PROMPT, 20)
        assert a.cmd("version").startswith("hako "), "the session taken over lost its shell"
    finally:
        a.close()
