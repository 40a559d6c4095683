"""The gdb stub on VT-x (issue 15), under Bochs 2.7 on an emulated Haswell,
with an e1000 on Bochs's user network (slirp forwards the debug port as
QEMU's hostfwd does). test_gdb.py's break/step/read/change and Ctrl-C tests
run unchanged: a breakpoint is #BP in the exception bitmap; a step is
RFLAGS.TF with #DB intercepted, since Bochs's Haswell has no monitor trap
flag (and Bochs 2.7 ignores the MTF control on the models that advertise
it, so they are not used here). Added here, because QEMU 7.2's TCG never arms a nested
guest's DR7: hardware breakpoints and watchpoints (Z1, Z2, Z4) through the
guest's DR7 in the VMCS and #DB in the exception bitmap.

The probe's `gdb` loop runs with interrupts off and, between two lines,
without a single exit; Bochs masks a kick for such a guest, so `destroy`
and a debugger's stop rely on vmm/vmx/share.c's vmx_kick_fallback (the
destroy test fails without it). Marked slow: one Bochs machine, under a
minute in all on an idle machine.
"""
import os
import re
import subprocess

import pytest

from hako import BUILD, Bochs, free_port, make_image
from shell_helpers import ok, state

import test_gdb
from test_gdb import GDB_PORT, PROBE_ELF, gdb, next_insn, start_gdb_loop, symbol
from test_gdb import (  # noqa: F401  (collected by pytest from this module)
    test_break_step_read_and_change_a_variable,
    test_ctrl_c_continue_threads_and_physical_memory,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def m():
    img = make_image(os.path.join(BUILD, "test-bochs-gdb.img"), "net=dhcp\n",
                     files=[test_gdb.PROBE_ELF])
    port = free_port()
    b = Bochs(model="corei7_haswell_4770", cpus=2, mem_mb=512, name="bochs-gdb", image=img,
              nic_mac="52:54:00:6e:30:02", hostfwd=["tcp::%d-:%d" % (port, GDB_PORT)])
    b.start()
    b.wait_prompt()
    b.expect(r"net: \S+ address 10\.0\.2\.15", 240)
    assert "(vmx)" in b.cmd("version")
    b.gdb_port = port
    yield b
    b.stop()


def test_destroy_ends_the_gdb_loop_spinning_with_interrupts_off(m):
    """No debugger: the loop never exits by itself, only hako's kick ends it."""
    start_gdb_loop(m, "dbs")
    assert "destroyed dbs" in ok(m, "destroy dbs", timeout=60)
    assert state(m, "dbs") == "stopped"
    ok(m, "undefine dbs")


def after_reads_of(name):
    """Addresses just after each instruction of probe.elf that names `name`."""
    out = subprocess.run(["objdump", "-d", PROBE_ELF], check=True, stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    lines = re.findall(r"^\s*([0-9a-f]+):\t[^\n]*?(<%s>)?$" % name, out, re.M)
    return {int(lines[i + 1][0], 16) for i in range(len(lines) - 1) if lines[i][1]}


def test_hardware_breakpoint_and_watchpoints_fire(m):
    start_gdb_loop(m, "dbw")
    ok(m, "debug dbw %d" % GDB_PORT)
    tick = symbol("gdb_tick")
    out = gdb(m, "hbreak gdb_tick", "continue", "info registers rip", "delete",
              "watch gdb_count", "continue", "info registers rip", "delete",
              "awatch gdb_value", "continue", "info registers rip", "delete", "detach")
    assert re.search(r"Hardware assisted breakpoint 1 at 0x%x" % tick, out), out
    rips = [int(x, 16) for x in re.findall(r"^rip\s+0x([0-9a-f]+)", out, re.M)]
    assert len(rips) == 3, out
    assert rips[0] == tick, out  # Z1: stops before the instruction
    # Z2: stops after the store in gdb_tick, with the count one on
    assert re.search(r"^Hardware watchpoint 2: gdb_count$", out, re.M), out
    old, new = re.search(r"Old value = (\d+)\s+New value = (\d+)", out).groups()
    assert int(new) == int(old) + 1, out
    assert rips[1] == next_insn(tick), out
    # Z4: the loop reads gdb_value each round; stops after a read of it
    assert re.search(r"^Hardware access \(read/write\) watchpoint 3: gdb_value\s+Value = 1111$",
                     out, re.M), out
    assert rips[2] in after_reads_of("gdb_value"), (hex(rips[2]), out)
    assert "Detaching" in out or "detached" in out.lower(), out
    assert state(m, "dbw") == "running"
    ok(m, "debug dbw off")
    ok(m, "destroy dbw")
    ok(m, "undefine dbw")
