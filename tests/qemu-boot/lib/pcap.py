#!/usr/bin/env python3
"""Reads a pcap file (QEMU's filter-dump of a node's uplink) for the boot tests.

  pcap.py markers FILE          prints "MARKER vlan N" once for each HVMARK:MARKER carried by a
                                frame (N: its 802.1Q VLAN id, 0 untagged), sorted
  pcap.py dhcp-client FILE VID  exits 0 if a frame tagged with VLAN VID carries IPv4 UDP to
                                port 67 (a DHCP client's request), else 1
"""
import re
import struct
import sys


def frames(path):
    """Yields (vid, frame without its tag) for each record; vid 0 when untagged."""
    data = open(path, "rb").read()
    off = 24  # the global header
    while off + 16 <= len(data):
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if frame[12:14] == b"\x81\x00" and len(frame) >= 18:
            yield struct.unpack("!H", frame[14:16])[0] & 0xfff, frame[:12] + frame[16:]
        else:
            yield 0, frame


def main(argv):
    if len(argv) == 3 and argv[1] == "markers":
        seen = {"%s vlan %d" % (m.decode(), vid)
                for vid, frame in frames(argv[2]) for m in re.findall(rb"HVMARK:([!-~]+)", frame)}
        print("\n".join(sorted(seen)))
        return 0
    if len(argv) == 4 and argv[1] == "dhcp-client":
        want = int(argv[3])
        for vid, f in frames(argv[2]):
            if vid == want and f[12:14] == b"\x08\x00" and len(f) >= 38 and f[23] == 17 and \
                    f[36:38] == b"\x00\x43":
                return 0
        return 1
    print(__doc__, file=sys.stderr)
    return 100


if __name__ == "__main__":
    sys.exit(main(sys.argv))
