"""tests/lib/guestnet.py - helpers for the guest-network tests and benchmarks:
a Linux guest's shell through hako's `console`, a file server on the host,
and a pcap reader for QEMU's `-object filter-dump`.

    with attached(m, "g1"):                  # hako's console on g1, detached at the end
        out, status = sh(m, "ip addr")
    srv = FileServer({"blob": data})        # http://10.0.2.2:srv.port/blob from a guest
    frames = read_pcap(path)                # [bytes, ...]
"""
import functools
import http.server
import os
import re
import shutil
import struct
import tempfile
import threading
import time

from hako import BUILD

KERNEL = "kernel=esp:vmlinuz initrd=esp:initrd.img"
BOOT_TIMEOUT = 300
HAKO_LOG_LINE = re.compile(r"\[ *\d+\.\d{6}\] [^\n]*\n")


class attached:
    """`with attached(m, NAME):` the shell's console on NAME, detached at the end."""

    def __init__(self, m, name):
        self.m, self.name = m, name

    def __enter__(self):
        self.m.send("console %s\r" % self.name)
        self.m.expect(r"\[attached to %s" % self.name, 20)
        return self

    def __exit__(self, *exc):
        self.m.send(b"\x1d")
        self.m.expect(r"\[detached from %s\]" % self.name, 20)
        self.m.wait_prompt(20)


_token = [0]


def sh(m, line, timeout=60):
    """While attached to a booted guest: runs `line` in its shell; returns (output, status).
    The output lies between a start and an end marker unique to this call, so
    neither the echo of the typed line (which the terminal may wrap) nor
    output `console` replays from earlier commands can be taken for it;
    hako's own log lines are taken out."""
    _token[0] += 1
    tok = "%d-%d" % (os.getpid(), _token[0])
    m.send("echo @@S%s; %s; echo @@E%s:$?@@\r" % (tok, line, tok))
    end = m.expect(r"@@E%s:(\d+)@@" % re.escape(tok), timeout)
    text = m.output_since(0)[:end.start()]
    start = list(re.finditer(r"^@@S%s\s*$" % re.escape(tok), text, re.M))
    body = text[start[-1].end():].lstrip("\n") if start else text
    return HAKO_LOG_LINE.sub("", body), int(end.group(1))


def wait_guest(m, name, pattern=r"HAKO-NET-READY", timeout=BOOT_TIMEOUT):
    """Attaches to NAME (its output since boot is replayed), waits for `pattern`,
    detaches; returns the guest's output up to then."""
    mark = m.mark()
    with attached(m, name):
        m.expect(pattern, timeout)
        out = m.output_since(mark)
    return HAKO_LOG_LINE.sub("", out)


def net_lines(text):
    """{iface: (mac, address)} from /init's HAKO-NET lines."""
    return {i: (mac, addr) for i, mac, addr in
            re.findall(r"^HAKO-NET (\S+) (\S+) (\S+)\s*$", text, re.M)}


class FileServer:
    """An HTTP server on the host's 127.0.0.1 serving `files` ({name: bytes});
    a guest behind QEMU's user network reaches it at 10.0.2.2:port."""

    def __init__(self, files):
        self.dir = tempfile.mkdtemp(prefix="www-", dir=BUILD)
        for name, data in files.items():
            with open(os.path.join(self.dir, name), "wb") as f:
                f.write(data)
        handler = functools.partial(Quiet, directory=self.dir)
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def read_pcap(path):
    """The frames of a classic pcap file (what QEMU's filter-dump writes)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    frames, off = [], 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return frames


def vlan_of(frame):
    """(VLAN id or None, source MAC as aa:bb:..) of an Ethernet frame."""
    src = ":".join("%02x" % b for b in frame[6:12])
    if len(frame) >= 18 and frame[12:14] == b"\x81\x00":
        return struct.unpack(">H", frame[14:16])[0] & 0xfff, src
    return None, src


def wait_for(fn, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.5)
    raise AssertionError("timed out waiting for " + what)
