#!/usr/bin/env python3
"""hvnode test manager: the reference server for the hvnode-agent protocol (agent/PROTOCOL.md).

Test-only. There is no authentication beyond the join token and the per-node credentials, and
the node records and their desired VMs live in an sqlite file in the run directory
(DIR/nodes.sqlite). Python standard library plus the `openssl` CLI (for the certificates).

  manager.py serve DIR [--port N] [--listen ADDR] [--token T] [--mode MODE] [--interval S]
                       [--ssh-key PUBKEYFILE]... [--retry-after S]
      Serves HTTPS until SIGTERM/SIGINT. On first use of DIR it makes an EC P-256
      CA (ca.key, ca.pem) and a server certificate signed by it (server.key, server.pem) naming
      10.0.2.2 (the host as QEMU user networking shows it), 127.0.0.1 and localhost; later runs
      with the same DIR reuse them, so a node keeps trusting a restarted manager. Writes the SPKI
      pin to DIR/pin, the bound port to DIR/port, the mode to DIR/mode, and prints one line:
        manager: listening on https://ADDR:PORT pin sha256//... mode MODE
      Endpoints (any other path 404, any other method 405 with an Allow header):
        POST /api/v1/nodes                       register (bearer: the join token)
        POST /api/v1/nodes/{node_id}/heartbeat   heartbeat (bearer: the node's credential); the
                                                 reply carries the node's vms_generation; facts
                                                 in it replace the record's; a facts_sha256
                                                 other than the held facts' gets
                                                 "facts_wanted": true
        GET  /api/v1/nodes/{node_id}/vms         {"vms_generation": G, "vms": [SPEC, ...]}, the
                                                 node's desired VMs in creation order (bearer:
                                                 the node's credential; 404/401 as heartbeat)
        GET  /images/NAME                        the file DIR/images/NAME (application/octet-
                                                 stream; no authentication: the node checks the
                                                 sha256). NAME: [A-Za-z0-9._-]{1,128}, not
                                                 starting with '.', a regular file (not a
                                                 symlink); else 404.
      GET endpoints answer HEAD too. `vm create` fills DIR/images/ (files named by their
      sha256). If DIR/images/NAME.truncate exists, GET /images/NAME announces the full
      Content-Length, sends the first half of the bytes and closes the connection (a broken
      download). Every change to a node's VM list (the `vm` commands below) adds 1 to its
      vms_generation; the heartbeat reply carries it, so the node fetches the list.
      Every request is appended to DIR/requests.jsonl (method, path, status sent, Authorization,
      mode, body); every connection and TLS failure to DIR/connections.jsonl. DIR/mode is read
      again on every connection and request, so a test switches behaviour with
      `echo garbage > DIR/mode`. Modes (for register, heartbeat and vms; /images ignores them
      all but hang-tls, which acts before any request):
        normal       register 201, heartbeat 200, vms 200
        pending      register 202 {"reason"} with Retry-After (after the token check)
        error        500                      deny  403
        forget       heartbeat 401 and the node record (and its VMs) dropped; DIR/mode goes
                     back to normal
        stale        a stale replica: register as normal, every heartbeat 404
        garbage      201/200 with 4096 bytes of non-JSON
        wrong-types  201/200 with fields of the wrong types
        huge         201/200 with a 10 MiB body
        slow         holds the answer 120 s (logged on arrival with "status": null)
        hang-tls     accepts TCP, never does the TLS handshake (120 s, then closes)

  manager.py wait DIR [--path RE] [--method M] [--status N] [--auth RE] [--body RE] [--count N]
                    [--timeout S]
      Waits until COUNT logged requests match all filters (RE: re.search; --body on the body as
      json.dumps writes it), prints them (JSON lines), exit 0;
      exit 1 on timeout. Tests wait on this instead of sleeping.

  manager.py nodes DIR
      Prints the node records as a JSON array.

  Registration (agent/PROTOCOL.md "Register"): an unknown system uuid becomes a new node; a
  known one keeps its node_id and gets a new credential only when the request's "identity"
  proves the record's node_id and credential. Any other registration of a known uuid (a
  stateless node that rebooted, or someone holding the join token and the uuid) answers 202
  and is held until the operator approves it:
  A registration whose "identity" proves the node needs no valid join token (tokens are
  short-lived); the credential that proved a re-registration still proves the next one until
  the new credential is used, in case the 201 was lost.
  manager.py pending DIR
      Prints the held re-registrations: [{"uuid", "attempts", "approved", "peer", "node_id",
      "heartbeats", "hostname", "macs"}] (the record's heartbeat count keeps rising while the
      real node still runs: then a held registration is someone else's).
  manager.py approve DIR UUID
      Lets the next registration of UUID without its credential through, once: a held one, or
      one the operator expects (a stateless node about to reboot).

  manager.py vm COMMAND DIR NODE ...
      The desired VMs of a node. NODE is a node_id or a system uuid; an unknown NODE or VM
      NAME (or a NAME that exists, for create) is exit 2 with a message. NAME is the key these
      commands use; the node knows a VM by its spec's "name" (the same unless --set changed it).
      Specs are not checked here: refusing a bad spec is the node's job.
    vm create DIR NODE NAME --kernel FILE [--initrd FILE] [--cmdline S] [--vcpus N]
              [--memory-mib N] [--disk SPEC]... [--restart always|on-failure|never]
              [--state running|stopped] [--uuid U] [--base-url URL] [--set JSON]
        Adds a VM (vcpus 1, memory_mib 128, state running and a random uuid unless given) and
        prints its spec. Each FILE is copied to DIR/images/SHA256 and becomes {"url":
        BASE/images/SHA256, "sha256", "size_bytes"}; BASE is https://10.0.2.2:PORT (DIR/port)
        unless --base-url. --disk image=FILE[,readonly][,persistent] or
        size=BYTES[,readonly][,persistent]. --set: a JSON object merged last into the spec (top
        level), to inject bad values.
    vm start|stop DIR NODE NAME     sets state running|stopped; prints the spec
    vm set DIR NODE NAME JSON       merges the JSON object into the spec (top level); prints it
    vm delete DIR NODE NAME
    vm list DIR NODE
        Prints a JSON array of {"name", "spec", "reported"}: each desired VM with the entry of
        the same name in the node's last heartbeat "vms" (or null), then each reported VM that
        matches none with "spec": null.
    vm wait DIR NODE [NAME] [--state S] [--restarts N] [--error RE] [--absent] [--converged]
            [--timeout S]
        Polls until the node's last heartbeat reports VM NAME with state S, restarts N, an error
        matching RE (re.search), or NAME not at all (--absent), and with --converged a
        "vms_generation" equal to the node's current one. Prints the reported VM (the whole
        heartbeat body without NAME or with --absent), exit 0; on timeout (default 60 s) says
        on stderr what it last saw, exit 1. Tests wait on this instead of sleeping.
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
import stat
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit
from uuid import uuid4

MODES = ("normal", "pending", "error", "deny", "forget", "stale", "garbage", "wrong-types",
         "huge", "slow", "hang-tls")
REGISTER_PATH = "/api/v1/nodes"
HEARTBEAT_PATH = re.compile(r"^/api/v1/nodes/([^/]+)/heartbeat$")
VMS_PATH = re.compile(r"^/api/v1/nodes/([^/]+)/vms$")
IMAGE_PATH = re.compile(r"^/images/([^/]*)$")
ROUTES = (("register", re.compile("^" + re.escape(REGISTER_PATH) + "$")),
          ("heartbeat", HEARTBEAT_PATH), ("vms", VMS_PATH), ("image", IMAGE_PATH))
METHODS = {"register": ("POST",), "heartbeat": ("POST",), "vms": ("GET", "HEAD"),
           "image": ("GET", "HEAD")}
IMAGE_NAME = re.compile(r"[A-Za-z0-9._-]{1,128}")  # fullmatch; a leading '.' is refused too
CHUNK = 65536
MAX_BODY = 1 << 20
HUGE_BYTES = 10 << 20
HOLD_S = 120
GARBAGE = random.Random(4).randbytes(4096)  # not UTF-8, so never JSON
WRONG_TYPES = {
    "register": {"node_id": 42, "credential": ["x"], "heartbeat_interval_s": "soon"},
    "heartbeat": {"heartbeat_interval_s": -5, "ssh_authorized_keys": "not-a-list"},
    "vms": {"vms_generation": "soon", "vms": {}},
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
    """The node records and each node's desired VMs; shared by serve and the CLI commands."""
    SCHEMA = ("""CREATE TABLE IF NOT EXISTS nodes (
        uuid TEXT PRIMARY KEY, node_id TEXT UNIQUE NOT NULL, credential TEXT NOT NULL,
        registered INTEGER NOT NULL DEFAULT 0, heartbeats INTEGER NOT NULL DEFAULT 0,
        facts TEXT, last_heartbeat TEXT, vms_generation INTEGER NOT NULL DEFAULT 0,
        facts_updates INTEGER NOT NULL DEFAULT 0, previous_credential TEXT, facts_sha256 TEXT)""",
              """CREATE TABLE IF NOT EXISTS pending (
        uuid TEXT PRIMARY KEY, attempts INTEGER NOT NULL DEFAULT 0, approved INTEGER NOT NULL
        DEFAULT 0, facts TEXT, peer TEXT)""",
              """CREATE TABLE IF NOT EXISTS vms (
        node_id TEXT NOT NULL, name TEXT NOT NULL, position INTEGER NOT NULL, spec TEXT NOT NULL,
        PRIMARY KEY (node_id, name))""")

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        with self.db(write=True) as db:
            for statement in self.SCHEMA:
                db.execute(statement)
            columns = [row[1] for row in db.execute("PRAGMA table_info(nodes)")]
            for column in ("vms_generation", "facts_updates"):  # a DB from before them
                if column not in columns:
                    db.execute(f"ALTER TABLE nodes ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")
            for column in ("previous_credential", "facts_sha256"):
                if column not in columns:
                    db.execute(f"ALTER TABLE nodes ADD COLUMN {column} TEXT")
            if "peer" not in [row[1] for row in db.execute("PRAGMA table_info(pending)")]:
                db.execute("ALTER TABLE pending ADD COLUMN peer TEXT")

    @contextmanager
    def db(self, write=False):
        """A connection inside one transaction. write=True takes the write lock up front, so a
        read-modify-write is atomic against the other processes (CLI commands beside serve)."""
        conn = sqlite3.connect(self.path, timeout=10)
        try:
            with conn, self.lock:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield conn
        finally:
            conn.close()

    @staticmethod
    def proves(identity, node_id, credentials):
        """IDENTITY (the request's "identity", untrusted) names NODE_ID and one of CREDENTIALS."""
        if not isinstance(identity, dict) or identity.get("node_id") != node_id:
            return False
        given = identity.get("credential")
        try:
            given = given.encode() if isinstance(given, str) else None
        except UnicodeEncodeError:  # a lone surrogate from JSON
            return False
        return given is not None and any(c and hmac.compare_digest(given, c.encode())
                                         for c in credentials)

    def register(self, uuid, facts, identity, token_ok, peer):
        """A registration of system UUID (agent/PROTOCOL.md "Register"). An unknown UUID is a
        new node, with a valid join token (TOKEN_OK). A known UUID keeps its node_id and gets a
        fresh credential when IDENTITY proves the record's node_id and credential (or the one
        that proved the last re-registration, until the new one is used: its 201 may have been
        lost), with or without a valid token, or when the operator approved one re-registration
        (`approve`) and the token is valid; else, with a valid token, it is held as pending
        (PEER recorded). Returns ("registered", node_id, credential), ("pending", node_id,
        None) or ("token", None, None) for a bad token without proof."""
        credential = secrets.token_urlsafe(32)
        with self.db(write=True) as db:
            row = db.execute("SELECT node_id, credential, previous_credential FROM nodes "
                             "WHERE uuid = ?", (uuid,)).fetchone()
            proven = bool(row) and self.proves(identity, row[0], row[1:])
            if not proven and not token_ok:
                return "token", None, None
            if row and not proven:
                approved = db.execute("SELECT 1 FROM pending WHERE uuid = ? AND approved = 1",
                                      (uuid,)).fetchone()
                if not approved:
                    db.execute("""INSERT INTO pending (uuid, attempts, facts, peer)
                                  VALUES (?, 1, ?, ?) ON CONFLICT(uuid) DO UPDATE SET
                                  attempts = attempts + 1, facts = excluded.facts,
                                  peer = excluded.peer""", (uuid, json.dumps(facts), peer))
                    return "pending", row[0], None
            node_id = row[0] if row else secrets.token_hex(8)
            # The credential that proved this one stays good for proving a re-registration
            # until the new one is used; an approved (unproven) one revokes it.
            previous = identity["credential"] if proven else None
            db.execute("DELETE FROM pending WHERE uuid = ?", (uuid,))
            digest = facts.get("facts_sha256")
            digest = digest if isinstance(digest, str) else None
            db.execute("""INSERT INTO nodes (uuid, node_id, credential, registered, facts,
                          previous_credential, facts_sha256) VALUES (?, ?, ?, 1, ?, ?, ?)
                          ON CONFLICT(uuid) DO UPDATE SET credential = excluded.credential,
                          registered = registered + 1, facts = excluded.facts,
                          previous_credential = excluded.previous_credential,
                          facts_sha256 = excluded.facts_sha256""",
                       (uuid, node_id, credential, json.dumps(facts), previous, digest))
        return "registered", node_id, credential

    def approve(self, uuid):
        """Lets the next registration of UUID without its credential through, once (a pending
        one, or one the operator expects: a stateless node about to reboot)."""
        with self.db(write=True) as db:
            db.execute("""INSERT INTO pending (uuid, approved) VALUES (?, 1)
                          ON CONFLICT(uuid) DO UPDATE SET approved = 1""", (uuid,))

    def pending(self):
        """The held re-registrations, each with what the operator needs to tell a rebooted
        node from a takeover: the address it came from, the hostname and NICs it claims, and
        the record's heartbeat count (a node still heartbeating has not rebooted)."""
        with self.db() as db:
            rows = db.execute("""SELECT p.uuid, p.attempts, p.approved, p.peer, p.facts,
                                 n.node_id, n.heartbeats FROM pending p
                                 LEFT JOIN nodes n ON n.uuid = p.uuid ORDER BY p.uuid""").fetchall()
        out = []
        for uuid, attempts, approved, peer, facts, node_id, heartbeats in rows:
            facts = json.loads(facts) if facts else {}
            out.append({"uuid": uuid, "attempts": attempts, "approved": bool(approved),
                        "peer": peer, "node_id": node_id, "heartbeats": heartbeats,
                        "hostname": facts.get("hostname") if isinstance(facts, dict) else None,
                        "macs": sorted(n.get("mac") for n in facts.get("nics", [])
                                       if isinstance(n, dict) and isinstance(n.get("mac"), str))
                        if isinstance(facts, dict) and isinstance(facts.get("nics"), list)
                        else []})
        return out

    def credential(self, node_id):
        with self.db() as db:
            row = db.execute("SELECT credential FROM nodes WHERE node_id = ?",
                             (node_id,)).fetchone()
        return row[0] if row else None

    def heartbeat(self, node_id, body):
        """Records the heartbeat, and the facts it carries (they changed on the node: they
        replace the record's, with the heartbeat's facts_sha256, and facts_updates counts
        them). Returns (the node's vms_generation, whether to ask for the facts: the
        heartbeat's facts_sha256 is not that of the facts held), or None if the node is gone."""
        facts = body.get("facts") if isinstance(body, dict) else None
        digest = body.get("facts_sha256") if isinstance(body, dict) else None
        digest = digest if isinstance(digest, str) else None
        system = facts.get("system") if isinstance(facts, dict) else None
        with self.db(write=True) as db:
            row = db.execute("SELECT uuid, vms_generation, facts_sha256 FROM nodes "
                             "WHERE node_id = ?", (node_id,)).fetchone()
            if row is None:
                return None
            uuid, generation, held = row
            db.execute("UPDATE nodes SET heartbeats = heartbeats + 1, last_heartbeat = ?, "
                       "previous_credential = NULL WHERE node_id = ?", (json.dumps(body), node_id))
            if (isinstance(system, dict) and isinstance(system.get("uuid"), str)
                    and system["uuid"].lower() == uuid):
                facts = {k: v for k, v in facts.items() if k != "identity"}
                db.execute("UPDATE nodes SET facts = ?, facts_updates = facts_updates + 1, "
                           "facts_sha256 = ? WHERE node_id = ?",
                           (json.dumps(facts), digest, node_id))
                held = digest
        return generation, digest is not None and digest != held

    def forget(self, node_id):
        with self.db(write=True) as db:
            db.execute("DELETE FROM vms WHERE node_id = ?", (node_id,))
            return db.execute("DELETE FROM nodes WHERE node_id = ?", (node_id,)).rowcount

    def records(self):
        keys = ("node_id", "uuid", "registered", "heartbeats", "facts", "last_heartbeat",
                "vms_generation", "facts_updates")
        with self.db() as db:
            rows = db.execute(f"SELECT {', '.join(keys)} FROM nodes ORDER BY rowid").fetchall()
        return [{k: json.loads(v) if k in ("facts", "last_heartbeat") and v else v
                 for k, v in zip(keys, row)} for row in rows]

    def node(self, ref):
        """The node whose node_id or system uuid is REF, as {node_id, uuid, vms_generation,
        last_heartbeat (parsed)}; None if there is none."""
        keys = ("node_id", "uuid", "vms_generation", "last_heartbeat")
        with self.db() as db:
            row = db.execute(f"SELECT {', '.join(keys)} FROM nodes WHERE node_id = ? OR uuid = ?",
                             (ref, ref.lower())).fetchone()
        if row is None:
            return None
        record = dict(zip(keys, row))
        record["last_heartbeat"] = json.loads(row[3]) if row[3] else None
        return record

    def vms(self, node_id):
        """(vms_generation, [(name, spec), ...] in creation order) read together; None for an
        unknown node."""
        with self.db() as db:
            row = db.execute("SELECT vms_generation FROM nodes WHERE node_id = ?",
                             (node_id,)).fetchone()
            rows = db.execute("SELECT name, spec FROM vms WHERE node_id = ? ORDER BY position",
                              (node_id,)).fetchall()
        return (row[0], [(name, json.loads(spec)) for name, spec in rows]) if row else None

    @staticmethod
    def bump(db, node_id):
        """Every change to a node's VM list: its vms_generation + 1, in the same transaction."""
        db.execute("UPDATE nodes SET vms_generation = vms_generation + 1 WHERE node_id = ?",
                   (node_id,))

    def vm_create(self, node_id, name, spec):
        """Appends VM NAME to the node's list; False if the node already has one by that name."""
        with self.db(write=True) as db:
            if db.execute("SELECT 1 FROM vms WHERE node_id = ? AND name = ?",
                          (node_id, name)).fetchone():
                return False
            db.execute("INSERT INTO vms (node_id, name, position, spec) "
                       "SELECT ?, ?, COALESCE(MAX(position), -1) + 1, ? FROM vms WHERE node_id = ?",
                       (node_id, name, json.dumps(spec), node_id))
            self.bump(db, node_id)
        return True

    def vm_update(self, node_id, name, changes):
        """Merges the dict CHANGES into VM NAME's spec (top level); the new spec, or None if the
        node has no such VM."""
        with self.db(write=True) as db:
            row = db.execute("SELECT spec FROM vms WHERE node_id = ? AND name = ?",
                             (node_id, name)).fetchone()
            if row is None:
                return None
            spec = {**json.loads(row[0]), **changes}
            db.execute("UPDATE vms SET spec = ? WHERE node_id = ? AND name = ?",
                       (json.dumps(spec), node_id, name))
            self.bump(db, node_id)
        return spec

    def vm_delete(self, node_id, name):
        """Removes VM NAME; False if the node has no such VM."""
        with self.db(write=True) as db:
            if not db.execute("DELETE FROM vms WHERE node_id = ? AND name = ?",
                              (node_id, name)).rowcount:
                return False
            self.bump(db, node_id)
        return True


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


