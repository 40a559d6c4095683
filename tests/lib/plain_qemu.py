"""tests/lib/plain_qemu.py - the Linux test guest booted by QEMU itself, without hako:
the baseline hako's Linux benchmarks compare against.

    run = PlainLinux("console=ttyS0", name="bench-x")   # 1 vCPU, 256 MiB, TCG
    (kernel=, initrd= and machine= boot another system: bench_diskboot.py's Debian)
    run.start(); run.wait(b"HAKO-LINUX-INIT", 120); run.stop()
    run.seconds_to(b"HAKO-LINUX-INIT")                   # from QEMU's start

QEMU's microvm machine (-M microvm,pit=on,pic=on,rtc=on -cpu max, TCG) boots
build/linux/vmlinuz and initrd.img directly (-kernel/-initrd/-append). Its
ACPI tables (acpi is on by default) describe a 16550 at 0x3f8 and every
virtio-mmio device, which is how the stock Debian kernel finds them
(TESTING.md). Like hako, it appends tsc_early_khz= to the command line, here
the host's TSC rate (QEMU TCG's guest TSC is the host's): without it the kernel
calibrates the TSC against QEMU's PIT, which fails on a loaded machine, and
the kernel then hangs before /init. The serial port goes to a pipe; every chunk is timestamped on
arrival, and the whole output is kept in build/test-logs/NAME.serial.
"""
import os
import select
import subprocess
import time

from hako import BUILD, LOGS, die_with_parent

LINUX = os.path.join(BUILD, "linux")


def host_tsc_khz():
    """The host CPU's clock in kHz from /proc/cpuinfo (its TSC rate with constant_tsc)."""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("cpu MHz"):
                return int(float(line.split(":")[1]) * 1000)
    raise RuntimeError("no 'cpu MHz' in /proc/cpuinfo")


class PlainLinux:
    def __init__(self, cmdline, name="plain-linux", mem="256M", extra_args=(), kernel=None,
                 initrd=None, machine="microvm,pit=on,pic=on,rtc=on"):
        self.name = name
        self.argv = ["qemu-system-x86_64", "-M", machine, "-cpu", "max",
                     "-accel", "tcg", "-m", mem, "-smp", "1", "-nodefaults", "-no-user-config",
                     "-display", "none", "-chardev", "stdio,id=ser0,signal=off",
                     "-serial", "chardev:ser0",
                     "-kernel", kernel or os.path.join(LINUX, "vmlinuz"),
                     "-initrd", initrd or os.path.join(LINUX, "initrd.img"),
                     "-append", "%s tsc_early_khz=%d" % (cmdline, host_tsc_khz())]
        self.argv += list(extra_args)
        self.proc = None
        self.t0 = None
        self.chunks = []  # (seconds since start, bytes)
        os.makedirs(LOGS, exist_ok=True)
        self.serial_log = os.path.join(LOGS, name + ".serial")

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self.t0 = time.time()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        return self

    def output(self):
        return b"".join(c for _, c in self.chunks)

    def wait(self, marker, timeout):
        """Reads output until `marker` (bytes, or a compiled bytes regex) has appeared,
        at most `timeout` seconds after QEMU's start; False on timeout or exit."""
        found = marker.search if hasattr(marker, "search") else (lambda out: marker in out)
        deadline = self.t0 + timeout
        while not found(self.output()):
            left = deadline - time.time()
            if left <= 0:
                return False
            r, _, _ = select.select([self.proc.stdout], [], [], min(left, 1.0))
            if r:
                data = os.read(self.proc.stdout.fileno(), 65536)
                if not data:
                    return False
                self.chunks.append((time.time() - self.t0, data))
        return True

    def seconds_to(self, marker):
        """Seconds from QEMU's start until the chunk that completed `marker` arrived."""
        seen = b""
        for t, data in self.chunks:
            seen += data
            if marker in seen:
                return t
        return None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait(timeout=10)
        with open(self.serial_log, "wb") as f:
            f.write(self.output())
