#!/usr/bin/env python3
"""A stand-in for hvnode-vmm in host tests of hvnode-supervisor (no KVM needed).

Takes hvnode-vmm's arguments (--name, --kernel, --initrd, --cpus, --mem, --cmdline, --disk,
--rng, --api-socket, --console stdio, --user UID:GID) and:
  - checks that the kernel, initrd and disks exist and are readable, else exits 111;
  - prints "FAKEVM: NAME booted uid=UID cpus=N mem=M disks=K" and one line per disk
    "FAKEVM: NAME disk PATH BYTES SHA256-OF-FIRST-4096-BYTES" on stdout (its serial console);
  - answers the VMM API on --api-socket: status, counters, shutdown (prints
    "FAKEVM: NAME shutdown requested" and exits 0), shutdown force;
  - with "fakevm.exit=N" in --cmdline exits N right after booting; with "fakevm.ignore-shutdown"
    it answers shutdown but never exits (the supervisor must kill it).
"""
import hashlib
import json
import os
import socket
import sys


def main(argv):
    opts, disks, i = {}, [], 1
    while i < len(argv):
        key = argv[i][2:]
        if key == "rng":
            i += 1
            continue
        val = argv[i + 1]
        if key == "disk":
            disks.append(val.split(",")[0])
        else:
            opts[key] = val
        i += 2
    name = opts["name"]
    for path in [opts["kernel"], opts.get("initrd")] + disks:
        if path and not os.access(path, os.R_OK):
            print(f"hvnode-vmm: unable to open {path}", file=sys.stderr)
            return 111
    uid = opts["user"].split(":")[0]
    out = sys.stdout
    out.write(f"FAKEVM: {name} booted uid={uid} cpus={opts['cpus']} mem={opts['mem']} "
              f"disks={len(disks)}\n")
    for d in disks:
        with open(d, "rb") as f:
            head = f.read(4096)
        out.write(f"FAKEVM: {name} disk {os.path.basename(d)} {os.path.getsize(d)} "
                  f"{hashlib.sha256(head).hexdigest()}\n")
    out.flush()
    words = opts.get("cmdline", "").split()
    for w in words:
        if w.startswith("fakevm.exit="):
            return int(w.split("=", 1)[1])
    ignore = "fakevm.ignore-shutdown" in words
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(opts["api-socket"])
    srv.listen(4)
    while True:
        conn, _ = srv.accept()
        with conn:
            line = conn.makefile().readline().strip()
            if line == "status":
                answer = {"state": "running", "vcpus": int(opts["cpus"])}
            elif line == "counters":
                answer = {"counters": [{"device": "vda", "kind": "virtio-blk", "requests": 1,
                                        "bytes": 512, "errors": 0}]}
            elif line.startswith("shutdown"):
                answer = {"ok": True, "action": "ctrl-alt-del", "force_after_s": 30}
            else:
                answer = {"ok": False, "error": "unknown request"}
            conn.sendall((json.dumps(answer) + "\n").encode())
        if line.startswith("shutdown"):
            out.write(f"FAKEVM: {name} shutdown requested\n")
            out.flush()
            if not ignore:
                return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