def find_endpoint(path):
    """(endpoint name, its path argument or None), or (None, None) for an unknown path."""
    for name, pattern in ROUTES:
        match = pattern.match(path)
        if match:
            return name, match.group(1) if pattern.groups else None
    return None, None


def open_regular(path):
    """PATH opened for reading if it is a regular file (not a symlink, FIFO, ...), else None."""
    try:  # O_NONBLOCK: opening a FIFO does not wait for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return os.fdopen(fd, "rb")


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

    def start_reply(self, status, length, headers=(), content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
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
        if self.command == "HEAD":
            return
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
        endpoint, arg = find_endpoint(path)
        if endpoint is None:
            return self.reply(404, {"error": f"no such endpoint: {path}"})
        allowed = METHODS[endpoint]
        if self.command not in allowed:
            verb = "is" if len(allowed) == 1 else "are"
            return self.reply(405, {"error": f"only {' and '.join(allowed)} {verb} allowed here"},
                              [("Allow", ", ".join(allowed))])
        if endpoint == "image":  # no fault modes: only the per-file .truncate rule
            return self.image(arg)
        if self.fault(endpoint):
            return
        if endpoint == "register":
            return self.register()
        return getattr(self, endpoint)(arg)

    def fault(self, endpoint):
        """Answers for the fault modes; False lets the request through."""
        mode, ok = self.mode, 201 if endpoint == "register" else 200
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
        token_ok = token is not None and hmac.compare_digest(token, cfg.token.encode())
        system = self.json.get("system") if isinstance(self.json, dict) else None
        uuid = system.get("uuid") if isinstance(system, dict) else None
        bad = ("body must be a JSON object" if not isinstance(self.json, dict) else
               "system.uuid must be a non-empty string" if not isinstance(uuid, str) or not uuid
               else None)
        if bad:  # no proof can come with it: without the token, the token is what is wrong
            return self.reply(400, {"error": bad}) if token_ok else self.bad_token()
        if self.mode == "pending" and token_ok:
            return self.reply(202, {"reason": "pending approval"},
                              [("Retry-After", str(cfg.retry_after))])
        facts = {k: v for k, v in self.json.items() if k != "identity"}
        outcome, node_id, credential = self.server.db.register(
            uuid.lower(), facts, self.json.get("identity"), token_ok, self.client_address[0])
        if outcome == "token":
            return self.bad_token()
        if outcome == "pending":
            note(f"registration of known node {node_id} (uuid {uuid.lower()}) without its "
                 "credential: pending approval (manager.py approve)")
            return self.reply(202, {"reason": f"node {node_id} is registered already; a "
                                    "re-registration without its credential awaits approval"},
                              [("Retry-After", str(cfg.retry_after))])
        self.reply(201, {"node_id": node_id, "credential": credential,
                         "heartbeat_interval_s": cfg.interval,
                         "ssh_authorized_keys": cfg.ssh_keys})

    def bad_token(self):
        self.reply(401, {"error": "invalid join token"})

    def heartbeat(self, node_id):
        db = self.server.db
        if self.mode == "forget":
            dropped = db.forget(node_id)
            self.server.set_mode("normal")
            note(f"mode forget: dropped node {node_id} ({dropped} record); mode reset to normal")
            return self.reply(401, {"error": "unknown node or credential"})
        if self.mode == "stale":
            return self.reply(404, {"error": f"unknown node {node_id} (stale replica)"})
        if not self.authorized(node_id):
            return
        found = db.heartbeat(node_id, self.body_log)
        if found is None:
            return self.reply(404, {"error": f"unknown node {node_id}"})
        generation, facts_wanted = found
        answer = {"heartbeat_interval_s": self.server.cfg.interval, "vms_generation": generation}
        if facts_wanted:
            answer["facts_wanted"] = True
        self.reply(200, answer)

    def authorized(self, node_id):
        """The bearer is NODE_ID's credential; else answers 404 (unknown node) or 401."""
        credential = self.server.db.credential(node_id)
        if credential is None:
            self.reply(404, {"error": f"unknown node {node_id}"})
            return False
        token = bearer(self.headers)
        if token is None or not hmac.compare_digest(token, credential.encode()):
            self.reply(401, {"error": "unknown node or credential"})
            return False
        return True

    def vms(self, node_id):
        """The node's desired VMs: {"vms_generation": G, "vms": [SPEC, ...]}."""
        if not self.authorized(node_id):
            return
        found = self.server.db.vms(node_id)
        if found is None:  # forgotten since the credential check
            return self.reply(404, {"error": f"unknown node {node_id}"})
        generation, rows = found
        self.reply(200, {"vms_generation": generation, "vms": [spec for _, spec in rows]})

    def image(self, name):
        """Streams DIR/images/NAME. With NAME.truncate beside it, a GET gets the full
        Content-Length but only the first half of the bytes, then the connection closes."""
        path = os.path.join(self.server.dir, "images", name)
        f = open_regular(path) if IMAGE_NAME.fullmatch(name) and name[0] != "." else None
        if f is None:
            return self.reply(404, {"error": f"no such image: {name}"})
        with f:
            size = os.fstat(f.fileno()).st_size
            left = size
            if self.command == "GET" and os.path.exists(path + ".truncate"):
                left, self.close_connection = size // 2, True
                note(f"image {name}: {path}.truncate exists, sending {left} of {size} bytes")
            self.start_reply(200, size, content_type="application/octet-stream")
            if self.command == "HEAD":
                return
            while left > 0:
                chunk = f.read(min(CHUNK, left))
                if not chunk:  # the file shrank: the promised length cannot be kept
                    self.close_connection = True
                    break
                self.wfile.write(chunk)
                left -= len(chunk)


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
    os.makedirs(os.path.join(args.dir, "images"), exist_ok=True)
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
            and (args.auth is None or re.search(args.auth, req.get("auth") or ""))
            and (args.body is None or re.search(args.body, json.dumps(req.get("body")))))


