"""A tiny DNS responder for the tests (RFC 1035 4.1, UDP only).

It answers A queries for the names it is given with their IPv4 address,
every other A query with NXDOMAIN, and any other type with an empty answer.
hako in QEMU reaches it through the user network: a DNS server of 10.0.2.2
(port 53, the only port lwIP's DNS client uses) is the host's 127.0.0.1:53,
so the responder must bind exactly there; tests run as root. If another
test run holds the port, it waits for it (up to `wait` seconds).
"""
import socket
import struct
import threading
import time


class DnsResponder:
    def __init__(self, names, host="127.0.0.1", port=53, wait=120):
        self.names = {k.lower().rstrip("."): v for k, v in names.items()}
        self.queries = []  # (name, qtype) in arrival order
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        deadline = time.time() + wait
        while True:
            try:
                self.sock.bind((host, port))
                break
            except OSError:
                if time.time() > deadline:
                    self.sock.close()
                    raise
                time.sleep(1)
        self.sock.settimeout(0.5)
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=5)
        self.sock.close()

    def _serve(self):
        while not self.stopping:
            try:
                msg, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            except OSError:
                return
            reply = self.answer(msg)
            if reply:
                self.sock.sendto(reply, peer)

    def answer(self, msg):
        """The reply to one query message, or None for something not worth answering."""
        if len(msg) < 12:
            return None
        qid, flags, qdcount = struct.unpack(">HHH", msg[:6])
        if flags & 0x8000 or qdcount != 1:
            return None  # a response, or not one question
        labels, pos = [], 12
        while pos < len(msg) and msg[pos]:
            n = msg[pos]
            if n & 0xC0 or pos + 1 + n > len(msg):
                return None
            labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace"))
            pos += 1 + n
        pos += 1
        if pos + 4 > len(msg):
            return None
        qtype, qclass = struct.unpack(">HH", msg[pos:pos + 4])
        question = msg[12:pos + 4]
        name = ".".join(labels).lower()
        self.queries.append((name, qtype))
        addr = self.names.get(name)
        rcode = 0 if addr else 3  # NXDOMAIN for names it does not know
        answers = b""
        if addr and qtype == 1 and qclass == 1:
            # a pointer to the question's name (0xc00c), A, IN, TTL 60 s, 4 bytes
            answers = struct.pack(">HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(addr)
        header = struct.pack(">HHHHHH", qid, 0x8180 | rcode, 1, 1 if answers else 0, 0, 0)
        return header + question + answers
