# SUMMARY: hvnode-agent against the test manager on loopback: register, resume, a takeover held pending, pins, CA, and every manager fault without a crash
set -eu
: "${AGENT:?AGENT must name the built hvnode-agent}"
LIB=$TOP/tests/qemu-boot/lib
FACTS=$TOP/agent/tests/data/facts-root
M=$WORK/manager
mgr_pid= agent_pid= proxy_pid= n=0
cleanup() {
	[ -z "$agent_pid" ] || kill "$agent_pid" 2>/dev/null || true
	[ -z "$proxy_pid" ] || kill "$proxy_pid" 2>/dev/null || true
	[ -z "$mgr_pid" ] || kill "$mgr_pid" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap cleanup EXIT

python3 "$LIB/manager.py" serve "$M" --port 0 --interval 1 --retry-after 1 >"$WORK/manager.out" 2>&1 &
mgr_pid=$!
python3 "$LIB/console.py" wait "$WORK/manager.out" '^manager: listening' 30
port=$(cat "$M/port") pin=$(cat "$M/pin")
url=https://127.0.0.1:$port
other_pin=sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=

# facts_root NAME: $WORK/NAME.facts, the test facts with a system uuid of NAME's own, so each
# agent is a node of its own for the manager unless it is meant to be another's.
facts_root() {
	[ -d "$WORK/$1.facts" ] && return
	cp -a "$FACTS" "$WORK/$1.facts"
	printf %s "$1" | md5sum | sed 's/^\(.\{8\}\)\(.\{4\}\)\(.\{4\}\)\(.\{4\}\)\(.\{12\}\).*/\1-\2-\3-\4-\5/' \
		>"$WORK/$1.facts/sys/class/dmi/id/product_uuid"
}
# agent NAME CONFIG-LINES...: starts a fresh agent (own run dir; persist dir $WORK/NAME.p;
# the facts of node ${NODE:-NAME}), logging to $WORK/NAME.log.
agent() {
	name=$1
	shift
	printf '%s\n' "$@" >"$WORK/$name.conf"
	mkdir -p "$WORK/$name.p"
	facts_root "${NODE:-$name}"
	"$AGENT" -c "$WORK/$name.conf" --cmdline /dev/null --run-dir "$WORK/$name.run" \
		--persist-dir "$WORK/$name.p" --facts-root "$WORK/${NODE:-$name}.facts" >"$WORK/$name.log" 2>&1 &
	agent_pid=$!
}
# expect NAME REGEX [TIMEOUT_S]: the agent's log shows REGEX in time and the agent still runs.
expect() {
	python3 "$LIB/console.py" wait "$WORK/$1.log" "$2" "${3:-30}"
	kill -0 "$agent_pid" || { echo "FAIL: hvnode-agent exited"; exit 1; }
	n=$((n + 1))
	echo "  ok: $1: $2"
}
stop_agent() { kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true; agent_pid=; }
requests() { wc -l <"$M/requests.jsonl" 2>/dev/null || echo 0; }
mode() { echo "$1" >"$M/mode"; }
good="hvnode.manager=$url"
token=hvnode.join_token=test-join-token

# Register, heartbeat, identity kept on the persist dir.
agent first "$good" "hvnode.manager_pin=$pin" "$token"
expect first 'registered as node [0-9a-f]+ with https://127.0.0.1'
expect first 'heartbeat ok'
node_id=$(sed -n 's/^node_id=//p' "$WORK/first.p/agent/identity")
grep -q "^state=registered$" "$WORK/first.run/agent.state"
# A changed fact (the hostname here) reaches the manager with the next heartbeat.
echo renamed-node >"$WORK/first.facts/proc/sys/kernel/hostname"
expect first "the node's facts changed since the manager last got them: sending them with the heartbeat"
python3 "$LIB/manager.py" wait "$M" --path "^/api/v1/nodes/$node_id/heartbeat\$" --status 200 \
	--body '"facts": \{.*"hostname": "renamed-node"' --timeout 10 >/dev/null
python3 "$LIB/manager.py" nodes "$M" | grep -q '"hostname": "renamed-node"' ||
	{ echo "FAIL: the manager's record kept the old hostname"; exit 1; }
echo "  ok: first: the manager's record has the new hostname"
# A manager that lost the facts (a restore: it holds no facts_sha256) asks for them, and the
# next heartbeat carries them.
updates() { python3 "$LIB/manager.py" nodes "$M" | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["facts_updates"])'; }
before=$(updates)
python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("UPDATE nodes SET facts_sha256 = NULL"); c.commit()' "$M/nodes.sqlite"
expect first "the manager asked for the node's facts: sending them with the next heartbeat"
python3 "$LIB/manager.py" wait "$M" --path "^/api/v1/nodes/$node_id/heartbeat\$" --status 200 \
	--body '"facts": \{' --count 2 --timeout 10 >/dev/null
[ "$(updates)" -gt "$before" ] || { echo "FAIL: the facts the manager asked for did not come"; exit 1; }
echo "  ok: first: the facts the manager asked for came with the next heartbeat"
stop_agent
# A restart with an empty /run resumes from the persist dir: a heartbeat, no new registration.
before=$(grep -c '"path": "/api/v1/nodes"' "$M/requests.jsonl")
rm -rf "$WORK/first.run"
printf '%s\n' "$good" "hvnode.manager_pin=$pin" "$token" >"$WORK/first.conf"
resume_first() {
	"$AGENT" -c "$WORK/first.conf" --cmdline /dev/null --run-dir "$WORK/first.run" \
		--persist-dir "$WORK/first.p" --facts-root "$WORK/first.facts" >"$WORK/$1.log" 2>&1 &
	agent_pid=$!
}
resume_first resume
expect resume "resuming as node $node_id"
expect resume 'heartbeat ok'
[ "$(grep -c '"path": "/api/v1/nodes"' "$M/requests.jsonl")" = "$before" ] ||
	{ echo "FAIL: the resumed agent registered again"; exit 1; }
stop_agent
uuid=$(cat "$WORK/first.facts/sys/class/dmi/id/product_uuid")
# A takeover: the join token, the node's uuid and its node_id, but not its credential. The
# registration is held as pending; the node keeps its record and its credential.
mkdir -p "$WORK/takeover.p/agent"
printf 'manager=%s\nnode_id=%s\ncredential=forged\ninterval_s=1\n' "$url" "$node_id" \
	>"$WORK/takeover.p/agent/identity"
NODE=first agent takeover "$good" "hvnode.manager_pin=$pin" "$token"
expect takeover "no longer knows node $node_id \(HTTP 401\)"
expect takeover "registration with .* pending approval .*: HTTP 202: node $node_id is registered already; a re-registration without its credential awaits approval"
stop_agent
python3 "$LIB/manager.py" pending "$M" | grep -q "\"uuid\": \"$uuid\"" ||
	{ echo "FAIL: takeover: no pending re-registration for $uuid"; exit 1; }
rm -rf "$WORK/first.run"
resume_first first-again
expect first-again 'heartbeat ok'
stop_agent
echo "  ok: takeover: the node's own credential still works"
# A stateless node (nothing kept) registering again is held too, until the operator approves
# it; then it gets the same node_id, and one node stays on the manager.
NODE=first agent stateless "$good" "hvnode.manager_pin=$pin" "$token"
expect stateless "registration with .* pending approval"
python3 "$LIB/manager.py" approve "$M" "$uuid"
expect stateless "registered as node $node_id "
stop_agent
[ "$(python3 "$LIB/manager.py" nodes "$M" | grep -c '"node_id"')" = 1 ]
python3 "$LIB/manager.py" pending "$M" | grep -q '^\[\]$' ||
	{ echo "FAIL: stateless: the approval was not used up"; exit 1; }

# The manager forgets the node: back to registration.
agent forget "$good" "hvnode.manager_pin=$pin" "$token"
expect forget 'heartbeat ok'
mode forget
expect forget 'no longer knows node .* registering again'
expect forget 'registered as node'
stop_agent

# count_lines FILE REGEX N TIMEOUT_S: waits until FILE has N lines matching REGEX.
count_lines() {
	deadline=$(( $(date +%s) + $4 ))
	until [ "$(grep -Ec "$2" "$1" 2>/dev/null)" -ge "$3" ]; do
		[ "$(date +%s)" -lt "$deadline" ] || { echo "FAIL: $1: fewer than $3 lines match $2 within $4 s"; exit 1; }
		sleep 0.2
	done
}
# A stale replica: 201 to register, 404 to every heartbeat. The agent keeps its identity until
# a registration replaces it, and backs off: 4 rounds take at least 4 s (each wait is >= 1 s;
# the check allows 3 s, as the clock starts once the first line is seen; without a backoff
# they took well under 1 s).
agent stale "$good" "hvnode.manager_pin=$pin" "$token"
expect stale 'heartbeat ok'
mode stale
expect stale 'no longer knows node .* \(HTTP 404\): registering again in [0-9]+ s'
[ -s "$WORK/stale.p/agent/identity" ] || { echo "FAIL: stale: the identity was dropped at the first 404"; exit 1; }
echo "  ok: stale: the identity is kept after a 404"
t0=$(date +%s.%N)
count_lines "$WORK/stale.log" 'registering again in' 5 90
elapsed=$(echo "$(date +%s.%N) - $t0" | bc)
[ "$(echo "$elapsed >= 3" | bc)" = 1 ] || { echo "FAIL: stale: 4 register/404 rounds in $elapsed s: no backoff"; exit 1; }
echo "  ok: stale: 4 register/404 rounds took $elapsed s (backoff: $(grep -o 'registering again in [0-9]* s' "$WORK/stale.log" | awk '{ printf "%s ", $4 }')s)"
stop_agent
mode normal

# restart_manager TOKEN: the manager again, on the same port, keys and records, with join
# token TOKEN (and mode normal).
restart_manager() {
	kill "$mgr_pid"
	wait "$mgr_pid" 2>/dev/null || true
	python3 "$LIB/manager.py" serve "$M" --port "$port" --interval 1 --retry-after 1 --token "$1" \
		>"$WORK/manager-$1.out" 2>&1 &
	mgr_pid=$!
	python3 "$LIB/console.py" wait "$WORK/manager-$1.out" '^manager: listening' 30
}
# The join token rotated on the manager: a registered node the manager forgot the credential
# of (a stale replica) still registers again, its identity as proof.
agent rotated "$good" "hvnode.manager_pin=$pin" "$token"
expect rotated 'heartbeat ok'
stop_agent
restart_manager rotated-token
mode stale
agent rotated "$good" "hvnode.manager_pin=$pin" "$token"
expect rotated 'no longer knows node .* \(HTTP 404\)'
expect rotated 'registered as node'
mode normal
expect rotated 'heartbeat ok'
stop_agent
echo "  ok: rotated: a proven re-registration needs no valid join token"
restart_manager test-join-token
# The reference manager's rules, request by request: a lost 201 (the node still holds the
# credential that proved its last re-registration) is forgiven until the new one is used.
python3 - "$url" "$M/ca.pem" <<'PY'
import json, ssl, sys, urllib.error, urllib.request
url, ca = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca)
def post(path, bearer, body):
    req = urllib.request.Request(url + path, json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": "Bearer " + bearer,
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, context=ctx) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)
facts = {"protocol": 1, "system": {"uuid": "0d0d0d0d-1111-4222-8333-444444444444"}}
ident = lambda r, c=None: {**facts, "identity": {"node_id": r["node_id"], "credential": c or r["credential"]}}
s, a = post("/api/v1/nodes", "test-join-token", facts)
assert s == 201, (s, a)
s, b = post("/api/v1/nodes", "test-join-token", ident(a))
assert s == 201 and b["node_id"] == a["node_id"] and b["credential"] != a["credential"], (s, b)
s, c = post("/api/v1/nodes", "test-join-token", ident(a))  # b's 201 was lost
assert s == 201 and c["node_id"] == a["node_id"], ("a lost 201 is forgiven", s, c)
s, r = post(f"/api/v1/nodes/{c['node_id']}/heartbeat", c["credential"], {"uptime_s": 1})
assert s == 200, (s, r)
s, r = post("/api/v1/nodes", "test-join-token", ident(a))  # c is in use: a proves nothing now
assert s == 202, ("an old credential after the new one was used", s, r)
s, r = post("/api/v1/nodes", "wrong-token", facts)
assert s == 401, ("no token, no proof", s, r)
s, d = post("/api/v1/nodes", "wrong-token", ident(c))
assert s == 201 and d["node_id"] == c["node_id"], ("proof without a valid token", s, d)
s, r = post("/api/v1/nodes", "test-join-token", ident(c))  # d not used yet: c still proves
assert s == 201, (s, r)
PY
echo "  ok: manager rules: a lost 201 is forgiven until the new credential is used; proof needs no token; no token and no proof is 401"

