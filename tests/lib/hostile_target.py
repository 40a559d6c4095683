"""A small scripted iSCSI target for the tests (issue 17): it speaks just
enough RFC 7143 to log an initiator in (discovery and normal sessions,
AuthMethod=None, no digests) and to serve one LUN from memory, and then
misbehaves as its `mode` says:

    None                  behaves (TEST UNIT READY, INQUIRY, REPORT LUNS, READ
                          CAPACITY 10/16, READ/WRITE 10/16, SYNCHRONIZE CACHE)
    "text_flood"          answers SendTargets by no longer reading (a tiny
                          receive buffer, so its TCP window shuts) and sending
                          Text Responses with F=0 without end
    "datain_long"         answers a READ with a Data-In PDU longer than the
                          command's ExpectedDataTransferLength
    "r2t_beyond_transfer" answers a WRITE with an R2T past its end
    "r2t_beyond_burst"    answers a WRITE with an R2T twice MaxBurstLength
                          (it declares MaxBurstLength=16384), inside the transfer
    "big_mrdsl"           declares MaxRecvDataSegmentLength=16777215 and
                          MaxBurstLength=262144, then behaves: an R2T asks for
                          a whole 256 KiB burst at once
    "garbage_after_login" sends random bytes right after the last Login Response
    "escapes"             puts terminal escape sequences (ESC ] title, ESC [ 2J
                          clear, BEL) into what hako may print: a SendTargets
                          name and address, INQUIRY's vendor and product; and its
                          REPORT LUNS claims 64 LUNs but lists one
    "escape_login"        answers a normal login's MaxBurstLength with them
    "hold_reads"          never answers a READ (counted in `held`) but serves
                          everything else, NOP-Out pings included: an
                          initiator's reads stay in flight as long as the
                          test wants

The mode may change between connections; each connection reads it once,
when it logs in. `logins` counts full logins per session type. Runs
threads on 127.0.0.1 (QEMU's user network shows it to hako as 10.0.2.2).
"""
import os
import socket
import struct
import threading

OP_NOP_OUT, OP_SCSI_CMD, OP_LOGIN_REQ, OP_TEXT_REQ, OP_DATA_OUT, OP_LOGOUT_REQ = (
    0x00, 0x01, 0x03, 0x04, 0x05, 0x06)
OP_NOP_IN, OP_SCSI_RSP, OP_LOGIN_RSP, OP_TEXT_RSP, OP_DATA_IN, OP_LOGOUT_RSP, OP_R2T = (
    0x20, 0x21, 0x23, 0x24, 0x25, 0x26, 0x31)
F_BIT, C_BIT, S_BIT = 0x80, 0x40, 0x01
RSVD = 0xFFFFFFFF
BLOCK = 512
ESCAPE = b"\x1b]0;PWNED\x07\x1b[2J"  # retitle the terminal, clear the screen


def keys(text):
    """key=value pairs of a login or text data segment (RFC 7143 6.1)."""
    out = {}
    for pair in text.split(b"\0"):
        if b"=" in pair:
            k, v = pair.split(b"=", 1)
            out[k.decode()] = v.decode()
    return out


def text(pairs):
    return b"".join(b"%s=%s\0" % (k.encode(), str(v).encode()) for k, v in pairs)


