# SUMMARY: the node registers with the test manager over pinned TLS with its facts, heartbeats, sends its facts again when they change, keeps its join token out of the console and dmesg, and keeps its node_id across a reboot once the operator approves the re-registration
set -eu
. "$(dirname "$0")/../lib/lib.sh"
trap stop_all EXIT
UUID=5f0c9d3e-8a71-4b2c-9e4d-1a2b3c4d5e6f
MAC=52:54:00:aa:bb:01
new_ssh_key "$WORK/key" >/dev/null
manager_start --ssh-key "$WORK/key.pub"
boot_node() {
	boot_pxe_set "$(agent_cmdline)" -uuid "$UUID" \
		-nic "user,model=virtio-net-pci,mac=$MAC" \
		-drive file="$WORK/disk.img",if=none,id=disk0,format=raw \
		-device virtio-blk-pci,drive=disk0,serial=HVNODE-DISK-1
}
truncate -s 64M "$WORK/disk.img"
boot_node
wait_console "$READY"
wait_console 'hvnode-agent: registered as node [0-9a-f]+ with https://10\.0\.2\.2:[0-9]+ \(heartbeat every 5 s; [0-9.]+ s after boot\)' 120
sed -n 's/.*hvnode-agent: registered as node .*; \([0-9.]*\) s after boot.*/  registered \1 s after the kernel started/p' "$CONSOLE"
manager_wait --path '^/api/v1/nodes$' --status 201 --auth "^Bearer $MANAGER_TOKEN\$" >"$WORK/register.json"
rootfs_sha=$(sed -n 's/^rootfs_sha256: //p' "$IMG/BUILDINFO")
version=$(sed -n 's/^version: //p' "$IMG/BUILDINFO")
python3 - "$WORK/register.json" "$UUID" "$MAC" "$rootfs_sha" "$version" <<'PY'
import json, sys
facts = json.loads(open(sys.argv[1]).readline())["body"]
uuid, mac, sha, version = sys.argv[2:]
nics = {n["name"]: n for n in facts["nics"]}
boot = [n for n in facts["nics"] if n["boot"]]
checks = [
    ("system.uuid is QEMU's -uuid", facts["system"]["uuid"] == uuid),
    ("system.vendor from DMI", facts["system"]["vendor"] == "QEMU"),
    ("the boot NIC is the one with -nic mac=", len(boot) == 1 and boot[0]["mac"] == mac),
    ("the boot NIC is a port of br0 with link up", boot and boot[0]["bridge"] == "br0" and boot[0]["link"] == "up"),
    ("br0 has the DHCP address", "10.0.2.15/24" in nics.get("br0", {}).get("ipv4", [])),
    ("CPU count and SVM", facts["cpu"]["count"] == 2 and facts["cpu"]["virtualization"] == "svm"),
    ("memory in bytes", facts["memory_bytes"] > 1000 * 2**20),
    ("the virtio disk with size and serial", any(d["name"] == "vda" and d["size_bytes"] == 64 * 2**20 and d["serial"] == "HVNODE-DISK-1" for d in facts["disks"])),
    ("KVM ready, API version 12", facts["kvm"] == {"ready": True, "api_version": 12, "error": None}),
    ("kernel version", facts["kernel"].startswith("6.1.")),
    ("image version", facts["image"]["version"] == version),
    ("image sha256 is the root squashfs's (BUILDINFO rootfs_sha256)", facts["image"]["sha256"] == sha),
    ("hostname", bool(facts["hostname"])),
]
bad = 0
for what, ok in checks:
    print(("  ok: " if ok else "  FAIL: ") + "facts: " + what)
    bad += not ok
if bad:
    print(json.dumps(facts, indent=1))
