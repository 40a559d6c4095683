"""Network tests (issue 6): for each NIC model QEMU emulates (virtio-net-pci,
e1000, e1000e), hako gets a DHCP lease from QEMU's user networking, `net`
shows it with the MAC QEMU was given, and the network console (reached
through hostfwd) logs in, runs verbs, refuses bad passwords with a growing
delay, refuses a fifth logged-in session, and shrugs off garbage and
half-open connections while the serial shell stays responsive. The
console's hardening against hostile clients is in test_console_hardening.py."""
import os
import re
import socket
import subprocess
import time

import pytest

from hako import BUILD, ROOT, Qemu, free_port, make_image
from netconsole import NetConsole, wait_login_prompt

USER, PASSWORD = "test", "correct horse"
IDLE_S = 20
MODELS = {"virtio-net-pci": ("virtio-net", "52:54:00:6e:00:01"),
          "e1000": ("e1000", "52:54:00:6e:00:02"),
          "e1000e": ("e1000e", "52:54:00:6e:00:03")}


@pytest.fixture(scope="module")
def net_image():
    """An image whose hako.cfg carries a user made by tools/hako-passwd."""
    p = subprocess.run([os.path.join(ROOT, "tools", "hako-passwd"), "--stdin", USER],
                       input=PASSWORD + "\n", stdout=subprocess.PIPE, check=True, text=True)
    line = p.stdout.strip()
    assert re.fullmatch(r"user=test:pbkdf2-sha256\$150000\$[0-9a-f]{32}\$[0-9a-f]{64}", line), line
    cfg = "net=dhcp\nmgmt_port=2323\nmgmt_idle=%d\n%s\n" % (IDLE_S, line)
    return make_image(os.path.join(BUILD, "test-net.img"), cfg)


@pytest.fixture(scope="module", params=list(MODELS))
def vm(request, net_image):
    model = request.param
    port = free_port()
    m = Qemu(smp=2, mem="512M", image=net_image, name="net-" + model,
             extra_args=["-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:2323" % port,
                         "-device", "%s,netdev=n0,mac=%s" % (model, MODELS[model][1])])
    m.start()
    m.wait_prompt()
    m.port, m.model = port, model
    m.expect(r"net: \S+ address 10\.0\.2\.15", 60)
    yield m
    m.stop()


def login(vm, timeout=20):
    c = wait_login_prompt(vm.port)
    c.login(USER, PASSWORD, timeout)
    return c


def test_dhcp_address_and_mac(vm):
    driver, mac = MODELS[vm.model]
    out = vm.cmd("net")
    assert re.search(r"^nic0: %s at \S+ mac %s link up \(management\)$" % (driver, mac), out, re.M), out
    assert re.search(r"^ipv4: 10\.0\.2\.15 netmask 255\.255\.255\.0 gateway 10\.0\.2\.2 \(dhcp\)$", out, re.M), out
    # virtio-net's received frames (here the DHCP answers) wake the service
    # core with an interrupt; an e1000 is polled only
    irqs = re.search(r"^  rx interrupts (\d+) \(received frames wake the service core\)$", out, re.M)
    if driver == "virtio-net":
        assert irqs and int(irqs.group(1)) > 0, out
    else:
        assert not irqs, out
    host = vm.cmd("host")
    assert re.search(r"^network: 10\.0\.2\.15/24 on %s %s \(dhcp\), link up$" % (driver, mac), host, re.M), host


def test_login_runs_verbs(vm):
    c = login(vm)
    try:
        host = c.cmd("host")
        assert re.search(r"^network: 10\.0\.2\.15/24 on ", host, re.M), host
        assert re.search(r"^cores: 2 total", host, re.M), host
        if re.search(r"^\s+list\s", vm.cmd("help"), re.M):
            assert re.search(r"^NAME\s+STATE\s+CPUS\s+MEM\s+DISKS", c.cmd("list"), re.M)
        assert re.match(r"hako \d+\.\d+\.\d+ \(svm\)$", c.cmd("version").strip())
        assert c.cmd("frobnicate").strip().startswith("error: unknown verb")
        c.send("exit\r\n")
        assert b"bye" in c.read_all(5)
        assert c.closed
    finally:
        c.close()


@pytest.mark.parametrize("vm", ["virtio-net-pci"], indirect=True)  # console logic: one model is enough
def test_wrong_password_refused_and_delayed(vm):
    c = wait_login_prompt(vm.port)
    try:
        delays = []
        for attempt in range(5):
            c.read_until(b"login: ")
            c.send(USER + "\r\n")
            c.read_until(b"password: ")
            t = time.time()
            c.send("wrong%d\r\n" % attempt)
            if attempt < 4:
                c.read_until(b"login incorrect", 15)
                delays.append(time.time() - t)
        tail = c.read_all(10)
        assert b"too many failures" in tail, tail
        assert c.closed
        # 1 s, 2 s, 4 s, 8 s: each wrong password costs more than the last.
        assert delays[0] >= 0.9 and all(b > a + 0.5 for a, b in zip(delays, delays[1:])), delays
    finally:
        c.close()
    assert "failed login for 'test'" in vm.cmd("log")
    # The right password still works afterwards, once this address's 16 s are up.
    login(vm, timeout=60).close()