def cmd_wait(args):
    log = os.path.join(args.dir, "requests.jsonl")
    deadline = time.monotonic() + args.timeout
    while True:
        found = [line for line, req in request_lines(log) if matches(req, args)]
        if len(found) >= args.count:
            print("\n".join(found))
            return 0
        if time.monotonic() >= deadline:
            wanted = {k: getattr(args, k) for k in ("path", "method", "status", "auth", "body")
                      if getattr(args, k) is not None}
            print(f"manager: wait: {len(found)} of {args.count} requests matching {wanted} "
                  f"in {log} within {args.timeout:g} s", file=sys.stderr)
            return 1
        time.sleep(0.2)


def cmd_approve(args):
    NodeDB(os.path.join(args.dir, "nodes.sqlite")).approve(args.uuid.lower())
    return 0


def cmd_pending(args):
    path = os.path.join(args.dir, "nodes.sqlite")
    print(json.dumps(NodeDB(path).pending() if os.path.exists(path) else [], indent=2))
    return 0


def cmd_nodes(args):
    path = os.path.join(args.dir, "nodes.sqlite")
    records = NodeDB(path).records() if os.path.exists(path) else []
    print(json.dumps(records, indent=2))
    return 0


# --- vm commands ---------------------------------------------------------------------------

def usage_error(message):
    note(message)
    raise SystemExit(2)


