"""The gdb stub on VT-x (issue 15): test_gdb.py's break/step/read/change and
Ctrl-C tests, run unchanged under Bochs 2.7 on an emulated Haswell, where a
breakpoint is a #BP in the exception bitmap and a step the monitor trap flag.
Bochs's user network (slirp) forwards the debug port as QEMU's does.
Marked slow: Bochs boots OVMF and hako in about a minute, then runs the probe
guest at ~100 M instructions/s.
"""
import os

import pytest

from hako import BUILD, Bochs, free_port, make_image

import test_gdb
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
              nic_mac="52:54:00:6e:30:02", hostfwd=["tcp::%d-:%d" % (port, test_gdb.GDB_PORT)])
    b.start()
    b.wait_prompt()
    b.expect(r"net: \S+ address 10\.0\.2\.15", 240)
    assert "(vmx)" in b.cmd("version")
    b.gdb_port = port
    yield b
    b.stop()
