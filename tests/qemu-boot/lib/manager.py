#!/usr/bin/env python3
"""hvnode test manager: the reference server for the hvnode-agent protocol (agent/PROTOCOL.md).

Test-only. There is no authentication beyond the join token and the per-node credentials, and
the node records live in an sqlite file in the run directory. Python standard library plus the
`openssl` CLI (for the certificates).

  manager.py serve DIR [--port N] [--listen ADDR] [--token T] [--mode MODE] [--interval S]
                       [--ssh-key PUBKEYFILE]... [--retry-after S]
      Serves /api/v1 over HTTPS until SIGTERM/SIGINT. On first use of DIR it makes an EC P-256
      CA (ca.key, ca.pem) and a server certificate signed by it (server.key, server.pem) naming
      10.0.2.2 (the host as QEMU user networking shows it), 127.0.0.1 and localhost; later runs
      with the same DIR reuse them, so a node keeps trusting a restarted manager. Writes the SPKI
      pin to DIR/pin, the bound port to DIR/port, the mode to DIR/mode, and prints one line:
        manager: listening on https://ADDR:PORT pin sha256//... mode MODE
      Every request is appended to DIR/requests.jsonl (method, path, status sent, Authorization,
      mode, body); every connection and TLS failure to DIR/connections.jsonl. DIR/mode is read
      again on every connection and request, so a test switches behaviour with
      `echo garbage > DIR/mode`. Modes:
        normal       register 201, heartbeat 200
        pending      register 202 {"reason"} with Retry-After (after the token check)
        error        500                      deny  403
        forget       heartbeat 401 and the node record is dropped; DIR/mode goes back to normal
        garbage      201/200 with 4096 bytes of non-JSON
        wrong-types  201/200 with fields of the wrong types
        huge         201/200 with a 10 MiB body
        slow         holds the answer 120 s (logged on arrival with "status": null)
        hang-tls     accepts TCP, never does the TLS handshake (120 s, then closes)

  manager.py wait DIR [--path RE] [--method M] [--status N] [--auth RE] [--count N] [--timeout S]
      Waits until COUNT logged requests match all filters, prints them (JSON lines), exit 0;
      exit 1 on timeout. Tests wait on this instead of sleeping.

  manager.py nodes DIR
      Prints the node records as a JSON array.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import signal
import socketserver
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

MODES = ("normal", "pending", "error", "deny", "forget", "garbage", "wrong-types", "huge",
         "slow", "hang-tls")
REGISTER_PATH = "/api/v1/nodes"
HEARTBEAT_PATH = re.compile(r"^/api/v1/nodes/([^/]+)/heartbeat$")
MAX_BODY = 1 << 20
HUGE_BYTES = 10 << 20
HOLD_S = 120
GARBAGE = random.Random(4).randbytes(4096)  # not UTF-8, so never JSON
WRONG_TYPES = {
    "register": {"node_id": 42, "credential": ["x"], "heartbeat_interval_s": "soon"},
    "heartbeat": {"heartbeat_interval_s": -5, "ssh_authorized_keys": "not-a-list"},
}
# mbedTLS 2.28 (the agent's TLS) matches the URL host against dNSName entries only, even for
# an IP address, so the IPs are listed as DNS names too; OpenSSL clients use the IP entries.
SERVER_EXT = """basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = IP:10.0.2.2, IP:127.0.0.1, DNS:localhost, DNS:10.0.2.2, DNS:127.0.0.1
"""


def note(message):
    print(f"manager: {message}", file=sys.stderr, flush=True)


def write_atomic(path, text):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


class JsonLines:
    """An append-only JSON-lines file shared by the handler threads."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def append(self, record):
        line = json.dumps(record, sort_keys=True) + "\n"
        with self.lock, open(self.path, "a") as f:
            f.write(line)
            f.flush()


# --- certificates ------------------------------------------------------------------------

def openssl(*args, stdin=None):
    result = subprocess.run(["openssl", *args], input=stdin, capture_output=True)
    if result.returncode != 0:
        sys.exit(f"manager: openssl {args[0]} failed: {result.stderr.decode().strip()}")
    return result.stdout


