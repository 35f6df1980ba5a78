#!/usr/bin/env python3
"""hvnode boot-test QMP helper.

  qmp.py SOCKET TIMEOUT_S COMMAND_JSON...
      Connects to QEMU's QMP server on the Unix socket SOCKET (QEMU started with
      -qmp unix:SOCKET,server=on,wait=off), negotiates capabilities, and runs each
      COMMAND_JSON (e.g. '{"execute": "set_link", "arguments": {"name": "n0", "up": false}}')
      in order. Exit 0 when every command returned, 1 naming the first that returned an error
      or when QEMU did not answer within TIMEOUT_S seconds (the socket may appear late).
"""
import json
import sys
import time

from console import connect_unix


def main():
    if len(sys.argv) < 4:
        print(__doc__.strip(), file=sys.stderr)
        return 100
    path, timeout, commands = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    deadline = time.monotonic() + timeout
    try:
        sock = connect_unix(path, deadline)
    except OSError as err:
        print(f"qmp.py: unable to connect to {path}: {err}", file=sys.stderr)
        return 1
    sock.settimeout(max(1.0, deadline - time.monotonic()))
    stream = sock.makefile("rw", encoding="utf-8")

    def reply():
        # Events ({"event": ...}) may come between a command and its answer: skip them.
        while True:
            line = stream.readline()
            if not line:
                raise OSError("QEMU closed the QMP connection")
            msg = json.loads(line)
            if "return" in msg or "error" in msg or "QMP" in msg:
                return msg

    try:
        reply()  # the greeting
        for cmd in ['{"execute": "qmp_capabilities"}'] + commands:
            stream.write(cmd + "\n")
            stream.flush()
            msg = reply()
            if "error" in msg:
                print(f"qmp.py: {cmd}: {msg['error'].get('desc', msg['error'])}", file=sys.stderr)
                return 1
    except (OSError, ValueError) as err:
        print(f"qmp.py: {path}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