sys.exit(1 if bad else 0)
PY
node_id=$(python3 "$LIB/manager.py" nodes "$MANAGER_DIR" | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["node_id"])')
manager_wait --path "^/api/v1/nodes/$node_id/heartbeat\$" --status 200 --count 2 --timeout 30 >/dev/null
echo "  ok: two heartbeats arrived for node $node_id"
# The facts stay the same: the heartbeats carry their hash, not the facts.
python3 - "$(manager_wait --path "^/api/v1/nodes/$node_id/heartbeat\$" --status 200 --count 2)" <<'PY' && echo "  ok: heartbeats carry facts_sha256, and no facts while they do not change" || { echo "  FAIL: facts in the heartbeats"; exit 1; }
import json, re, sys
bodies = [json.loads(line)["body"] for line in sys.argv[1].splitlines()]
assert all(re.fullmatch("[0-9a-f]{64}", b["facts_sha256"]) and "facts" not in b for b in bodies), bodies
assert len({b["facts_sha256"] for b in bodies}) == 1, bodies
PY
# An address change reaches the manager: the next heartbeat carries the facts, once.
node_sh "ip addr add 10.0.2.99/24 dev br0"
manager_wait --path "^/api/v1/nodes/$node_id/heartbeat\$" --status 200 --body '"facts": \{.*"10\.0\.2\.99/24"' --timeout 30 >/dev/null ||
	{ echo "  FAIL: no heartbeat carried the facts with the new address"; exit 1; }
sent=$(manager_wait --path "^/api/v1/nodes/$node_id/heartbeat\$" --body '"facts": \{' | wc -l)
python3 "$LIB/manager.py" nodes "$MANAGER_DIR" | grep -q '"10.0.2.99/24"' ||
	{ echo "  FAIL: the manager's record does not have the new address"; exit 1; }
total=$(manager_wait --path "^/api/v1/nodes/$node_id/heartbeat\$" | wc -l)
manager_wait --path "^/api/v1/nodes/$node_id/heartbeat\$" --status 200 --count $((total + 2)) --timeout 30 >/dev/null
[ "$(manager_wait --path "^/api/v1/nodes/$node_id/heartbeat\$" --body '"facts": \{' | wc -l)" = "$sent" ] ||
	{ echo "  FAIL: the facts went out again with an unchanged node"; exit 1; }
echo "  ok: after an address change one heartbeat carried the facts, and the manager's record has the address"
node_sh "ip addr del 10.0.2.99/24 dev br0"
fail=0
check "agent.state says registered as $node_id" "grep -qx state=registered /run/hvnode/agent.state && grep -qx node_id=$node_id /run/hvnode/agent.state" || fail=1
check "the status screen shows the registration" "$(screen_cmd 'registration: registered' "node id: $node_id")" || fail=1
check "the identity is kept in /run only (no config partition), mode 0600" "ls -l /run/hvnode/identity | grep -q '^-rw------- ' && ! test -e /mnt/config/agent" || fail=1
blob=$(cut -d' ' -f2 "$WORK/key.pub")
check "the manager's SSH key is in root's authorized keys" "grep -qx 'ssh-ed25519 $blob hvnode-manager' /run/hvnode/ssh/root/authorized_keys" || fail=1
check "the node opens no port for the manager (at most sshd's :22 listens)" "! netstat -ltn | grep LISTEN | grep -v ':22 '" || fail=1
check "the join token is in no log: dmesg shows only its redacted form, /var/log and logread never" \
	"dmesg | grep -q 'hvnode.join_token=(redacted)' && ! dmesg | grep -qF '$MANAGER_TOKEN' && ! grep -rqF '$MANAGER_TOKEN' /var/log && ! logread | grep -qF '$MANAGER_TOKEN'" || fail=1
console_lacks "the join token is not on the console" "$MANAGER_TOKEN" || fail=1
[ $fail = 0 ] || exit 1
# Reboot: the stateless node kept no credential, so its registration is held as pending (it
# could be anyone with the token and the uuid); once the operator approves, it gets the same
# node_id.
node_sh "reboot" >/dev/null 2>&1 || true
wait "$QEMU_PID" 2>/dev/null || true
QEMU_PID=
boot_node
wait_console "$READY"
wait_console "hvnode-agent: registration with .* pending approval .*: HTTP 202: node $node_id is registered already" 120
echo "  ok: the re-registration without a credential is held as pending"
python3 "$LIB/manager.py" approve "$MANAGER_DIR" "$UUID"
wait_console "hvnode-agent: registered as node $node_id " 60
manager_wait --path '^/api/v1/nodes$' --status 201 --count 2 >/dev/null
nodes=$(python3 "$LIB/manager.py" nodes "$MANAGER_DIR" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$nodes" = 1 ] || { echo "  FAIL: the manager has $nodes nodes after a reboot"; exit 1; }
echo "  ok: after a reboot the node registered again as $node_id (one node on the manager)"
