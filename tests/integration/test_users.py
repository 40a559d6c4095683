"""Users, roles and quotas (issue 16), against a tgt catalog LUN and the
network console: the administrator (serial console) adds alice and bob and
publishes a template; alice clones four guests and starts them within her
memory quota; bob sees and touches none of them (refused as if they did not
exist); alice may not use host-wide verbs; alice changes her password over
the network; `who` lists and ends sessions; and after a reboot of hako the
accounts, owners, quotas, template and audit log are all still there."""
import os
import re

import pytest

from hako import BUILD, Qemu, free_port, make_image
from netconsole import wait_login_prompt
from shell_helpers import ok
from tgt import Tgt

IQN = "iqn.2026-11.org.hako.test:users"
PW = {"alice": "alice pw 1", "bob": "bob pw 1"}
NEW_ALICE = "alice pw 2"
UNKNOWN = "unknown guest '%s'; `list` shows the defined ones"


@pytest.fixture(scope="module")
def san():
    with Tgt(name="users") as t:
        t.add_target(IQN, {1: (os.path.join(t.dir, "catalog.img"), 4 << 20),
                           2: (os.path.join(t.dir, "pool.img"), 64 << 20),
                           3: (os.path.join(t.dir, "web.img"), 8 << 20)})
        yield t


def lun(san, n):
    return "iscsi://10.0.2.2:%d/%s/%d" % (san.port, IQN, n)


@pytest.fixture(scope="module")
def image(san):
    cfg = "net=dhcp\nmgmt_port=2323\ncatalog=%s\npool=%s\n" % (lun(san, 1), lun(san, 2))
    img = make_image(os.path.join(BUILD, "test-users.img"), cfg,
                     files=[os.path.join(BUILD, "guests", "probe.elf")])
    yield img
    os.unlink(img)


def boot(image, name):
    port = free_port()
    m = Qemu(smp=3, mem="512M", image=image, name=name,
             extra_args=["-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:2323" % port,
                         "-device", "virtio-net-pci,netdev=n0"])
    m.start()
    m.wait_prompt(120)
    m.port = port
    return m


def login(m, user, pw):
    c = wait_login_prompt(m.port)
    c.login(user, pw)
    return c


def refused(out, pattern):
    """`out` is exactly one error line matching `pattern`."""
    lines = [l for l in out.splitlines() if l.strip()]
    assert len(lines) == 1 and re.match(r"error: " + pattern, lines[0]), out


def add_user(m, name, pw):
    m.send("user add %s\r" % name)
    m.expect(r"new password for %s: " % name, 30)
    m.send(pw + "\r")
    m.expect(r"again: ", 30)
    m.send(pw + "\r")
    m.expect(r"added user %s" % name, 60)
    m.wait_prompt(30)


def names(out):
    return set(re.findall(r"^([a-z][a-z0-9_-]*)\s+(?:stopped|running|crashed)", out, re.M))