def open_node(args):
    """(NodeDB of DIR, the record of NODE), or exit 2."""
    path = os.path.join(args.dir, "nodes.sqlite")
    if not os.path.exists(path):
        usage_error(f"no node records in {args.dir} (no {path})")
    db = NodeDB(path)
    record = db.node(args.node)
    if record is None:
        usage_error(f"no node {args.node!r} in {args.dir}: neither a node_id nor a system uuid")
    return db, record


def json_object(text, what):
    try:
        value = json.loads(text)
    except ValueError as e:
        usage_error(f"{what}: not JSON: {e}")
    if not isinstance(value, dict):
        usage_error(f"{what}: not a JSON object")
    return value


def base_url(args):
    """--base-url, else https://10.0.2.2:PORT with the port serve wrote to DIR/port."""
    if args.base_url:
        return args.base_url.rstrip("/")
    try:
        with open(os.path.join(args.dir, "port")) as f:
            port = f.read().strip()
    except FileNotFoundError:
        usage_error(f"no {args.dir}/port (serve has not run there): give --base-url")
    return f"https://10.0.2.2:{port}"


def store_image(args, path):
    """Copies PATH to DIR/images/SHA256 (streamed); the spec's IMAGE object for it."""
    images = os.path.join(args.dir, "images")
    os.makedirs(images, exist_ok=True)
    try:
        src = open(path, "rb")
    except OSError as e:
        usage_error(f"cannot read {path}: {e}")
    digest, size = hashlib.sha256(), 0
    fd, tmp = tempfile.mkstemp(dir=images, prefix=".tmp-")  # a leading '.' is never served
    try:
        with src, os.fdopen(fd, "wb") as out:
            for chunk in iter(lambda: src.read(CHUNK), b""):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        os.chmod(tmp, 0o644)
        os.replace(tmp, os.path.join(images, digest.hexdigest()))
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    sha = digest.hexdigest()
    return {"url": f"{base_url(args)}/images/{sha}", "sha256": sha, "size_bytes": size}


