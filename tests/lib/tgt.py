"""tests/lib/tgt.py - a private tgtd (the Linux SCSI target framework) for iSCSI tests.

    with Tgt(name="x") as t:                     # tgtd on 127.0.0.1:<free port>
        t.add_target("iqn.2026-11.org.hako.test:disk", luns={1: (path, size)},
                     chap=("user", "secret"), mutual=("tuser", "tsecret"))
        ... t.port, t.kill(), t.restart() ...

tgtd runs in the foreground with its own control socket (TGT_IPC_SOCKET) in a
private directory under build/, so it never meets a system tgtd. It ignores
SIGTERM, so stop() deletes its targets and then SIGKILLs exactly the process it
started. tgtd silently falls back to 0.0.0.0:3260 when the portal cannot be
bound: start() checks that the wanted port answers. Its configuration is not
persistent: restart() gives a new tgtd the same targets (the backing files keep
their data).
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from hako import BUILD, LOGS, die_with_parent, free_port


class Tgt:
    def __init__(self, name="tgt", port=None):
        self.name = name
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="tgt-%s-" % name, dir=BUILD)
        self.env = dict(os.environ, TGT_IPC_SOCKET=os.path.join(self.dir, "tgtd.sock"))
        self.proc = None
        self.targets = []
        os.makedirs(LOGS, exist_ok=True)
        self.log_path = os.path.join(LOGS, name + ".tgtd.log")

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def adm(self, *args, check=True):
        p = subprocess.run(["tgtadm", "--lld", "iscsi"] + list(args), env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
        if check and p.returncode:
            raise AssertionError("tgtadm %s: %s" % (" ".join(args), p.stdout.decode()))
        return p.stdout.decode()

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            ["tgtd", "-f", "--iscsi", "portal=127.0.0.1:%d" % self.port], env=self.env,
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=die_with_parent)
        log.close()
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("tgtd exited at start, see " + self.log_path)
            if self._answers() and self.adm("--op", "show", "--mode", "sys", check=False):
                break
            time.sleep(0.1)
        else:
            raise AssertionError("tgtd does not listen on 127.0.0.1:%d" % self.port)
        for t in self.targets:
            self._configure(*t)

    def _answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def add_target(self, iqn, luns, chap=None, mutual=None):
        """luns: {lun: (path, size)}; files are created (sparse) when missing."""
        for path, size in luns.values():
            if not os.path.exists(path):
                with open(path, "wb") as f:
                    f.truncate(size)
        self.targets.append((len(self.targets) + 1, iqn, luns, chap, mutual))
        self._configure(*self.targets[-1])

    def _configure(self, tid, iqn, luns, chap, mutual):
        tid = str(tid)
        self.adm("--op", "new", "--mode", "target", "--tid", tid, "-T", iqn)
        for lun, (path, _) in sorted(luns.items()):
            self.adm("--op", "new", "--mode", "logicalunit", "--tid", tid, "--lun", str(lun),
                     "-b", path)
        self.adm("--op", "bind", "--mode", "target", "--tid", tid, "-I", "ALL")
        for acct, outgoing in ((chap, False), (mutual, True)):
            if not acct:
                continue
            self.adm("--op", "new", "--mode", "account", "--user", acct[0],
                     "--password", acct[1], check=False)  # accounts are global
            extra = ["--outgoing"] if outgoing else []
            self.adm("--op", "bind", "--mode", "account", "--tid", tid, "--user", acct[0], *extra)

    def kill(self):
        """SIGKILL the tgtd we started (a crash, as far as initiators can tell)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def pause(self):
        """SIGSTOP tgtd: connections still open (the kernel accepts them), nothing answers."""
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def restart(self):
        self.kill()
        self.start()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            for tid, *_ in self.targets:
                self.adm("--op", "delete", "--mode", "target", "--tid", str(tid), "--force",
                         check=False)
            self.adm("--op", "delete", "--mode", "system", check=False)
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
