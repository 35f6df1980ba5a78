#!/usr/bin/env python3
"""hvnode boot-test console helper.

  console.py wait LOG MARKER TIMEOUT_S
      Polls the serial console log LOG until a line contains MARKER (a regular expression).
      Exit 0 when seen; 1 on timeout; 2 when a fatal pattern (kernel panic, boot failure of
      the initramfs) shows up first. On failure the last 40 console lines are printed. With
      CONSOLE_WRITER_PID set, gives up as soon as that process (QEMU) has exited.

  console.py sh SOCKET TIMEOUT_S COMMAND
      Runs COMMAND in the node's debug shell reachable on the QEMU serial Unix socket SOCKET
      (hvnode.debug_shell=ttyS1), prints its output and exits with its exit status (0-255),
      or 124 on timeout.
"""
import os
import re
import socket
import sys
import time

FATAL = re.compile(r"Kernel panic|hvnode-init: boot failed|end Kernel panic")


def tail(path, n=40):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        lines = []
    return "\n".join("    " + l for l in lines[-n:])


def wait(log, marker, timeout):
    pattern = re.compile(marker)
    deadline = time.monotonic() + timeout
    writer_gone = os.environ.get("CONSOLE_WRITER_PID", "")
    exited = False
    while True:
        try:
            with open(log, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            text = ""
        if pattern.search(text):
            return 0
        if FATAL.search(text):
            print(f"console: fatal message before /{marker}/ in {log}:\n{tail(log)}", file=sys.stderr)
            return 2
        if time.monotonic() >= deadline:
            print(f"console: /{marker}/ not seen in {log} within {timeout:.0f} s; last lines:\n{tail(log)}",
                  file=sys.stderr)
            return 1
        if writer_gone and not os.path.exists(f"/proc/{writer_gone}"):
            # The writer (QEMU) has exited: one last read above found no marker.
            if not exited:
                exited = True
                continue
            print(f"console: /{marker}/ not seen in {log}: its writer (pid {writer_gone}) exited; "
                  f"last lines:\n{tail(log)}", file=sys.stderr)
            return 1
        time.sleep(0.2)


def connect_unix(path, deadline):
    """A stream socket connected to the Unix socket PATH, retried every 0.2 s (QEMU may not
    have made it yet) until time.monotonic() passes DEADLINE; then the last OSError."""
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def shell(path, timeout, command):
    deadline = time.monotonic() + timeout
    try:
        s = connect_unix(path, deadline)
    except OSError:
        print(f"console: unable to connect to {path}", file=sys.stderr)
        return 124
    token = "%d_%d" % (os.getpid(), int(time.monotonic() * 1000))
    # The quotes split the markers in the echoed input, so only the shell's output matches.
    line = (f"echo HV''BEGIN_{token}; ( {command} ) 2>&1; echo HV''END_{token} $?\n")
    s.sendall(b"\n" + line.encode())
    begin = f"HVBEGIN_{token}"
    end = re.compile(r"HVEND_%s (\d+)" % token)
    buf = b""
    s.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        except socket.timeout:
            pass
        text = buf.decode("utf-8", "replace").replace("\r", "")
        m = end.search(text)
        if m and begin in text:
            out = text[text.index(begin) + len(begin):m.start()]
            sys.stdout.write(out.lstrip("\n"))
            return int(m.group(1))
    print(f"console: command timed out after {timeout:.0f} s: {command}\n{buf[-2000:]!r}", file=sys.stderr)
    return 124


def main(argv):
    if len(argv) == 5 and argv[1] == "wait":
        return wait(argv[2], argv[3], float(argv[4]))
    if len(argv) == 5 and argv[1] == "sh":
        return shell(argv[2], float(argv[3]), argv[4])
    print(__doc__, file=sys.stderr)
    return 100


if __name__ == "__main__":
    sys.exit(main(sys.argv))
