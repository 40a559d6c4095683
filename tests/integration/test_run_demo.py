"""`make run` (the README's main job) keeps working: hako boots in QEMU with a
local tgtd, reads its catalog from the SAN, and the sample guest boots Linux
with its disk on the iSCSI target. Runs tools/run-demo.py --check twice: the
second run must find the guest the first one defined, in the catalog LUN."""
import os
import re
import shutil
import subprocess
import sys

from hako import BUILD, ROOT, free_port


def run_check(env):
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "run-demo.py"), "--check"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=env, timeout=1500)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out[-3000:]
    assert "demo guest booted Linux" in out, out[-3000:]


def test_make_run_demo_twice():
    # Private ports and state so the test never meets a developer's `make run`.
    state = os.path.join(BUILD, "test-run-state")
    shutil.rmtree(state, ignore_errors=True)
    env = dict(os.environ, HAKO_RUN_ISCSI_PORT=str(free_port()),
               HAKO_RUN_CONSOLE_PORT=str(free_port()), HAKO_RUN_STATE=state)
    run_check(env)
    run_check(env)
    log = open(os.path.join(BUILD, "test-logs", "run-check.serial"), errors="replace").read()
    assert re.search(r"catalog: \S+: 1 guests", log), "second boot did not find demo in the catalog"
