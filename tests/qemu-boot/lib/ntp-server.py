#!/usr/bin/env python3
"""ntp-server.py PORTFILE LOG: a small SNTP server (RFC 4330) for the boot tests, on
127.0.0.1 (QEMU's user network shows it to a node as 10.0.2.2, same port). It answers every
client request (mode 3) with a server reply (mode 4, stratum 2, no leap alarm) carrying this
host's clock, and writes the port it bound to PORTFILE and "listening", then one line per
answer, to LOG. Runs until killed."""
import os
import socket
import struct
import sys
import time

NTP_EPOCH = 2208988800  # seconds from 1900-01-01 to 1970-01-01


def ntp_time(t):
    """T (seconds since 1970) as a 64-bit NTP timestamp (32.32 fixed point since 1900)."""
    seconds = int(t) + NTP_EPOCH
    return struct.pack("!II", seconds & 0xFFFFFFFF, int((t % 1) * 2**32) & 0xFFFFFFFF)


def reply(request, received):
    """The mode 4 answer to REQUEST (the client's 48 bytes), or None for anything else."""
    if len(request) < 48 or request[0] & 7 != 3:
        return None
    version = (request[0] >> 3) & 7
    poll = request[2]
    header = struct.pack("!BBbbII4s", (0 << 6) | (version << 3) | 4, 2, poll, -20, 0, 16,
                         bytes([127, 127, 1, 0]))
    return header + ntp_time(received - 1) + request[40:48] + ntp_time(received) + \
        ntp_time(time.time())


def main():
    portfile, log = sys.argv[1:3]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    with open(portfile + ".new", "w") as f:
        f.write("%d\n" % sock.getsockname()[1])
    os.replace(portfile + ".new", portfile)
    with open(log, "a") as f:
        f.write("listening\n")
        f.flush()
        while True:
            data, peer = sock.recvfrom(512)
            answer = reply(data, time.time())
            if answer:
                sock.sendto(answer, peer)
                f.write("answered %s:%d\n" % peer)
                f.flush()


if __name__ == "__main__":
    main()
