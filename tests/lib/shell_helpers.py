"""tests/lib/shell_helpers.py - small checks on hako's shell shared by the emulator tests."""
import re


def ok(m, line, timeout=60):
    """Runs `line`; fails the test if hako answered with an `error:` line.

    hako's log lines ("[ time] error: guest ...") may interleave with command
    output, so only a line that starts with `error: ` counts as a refusal."""
    out = m.cmd(line, timeout)
    assert not re.search(r"^error: ", out, re.M), "%s -> %s" % (line, out)
    return out


def state(m, name):
    """NAME's STATE column in `list`."""
    row = re.search(r"^%s\s+(\w+)" % name, m.cmd("list"), re.M)
    assert row, "%s not in list" % name
    return row.group(1)
