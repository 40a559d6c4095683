#!/usr/bin/env python3
"""tests/unit/data/make_corpus.py - writes the fuzzers' seed corpora.

Each tests/unit/fuzz_NAME.c gets tests/unit/data/corpus_NAME/: a few small,
valid-looking inputs in the layout that target reads (see the comment at the
top of each fuzz_*.c), so a short run in `make test` starts from inputs that
already reach deep into the parsers instead of spending its seconds finding
magic numbers. corpus_iscsi (PDUs captured from a login against tgtd) is
kept as it is. Run it again after changing a target's input layout:

    tests/unit/data/make_corpus.py
"""
import os
import re
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, seeds):
    d = os.path.join(HERE, "corpus_" + name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    for key, data in seeds.items():
        with open(os.path.join(d, key), "wb") as f:
            f.write(data)


def acpi():
    """Selector byte (table index, bit 7 = fix the checksum) + a QEMU table."""
    text = open(os.path.join(HERE, "acpi_qemu_q35_ovmf.h")).read()
    tables = {}
    for m in re.finditer(r"qemu_seg\d+\[\d+\] = \{([^}]*)\}", text):
        b = bytes(int(x, 16) for x in re.findall(r"0x[0-9a-fA-F]+", m.group(1)))
        tables[b[:4]] = b
    seeds = {}
    for i, sig in enumerate([b"RSD ", b"XSDT", b"RSDT", b"APIC", b"FACP", b"MCFG"]):
        if sig in tables:
            seeds[sig.decode().strip().lower()] = bytes([0x80 | i]) + tables[sig]
    return seeds


def catalog():
    return {
        "empty": b"hako-catalog 1\n",
        "two": b"hako-catalog 1\ndefine web cpus=2 mem=512M kernel=esp:vmlinuz\n"
               b"define db mem=64M kernel=esp:probe.elf disk=ram:1M nic=lan:a\n",
        "clone": b"hako-catalog 1\ndefine base mem=128M kernel=esp:vmlinuz disk=cow:7\n",
    }


def cfg_shell():
    return {
        "cfg": b"net=dhcp\nmgmt_port=2323\nhostname=hako\n# a comment\n"
               b"catalog=iscsi://10.0.2.2/iqn.x:t/1\n",
        "shell": b"define a mem=16M kernel=esp:probe.elf\r\nstart a\r\nlist\r\nhelp\r\n",
        "edit": b"hoost\x7f\x7fst\r\n\x1b[A\x1b[D\x03stats a\r\n",
    }


def insn():
    """Mode byte (bit 0: 64-bit, bit 1: 32-bit default) + instruction bytes."""
    forms = {
        "mov_store32": (1, "89 07"), "mov_load64": (1, "48 8b 47 08"),
        "mov_imm32": (1, "c7 07 78 56 34 12"), "movzx16": (1, "0f b7 07"),
        "movsx8": (1, "48 0f be 07"), "mov_ah": (1, "8a 27"),
        "moffs": (1, "a1 00 00 e0 fe 00 00 00 00"), "op16": (3, "66 89 07"),
        "rex_r": (1, "44 89 47 10"), "seg": (1, "65 8b 04 25 00 00 00 00"),
        "prot32": (2, "8b 83 00 03 00 00"), "real16": (0, "a1 00 10"),
    }
    return {k: bytes([mode]) + bytes.fromhex(h) for k, (mode, h) in forms.items()}


def guest_pt():
    """Mode byte, CR3 (in 128-byte units), linear address, then memory from 0.
    Every level's table is the page at 0x1000 (entries pointing back at
    it, at different indices), so a seed holds a whole walk in 5 KiB."""
    def mem(entries):
        b = bytearray(max(at + w for at, (_, w) in entries.items()))
        for at, (val, width) in entries.items():
            b[at:at + width] = val.to_bytes(width, "little")
        return bytes(b)

    la = 1 << 39 | 2 << 30 | 3 << 21 | 4 << 12 | 0x123
    l4 = {0x1000 + i * 8: (0x1003, 8) for i in (1, 2, 3)}
    l4[0x1000 + 4 * 8] = (0x5003, 8)
    la32 = 1 << 22 | 2 << 12 | 0x345
    p32 = {0x1000 + 4: (0x1003, 4), 0x1000 + 8: (0x5003, 4)}
    lpae = 1 << 30 | 2 << 21 | 3 << 12 | 0x345
    pae = {0x1000 + 8: (0x1001, 8), 0x1000 + 16: (0x1003, 8), 0x1000 + 24: (0x5003, 8)}
    hdr = lambda mode, cr3, a: bytes([mode]) + struct.pack("<H", cr3 >> 7) + struct.pack("<Q", a)
    return {
        "long4": hdr(1 | 4 | 16, 0x1000, la) + mem(l4),
        "long5": hdr(1 | 4 | 8 | 16, 0x1000, la) + mem(l4),
        "long4_2m": hdr(1 | 4 | 16, 0x1000, la) + mem({**l4, 0x1000 + 3 * 8: (0x200083, 8)}),
        "bits32": hdr(1, 0x1000, la32) + mem(p32),
        "pse4m": hdr(1 | 2, 0x1000, la32) + mem({0x1000 + 4: (0x400083, 4)}),
        "pae": hdr(1 | 4, 0x1000, lpae) + mem(pae),
        "off": hdr(0, 0, 0x1234) + b"\0" * 16,
    }


def switch():
    """Records: port, length (2, LE), offload (3), then the frame."""
    def rec(port, frame, off=b"\0\0\0"):
        return bytes([port]) + struct.pack("<H", len(frame)) + off + frame
    eth = lambda dst, src, typ, pl: bytes.fromhex(dst + src) + struct.pack(">H", typ) + pl
    ip = bytes.fromhex("4500002e000040004011" "0000" "0a000001" "0a000002") + b"\0\x35\0\x35\0\x1a\0\0" + b"x" * 18
    a, b = "020000000001", "020000000002"
    return {
        "learn": rec(0, eth("ffffffffffff", a, 0x0806, b"\0" * 28)) + rec(1, eth(a, b, 0x0800, ip)),
        "vlan": rec(2, bytes.fromhex(a + b) + b"\x81\x00\x00\x2a\x08\x00" + ip),
        "csum": rec(1, eth(a, b, 0x0800, ip), bytes([1, 34, 0])),
    }


def virtio(queue_notify=0x50):
    """512 bytes of descriptor table, then 6-byte steps (offset, value)."""
    desc = bytearray(512)
    struct.pack_into("<QIHH", desc, 0, 0x3000, 16, 1, 1)       # header, NEXT
    struct.pack_into("<QIHH", desc, 16, 0x4000, 512, 3, 2)     # data, NEXT|WRITE
    struct.pack_into("<QIHH", desc, 32, 0x5000, 1, 2, 0)       # status, WRITE
    step = lambda off, v: struct.pack("<HI", off, v)
    return {
        "one_request": bytes(desc) + step(queue_notify, 0) + step(0xffff, 0) + step(0x8060, 2),
        "reads": bytes(desc) + b"".join(step(0x8000 | o, 2) for o in (0, 4, 8, 0x34, 0x70, 0x100)),
    }


def virtio_net():
    desc = bytearray(512)
    struct.pack_into("<QIHH", desc, 0, 0x3000, 1526, 2, 0)     # rx buffer, WRITE
    struct.pack_into("<QIHH", desc, 256, 0x6000, 74, 0, 0)     # tx: header + frame
    step = lambda op, v: struct.pack("<HI", op, v)
    return {
        "rx_tx": bytes(desc) + step(0xfff0, 1) + step(0xfff1, 1) + step(0x50, 1) + step(0xffff, 60),
        "status": bytes(desc) + step(0x8100, 2) + step(0x8070, 2) + step(0xffff, 1),
    }


def main():
    write("acpi", acpi())
    write("catalog", catalog())
    write("cfg_shell", cfg_shell())
    write("insn", insn())
    write("guest_pt", guest_pt())
    write("switch", switch())
    write("virtio", virtio())
    write("virtio_net", virtio_net())


if __name__ == "__main__":
    main()
