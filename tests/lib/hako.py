"""tests/lib/hako.py - drive a hako machine in QEMU or Bochs through its serial console.

Both classes boot build/hako-usb.img (or another image) the way a PC boots a USB
stick, connect to the serial port through a socket, and offer the same calls:

    m = Qemu(smp=4, mem="1G", name="boot")      # or Bochs(model=..., cpus=2)
    m.start(); m.wait_prompt()
    out = m.cmd("version")                       # text between the echo and the next prompt
    m.send(b"..."); m.expect(r"regex", timeout)
    m.stop()

Every machine writes its whole serial output to build/test-logs/NAME.serial,
uses a private copy of the OVMF variable store, and is stopped by PID: a test
never touches processes it did not start. Use `with Qemu(...) as m:` to get
start/stop for free.
"""
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, "build")
LOGS = os.path.join(BUILD, "test-logs")
IMAGE = os.path.join(BUILD, "hako-usb.img")
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
OVMF_BOCHS = "/usr/share/ovmf/OVMF.fd"
PROMPT = "hako> "


_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def die_with_parent():
    """preexec_fn: the child gets SIGKILL when the test process dies, however it dies
    (a killed pytest runs no teardown; its emulators must not outlive it)."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.setsid()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MachineError(AssertionError):
    pass


class Machine:
    """What QEMU and Bochs share: the serial reader, expect and cmd."""

    boot_timeout = 90

    def __init__(self, name):
        self.name = name
        os.makedirs(LOGS, exist_ok=True)
        self.serial_log = os.path.join(LOGS, name + ".serial")
        self.tmp = tempfile.mkdtemp(prefix="hako-%s-" % name, dir=BUILD)
        self.proc = None
        self.sock = None
        self.buf = ""
        self.pos = 0  # expect() searches from here
        self.lock = threading.Condition()
        self.reader = None
        self.closed = False

    # --- process control -------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def _spawn(self, argv, env=None):
        self.stdout = open(os.path.join(LOGS, self.name + ".stdout"), "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.stdout,
                                     stderr=subprocess.STDOUT, env=env, cwd=self.tmp,
                                     preexec_fn=die_with_parent)

    def _attach(self, connect, timeout=30):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = connect()
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise MachineError("%s: cannot connect to the serial port (emulator %s)" % (
                        self.name, "exited" if self.proc.poll() is not None else "running"))
                time.sleep(0.1)
        self.log = open(self.serial_log, "w", encoding="utf-8", errors="replace")
        self.reader = threading.Thread(target=self._read_loop, daemon=True)
        self.reader.start()

    def _read_loop(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                with self.lock:
                    self.closed = True
                    self.lock.notify_all()
                return
            text = data.decode("latin-1").replace("\r", "")
            self.log.write(text)
            self.log.flush()
            with self.lock:
                self.buf += text
                self.lock.notify_all()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        if self.sock:
            try:
                self.sock.close()
            except OSError:
                pass
        if self.reader:
            self.reader.join(timeout=2)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- serial I/O ------------------------------------------------------
    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def expect(self, pattern, timeout=30):
        """Waits until `pattern` matches output not yet consumed; consumes up to its end."""
        rx = re.compile(pattern, re.M)
        deadline = time.time() + timeout
        with self.lock:
            while True:
                m = rx.search(self.buf, self.pos)
                if m:
                    self.pos = m.end()
                    return m
                left = deadline - time.time()
                if left <= 0 or self.closed:
                    tail = self.buf[max(self.pos, len(self.buf) - 800):]
                    raise MachineError("%s: no match for %r within %ss; last output:\n%s" % (
                        self.name, pattern, timeout, tail))
                self.lock.wait(min(left, 1.0))

    def output_since(self, mark):
        with self.lock:
            return self.buf[mark:]

    def mark(self):
        with self.lock:
            return len(self.buf)

    def settle(self, quiet=2.0, timeout=120):
        """Waits until the machine has printed nothing for `quiet` seconds."""
        deadline = time.time() + timeout
        last = self.mark()
        while time.time() < deadline:
            time.sleep(quiet)
            now = self.mark()
            if now == last:
                with self.lock:
                    self.pos = now
                return
            last = now
        raise MachineError("%s: output did not settle within %ss" % (self.name, timeout))

    def wait_prompt(self, timeout=None):
        self.expect(r"^" + re.escape(PROMPT), timeout or self.boot_timeout)

    def cmd(self, line, timeout=60):
        """Runs one shell line; returns its output without the echo and the prompt."""
        with self.lock:
            start = self.pos = len(self.buf)
        self.send(line + "\r")
        m = self.expect(r"^" + re.escape(PROMPT), timeout)
        with self.lock:
            text = self.buf[start:m.start()]
        # The terminal echo of the line ends at the first newline.
        nl = text.find("\n")
        return text[nl + 1:] if nl >= 0 else ""


class Qemu(Machine):
    """hako in QEMU: q35, OVMF, the image on USB storage, TCG."""

    def __init__(self, smp=4, mem="1G", cpu="qemu64,+svm,+npt", extra_args=(), name="qemu",
                 image=None, snapshot=True, no_reboot=False):
        super().__init__(name)
        self.smp, self.mem, self.cpu = smp, mem, cpu
        self.extra_args = list(extra_args)
        self.image = image or IMAGE
        self.snapshot = snapshot
        self.no_reboot = no_reboot
        self.serial_path = os.path.join(self.tmp, "serial.sock")
        self.monitor_path = os.path.join(self.tmp, "monitor.sock")

    def argv(self):
        vars_copy = os.path.join(self.tmp, "vars.fd")
        shutil.copyfile(OVMF_VARS, vars_copy)
        drive = "if=none,id=usb,format=raw,file=%s%s" % (self.image, ",snapshot=on" if self.snapshot else "")
        argv = ["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-nodefaults",
                "-display", "none", "-smp", str(self.smp), "-m", self.mem, "-cpu", self.cpu,
                "-drive", "if=pflash,format=raw,readonly=on,file=" + OVMF_CODE,
                "-drive", "if=pflash,format=raw,file=" + vars_copy,
                "-device", "qemu-xhci,id=xhci", "-drive", drive,
                "-device", "usb-storage,bus=xhci.0,drive=usb",
                "-chardev", "socket,id=ser0,path=%s,server=on,wait=on" % self.serial_path,
                "-serial", "chardev:ser0",
                "-monitor", "unix:%s,server=on,wait=off" % self.monitor_path]
        if self.no_reboot:
            argv.append("-no-reboot")
        return argv + self.extra_args

    def start(self):
        self._spawn(self.argv())

        def connect():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(self.serial_path)
            except OSError:
                s.close()
                raise
            return s
        self._attach(connect)
        return self

    def monitor(self, command):
        """Runs one QEMU monitor command; returns its text."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(self.monitor_path)
            s.settimeout(10)
            s.sendall((command + "\n").encode())
            out = b""
            try:
                while b"(qemu)" not in out.split(b"\n", 1)[-1]:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    out += chunk
            except socket.timeout:
                pass
            return out.decode(errors="replace")