def parse_disk(args, text):
    """--disk image=FILE[,readonly][,persistent] or size=BYTES[,readonly][,persistent]."""
    first, *flags = text.split(",")
    key, sep, value = first.partition("=")
    unknown = [f for f in flags if f not in ("readonly", "persistent")]
    if not sep or key not in ("image", "size") or unknown:
        usage_error(f"--disk {text!r}: want image=FILE or size=BYTES, then ,readonly ,persistent")
    if key == "image":
        disk = {"image": store_image(args, value)}
    else:
        try:
            disk = {"size_bytes": int(value)}
        except ValueError:
            usage_error(f"--disk {text!r}: size is not an integer")
    disk.update(readonly="readonly" in flags, persistent="persistent" in flags)
    return disk


def parse_nic(text):
    """--nic vlan=N[,mac=MAC] (vlan 0: untagged)."""
    nic = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or key not in ("vlan", "mac") or key in nic:
            usage_error(f"--nic {text!r}: want vlan=N[,mac=MAC]")
        nic[key] = value
    if "vlan" not in nic or not nic["vlan"].isdigit():
        usage_error(f"--nic {text!r}: vlan=N (0-4094) is required")
    nic["vlan"] = int(nic["vlan"])
    return nic


def print_json(value):
    print(json.dumps(value, indent=2))


