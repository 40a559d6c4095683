"""Guests bridged to the physical network (issue 13), on each NIC model QEMU
emulates for hako (virtio-net-pci, e1000, e1000e): a Linux guest with
`net=uplink` gets its own DHCP lease from QEMU's user network (which hands
out 10.0.2.x per MAC; hako itself has 10.0.2.15), downloads 8 MiB from an
HTTP server on the host through 10.0.2.2 and checks its SHA-256, while the
network console logs in and answers; a `nc` server in the guest answers the
host through a QEMU hostfwd to the guest's address (the README's example);
then, the network idle, the service core halts again. On e1000, a clone of the stopped guest
boots with its own MAC and its own lease. The virtio-net run is in `make
test-fast`; the other two are slow."""
import hashlib
import os
import re
import socket
import subprocess
import threading
import time

import pytest

from guestnet import KERNEL, FileServer, attached, net_lines, sh, wait_guest
from hako import BUILD, ROOT, Qemu, free_port, make_image
from netconsole import wait_login_prompt
from shell_helpers import ok

USER, PASSWORD = "test", "correct horse"
MODELS = [pytest.param("virtio-net-pci"),
          pytest.param("e1000", marks=pytest.mark.slow),
          pytest.param("e1000e", marks=pytest.mark.slow)]
BLOB = os.urandom(8 << 20)


@pytest.fixture(scope="module")
def server():
    s = FileServer({"blob": BLOB})
    yield s
    s.close()


@pytest.fixture(scope="module")
def image():
    p = subprocess.run([os.path.join(ROOT, "tools", "hako-passwd"), "--stdin", USER],
                       input=PASSWORD + "\n", stdout=subprocess.PIPE, check=True, text=True)
    files = [os.path.join(BUILD, "linux", f) for f in ("vmlinuz", "initrd.img")]
    return make_image(os.path.join(BUILD, "test-guestnet-uplink.img"),
                      "net=dhcp\nmgmt_port=2323\n%s\n" % p.stdout.strip(), files=files)


@pytest.fixture(scope="module", params=MODELS)
def vm(request, image):
    model = request.param
    port, guest_port = free_port(), free_port()
    fwd = "hostfwd=tcp:127.0.0.1:%d-:2323,hostfwd=tcp:127.0.0.1:%d-10.0.2.16:8080" % (port, guest_port)
    m = Qemu(smp=3, mem="1G", image=image, name="guestnet-" + model,
             extra_args=["-netdev", "user,id=n0," + fwd,
                         "-device", "%s,netdev=n0,mac=52:54:00:6e:20:01" % model])
    m.start()
    m.wait_prompt()
    m.expect(r"net: \S+ address 10\.0\.2\.15", 60)
    m.port, m.guest_port, m.model = port, guest_port, model
    yield m
    m.stop()


def halted_ms(vm):
    """(ms the service core was halted, ms since the prompt) from `host`."""
    m = re.search(r"^service core: halted \d+% of the time since the prompt \((\d+) of (\d+) ms\)",
                  vm.cmd("host"), re.M)
    assert m, vm.cmd("host")
    return int(m.group(1)), int(m.group(2))


def start_guest(vm, name, define=True):
    if define:
        ok(vm, 'define %s mem=192M %s net=uplink cmdline="console=ttyS0 quiet hako.dhcp=eth0"'
           % (name, KERNEL))
    ok(vm, "start " + name, 120)
    return net_lines(wait_guest(vm, name))["eth0"]


def test_uplink_dhcp_and_download(vm, server):
    """DHCP lease of its own, 8 MiB from the host intact, network console answering meanwhile."""
    mac, addr = start_guest(vm, "up1")
    assert re.fullmatch(r"10\.0\.2\.(1[6-9]|[2-9]\d)/24", addr), addr
    assert "promiscuous mode on" in vm.cmd("log")
    answers = []

    def netconsole():
        c = wait_login_prompt(vm.port)
        try:
            c.login(USER, PASSWORD)
            for _ in range(3):
                answers.append(bool(re.search(r"^up1/eth0\s+%s\s+uplink\s" % mac, c.cmd("net"), re.M)))
        finally:
            c.close()
    t = threading.Thread(target=netconsole)
    with attached(vm, "up1"):
        t.start()
        t0 = time.time()
        out, st = sh(vm, "wget -q -O /tmp/blob http://10.0.2.2:%d/blob && sha256sum /tmp/blob"
                     % server.port, 300)
        secs = time.time() - t0
        t.join(120)
    assert st == 0 and hashlib.sha256(BLOB).hexdigest() in out, out
    assert answers == [True] * 3, answers
    if addr == "10.0.2.16/24":          # the address the hostfwd points at
        with attached(vm, "up1"):
            sh(vm, "(nc -l -p 8080 -e echo hello from up1 &); sleep 1")
        with socket.create_connection(("127.0.0.1", vm.guest_port), timeout=30) as c:
            c.settimeout(30)
            assert c.makefile().readline().strip() == "hello from up1"
    print("%s: lease %s for %s, 8 MiB in %.1f s" % (vm.model, addr, mac, secs))
    # with a bridged guest up and the network idle, the service core halts again
    time.sleep(3)
    h0 = halted_ms(vm)
    time.sleep(8)
    h1 = halted_ms(vm)
    share = (h1[0] - h0[0]) / max(1, h1[1] - h0[1])
    print("%s: service core halted %.0f%% of 8 idle seconds" % (vm.model, 100 * share))
    assert share >= 0.7, (h0, h1)
    stats = vm.cmd("stats up1")
    m = re.search(r"nic eth0 %s uplink: sent \d+ frames \d+ bytes, received (\d+) frames (\d+) bytes"
                  % mac, stats)
    assert m and int(m.group(2)) > len(BLOB), stats


def test_clone_has_its_own_mac_and_lease(vm):
    """`clone` keeps net=uplink, derives a new MAC; the clone gets a lease of its own."""
    if vm.model != "e1000":
        pytest.skip("run once, on e1000")
    first = net_lines(wait_guest(vm, "up1"))["eth0"]
    ok(vm, "destroy up1")
    assert "promiscuous mode off" in vm.cmd("log")
    ok(vm, "clone up1 up2")
    assert "net=uplink" in vm.cmd("show up2")
    mac, addr = start_guest(vm, "up2", define=False)
    assert mac != first[0] and addr != first[1], (first, mac, addr)
    assert re.fullmatch(r"10\.0\.2\.\d+/24", addr), addr
    assert re.search(r"^up2/eth0\s+%s\s+uplink\s" % mac, vm.cmd("net"), re.M)