# A crash loop: init respawns a killed agent at once. Each start within 60 s of the previous
# one waits a growing backoff first (RUN/agent.backoff), so it cannot contact the manager every
# second (register, or resume from RUN/identity and heartbeat).
rm -rf "$WORK/crash.run"
facts_root crash
for i in 1 2 3 4; do
	mkdir -p "$WORK/crash.p"
	"$AGENT" -c "$WORK/stale.conf" --cmdline /dev/null --run-dir "$WORK/crash.run" \
		--persist-dir "$WORK/crash.p" --facts-root "$WORK/crash.facts" >>"$WORK/crash.log" 2>&1 &
	agent_pid=$!
	count_lines "$WORK/crash.log" 'heartbeat ok' "$i" 90
	kill -9 "$agent_pid"
	wait "$agent_pid" 2>/dev/null || true
	agent_pid=
done
for i in 2 3 4; do
	grep -q "started $i time(s) in a row within 60 s: waiting [0-9]* s before contacting a manager" "$WORK/crash.log" ||
		{ echo "FAIL: crash loop: start $i did not wait"; cat "$WORK/crash.log"; exit 1; }
done
echo "  ok: crash loop: starts 2-4 waited $(grep -o 'waiting [0-9]* s' "$WORK/crash.log" | awk '{ printf "%s ", $2 }')s before contacting the manager"