def cmd_vm_create(args):
    db, record = open_node(args)
    extra = json_object(args.set, "--set") if args.set is not None else {}
    spec = {"name": args.name, "uuid": str(uuid4()) if args.uuid is None else args.uuid, "state": args.state,
            "vcpus": args.vcpus, "memory_mib": args.memory_mib,
            "kernel": store_image(args, args.kernel)}
    if args.initrd is not None:
        spec["initrd"] = store_image(args, args.initrd)
    if args.cmdline is not None:
        spec["cmdline"] = args.cmdline
    if args.disk:
        spec["disks"] = [parse_disk(args, d) for d in args.disk]
    if args.nic:
        spec["nics"] = [parse_nic(n) for n in args.nic]
    if args.restart is not None:
        spec["restart"] = args.restart
    spec.update(extra)
    if not db.vm_create(record["node_id"], args.name, spec):
        usage_error(f"node {record['node_id']} already has a VM {args.name!r}")
    print_json(spec)
    return 0


def update_vm(args, changes):
    db, record = open_node(args)
    spec = db.vm_update(record["node_id"], args.name, changes)
    if spec is None:
        usage_error(f"node {record['node_id']} has no VM {args.name!r}")
    print_json(spec)
    return 0


def cmd_vm_start(args):
    return update_vm(args, {"state": "running"})


