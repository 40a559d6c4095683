#!/usr/bin/env python3
"""tools/run-demo.py - `make run`: hako in QEMU with a local iSCSI target and a sample guest.

What it sets up (state kept in build/run/, so guests persist between runs):
  - tgtd on 127.0.0.1:3260 (HAKO_RUN_ISCSI_PORT to change; HAKO_RUN_STATE moves
    build/run/) with target
    iqn.2026-11.org.hako:demo: LUN 1 the demo guest's disk (ext4 with a few
    files), LUN 2 hako's catalog, LUN 3 the copy-on-write pool;
  - a USB image whose hako.cfg names that catalog and pool, carrying the Linux
    test guest (Debian's kernel + a busybox initramfs) in \\hako\\;
  - QEMU (q35, OVMF, 4 cores, 2 GiB, AMD-V under TCG, virtio-net with the
    management console forwarded to 127.0.0.1:2323);
  - on first run, the guest `demo` defined through the shell (after that the
    catalog on the SAN remembers it).
Then the serial console is yours: try `list`, `start demo`, `console demo`
(Ctrl-] detaches), `destroy demo`, `clone demo demo2`. Ctrl-A x quits.

--check runs the same set-up without a terminal: starts demo, waits for Linux's
init, runs `uname -r` in it and stops; the tests use it to keep `make run` true.
"""
import os
import select
import shutil
import subprocess
import sys
import termios
import time
import tty

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from hako import BUILD, Qemu, make_image  # noqa: E402
from tgt import Tgt  # noqa: E402

IQN = "iqn.2026-11.org.hako:demo"
RUN = os.environ.get("HAKO_RUN_STATE", os.path.join(BUILD, "run"))
LINUX = os.path.join(BUILD, "linux")
MARKER = r"HAKO-LINUX-INIT (\S+) cpus=(\d+)"


def luns():
    os.makedirs(RUN, exist_ok=True)
    root = os.path.join(RUN, "demo-disk.img")
    if not os.path.exists(root):
        shutil.copyfile(os.path.join(LINUX, "disk.img"), root)
    return {1: (root, os.path.getsize(root)),
            2: (os.path.join(RUN, "catalog.img"), 4 << 20),
            3: (os.path.join(RUN, "pool.img"), 512 << 20)}


def image(port):
    san = "iscsi://10.0.2.2:%d/%s" % (port, IQN)
    cfg = ("net=dhcp\nmgmt_port=2323\ncatalog=%s/2\npool=%s/3\n"
           "initiator=iqn.2026-11.org.hako:run\n") % (san, san)
    files = [os.path.join(LINUX, f) for f in ("vmlinuz", "initrd.img")]
    return make_image(os.path.join(RUN, "hako-run.img"), cfg, files=files)


def demo_definition(port):
    return ('define demo cpus=1 mem=256M kernel=esp:vmlinuz initrd=esp:initrd.img '
            'cmdline="console=ttyS0" disk=iscsi://10.0.2.2:%d/%s/1' % (port, IQN))


def boot(port, name):
    q = Qemu(smp=4, mem="2G", cpu="qemu64,+svm,+npt", image=image(port), name=name,
             extra_args=["-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:2323" %
                         int(os.environ.get("HAKO_RUN_CONSOLE_PORT", "2323")),
                         "-device", "virtio-net-pci,netdev=n0"])
    q.start()
    try:
        q.wait_prompt(180)  # the catalog on the SAN is read before the first prompt
        q.settle(quiet=2)
        if not any(l.startswith("demo ") for l in q.cmd("list").splitlines()):
            out = q.cmd(demo_definition(port), timeout=120)
            if "error:" in out:
                raise SystemExit("run: could not define the demo guest: " + out.strip())
    except BaseException:
        q.stop()
        raise
    return q


def check(q):
    """Non-interactive: the demo guest boots Linux from the SAN set-up and answers."""
    out = q.cmd("start demo", timeout=120)
    assert "error:" not in out, out
    q.send("console demo\r")
    q.expect(r"\[attached to demo", 20)
    q.expect(MARKER, 600)
    q.settle(quiet=2)
    q.send("uname -r; echo @@$?@@\r")
    q.expect(r"@@0@@", 60)
    q.send("\x1d")
    q.expect(r"\[detached from demo\]", 20)
    q.wait_prompt(20)
    q.cmd("destroy demo", timeout=60)
    print("run --check: demo guest booted Linux with its disk on the iSCSI target")


def interact(q):
    """Bridges this terminal to hako's serial console until Ctrl-A x."""
    print("\r\nhako is up. Try: list, start demo, console demo (Ctrl-] detaches), "
          "host, help. Ctrl-A x quits.\r\n", flush=True)
    q.send("\r")
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    shown = q.mark()
    ctrl_a = False
    try:
        while q.alive():
            now = q.mark()
            if now > shown:
                sys.stdout.write(q.output_since(shown)[: now - shown].replace("\n", "\r\n"))
                sys.stdout.flush()
                shown = now
            r, _, _ = select.select([fd], [], [], 0.05)
            if not r:
                continue
            data = os.read(fd, 1024)
            if ctrl_a and data[:1] in (b"x", b"X"):
                return
            ctrl_a = data.endswith(b"\x01")
            q.send(data.replace(b"\x01", b"") if ctrl_a else data)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        print("\r\nrun: stopped hako and the iSCSI target.")


def main():
    want_check = "--check" in sys.argv
    port = int(os.environ.get("HAKO_RUN_ISCSI_PORT", "3260"))
    for f in ("vmlinuz", "initrd.img", "disk.img"):
        if not os.path.exists(os.path.join(LINUX, f)):
            subprocess.run(["make", "-C", ROOT, "linux-guest"], check=True)
            break
    with Tgt(name="run", port=port) as t:
        t.add_target(IQN, luns())
        q = boot(port, "run-check" if want_check else "run")
        try:
            if want_check or not sys.stdin.isatty():
                check(q)
            else:
                interact(q)
        finally:
            q.stop()


if __name__ == "__main__":
    main()