class Bochs(Machine):
    """hako in Bochs 2.7 with OVMF: Intel VMX (or AMD with model=ryzen)."""

    boot_timeout = 240

    def __init__(self, model="corei7_haswell_4770", cpus=2, mem_mb=512, name="bochs",
                 image=None, extra_config="", nic_mac=None, hostfwd=()):
        """nic_mac: an e1000 (82540EM) on Bochs's own user network (slirp: DHCP
        from 10.0.2.15, the host's 127.0.0.1 at 10.0.2.2); hostfwd: "tcp::HOSTPORT-:PORT"
        entries forwarding host ports to it."""
        super().__init__(name)
        self.model, self.cpus, self.mem_mb = model, cpus, mem_mb
        self.image = image or IMAGE
        self.extra_config = extra_config
        self.nic_mac, self.hostfwd = nic_mac, list(hostfwd)
        self.port = free_port()

    def nic_config(self):
        if not self.nic_mac:
            return ""
        conf = os.path.join(self.tmp, "slirp.conf")
        with open(conf, "w") as f:  # the first line is mandatory
            f.write("# slirp config\nnet = 10.0.2.0\nmask = 255.255.255.0\nhost = 10.0.2.2\n"
                    "dhcpstart = 10.0.2.15\ndns = 10.0.2.3\n")
            f.writelines("hostfwd = %s\n" % h for h in self.hostfwd)
        return ("plugin_ctrl: e1000=1\ne1000: enabled=1, mac=%s, ethmod=slirp, script=%s"
                % (self.nic_mac, conf))

    def config(self, disk):
        return "\n".join([
            "megs: %d" % self.mem_mb,
            "cpu: model=%s, count=%d, ips=100000000" % (self.model, self.cpus),
            "romimage: file=%s, address=0xffe00000" % OVMF_BOCHS,
            "vgaromimage: file=/usr/share/vgabios/vgabios.bin",
            "pci: enabled=1, chipset=i440fx",
            "ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14",
            "ata0-master: type=disk, path=%s, mode=flat" % disk,
            "boot: disk",
            "clock: sync=none, time0=local",
            "display_library: term",
            "log: -",
            "panic: action=report",
            "error: action=report",
            "sound: driver=dummy",
            "speaker: enabled=1, mode=dummy",
            "mouse: enabled=0",
            "com1: enabled=1, mode=socket-server, dev=127.0.0.1:%d" % self.port,
            self.nic_config(), self.extra_config, ""])

    def start(self):
        # Bochs writes to its disk: give it a private copy (sparse copy is cheap).
        disk = os.path.join(self.tmp, "disk.img")
        subprocess.run(["cp", "--sparse=always", self.image, disk], check=True)
        rc = os.path.join(self.tmp, "bochsrc")
        with open(rc, "w") as f:
            f.write(self.config(disk))
        cmds = os.path.join(self.tmp, "debugger.rc")
        with open(cmds, "w") as f:
            f.write("continue\nquit\n")
        env = dict(os.environ, TERM="dumb")
        self._spawn(["bochs", "-q", "-f", rc, "-rc", cmds], env=env)
        def connect():
            # Blocking before the reader thread starts: a recv timeout
            # would read as end of output while OVMF is still starting.
            s = socket.create_connection(("127.0.0.1", self.port), timeout=2)
            s.settimeout(None)
            return s
        self._attach(connect, timeout=60)
        return self


def make_image(path, cfg_text=None, files=(), size="64M"):
    """Builds a variant USB image at `path` with the current loader and kernel.

    cfg_text None puts no hako.cfg on it at all; files are extra host paths
    copied into \\hako\\.
    """
    efi = os.path.join(BUILD, "BOOTX64.EFI")
    kernel = os.path.join(BUILD, "kernel.elf")
    workdir = tempfile.mkdtemp(prefix="img-", dir=BUILD)
    try:
        cfg = os.path.join(workdir, "hako.cfg")
        if cfg_text is not None:
            with open(cfg, "w") as f:
                f.write(cfg_text)
        args = ["sh", os.path.join(ROOT, "tools", "mkimage.sh"), path, efi, kernel]
        if cfg_text is None:
            args.append("-")
        else:
            args.append(cfg)
        subprocess.run(args + list(files), check=True, env=dict(os.environ, IMAGE_SIZE=size),
                       stdout=subprocess.DEVNULL)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return path
