#!/usr/bin/env python3
"""dhcp-server.py LISTEN_PORT QEMU_PORT LOG [--hostname H] [--domain D] [--ntp A,B]: a small DHCP server
(RFC 2131) on a QEMU `-netdev socket,udp=127.0.0.1:LISTEN_PORT,localaddr=127.0.0.1:QEMU_PORT`
link, where each UDP datagram is one Ethernet frame. It answers DISCOVER with an OFFER and
REQUEST with an ACK of 10.9.0.50/24 (router and DNS 10.9.0.1), carrying the host name (option
12) and domain name (option 15) given, byte for byte, and the NTP servers (option 42, dotted
quads) given: a hostile server for the boot tests,
which QEMU's own user-network DHCP cannot be. H and D are Python string literals' contents, so
"\\n" and "\\x1b" give a newline and an escape. One line per answer in LOG. Runs until killed."""
import argparse
import socket
import struct

SERVER_MAC = bytes.fromhex("525400999999")
SERVER_IP = bytes([10, 9, 0, 1])
CLIENT_IP = bytes([10, 9, 0, 50])
MAGIC = b"\x63\x82\x53\x63"


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def options_of(raw):
    opts, i = {}, 0
    while i < len(raw) and raw[i] != 255:
        if raw[i] == 0:
            i += 1
            continue
        if i + 1 >= len(raw):
            break
        code, length = raw[i], raw[i + 1]
        opts[code] = raw[i + 2:i + 2 + length]
        i += 2 + length
    return opts


def option(code, value):
    return bytes([code, len(value)]) + value


def answer(frame, args):
    """The OFFER or ACK for FRAME (a client's DHCP message), or None."""
    if len(frame) < 14 + 20 + 8 + 240 or frame[12:14] != b"\x08\x00":
        return None
    ihl = (frame[14] & 0x0F) * 4
    if frame[14 + 9] != 17:
        return None
    udp = frame[14 + ihl:]
    if struct.unpack("!H", udp[2:4])[0] != 67:
        return None
    bootp = udp[8:]
    if bootp[0] != 1 or bootp[236:240] != MAGIC:
        return None
    kind = options_of(bootp[240:]).get(53, b"\0")[0]
    if kind not in (1, 3):
        return None
    xid, chaddr = bootp[4:8], bootp[28:44]
    reply_kind = 2 if kind == 1 else 5
    opts = (option(53, bytes([reply_kind])) + option(54, SERVER_IP) +
            option(51, struct.pack("!I", 3600)) + option(1, bytes([255, 255, 255, 0])) +
            option(3, SERVER_IP) + option(6, SERVER_IP))
    if args.hostname is not None:
        opts += option(12, args.hostname)
    if args.domain is not None:
        opts += option(15, args.domain)
    if args.ntp:
        opts += option(42, b"".join(socket.inet_aton(a) for a in args.ntp.split(",")))
    opts += b"\xff"
    body = (bytes([2, 1, 6, 0]) + xid + b"\0\0" + b"\x80\x00" + b"\0" * 4 + CLIENT_IP +
            SERVER_IP + b"\0" * 4 + chaddr + b"\0" * 192 + MAGIC + opts)
    udp_out = struct.pack("!HHHH", 67, 68, 8 + len(body), 0) + body
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp_out), 0, 0, 64, 17, 0, SERVER_IP,
                     b"\xff" * 4)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return (b"\xff" * 6 + SERVER_MAC + b"\x08\x00" + ip + udp_out,
            "%s to %s" % ("OFFER" if reply_kind == 2 else "ACK", chaddr[:6].hex(":")))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("listen_port", type=int)
    p.add_argument("qemu_port", type=int)
    p.add_argument("log")
    p.add_argument("--hostname")
    p.add_argument("--domain")
    p.add_argument("--ntp", help="NTP servers for option 42, comma-separated dotted quads")
    args = p.parse_args()
    decode = lambda s: None if s is None else s.encode().decode("unicode_escape").encode("latin-1")
    args.hostname, args.domain = decode(args.hostname), decode(args.domain)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", args.listen_port))
    with open(args.log, "a") as f:
        f.write("listening\n")
    while True:
        frame, _ = sock.recvfrom(65536)
        out = answer(frame, args)
        if out:
            sock.sendto(out[0], ("127.0.0.1", args.qemu_port))
            with open(args.log, "a") as f:
                f.write(out[1] + "\n")


if __name__ == "__main__":
    main()