def cmd_vm_stop(args):
    return update_vm(args, {"state": "stopped"})


def cmd_vm_set(args):
    return update_vm(args, json_object(args.json, "JSON"))


def cmd_vm_delete(args):
    db, record = open_node(args)
    if not db.vm_delete(record["node_id"], args.name):
        usage_error(f"node {record['node_id']} has no VM {args.name!r}")
    return 0


def reported_vms(heartbeat):
    """The VM objects in a heartbeat body's "vms" ([] when there is no such list)."""
    vms = heartbeat.get("vms") if isinstance(heartbeat, dict) else None
    return [vm for vm in vms if isinstance(vm, dict)] if isinstance(vms, list) else []


def cmd_vm_list(args):
    db, record = open_node(args)
    _, rows = db.vms(record["node_id"])
    reported = reported_vms(record["last_heartbeat"])
    listed, matched = [], set()
    for name, spec in rows:
        key = spec.get("name")  # the name the node knows it by
        found = next((i for i, vm in enumerate(reported) if i not in matched
                      and isinstance(key, str) and vm.get("name") == key), None)
        if found is not None:
            matched.add(found)
        listed.append({"name": name, "spec": spec,
                       "reported": None if found is None else reported[found]})
    listed += [{"name": vm.get("name"), "spec": None, "reported": vm}
               for i, vm in enumerate(reported) if i not in matched]
    print_json(listed)
    return 0


def same_int(value, wanted):
    return isinstance(value, int) and not isinstance(value, bool) and value == wanted


def vm_wait_match(record, args):
    """What vm wait prints once the node's last heartbeat meets every condition, else None."""
    body = record["last_heartbeat"] if record else None
    if not isinstance(body, dict):
        return None
    if args.converged and not same_int(body.get("vms_generation"), record["vms_generation"]):
        return None
    if args.name is None:
        return body
    vm = next((vm for vm in reported_vms(body) if vm.get("name") == args.name), None)
    if args.absent:
        return body if vm is None else None
    error = vm.get("error") if vm else None
    if (vm is None or (args.state is not None and vm.get("state") != args.state)
            or (args.restarts is not None and not same_int(vm.get("restarts"), args.restarts))
            or (args.error is not None
                and not (isinstance(error, str) and re.search(args.error, error)))):
        return None
    return vm


