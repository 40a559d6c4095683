"""tests/lib/netconsole.py - a host-side client for hako's network console
(TCP, telnet-compatible), used by tests/integration/test_net.py and
tests/bench_net.py.

    c = NetConsole(port); c.login("test", "pw"); out = c.cmd("host"); c.close()
"""
import re
import socket
import time

PROMPT = b"hako> "


class NetConsole:
    def __init__(self, port, host="127.0.0.1", timeout=10, source=None):
        """`source`: the local address to connect from (QEMU's user network shows
        hako a client on 127.0.0.1 as 10.0.2.2, one on another address as itself)."""
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.buf = b""
        self.closed = False

    def read_until(self, token, timeout=20):
        """Bytes up to and including `token` (bytes or compiled regex); raises on timeout."""
        deadline = time.time() + timeout
        while True:
            m = token.search(self.buf) if hasattr(token, "search") else None
            end = m.end() if m else (self.buf.find(token) + len(token) if not hasattr(token, "search") and token in self.buf else -1)
            if end >= 0:
                out, self.buf = self.buf[:end], self.buf[end:]
                return out
            left = deadline - time.time()
            if left <= 0 or self.closed:
                raise TimeoutError("no %r within %ss (closed=%s); got %r" % (token, timeout, self.closed, self.buf[-300:]))
            self.sock.settimeout(min(left, 1.0))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                data = b""
            if not data:
                self.closed = True
            self.buf += data

    def read_all(self, timeout=10):
        """Everything until the server closes the connection (or timeout)."""
        try:
            self.read_until(b"\x00<never>", timeout)
        except TimeoutError:
            pass
        out, self.buf = self.buf, b""
        return out

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def login(self, user, password, timeout=20):
        self.read_until(b"login: ", timeout)
        self.send(user + "\r\n")
        self.read_until(b"password: ", timeout)
        self.send(password + "\r\n")
        self.read_until(PROMPT, timeout)

    def cmd(self, line, timeout=30):
        """Runs one line; returns its output (text, LF line ends) without echo and prompt."""
        self.send(line + "\r\n")
        out = self.read_until(PROMPT, timeout)[:-len(PROMPT)]
        text = out.decode("latin-1").replace("\r", "")
        nl = text.find("\n")
        return text[nl + 1:] if nl >= 0 else ""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def wait_login_prompt(port, timeout=60, host="127.0.0.1"):
    """Connects until the console answers with a login prompt; returns the client.
    A `host` other than 127.0.0.1 is also the address it connects from."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            c = NetConsole(port, host=host, timeout=5,
                           source=None if host == "127.0.0.1" else host)
            c.read_until(b"login: ", 5)
            c.buf = b"login: " + c.buf
            return c
        except (OSError, TimeoutError) as e:
            last = e
            time.sleep(1)
    raise TimeoutError("no network console on port %d within %ss: %s" % (port, timeout, last))