def new_key(path):
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
    os.chmod(path, 0o600)


def ensure_pki(d):
    """Makes the CA and the server certificate unless DIR already has them."""
    ca_key, ca_pem = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    key, pem = os.path.join(d, "server.key"), os.path.join(d, "server.pem")
    if not (os.path.exists(ca_key) and os.path.exists(ca_pem)):
        new_key(ca_key)
        openssl("req", "-x509", "-new", "-key", ca_key, "-sha256", "-days", "3650",
                "-subj", "/CN=hvnode test CA", "-out", ca_pem,
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        for stale in (key, pem):
            if os.path.exists(stale):
                os.unlink(stale)
    if not (os.path.exists(key) and os.path.exists(pem)):
        new_key(key)
        csr = openssl("req", "-new", "-key", key, "-subj", "/CN=hvnode test manager")
        with tempfile.NamedTemporaryFile("w", dir=d, prefix=".ext-") as ext:
            ext.write(SERVER_EXT)
            ext.flush()
            openssl("x509", "-req", "-CA", ca_pem, "-CAkey", ca_key, "-sha256", "-days", "3650",
                    "-set_serial", "0x" + secrets.token_hex(16), "-extfile", ext.name,
                    "-out", pem, stdin=csr)
    return key, pem


def spki_pin(cert):
    """curl's pin: sha256//base64(sha256(DER SubjectPublicKeyInfo))."""
    pem = openssl("x509", "-in", cert, "-noout", "-pubkey").decode()
    der = base64.b64decode("".join(l for l in pem.splitlines() if not l.startswith("-----")))
    return "sha256//" + base64.b64encode(hashlib.sha256(der).digest()).decode()


# --- node records ------------------------------------------------------------------------

class NodeDB:
    SCHEMA = """CREATE TABLE IF NOT EXISTS nodes (
        uuid TEXT PRIMARY KEY, node_id TEXT UNIQUE NOT NULL, credential TEXT NOT NULL,
        registered INTEGER NOT NULL DEFAULT 0, heartbeats INTEGER NOT NULL DEFAULT 0,
        facts TEXT, last_heartbeat TEXT)"""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        with self.db() as db:
            db.execute(self.SCHEMA)

    @contextmanager
    def db(self):
        conn = sqlite3.connect(self.path, timeout=10)
        try:
            with conn, self.lock:
                yield conn
        finally:
            conn.close()

    def register(self, uuid, facts):
        """Same uuid, same node_id; a fresh credential every time."""
        credential = secrets.token_urlsafe(32)
        with self.db() as db:
            row = db.execute("SELECT node_id FROM nodes WHERE uuid = ?", (uuid,)).fetchone()
            node_id = row[0] if row else secrets.token_hex(8)
            db.execute("""INSERT INTO nodes (uuid, node_id, credential, registered, facts)
                          VALUES (?, ?, ?, 1, ?) ON CONFLICT(uuid) DO UPDATE SET
                          credential = excluded.credential, registered = registered + 1,
                          facts = excluded.facts""", (uuid, node_id, credential, json.dumps(facts)))
        return node_id, credential

    def credential(self, node_id):
        with self.db() as db:
            row = db.execute("SELECT credential FROM nodes WHERE node_id = ?",
                             (node_id,)).fetchone()
        return row[0] if row else None

    def heartbeat(self, node_id, body):
        with self.db() as db:
            db.execute("UPDATE nodes SET heartbeats = heartbeats + 1, last_heartbeat = ? "
                       "WHERE node_id = ?", (json.dumps(body), node_id))

    def forget(self, node_id):
        with self.db() as db:
            return db.execute("DELETE FROM nodes WHERE node_id = ?", (node_id,)).rowcount

    def records(self):
        with self.db() as db:
            rows = db.execute("SELECT node_id, uuid, registered, heartbeats, facts, "
                              "last_heartbeat FROM nodes ORDER BY rowid").fetchall()
        keys = ("node_id", "uuid", "registered", "heartbeats", "facts", "last_heartbeat")
        return [{k: json.loads(v) if k in ("facts", "last_heartbeat") and v else v
                 for k, v in zip(keys, row)} for row in rows]


# --- HTTP --------------------------------------------------------------------------------

def parse_body(raw):
    """(parsed JSON or None, what the request log shows)."""
    if not raw:
        return None, None
    try:
        value = json.loads(raw.decode("utf-8"))
        return value, value
    except ValueError:
        return None, {"_raw": raw.decode("utf-8", "replace")[:2000]}


def bearer(headers):
    auth = headers.get("Authorization") or ""
    return auth[7:].encode("utf-8", "surrogateescape") if auth.startswith("Bearer ") else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hvnode-test-manager"
    timeout = 60

    def handle(self):
        self.requests_seen, self.error = 0, None
        try:
            super().handle()
        except OSError as e:
            self.error = str(e)

    def log_message(self, fmt, *args):
        note("%s:%d %s" % (*self.client_address[:2], fmt % args))

    def send_response(self, code, message=None):
        self.status_sent = code
        super().send_response(code, message)

    def send_error(self, code, message=None, explain=None):
        """Malformed requests and unknown methods: a JSON error, logged like any request."""
        self.close_connection = True
        self.body_log, self.mode = None, self.server.read_mode()
        try:
            self.reply(code, {"error": message or HTTPStatus(code).phrase})
        except OSError:
            pass
        self.log_request_line()

    def dispatch(self):
        self.requests_seen += 1
        self.status_sent, self.body_log, self.logged = None, None, False
        self.mode = self.server.read_mode()
        try:
            self.route()
        except OSError as e:  # the client hung up (huge, slow) or the TLS session broke
            self.close_connection = True
            note(f"{self.command} {self.path}: {e}")
        finally:
            if not self.logged:
                self.log_request_line()

    def __getattr__(self, name):  # do_POST, do_GET, any method: route() answers 404/405
        if name.startswith("do_"):
            return self.dispatch
        raise AttributeError(name)

    def log_request_line(self):
        self.logged = True
        headers = getattr(self, "headers", None)
        self.server.requests.append({
            "t": round(time.time(), 3), "method": self.command, "path": getattr(self, "path", None),
            "status": getattr(self, "status_sent", None), "mode": self.mode, "body": self.body_log,
            "auth": headers.get("Authorization") if headers else None})

    def start_reply(self, status, length, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(length))
        for name, value in headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def reply(self, status, obj, headers=()):
        self.reply_bytes(status, json.dumps(obj).encode(), headers)

    def reply_bytes(self, status, data, headers=()):
        self.start_reply(status, len(data), headers)
        if self.command != "HEAD":
            self.wfile.write(data)

    def reply_huge(self, status):
        """A valid JSON prefix, then 10 MiB of 'a', written in 64 KiB chunks."""
        prefix, chunk = b'{"node_id": "', b"a" * 65536
        self.close_connection = True
        self.start_reply(status, len(prefix) + HUGE_BYTES)
        self.wfile.write(prefix)
        for _ in range(HUGE_BYTES // len(chunk)):
            self.wfile.write(chunk)

    def read_body(self):
        """Reads the body (Content-Length only, at most MAX_BODY); False after an error reply."""
        length = self.headers.get("Content-Length") or "0"
        if self.headers.get("Transfer-Encoding") or not length.isdigit():
            self.close_connection = True
            return self.reply(411, {"error": "a body needs a valid Content-Length"})
        if int(length) > MAX_BODY:
            self.close_connection = True
            return self.reply(413, {"error": f"request body over {MAX_BODY} bytes"})
        self.json, self.body_log = parse_body(self.rfile.read(int(length)))
        return True

    def route(self):
        if not self.read_body():
            return
        path = urlsplit(self.path).path
        heartbeat = HEARTBEAT_PATH.match(path)
        if path != REGISTER_PATH and not heartbeat:
            return self.reply(404, {"error": f"no such endpoint: {path}"})
        if self.command != "POST":
            return self.reply(405, {"error": "only POST is allowed here"}, [("Allow", "POST")])
        endpoint = "heartbeat" if heartbeat else "register"
        if self.fault(endpoint):
            return
        if heartbeat:
            return self.heartbeat(heartbeat.group(1))
        return self.register()

    def fault(self, endpoint):
        """Answers for the fault modes; False lets the request through."""
        mode, ok = self.mode, 200 if endpoint == "heartbeat" else 201
        if mode == "error":
            self.reply(500, {"error": "test manager: induced failure"})
        elif mode == "deny":
            self.reply(403, {"error": "node not allowed by policy"})
        elif mode == "garbage":
            self.reply_bytes(ok, GARBAGE)
        elif mode == "wrong-types":
            self.reply(ok, WRONG_TYPES[endpoint])
        elif mode == "huge":
            self.reply_huge(ok)
        elif mode == "slow":
            self.log_request_line()  # status null: nothing sent yet
            if not self.server.stopping.wait(HOLD_S):
                self.reply(503, {"error": "test manager: slow answer, nothing done"})
        elif mode not in MODES:
            self.reply(500, {"error": f"test manager: unknown mode {mode!r}"})
        else:
            return False
        return True

    def register(self):
        cfg = self.server.cfg
        token = bearer(self.headers)
        if token is None or not hmac.compare_digest(token, cfg.token.encode()):
            return self.reply(401, {"error": "invalid join token"})
        if not isinstance(self.json, dict):
            return self.reply(400, {"error": "body must be a JSON object"})
        system = self.json.get("system")
        uuid = system.get("uuid") if isinstance(system, dict) else None
        if not isinstance(uuid, str) or not uuid:
            return self.reply(400, {"error": "system.uuid must be a non-empty string"})
        if self.mode == "pending":
            return self.reply(202, {"reason": "pending approval"},
                              [("Retry-After", str(cfg.retry_after))])
        node_id, credential = self.server.db.register(uuid.lower(), self.json)
        self.reply(201, {"node_id": node_id, "credential": credential,
                         "heartbeat_interval_s": cfg.interval,
                         "ssh_authorized_keys": cfg.ssh_keys})

    def heartbeat(self, node_id):
        db = self.server.db
        if self.mode == "forget":
            dropped = db.forget(node_id)
            self.server.set_mode("normal")
            note(f"mode forget: dropped node {node_id} ({dropped} record); mode reset to normal")
            return self.reply(401, {"error": "unknown node or credential"})
        credential = db.credential(node_id)
        if credential is None:
            return self.reply(404, {"error": f"unknown node {node_id}"})
        token = bearer(self.headers)
        if token is None or not hmac.compare_digest(token, credential.encode()):
            return self.reply(401, {"error": "unknown node or credential"})
        db.heartbeat(node_id, self.body_log)
        self.reply(200, {"heartbeat_interval_s": self.server.cfg.interval})


class Manager(ThreadingHTTPServer):
    """One thread per connection; the TLS handshake happens in that thread, not in accept."""
    daemon_threads = True
    block_on_close = False

    def __init__(self, cfg, tls):
        self.cfg, self.tls, self.dir = cfg, tls, cfg.dir
        self.stopping = threading.Event()
        self.requests = JsonLines(os.path.join(cfg.dir, "requests.jsonl"))
        self.connections = JsonLines(os.path.join(cfg.dir, "connections.jsonl"))
        self.db = NodeDB(os.path.join(cfg.dir, "nodes.sqlite"))
        super().__init__((cfg.listen, cfg.port), Handler)

    def server_bind(self):  # HTTPServer's version does a reverse DNS lookup
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def read_mode(self):
        try:
            with open(os.path.join(self.dir, "mode")) as f:
                return f.read().strip()
        except FileNotFoundError:
            return "normal"

    def set_mode(self, mode):
        write_atomic(os.path.join(self.dir, "mode"), mode + "\n")

    def finish_request(self, sock, peer):
        addr = "%s:%d" % peer[:2]
        mode = self.read_mode()
        self.connections.append({"event": "connect", "peer": addr, "mode": mode})
        if mode == "hang-tls":
            self.stopping.wait(HOLD_S)
            return  # the caller closes the socket
        sock.settimeout(Handler.timeout)
        try:
            conn = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
            conn.do_handshake()
        except OSError as e:
            self.connections.append({"event": "tls-error", "peer": addr, "error": str(e)})
            return
        try:
            handler = self.RequestHandlerClass(conn, peer, self)
            self.connections.append({"event": "close", "peer": addr, "tls": conn.version(),
                                     "requests": handler.requests_seen, "error": handler.error})
        finally:
            conn.close()


def read_ssh_keys(paths):
    keys = []
    for path in paths or ():
        with open(path) as f:
            keys += [l.strip() for l in f if l.strip() and not l.startswith("#")]
    return keys


def tls_context(key, pem):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(pem, key)
    return ctx


# --- commands ----------------------------------------------------------------------------

def cmd_serve(args):
    args.dir = os.path.abspath(args.dir)
    os.makedirs(args.dir, exist_ok=True)
    key, pem = ensure_pki(args.dir)
    pin = spki_pin(pem)
    args.ssh_keys = read_ssh_keys(args.ssh_key)
    try:
        server = Manager(args, tls_context(key, pem))
    except OSError as e:
        sys.exit(f"manager: cannot listen on {args.listen}:{args.port}: {e}")
    port = server.server_address[1]
    server.set_mode(args.mode)
    write_atomic(os.path.join(args.dir, "pin"), pin + "\n")
    write_atomic(os.path.join(args.dir, "port"), f"{port}\n")
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: server.stopping.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"manager: listening on https://{args.listen}:{port} pin {pin} mode {args.mode}",
          flush=True)
    while not server.stopping.wait(1):
        pass
    server.shutdown()
    server.server_close()
    note("stopped")
    return 0


def request_lines(path):
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return
    for line in text.splitlines(keepends=True):
        if line.endswith("\n"):  # a line still being written is skipped
            try:
                yield line.rstrip("\n"), json.loads(line)
            except ValueError:
                pass


def matches(req, args):
    return ((args.path is None or re.search(args.path, req.get("path") or ""))
            and (args.method is None or req.get("method") == args.method.upper())
            and (args.status is None or req.get("status") == args.status)
            and (args.auth is None or re.search(args.auth, req.get("auth") or "")))


def cmd_wait(args):
    log = os.path.join(args.dir, "requests.jsonl")
    deadline = time.monotonic() + args.timeout
    while True:
        found = [line for line, req in request_lines(log) if matches(req, args)]
        if len(found) >= args.count:
            print("\n".join(found))
            return 0
        if time.monotonic() >= deadline:
            wanted = {k: getattr(args, k) for k in ("path", "method", "status", "auth")
                      if getattr(args, k) is not None}
            print(f"manager: wait: {len(found)} of {args.count} requests matching {wanted} "
                  f"in {log} within {args.timeout:g} s", file=sys.stderr)
            return 1
        time.sleep(0.2)


def cmd_nodes(args):
    path = os.path.join(args.dir, "nodes.sqlite")
    records = NodeDB(path).records() if os.path.exists(path) else []
    print(json.dumps(records, indent=2))
    return 0


def parse_args(argv):
    p = argparse.ArgumentParser(description="hvnode test manager (test-only)")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve the hvnode-agent protocol over HTTPS")
    s.add_argument("dir")
    s.add_argument("--port", type=int, default=0, help="0 picks a free port")
    s.add_argument("--listen", default="0.0.0.0")
    s.add_argument("--token", default="test-join-token")
    s.add_argument("--mode", default="normal", choices=MODES)
    s.add_argument("--interval", type=int, default=5, help="heartbeat_interval_s to hand out")
    s.add_argument("--ssh-key", action="append", metavar="PUBKEYFILE")
    s.add_argument("--retry-after", type=int, default=2)
    w = sub.add_parser("wait", help="wait for logged requests")
    w.add_argument("dir")
    w.add_argument("--path", help="regular expression (re.search)")
    w.add_argument("--method")
    w.add_argument("--status", type=int)
    w.add_argument("--auth", help="regular expression on the Authorization header")
    w.add_argument("--count", type=int, default=1)
    w.add_argument("--timeout", type=float, default=60)
    n = sub.add_parser("nodes", help="print the node records")
    n.add_argument("dir")
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    return {"serve": cmd_serve, "wait": cmd_wait, "nodes": cmd_nodes}[args.command](args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