def cmd_vm_wait(args):
    conditions = {k: getattr(args, k) for k in ("state", "restarts", "error")
                  if getattr(args, k) is not None}
    if args.name is None and (conditions or args.absent):
        usage_error("vm wait: --state, --restarts, --error and --absent need a NAME")
    if args.absent and conditions:
        usage_error("vm wait: --absent goes with no --state, --restarts or --error")
    db, record = open_node(args)
    deadline = time.monotonic() + args.timeout
    while True:
        found = vm_wait_match(record, args)
        if found is not None:
            print_json(found)
            return 0
        if time.monotonic() >= deadline:
            break
        time.sleep(0.2)
        record = db.node(args.node)  # follows a node that registered again by its uuid
    wanted = {**({"name": args.name} if args.name else {}), **conditions,
              **({"absent": True} if args.absent else {}),
              **({"converged": True} if args.converged else {})}
    body = record["last_heartbeat"] if record else None
    if record is None:
        seen = "the node is gone"
    elif body is None:
        seen = "no heartbeat yet"
    else:
        generation = body.get("vms_generation") if isinstance(body, dict) else None
        seen = (f"last heartbeat vms_generation {json.dumps(generation)} (the manager's: "
                f"{record['vms_generation']}), vms {json.dumps(reported_vms(body))}")
    print(f"manager: vm wait: node {args.node} did not report {json.dumps(wanted)} within "
          f"{args.timeout:g} s; {seen}", file=sys.stderr)
    return 1


VM_COMMANDS = {"create": cmd_vm_create, "start": cmd_vm_start, "stop": cmd_vm_stop,
               "set": cmd_vm_set, "delete": cmd_vm_delete, "list": cmd_vm_list,
               "wait": cmd_vm_wait}


def cmd_vm(args):
    return VM_COMMANDS[args.vm_command](args)


def add_vm_parser(sub):
    """manager.py vm COMMAND DIR NODE ...: the desired VMs of a node."""
    v = sub.add_parser("vm", help="edit and watch a node's desired VMs")
    vsub = v.add_subparsers(dest="vm_command", required=True)

    def command(name, help, named=True):
        c = vsub.add_parser(name, help=help)
        c.add_argument("dir")
        c.add_argument("node", help="node_id or system uuid")
        if named:
            c.add_argument("name")
        return c

    c = command("create", "add a VM (prints its spec)")
    c.add_argument("--kernel", required=True, metavar="FILE")
    c.add_argument("--initrd", metavar="FILE")
    c.add_argument("--cmdline")
    c.add_argument("--vcpus", type=int, default=1)
    c.add_argument("--memory-mib", type=int, default=128)
    c.add_argument("--disk", action="append", metavar="SPEC",
                   help="image=FILE[,readonly][,persistent] or size=BYTES[,readonly][,persistent]")
    c.add_argument("--nic", action="append", metavar="SPEC",
                   help="vlan=N[,mac=MAC]: a NIC untagged (0) or on VLAN N")
    c.add_argument("--restart", choices=("always", "on-failure", "never"))
    c.add_argument("--state", choices=("running", "stopped"), default="running")
    c.add_argument("--uuid", help="default: a random uuid")
    c.add_argument("--base-url", help="default: https://10.0.2.2:PORT (DIR/port)")
    c.add_argument("--set", metavar="JSON", help="a JSON object merged last into the spec")
    command("start", "set state running")
    command("stop", "set state stopped")
    command("delete", "remove a VM")
    command("set", "merge a JSON object into a VM's spec").add_argument("json")
    command("list", "desired VMs beside what the node reported", named=False)
    w = command("wait", "wait for the node's heartbeat to report a VM state", named=False)
    w.add_argument("name", nargs="?")
    w.add_argument("--state")
    w.add_argument("--restarts", type=int)
    w.add_argument("--error", metavar="RE", help="regular expression (re.search)")
    w.add_argument("--absent", action="store_true", help="NAME is not reported")
    w.add_argument("--converged", action="store_true",
                   help="the heartbeat's vms_generation is the node's current one")
    w.add_argument("--timeout", type=float, default=60)


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
    w.add_argument("--body", help="regular expression on the body (as json.dumps writes it)")
    w.add_argument("--count", type=int, default=1)
    w.add_argument("--timeout", type=float, default=60)
    n = sub.add_parser("nodes", help="print the node records")
    n.add_argument("dir")
    a = sub.add_parser("approve", help="let one re-registration of a known node through")
    a.add_argument("dir")
    a.add_argument("uuid", help="the node's system uuid")
    sub.add_parser("pending", help="print the held re-registrations").add_argument("dir")
    add_vm_parser(sub)
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    return {"serve": cmd_serve, "wait": cmd_wait, "nodes": cmd_nodes, "approve": cmd_approve,
            "pending": cmd_pending, "vm": cmd_vm}[args.command](args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