def test_users_roles_quotas_and_reboot(san, image):
    m = boot(image, "users")
    try:
        add_user(m, "alice", PW["alice"])
        add_user(m, "bob", PW["bob"])
        ok(m, "quota alice guests=4 mem=96M")
        ok(m, "quota bob guests=4")
        ok(m, 'define web kernel=esp:probe.elf mem=64M cmdline="spin" disk=%s' % lun(san, 3))
        ok(m, "set web template=public")

        alice = login(m, "alice", PW["alice"])
        assert "web" in alice.cmd("templates")
        assert "web" not in names(alice.cmd("list"))       # a template is not hers
        for g in ("a1", "a2", "a3", "a4"):
            out = alice.cmd("clone web " + g)
            assert "cloned web to %s" % g in out, out
        refused(alice.cmd("clone web a5"), r"quota: you have 4 guests of 4 allowed")
        assert names(alice.cmd("list")) == {"a1", "a2", "a3", "a4"}
        assert re.search(r"started a1 on core", alice.cmd("start a1", 60))
        # memory: 64M running, 64M more would pass 96M; stopping a1 frees it
        refused(alice.cmd("start a2"), r"quota: 64 MiB of memory running, 64 MiB more would "
                                       r"pass the 96 MiB allowed")
        assert re.search(r"^\s+mem\s+64M of 96M running", alice.cmd("quota"), re.M)
        assert "destroyed a1" in alice.cmd("destroy a1")
        assert re.search(r"started a2 on core", alice.cmd("start a2", 60))
        assert "destroyed a2" in alice.cmd("destroy a2")

        # alice: no host-wide verbs, no changing the template, no LUNs of her own
        refused(alice.cmd("user add eve"), r"only an administrator may use 'user'")
        refused(alice.cmd("poweroff"), r"only an administrator may use 'poweroff'")
        refused(alice.cmd("iscsi discover 10.0.2.2:%d" % san.port),
                r"only an administrator may use 'iscsi'")
        refused(alice.cmd("set web cpus=2"), re.escape(UNKNOWN % "web"))
        refused(alice.cmd("set a3 template=public"), r"only an administrator may set template=")
        refused(alice.cmd("define mine disk=%s" % lun(san, 3)),
                r"only an administrator may give a guest a disk on a LUN")
        refused(alice.cmd("quota alice guests=9"), r"only an administrator")

        # bob sees none of alice's guests; acting on one is refused as for no guest at all
        bob = login(m, "bob", PW["bob"])
        assert not names(bob.cmd("list")) & {"a1", "a2", "a3", "a4", "web"}
        assert "a1" not in bob.cmd("stats")
        ok(m, "start a3")                                    # running: bob must not see that either
        for verb in ("start", "console", "destroy", "show", "undefine", "stats", "reset"):
            out = bob.cmd("%s a3" % verb)
            refused(out, re.escape(UNKNOWN % "a3"))
            assert out.strip() == bob.cmd("%s nosuch" % verb).strip().replace("nosuch", "a3")
        ok(m, "destroy a3")
        # an administrator gives a guest to another user (an account that exists)
        refused(m.cmd("set a4 owner=nobody"), r"no user 'nobody'")
        ok(m, "set a4 owner=bob")
        assert "a4" in names(bob.cmd("list")) and "a4" not in names(alice.cmd("list"))
        ok(m, "set a4 owner=alice")

        # the administrator sees every guest with its owner, and the audit log
        assert re.search(r"^NAME\s+STATE\s+CPUS\s+MEM\s+DISKS\s+OWNER", ok(m, "list"), re.M)
        assert re.search(r"^a1\s+stopped\s+1\s+64M\s+1 alice", ok(m, "list"), re.M)
        audit = ok(m, "log audit")
        for line in (r"alice\s+clone web a1: ok", r"alice\s+start a2: refused",
                     r"bob\s+start a3: refused", r"admin\s+set web: ok",
                     r"alice\s+clone web a5: refused"):
            assert re.search(line, audit), (line, audit)

        # who: the sessions; an administrator ends bob's
        who = ok(m, "who")
        bob_id = re.search(r"^(\d+)\s+bob\s+10\.0\.2\.2:\d+\s+\d{4}-", who, re.M).group(1)
        assert re.search(r"^\d+\s+alice\s", who, re.M)
        assert not re.search(r"bob", alice.cmd("who"))      # users see their own sessions
        assert "ended session" in ok(m, "who end " + bob_id)
        assert b"an administrator ended this session" in bob.read_all(10)
        bob.close()

        # alice changes her password over the network; the old one stops working
        alice.send("passwd\r\n")
        alice.read_until(b"old password: ")
        alice.send(PW["alice"] + "\r\n")
        alice.read_until(b"new password for alice: ")
        alice.send(NEW_ALICE + "\r\n")
        alice.read_until(b"again: ")
        alice.send(NEW_ALICE + "\r\n")
        assert b"password for 'alice' changed" in alice.read_until(b"hako> ", 60)
        alice.close()
        c = wait_login_prompt(m.port)
        c.read_until(b"login: ")
        c.send("alice\r\n")
        c.read_until(b"password: ")
        c.send(PW["alice"] + "\r\n")
        assert b"login incorrect" in c.read_until(b"login incorrect", 30)
        c.close()
        login(m, "alice", NEW_ALICE).close()
    finally:
        m.stop()

    m = boot(image, "users-2")                             # same stick, same catalog LUN
    try:
        users = ok(m, "user list")
        assert re.search(r"^alice\s+user\s+catalog\s+4$", users, re.M), users
        assert re.search(r"^bob\s+user\s+catalog\s+0$", users, re.M), users
        assert re.search(r"^\s+guests\s+4 of 4", ok(m, "quota alice"), re.M)
        assert re.search(r"^\s+mem\s+0M of 96M", ok(m, "quota alice"), re.M)
        assert re.search(r"clone web a1: ok", ok(m, "log audit"))
        alice = login(m, "alice", NEW_ALICE)
        assert names(alice.cmd("list")) == {"a1", "a2", "a3", "a4"}
        assert "web" in alice.cmd("templates")
        refused(alice.cmd("clone web a5"), r"quota: you have 4 guests of 4 allowed")
        bob = login(m, "bob", PW["bob"])
        assert not names(bob.cmd("list"))
        refused(bob.cmd("show a1"), re.escape(UNKNOWN % "a1"))
        bob.close()
        alice.close()
    finally:
        m.stop()
