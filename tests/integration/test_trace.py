"""The exit trace and the cycles per exit kind (issue 15), through the serial
shell on QEMU TCG (AMD-V): `trace NAME on|off`, `trace NAME [COUNT]`, `trace
NAME follow`, and the `in hako:` lines of `stats NAME`. The probe guest's
`report` runs CPUID with leaves 0, 0x40000000, 1 and 0x80000001 in that order
(guests/probe/probe.c); the trace must show them with the RIPs of those CPUID
instructions in the guest's ELF file (build/guests/probe.elf, disassembled
here with objdump). test_bochs_vmm.py runs test_trace_shows_the_cpuid_exits...
again on VT-x and on Bochs's SVM.
"""
import os
import re
import subprocess

import pytest

from hako import Qemu
from shell_helpers import console, ok, state

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PROBE_ELF = os.path.join(ROOT, "build", "guests", "probe.elf")
REPORT_LEAVES = [0x0, 0x40000000, 0x1, 0x80000001]
TRACE_LINE = re.compile(r"^\s*(\d+)\.(\d{6}) vcpu(\d+) (\S+)\s+rip 0x([0-9a-f]+) (.*), (\d+) cycles$",
                        re.M)


@pytest.fixture(scope="module")
def m():
    q = Qemu(smp=3, mem="512M", name="trace")
    q.start()
    q.wait_prompt()
    yield q
    q.stop()


def cpuid_sites():
    """Addresses of the CPUID instructions in probe.elf, and of the one that
    runs leaf 0x80000001 (the CPUID after `mov $0x80000001,%eax`)."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", PROBE_ELF], check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    sites, ext_leaf, last_eax = set(), None, None
    for line in out.splitlines():
        ins = re.match(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$", line)
        if not ins:
            continue
        addr, op, args = int(ins.group(1), 16), ins.group(2), ins.group(3)
        if op == "cpuid":
            sites.add(addr)
            if last_eax == "$0x80000001":
                ext_leaf = addr
            last_eax = None
        elif args.endswith(",%eax"):
            last_eax = args[:-len(",%eax")]
    assert sites and ext_leaf, "no CPUID sites found in %s" % PROBE_ELF
    return sites, ext_leaf


def traced(out, kind=None):
    """(vcpu, kind, rip, detail, cycles) of each trace line in `out`."""
    rows = [(int(v), k, int(rip, 16), d, int(c)) for _, _, v, k, rip, d, c in TRACE_LINE.findall(out)]
    return [r for r in rows if kind is None or r[1] == kind]


def probe_run(m, name, cmdline):
    ok(m, 'define %s mem=16M kernel=esp:probe.elf cmdline="%s"' % (name, cmdline))


def test_trace_shows_the_cpuid_exits_with_leaf_and_rip(m):
    sites, ext_leaf = cpuid_sites()
    probe_run(m, "tc", "report")
    assert "trace of tc on" in ok(m, "trace tc on")  # before start: the boot's exits too
    ok(m, "start tc")
    console(m, "tc", r"probe: done, halting")
    out = ok(m, "trace tc 1024")
    assert re.search(r"^trace of tc: on, \d+ exits recorded", out, re.M), out
    cpuids = traced(out, "cpuid")
    leaves = [int(re.match(r"leaf 0x([0-9a-f]+) subleaf", d).group(1), 16) for _, _, _, d, _ in cpuids]
    assert leaves[:4] == REPORT_LEAVES, out
    for vcpu, _, rip, _, cycles in cpuids:
        assert vcpu == 0 and rip in sites and cycles > 0, (hex(rip), out)
    rips = [rip for _, _, rip, _, _ in cpuids[:4]]
    assert rips == sorted(rips) and len(set(rips)) == 4, out  # four CPUIDs, in program order
    assert rips[3] == ext_leaf, (hex(rips[3]), hex(ext_leaf))
    # the UART writes that printed the report are there too, decoded
    assert re.search(r"port-io\s+rip 0x[0-9a-f]+ out 0x3f8 size 1 value 0x70, ", out), out
    # `stats` has the cycles of the same exits
    stats = ok(m, "stats tc")
    row = re.search(r"^  in hako: cpuid\s+mean (\d+) max (\d+) cycles$", stats, re.M)
    assert row and 0 < int(row.group(1)) <= int(row.group(2)), stats
    assert re.search(r"^  in hako: port-io\s+mean \d+ max \d+ cycles$", stats, re.M), stats
    ok(m, "destroy tc")
    ok(m, "undefine tc")


def test_trace_off_records_nothing_and_keeps_what_it_had(m):
    probe_run(m, "to", "report")
    ok(m, "trace to on")
    ok(m, "start to")
    console(m, "to", r"probe: done, halting")
    ok(m, "destroy to")
    before = re.search(r"(\d+) exits recorded", ok(m, "trace to")).group(1)
    assert "trace of to off" in ok(m, "trace to off")
    ok(m, "start to")
    console(m, "to", r"probe: done, halting")
    out = ok(m, "trace to 5")
    assert re.search(r"^trace of to: off, %s exits recorded; the last 5:" % before, out, re.M), out
    assert len(traced(out)) == 5, out
    ok(m, "destroy to")
    ok(m, "undefine to")


def test_trace_follow_streams_until_ctrl_c(m):
    probe_run(m, "tf", "flood")
    ok(m, "trace tf on")
    ok(m, "start tf")
    m.send("trace tf follow\r")
    m.expect(r"\[following the exits of tf; Ctrl-C ends\]", 10)
    line = m.expect(r"^\s*\d+\.\d{6} vcpu0 port-io\s+rip 0x[0-9a-f]+ out 0x3f8 size 1 value 0x[0-9a-f]+, "
                    r"\d+ cycles$", 30)
    assert line
    m.send(b"\x03")
    m.expect(r"\[trace follow of tf ended\]", 10)
    m.wait_prompt(10)
    assert state(m, "tf") == "running"
    ok(m, "destroy tf")
    ok(m, "undefine tf")


def test_trace_refusals_are_one_clear_error(m):
    probe_run(m, "tr", "report")
    for line, why in [("trace nosuch on", r"unknown guest 'nosuch'"),
                      ("trace tr", r"no exits of 'tr' traced; `trace tr on` starts the trace"),
                      ("trace tr follow", r"the trace of 'tr' is off"),
                      ("trace tr 0", r"bad COUNT '0'"),
                      ("trace tr 99999", r"bad COUNT '99999'"),
                      ("trace tr sideways", r"bad COUNT 'sideways'"),
                      ("trace", r"usage: trace NAME")]:
        out = m.cmd(line)
        assert re.search(r"^error: .*" + why, out, re.M) and len(out.strip().splitlines()) == 1, \
            (line, out)
    ok(m, "undefine tr")