def test_fifth_session_refused(vm):
    """At most four logged-in sessions; with all four in use a client is
    refused at once (no login could succeed), and a slot frees when one ends."""
    clients = [login(vm) for _ in range(4)]
    try:
        fifth = NetConsole(vm.port)
        msg = fifth.read_all(10)
        assert b"too many sessions (at most 4" in msg, msg
        assert fifth.closed
        fifth.close()
        assert clients[0].cmd("version").startswith("hako ")
        clients[0].close()
        login(vm).close()  # a slot frees when a session ends
    finally:
        for c in clients:
            c.close()


def test_garbage_and_half_open_disturb_nothing(vm):
    good = login(vm)
    garbage = login(vm)
    idle = wait_login_prompt(vm.port)  # connected, then silent
    half = wait_login_prompt(vm.port)
    try:
        half.send("te")
        half.sock.shutdown(socket.SHUT_WR)  # half-closed mid-login
        blob = os.urandom(1 << 20)
        garbage.sock.settimeout(60)
        garbage.sock.sendall(blob)  # and never read what comes back
        t = time.time()
        # A log line of the logins above may still land before the echo.
        assert re.search(r"^hako ", vm.cmd("version", timeout=20), re.M)
        serial_s = time.time() - t
        assert re.search(r"^network: 10\.0\.2\.15", good.cmd("host", timeout=20), re.M)
        assert serial_s < 10, "serial shell took %.1f s during the garbage" % serial_s
    finally:
        for c in (good, garbage, idle, half):
            c.close()
    login(vm).close()


@pytest.mark.parametrize("vm", ["virtio-net-pci"], indirect=True)  # one model is enough
def test_idle_session_times_out(vm):
    c = login(vm)
    try:
        out = c.read_all(IDLE_S + 10)
        assert b"idle timeout" in out, out
        assert c.closed
    finally:
        c.close()


@pytest.mark.parametrize("vm", ["e1000"], indirect=True)  # one model is enough
def test_passwd_sets_a_password(vm):
    vm.send("passwd ops\r")
    vm.expect(r"new password for ops: ", 10)
    vm.send("n3w-pass\r")
    vm.expect(r"again: ", 10)
    vm.send("n3w-pass\r")
    m = vm.expect(r"^user=ops:(pbkdf2-sha256\$\d+\$[0-9a-f]{32}\$[0-9a-f]{64})$", 30)
    vm.wait_prompt(10)
    assert "n3w-pass" not in vm.output_since(0), "password echoed on the serial console"
    c = wait_login_prompt(vm.port)
    try:
        c.login("ops", "n3w-pass")
        assert c.cmd("version").startswith("hako ")
    finally:
        c.close()
    vm.send("passwd ops\r")
    vm.expect(r"new password for ops: ", 10)
    vm.send("a\r")
    vm.expect(r"again: ", 10)
    vm.send("b\r")
    vm.expect(r"^error: the passwords differ; nothing changed$", 30)
    vm.wait_prompt(10)


def test_static_address_nic_choice_and_no_password():
    """net=static with ip=/gw=, nic= picking the second of two NICs by MAC, and
    no user= line: logins are refused with how to set a password, until
    `passwd` on the serial console sets one."""
    cfg = "net=static\nip=10.0.2.20/24\ngw=10.0.2.2\nnic=52:54:00:6e:00:12\n"
    img = make_image(os.path.join(BUILD, "test-net-static.img"), cfg)
    port = free_port()
    with Qemu(smp=2, mem="512M", image=img, name="net-static",
              extra_args=["-netdev", "user,id=n0", "-device", "e1000,netdev=n0,mac=52:54:00:6e:00:11",
                          "-netdev", "user,id=n1,hostfwd=tcp:127.0.0.1:%d-10.0.2.20:2323" % port,
                          "-device", "virtio-net-pci,netdev=n1,mac=52:54:00:6e:00:12"]) as m:
        m.wait_prompt()
        m.expect(r"console: listening on TCP port 2323", 60)
        out = m.cmd("net")
        assert re.search(r"^nic\d: e1000 at \S+ mac 52:54:00:6e:00:11 link up$", out, re.M), out
        assert re.search(r"^nic\d: virtio-net at \S+ mac 52:54:00:6e:00:12 link up \(management\)$", out, re.M), out
        assert re.search(r"^ipv4: 10\.0\.2\.20 netmask 255\.255\.255\.0 gateway 10\.0\.2\.2 \(static\)$", out, re.M), out
        c = NetConsole(port)
        msg = c.read_all(15)
        c.close()
        assert b"disabled until a password is set" in msg and b"passwd" in msg, msg
        m.send("passwd\r")
        m.expect(r"new password for admin: ", 10)
        m.send("adm1n\r")
        m.expect(r"again: ", 10)
        m.send("adm1n\r")
        m.expect(r"^user=admin:pbkdf2-sha256\$", 30)
        m.wait_prompt(10)
        c = wait_login_prompt(port)
        try:
            c.login("admin", "adm1n")
            assert re.search(r"^network: 10\.0\.2\.20/24 on virtio-net", c.cmd("host"), re.M)
        finally:
            c.close()
