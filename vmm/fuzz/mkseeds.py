#!/usr/bin/env python3
"""Writes the hvnode-vmm fuzz seed corpus (vmm/fuzz/corpus/<target>/) deterministically.
Ring inputs follow fuzz_ring.h: 10 bytes (queue size log2, last_avail lo/hi, flags: bit 0
indirect, bit 1 event index, bit 2 read-only disk; used_idx lo/hi; the ring addresses: here
descriptors at 0, avail at 0x1000, used at 0x2000), then guest memory, data from 0x3000.  Run: python3 vmm/fuzz/mkseeds.py"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
NEXT, WRITE, INDIRECT = 1, 2, 4


def ring(descs, heads, qlog=3, flags=1, extra=None):
    mem = bytearray(0x3400)
    for i, (addr, ln, fl, nxt) in enumerate(descs):
        struct.pack_into("<QIHH", mem, 16 * i, addr, ln, fl, nxt)
    struct.pack_into("<HH", mem, 0x1000, 0, len(heads))
    for i, h in enumerate(heads):
        struct.pack_into("<H", mem, 0x1004 + 2 * i, h)
    for off, blob in (extra or {}).items():
        mem[off:off + len(blob)] = blob
    return bytes([qlog, 0, 0, flags, 0, 0, 0, 0, 0x1000 >> 6, 0x2000 >> 6]) + bytes(mem).rstrip(b"\0")


def blk(kind, sector, dlen, write):
    hdr = struct.pack("<IIQ", kind, 0, sector)
    return ring([(0x3000, 16, NEXT, 1), (0x3100, dlen, NEXT | (WRITE if write else 0), 2),
                 (0x33f0, 1, WRITE, 0)], [0], extra={0x3000: hdr})


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def rings():
    write("virtq", "simple", ring([(0x3000, 16, NEXT, 1), (0x3010, 64, WRITE, 0)], [0]))
    indirect = b"".join(struct.pack("<QIHH", *d) for d in [(0x3000, 16, NEXT, 1), (0x3100, 8, WRITE, 0)])
    write("virtq", "indirect", ring([(0x3200, 32, INDIRECT, 0)], [0], extra={0x3200: indirect}))
    write("virtq", "loop", ring([(0x3000, 8, NEXT, 1), (0x3000, 8, NEXT, 0)], [0]))
    write("virtq", "two", ring([(0x3000, 8, 0, 0), (0x3008, 8, WRITE, 0)], [0, 1]))
    write("virtq", "event-idx", ring([(0x3000, 8, 0, 0), (0x3008, 8, WRITE, 0)], [0, 1], flags=3,
                                     extra={0x1004 + 2 * 8: struct.pack("<H", 1)}))
    write("blk", "in", blk(0, 1, 512, True))
    write("blk", "out", blk(1, 2, 1024, False))
    write("blk", "flush", ring([(0x3000, 16, NEXT, 1), (0x33f0, 1, WRITE, 0)], [0],
                                extra={0x3000: struct.pack("<IIQ", 4, 0, 0)}))
    write("blk", "getid", blk(8, 0, 20, True))
    write("net", "tx", ring([(0x3000, 12 + 60, 0, 0)], [0]))
    write("net", "rx", ring([(0x3000, 1526, WRITE, 0)], [0]))
    write("net", "tx2", ring([(0x3000, 12, NEXT, 1), (0x3100, 60, 0, 0)], [0]))


def config():
    write("config", "full", b'{"kernel": "/k", "initrd": "/i", "cmdline": "console=ttyS0 \\"q\\"\\u0041",'
          b' "mem": "256M", "cpus": 2, "disk": ["/a", "/b,ro"], "net": "tap=tap0,mac=02:00:00:00:00:01",'
          b' "rng": true, "console": "file:/log", "api-socket": "/s", "name": "vm", "user": "nobody"}')
    write("config", "empty", b"{}")
    write("config", "bad", b'{"cpus": 01, "x": [}')


def loader():
    bz = bytearray(5 * 512 + 64)
    bz[0x1f1] = 4
    bz[0x1fe:0x200] = b"\x55\xaa"
    bz[0x201] = 0x6a
    bz[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", bz, 0x206, 0x020f)
    bz[0x211] = 1
    struct.pack_into("<I", bz, 0x22c, 0x7fffffff)
    struct.pack_into("<H", bz, 0x236, 1)
    struct.pack_into("<I", bz, 0x238, 2048)
    struct.pack_into("<I", bz, 0x260, 0x10000)
    write("loader", "bzimage", bytes(bz))
    eh = bytearray(64)
    eh[0:7] = b"\x7fELF\x02\x01\x01"
    struct.pack_into("<HHIQQQIHHHHHH", eh, 16, 2, 62, 1, 0x1000000, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    ph = struct.pack("<IIQQQQQQ", 1, 7, 128, 0xffffffff81000000, 0x1000000, 64, 128, 0x1000)
    write("loader", "elf", bytes(eh) + ph + b"\xcc" * 64)


if __name__ == "__main__":
    rings()
    config()
    loader()