# TLS: a wrong pin or an unknown CA never sends a request; a known CA works.
count=$(requests)
agent wrongpin "$good" "hvnode.manager_pin=$other_pin" "$token"
expect wrongpin 'does not match hvnode.manager_pin .*nothing sent'
stop_agent
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=other \
	-keyout "$WORK/other.key" -out "$WORK/other-ca.pem" 2>/dev/null
agent otherca "$good" "hvnode.manager_ca=$WORK/other-ca.pem" "$token"
expect otherca 'not trusted by hvnode.manager_ca'
stop_agent
[ "$(requests)" = "$count" ] || { echo "FAIL: a request reached the manager without a valid pin or CA"; exit 1; }
agent ca "$good" "hvnode.manager_ca=$M/ca.pem" "$token"
expect ca 'verifying TLS by CA'
expect ca 'registered as node'
stop_agent

# Manager faults: each is reported in plain words and the agent keeps going.
agent badtoken "$good" "hvnode.manager_pin=$pin" hvnode.join_token=wrong
expect badtoken 'registering with .* \(attempt 1, next in [0-9]+ s\): HTTP 401: invalid join token'
stop_agent
for case in "pending:registration with .* pending approval \(attempt 1, next in 1 s\)" \
	"error:HTTP 500: test manager: induced failure" \
	"deny:HTTP 403: node not allowed by policy" \
	"garbage:bad registration reply: reply is not a JSON object" \
	"wrong-types:bad registration reply: node_id is missing or malformed" \
	"huge:response larger than 65536 bytes" \
	"hang-tls:\(attempt 1, next in [0-9]+ s\): timed out" \
	"slow:\(attempt 1, next in [0-9]+ s\): timed out"; do
	mode "${case%%:*}"
	agent "${case%%:*}" "$good" "hvnode.manager_pin=$pin" "$token"
	expect "${case%%:*}" "${case#*:}" 60
	stop_agent