class Conn:
    """One TCP connection: PDUs in, PDUs out, the sequence numbers (RFC 7143 4.2.2)."""

    def __init__(self, target, sock):
        self.t, self.sock = target, sock
        self.statsn = 0x1000
        self.exp_cmdsn = 0
        self.mode = None
        self.params = {}
        self.later = []  # PDUs read while waiting for Data-Out

    # ---- the wire ----
    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("initiator closed")
            buf += chunk
        return buf

    def read_pdu(self):
        if self.later:
            return self.later.pop(0)
        bhs = self.recv_exact(48)
        dlen = int.from_bytes(bhs[5:8], "big")
        data = self.recv_exact(dlen + (-dlen % 4))[:dlen] if dlen else b""
        return bhs, data

    def send_pdu(self, opcode, flags, spec=b"\0\0", lun=b"\0" * 8, itt=0, ttt=RSVD,
                 statsn=None, fields=b"", data=b""):
        """A target PDU: opcode, flags, bytes 2-3, LUN, ITT, TTT, StatSN, ExpCmdSN,
        MaxCmdSN, then the 12 bytes of `fields` (36-47), the data segment padded."""
        bhs = bytes([opcode, flags]) + spec + b"\0" + len(data).to_bytes(3, "big") + lun
        bhs += struct.pack(">IIIII", itt, ttt, self.statsn if statsn is None else statsn,
                           self.exp_cmdsn, self.exp_cmdsn + 15)
        bhs += fields.ljust(12, b"\0")
        self.sock.sendall(bhs + data + b"\0" * (-len(data) % 4))

    def status_sent(self):
        self.statsn = (self.statsn + 1) & 0xFFFFFFFF

    def took_cmdsn(self, bhs):
        """A non-immediate request used CmdSN: the window moves on."""
        cmdsn = struct.unpack(">I", bhs[24:28])[0]
        if not bhs[0] & 0x40:
            self.exp_cmdsn = (cmdsn + 1) & 0xFFFFFFFF
        elif not self.exp_cmdsn:
            self.exp_cmdsn = cmdsn

    # ---- login (RFC 7143 6.3, 11.12, 11.13) ----
    def login(self):
        while True:
            bhs, data = self.read_pdu()
            if bhs[0] & 0x3F != OP_LOGIN_REQ:
                raise ConnectionError("expected a Login Request")
            itt = struct.unpack(">I", bhs[16:20])[0]
            self.exp_cmdsn = struct.unpack(">I", bhs[24:28])[0]
            csg, nsg = (bhs[1] >> 2) & 3, bhs[1] & 3
            k = keys(data)
            if "SessionType" in k:
                self.params["session"] = k["SessionType"]
            reply = [("AuthMethod", "None"), ("TargetPortalGroupTag", 1)] if csg == 0 else \
                self.operational()
            final = csg == 1 or nsg == 3
            flags = 0x80 | csg << 2 | (3 if csg == 1 else nsg)
            isid_tsih = bhs[8:14] + (struct.pack(">H", 7) if final else b"\0\0")
            self.send_pdu(OP_LOGIN_RSP, flags, b"\0\0", isid_tsih, itt, statsn=self.statsn,
                          data=text(reply))
            self.status_sent()
            if final:
                return

    def operational(self):
        if self.params.get("session") == "Discovery":
            return [("HeaderDigest", "None"), ("DataDigest", "None"),
                    ("MaxRecvDataSegmentLength", 8192), ("ErrorRecoveryLevel", 0)]
        mrdsl, burst = 65536, 65536
        if self.mode == "big_mrdsl":
            mrdsl, burst = 16777215, 262144
        if self.mode == "r2t_beyond_burst":
            burst = 16384
        self.params.update(burst=burst)
        first = min(burst, 65536)
        if self.mode == "escape_login":
            burst = ESCAPE.decode()
        return [("HeaderDigest", "None"), ("DataDigest", "None"),
                ("MaxRecvDataSegmentLength", mrdsl), ("InitialR2T", "Yes"),
                ("ImmediateData", "No"), ("MaxBurstLength", burst),
                ("FirstBurstLength", first), ("MaxOutstandingR2T", 1),
                ("ErrorRecoveryLevel", 0), ("DataPDUInOrder", "Yes"),
                ("DataSequenceInOrder", "Yes")]

    # ---- full feature phase ----
    def serve(self):
        self.mode = self.t.mode
        self.login()
        self.t.logins[self.params.get("session", "Normal")] += 1
        if self.mode == "garbage_after_login":
            self.sock.sendall(os.urandom(4096))
        while True:
            bhs, data = self.read_pdu()
            op = bhs[0] & 0x3F
            if op == OP_SCSI_CMD:
                self.took_cmdsn(bhs)
                self.scsi(bhs)
            elif op == OP_TEXT_REQ:
                self.took_cmdsn(bhs)
                self.send_targets(bhs)
            elif op == OP_NOP_OUT:
                itt = struct.unpack(">I", bhs[16:20])[0]
                if itt != RSVD:  # a ping: answer it (11.19)
                    self.send_pdu(OP_NOP_IN, F_BIT, lun=bhs[8:16], itt=itt, data=data)
                    self.status_sent()
            elif op == OP_LOGOUT_REQ:
                self.took_cmdsn(bhs)
                self.send_pdu(OP_LOGOUT_RSP, F_BIT, itt=struct.unpack(">I", bhs[16:20])[0])
                self.status_sent()
                return
            # Data-Out outside a write, or anything else: ignored

    def send_targets(self, bhs):
        itt = struct.unpack(">I", bhs[16:20])[0]
        if self.mode != "text_flood":
            name, addr = self.t.iqn.encode(), b"10.0.2.2:%d,1" % self.t.port
            if self.mode == "escapes":
                name, addr = name + ESCAPE, addr + ESCAPE
            answer = b"TargetName=%s\0TargetAddress=%s\0" % (name, addr)
            self.send_pdu(OP_TEXT_RSP, F_BIT, itt=itt, data=answer)
            self.status_sent()
            return
        # Stop reading: the window shuts, and the F=0 pieces keep coming.
        for i in range(100000):
            self.send_pdu(OP_TEXT_RSP, 0, itt=itt, ttt=0x1234, data=b"X%d=y\0" % i)
            self.status_sent()
        raise ConnectionError("flood over")

    def scsi(self, bhs):
        itt = struct.unpack(">I", bhs[16:20])[0]
        edtl = struct.unpack(">I", bhs[20:24])[0]
        cdb, lun = bhs[32:48], bhs[8:16]
        op = cdb[0]
        if op in (0x28, 0x88):  # READ (10), READ (16)
            lba, n = (struct.unpack(">IxH", cdb[2:9]) if op == 0x28 else
                      struct.unpack(">QI", cdb[2:14]))
            if self.mode == "hold_reads":
                self.t.held += 1
                return
            data = bytes(self.t.store[lba * BLOCK:(lba + n) * BLOCK])
            if self.mode == "datain_long":
                data += b"\xa5" * 512  # beyond the command's length
            return self.data_in(itt, lun, data, max(edtl, len(data)))
        if op in (0x2A, 0x8A):  # WRITE (10), WRITE (16)
            lba, n = (struct.unpack(">IxH", cdb[2:9]) if op == 0x2A else
                      struct.unpack(">QI", cdb[2:14]))
            return self.write(itt, lun, lba, n * BLOCK)
        if op == 0x12:  # INQUIRY
            inq = bytes([0, 0, 5, 2, 31, 0, 0, 0]) + b"HOSTILE TARGET          0001"
            if self.mode == "escapes":
                inq = bytes([0, 0, 5, 2, 31, 0, 0, 0]) + (b"\x1b[31m" + ESCAPE).ljust(24) + b"0001"
            return self.data_in(itt, lun, inq[:edtl], edtl)
        if op == 0xA0:  # REPORT LUNS: LUN 1 (claiming 64 when hostile)
            listed = 64 * 8 if self.mode == "escapes" else 8
            return self.data_in(itt, lun, (struct.pack(">II", listed, 0) + bytes([0, 1]) + b"\0" * 6)[:edtl], edtl)
        if op == 0x9E and cdb[1] & 0x1F == 0x10:  # READ CAPACITY (16)
            cap = struct.pack(">QI", len(self.t.store) // BLOCK - 1, BLOCK) + b"\0" * 20
            return self.data_in(itt, lun, cap[:edtl], edtl)
        if op == 0x25:  # READ CAPACITY (10)
            return self.data_in(itt, lun, struct.pack(">II", len(self.t.store) // BLOCK - 1, BLOCK), edtl)
        if op in (0x00, 0x35, 0x91):  # TEST UNIT READY, SYNCHRONIZE CACHE
            return self.response(itt, 0)
        # anything else: CHECK CONDITION, ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE
        sense = bytes([0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x20, 0]) + b"\0" * 4
        self.response(itt, 2, struct.pack(">H", len(sense)) + sense)

    def response(self, itt, status, data=b"", residual=0):
        flags = F_BIT | (0x02 if residual else 0)
        self.send_pdu(OP_SCSI_RSP, flags, bytes([0, status]), itt=itt,
                      fields=b"\0" * 8 + struct.pack(">I", residual), data=data)
        self.status_sent()

    def data_in(self, itt, lun, data, edtl, piece=8192):
        """Data-In PDUs (11.7), the last with the status (S bit) and any underflow."""
        off, sn = 0, 0
        while True:
            chunk = data[off:off + piece] if self.mode != "datain_long" else data
            last = off + len(chunk) >= len(data)
            residual = max(edtl - len(data), 0) if last else 0
            flags = (F_BIT | S_BIT | (0x02 if residual else 0)) if last else 0
            fields = struct.pack(">III", sn, off, residual)
            self.send_pdu(OP_DATA_IN, flags, b"\0\0", lun, itt,
                          statsn=self.statsn if last else 0, fields=fields, data=chunk)
            if last:
                self.status_sent()
                return
            off, sn = off + len(chunk), sn + 1

    def write(self, itt, lun, lba, length):
        """R2Ts (11.8) one burst at a time, each answered by Data-Out until its F bit."""
        burst, off, r2tsn = self.params["burst"], 0, 0
        while off < length:
            want = min(burst, length - off)
            if self.mode == "r2t_beyond_transfer":
                want = length - off + 4096
            if self.mode == "r2t_beyond_burst":
                want = min(2 * burst, length - off)
            self.send_pdu(OP_R2T, F_BIT, b"\0\0", lun, itt, ttt=0x100 + r2tsn, statsn=self.statsn,
                          fields=struct.pack(">III", r2tsn, off, want))
            r2tsn += 1
            while True:
                bhs, data = self.next_data_out(itt)
                at = struct.unpack(">I", bhs[40:44])[0]
                self.t.store[lba * BLOCK + at:lba * BLOCK + at + len(data)] = data
                if bhs[1] & F_BIT:
                    break
            off += want
        self.response(itt, 0)

    def next_data_out(self, itt):
        """The next Data-Out of task `itt`; other PDUs wait for the main loop."""
        while True:
            bhs = self.recv_exact(48)
            dlen = int.from_bytes(bhs[5:8], "big")
            data = self.recv_exact(dlen + (-dlen % 4))[:dlen] if dlen else b""
            if bhs[0] & 0x3F == OP_DATA_OUT and struct.unpack(">I", bhs[16:20])[0] == itt:
                return bhs, data
            self.later.append((bhs, data))


class HostileTarget:
    def __init__(self, iqn, size=8 << 20):
        self.iqn, self.store, self.mode = iqn, bytearray(size), None
        self.logins = {"Normal": 0, "Discovery": 0}
        self.held = 0  # READs left unanswered ("hold_reads")
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.listener.listen(16)
        self.conns = []
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def set_mode(self, mode):
        """How the next connections misbehave (see the top)."""
        self.mode = mode
        # For the flood, the smallest receive buffer Linux allows, set on the
        # listener so it holds from the SYN on: the window shuts after a few
        # requests once the target stops reading.
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                                 1 if mode == "text_flood" else 1 << 17)

    def _accept(self):
        while not self.stopping:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self.conns.append(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock):
        try:
            Conn(self, sock).serve()
        except (ConnectionError, OSError):
            pass
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def stop(self):
        self.stopping = True
        self.listener.close()
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self.thread.join(timeout=5)
