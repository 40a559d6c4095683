"""tests/lib/shell_helpers.py - small checks on hako's shell shared by the emulator tests."""
import re
import time


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


HAKO_LOG_LINE = re.compile(r"\[ *\d+\.\d{6}\] [^\n]*\n")


def console(m, name, pattern, timeout=60):
    """Attaches to NAME's console (hako replays its output since boot), waits
    for `pattern`, detaches with Ctrl-]. Returns what the guest printed up to
    then, without hako's own log lines (which may land in the middle)."""
    mark = m.mark()   # the replay may follow the banner at once
    m.send("console %s\r" % name)
    m.expect(r"\[attached to %s" % name, 10)
    try:
        m.expect(pattern, timeout)
        out = m.output_since(mark)
        return HAKO_LOG_LINE.sub("", out[out.index("[attached to"):])
    finally:
        m.send(b"\x1d")
        m.expect(r"\[detached from %s\]" % name, 10)
        m.wait_prompt(10)


def probe_progress(m, name, timeout=60):
    """The highest `probe: progress N` guest NAME printed (its own count of
    work done): the console replays what its ring kept, then shows new
    lines; waits for one after the replay, then detaches."""
    mark = m.mark()
    m.send("console %s\r" % name)
    m.expect(r"\[attached to %s" % name, 10)
    try:
        m.expect(r"probe: progress \d+\r?\n", timeout)
        time.sleep(2)
        m.expect(r"probe: progress \d+\r?\n", timeout)
        return max(int(n) for n in re.findall(r"probe: progress (\d+)", m.output_since(mark)))
    finally:
        m.send(b"\x1d")
        m.expect(r"\[detached from %s\]" % name, 10)
        m.wait_prompt(10)