done
mode normal

# Proxies: the environment's never count; hvnode.proxy= does, and the pin still holds end to end.
unset no_proxy NO_PROXY
export http_proxy=http://127.0.0.1:1 https_proxy=http://127.0.0.1:1 HTTPS_PROXY=http://127.0.0.1:1 \
	ALL_PROXY=http://127.0.0.1:1
agent envproxy "$good" "hvnode.manager_pin=$pin" "$token"
expect envproxy 'registered as node'
stop_agent
unset http_proxy https_proxy HTTPS_PROXY ALL_PROXY
# With hvnode.proxy, no_proxy makes no exception either: the tunnel is used for 127.0.0.1.
export no_proxy=127.0.0.1
python3 "$TOP/tests/host/lib/connect-proxy.py" "$WORK/proxy.port" "$WORK/proxy.log" &
proxy_pid=$!
python3 "$LIB/console.py" wait "$WORK/proxy.port" '^[0-9]+$' 30
agent proxied "$good" "hvnode.manager_pin=$pin" "$token" "hvnode.proxy=http://127.0.0.1:$(cat "$WORK/proxy.port")"
expect proxied 'registered as node'
stop_agent
kill "$proxy_pid"
proxy_pid=
unset no_proxy
grep -qx "CONNECT 127.0.0.1:$port" "$WORK/proxy.log" || { echo "FAIL: the agent did not go through hvnode.proxy"; exit 1; }
echo "  ok: proxied: the registration went through hvnode.proxy (CONNECT 127.0.0.1:$port)"

# Nobody listening: attempts with a growing backoff, never an exit.
agent down "hvnode.manager=https://127.0.0.1:1" "hvnode.manager_pin=$pin" "$token"
expect down 'attempt 3, next in [0-9]+ s\): connection refused' 30
stop_agent
# Bad settings: named, and the node shows as unconfigured; the agent does not exit.
agent badconf "hvnode.manager=http://plain" "hvnode.manager_pin=$pin" "$token" "hvnode.proxy=socks5://p:1"
expect badconf 'invalid hvnode.manager \(.*badconf.conf\): not a list of https://host\[:port\] URLs; the node stays unconfigured'
expect badconf 'invalid hvnode.proxy \(.*badconf.conf\): not an http://host:port URL; the node stays unconfigured'
grep -q '^state=unconfigured$' "$WORK/badconf.run/agent.state"
stop_agent
echo "$n checks passed"
