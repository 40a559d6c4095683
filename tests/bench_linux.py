#!/usr/bin/env python3
"""tests/bench_linux.py - how long the Linux test guest takes to reach its /init
under hako, against the same kernel and initramfs booted by plain QEMU, in the
same run (issues 5 and 18: ratio target at most 1.3). Three runs, hako and
plain QEMU taking turns, each on a fresh machine; prints every run and the
medians side by side. Prints, never judges.

What each side measures, both on QEMU TCG, 1 vCPU, 256 MiB, cmdline
"console=ttyS0" and tsc_early_khz= (hako appends its measured TSC rate; for
plain QEMU tests/lib/plain_qemu.py appends the host's):
  - hako: from sending `start` on hako's shell (hako already up; AMD-V on QEMU
    TCG -cpu max, q35, 2 cores) until HAKO-LINUX-INIT appears on the guest's console.
    That includes copying the kernel and initramfs from the ESP into the guest.
    Before `start` it waits (at most SCRUB_WAIT s) until `host` shows the guest's
    memory zeroed ahead by the idle scrubber (scrub_ahead=, 256M by default), as
    on a host that has been up for a few seconds; the figures say how many MiB
    `start` found zeroed.
  - plain QEMU: from starting qemu-system-x86_64 (-M microvm,pit=on,pic=on,rtc=on
    -cpu max, -kernel/-initrd/-append, serial on a pipe) until the marker.
Where the time goes, for both: the first kernel console line ("Linux version",
printed when the kernel's serial console comes up, after decompression and
early setup), and the kernel's own clock at "Run /init". For hako also how long
`start` takes to return, and VM exits (total, per second, by reason) before the
first console line and at the marker, and the CPU time each of QEMU's TCG vCPU
threads used (hako's service core is a TCG thread too, competing with the
guest's for the host's cores; the guest-core CPU time against plain QEMU's is
the ratio with that contention taken out).
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from hako import Qemu  # noqa: E402
from plain_qemu import PlainLinux  # noqa: E402

MARKER = "HAKO-LINUX-INIT"
FIRST = "Linux version"
CMDLINE = "console=ttyS0"
TIMEOUT = 300
RUNS = 3
SCRUB_WAIT = 60
GUEST_MIB = 256


def kernel_clock_at_init(text):
    m = re.search(r"\[\s*(\d+\.\d+)\] Run /init", text)
    return float(m.group(1)) if m else None


def exits(stats_text):
    """(total, {reason: count}) from `stats NAME`."""
    total = re.search(r"(\d+) exits", stats_text)
    reasons = {k: int(v) for k, v in re.findall(r"^\s+(\S+)\s+(\d+)$", stats_text, re.M)}
    return (int(total.group(1)) if total else 0), reasons


def thread_cpu(pid):
    """{thread name: CPU seconds} of a process, e.g. QEMU's "CPU 0/TCG" threads
    (QEMU names its threads with -name ...,debug-threads=on)."""
    tick = os.sysconf("SC_CLK_TCK")
    cpu = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        cpu[name] = cpu.get(name, 0) + (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return cpu


def tcg_cpu_delta(before, after):
    """CPU seconds each TCG vCPU thread used between two thread_cpu() samples."""
    return {k: after[k] - before.get(k, 0) for k in sorted(after) if k.endswith("/TCG")}


def stats_detached(m, name):
    """Detach from the console, run `stats NAME`, attach again (the ring buffer replays)."""
    m.send(b"\x1d")
    m.expect(r"\[detached from %s\]" % name, 30)
    m.wait_prompt(30)
    out = m.cmd("stats " + name)
    m.send("console %s\r" % name)
    m.expect(r"\[attached to %s" % name, 30)
    return out


def wait_scrubbed(m, mib):
    """Waits until the idle scrubber has `mib` MiB ready; returns what `host` says it has."""
    deadline = time.time() + SCRUB_WAIT
    while True:
        got = re.search(r"^scrub: on idle cores, (\d+) MiB zeroed", m.cmd("host"), re.M)
        ready = int(got.group(1)) if got else 0
        if ready >= mib or time.time() > deadline:
            return ready


def under_hako():
    r = {}
    # -cpu max on both sides: the guest sees the same CPU model (hako passes the
    # host's identity through), and max has SVM with nested paging
    with Qemu(smp=2, mem="1G", cpu="max", name="bench-linux",
              extra_args=["-name", "hako,debug-threads=on"]) as m:
        m.wait_prompt()
        m.cmd('define lx cpus=1 mem=%dM kernel=esp:vmlinuz initrd=esp:initrd.img '
              'cmdline="%s"' % (GUEST_MIB, CMDLINE))
        r["scrubbed"] = wait_scrubbed(m, GUEST_MIB)
        cpu0 = thread_cpu(m.proc.pid)
        t0 = time.time()
        out = m.cmd("start lx")
        r["start"] = time.time() - t0
        core = re.search(r"on core\(?s?\)? (\d+)", out)
        r["core"] = core.group(1) if core else "?"
        m.send("console lx\r")
        m.expect(re.escape(FIRST), TIMEOUT)
        r["first"] = time.time() - t0
        r["exits_first"] = exits(stats_detached(m, "lx"))
        mark = m.mark()
        m.expect(MARKER, TIMEOUT)
        r["marker"] = time.time() - t0
        r["cpu"] = tcg_cpu_delta(cpu0, thread_cpu(m.proc.pid))
        text = m.output_since(mark)
        m.send(b"\x1d")
        m.wait_prompt(30)
        r["exits"] = exits(m.cmd("stats lx"))
        r["init_clock"] = kernel_clock_at_init(text)
    return r


def plain():
    with PlainLinux(CMDLINE, name="bench-linux-plain",
                    extra_args=["-name", "plain,debug-threads=on"]) as p:
        if not p.wait(MARKER.encode(), TIMEOUT):
            tail = p.output()[-600:].decode("latin-1")
            raise RuntimeError("plain QEMU: no %s within %d s (see %s); last output:\n%s"
                               % (MARKER, TIMEOUT, p.serial_log, tail))
        return {"first": p.seconds_to(FIRST.encode()), "marker": p.seconds_to(MARKER.encode()),
                "init_clock": kernel_clock_at_init(p.output().decode("latin-1")),
                "cpu": tcg_cpu_delta({}, thread_cpu(p.proc.pid))}


def fmt_clock(v):
    return "%.2f s" % v if v is not None else "?"


def fmt_cpu(cpu):
    return ", ".join("%s %.1f s" % kv for kv in cpu.items()) or "?"


def median(values):
    v = sorted(x for x in values if x is not None)
    return v[len(v) // 2] if v else None


def guest_cpu_ratio(h, q):
    """The guest's TCG thread's CPU time under hako over plain QEMU's vCPU threads'."""
    guest = h["cpu"].get("CPU %s/TCG" % h["core"])
    plain_cpu = sum(q["cpu"].values())
    return guest / plain_cpu if guest and plain_cpu else None


def report_run(i, h, q):
    cpu = guest_cpu_ratio(h, q)
    print("linux:   run %d: start to %s: hako %.1f s, plain %.1f s, ratio %.2f (guest CPU time "
          "ratio %s); first console line hako %.1f s, plain %.1f s; kernel clock at \"Run /init\": "
          "hako %s, plain %s; `start` returned after %.2f s, found %d of %d MiB zeroed ahead"
          % (i + 1, MARKER, h["marker"], q["marker"], h["marker"] / q["marker"],
             "%.2f" % cpu if cpu else "?", h["first"], q["first"], fmt_clock(h["init_clock"]),
             fmt_clock(q["init_clock"]), h["start"], min(h["scrubbed"], GUEST_MIB), GUEST_MIB))


def report(runs):
    """The ratio is the median of the runs' own ratios: hako and plain QEMU of one
    run ran minutes apart at most, so the machine's load weighs on both alike."""
    hm = median(h["marker"] for h, _ in runs)
    qm = median(q["marker"] for _, q in runs)
    ratio = median(h["marker"] / q["marker"] for h, q in runs)
    cpu = median(guest_cpu_ratio(h, q) for h, q in runs)
    print("linux: start to %s, median of %d runs: hako %.1f s, plain QEMU microvm %.1f s, ratio "
          "%.2f (target <= 1.3; guest CPU time ratio %s; QEMU TCG, 1 vCPU, %d MiB, \"%s\")"
          % (MARKER, len(runs), hm, qm, ratio, "%.2f" % cpu if cpu else "?", GUEST_MIB, CMDLINE))
    for i, (h, q) in enumerate(runs):
        report_run(i, h, q)
    h, q = runs[-1]
    n1, _ = h["exits_first"]
    n, reasons = h["exits"]
    top = sorted(reasons.items(), key=lambda kv: -kv[1])[:4]
    print("linux:   hako VM exits (run %d): %d before the first console line (%.0f/s), %d to the "
          "marker (%.0f/s): %s" % (len(runs), n1, n1 / h["first"], n, n / h["marker"],
                                   ", ".join("%s %d" % kv for kv in top)))
    print("linux:   CPU time of QEMU's TCG vCPU threads until the marker (run %d): hako %s (the "
          "guest runs on core %s, the others are hako's service cores); plain %s (the guest CPU "
          "time ratio leaves out waiting for a host core: this machine has %d)"
          % (len(runs), fmt_cpu(h["cpu"]), h["core"], fmt_cpu(q["cpu"]), os.cpu_count()))


def main():
    runs = []
    try:
        for _ in range(RUNS):
            h = under_hako()
            runs.append((h, plain()))
    except Exception as e:  # a benchmark reports what failed and lets the others run
        print("linux: boot to init: not measured (after %d runs): %s" % (len(runs), e))
        if not runs:
            return
    report(runs)


if __name__ == "__main__":
    main()
