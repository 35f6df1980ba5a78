# SUMMARY: hvnode-agent and hvnode-supervisor against the test manager on loopback, with a stand-in VMM: VMs fetched, verified, confined, started, stopped, restarted per policy and deleted; bad specs and bad downloads fail alone
set -eu
: "${AGENT:?AGENT must name the built hvnode-agent}"
: "${SUPERVISOR:?SUPERVISOR must name the built hvnode-supervisor}"
: "${BUSYBOX:?BUSYBOX must name the built static busybox}"
LIB=$TOP/tests/qemu-boot/lib
FACTS=$TOP/agent/tests/data/facts-root
FAKE=$TOP/tests/host/lib/fake-vmm.py
M=$WORK/manager RUN=$WORK/run CG=$WORK/cgroup
mkdir -p "$CG"  # a plain directory stands in for cgroupfs
mgr_pid= agent_pid= sup_pid= n=0
cleanup() {
	[ -z "$sup_pid" ] || kill "$sup_pid" 2>/dev/null || true
	[ -z "$agent_pid" ] || kill "$agent_pid" 2>/dev/null || true
	[ -z "$mgr_pid" ] || kill "$mgr_pid" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap cleanup EXIT
ok() { n=$((n + 1)); echo "  ok: $1"; }
fail() { echo "  FAIL: $1"; echo "  supervisor log:"; tail -n 30 "$WORK/supervisor.log" | sed 's/^/    /'; exit 1; }
mgr() { python3 "$LIB/manager.py" "$@"; }
# vm_wait NAME ARGS...: waits (30 s) until the node reports VM NAME so.
vm_wait() {
	name=$1
	shift
	mgr vm wait "$M" "$node" "$name" --timeout 30 "$@" >"$WORK/wait.json" ||
		fail "VM $name never reported $*"
}
vmm_pid() { pgrep -f "fake-vmm.py --name $1 " | head -n1; }

python3 "$LIB/manager.py" serve "$M" --port 0 --interval 1 >"$WORK/manager.out" 2>&1 &
mgr_pid=$!
python3 "$LIB/console.py" wait "$WORK/manager.out" '^manager: listening' 30
port=$(cat "$M/port") pin=$(cat "$M/pin")
base=https://127.0.0.1:$port
echo "hvnode.manager=$base hvnode.manager_pin=$pin hvnode.join_token=test-join-token" >"$WORK/cmdline"
"$AGENT" --cmdline "$WORK/cmdline" --run-dir "$RUN" --facts-root "$FACTS" >"$WORK/agent.log" 2>&1 &
agent_pid=$!
"$SUPERVISOR" --run-dir "$RUN" --cmdline "$WORK/cmdline" --vmm "$FAKE" --cgroup-root "$CG" \
	--busybox "$BUSYBOX" --stop-timeout-s 3 >"$WORK/supervisor.log" 2>&1 &
sup_pid=$!
python3 "$LIB/console.py" wait "$WORK/agent.log" 'heartbeat ok' 30
node=$(mgr nodes "$M" | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["node_id"])')
ok "the node registered as $node"

# Images: a kernel, an initrd, a disk image raw and gzipped (the same 1 MiB pattern).
head -c 300000 /dev/urandom >"$WORK/kernel"
head -c 100000 /dev/urandom >"$WORK/initrd"
awk 'BEGIN { for (i = 0; i < 65536; i++) printf "HVPATTERN%06d\n", i }' >"$WORK/disk.raw"
gzip -n -c "$WORK/disk.raw" >"$WORK/disk.gz"
xz -c "$WORK/disk.raw" >"$WORK/disk.xz"
pattern_head=$(head -c 4096 "$WORK/disk.raw" | sha256sum | cut -d' ' -f1)
raw_size=$(wc -c <"$WORK/disk.raw")
mgr vm create "$M" "$node" alpha --base-url "$base" --kernel "$WORK/kernel" --initrd "$WORK/initrd" \
	--vcpus 2 --memory-mib 128 --disk "image=$WORK/disk.raw" --disk size=1048576 --restart always >/dev/null
mgr vm create "$M" "$node" beta --base-url "$base" --kernel "$WORK/kernel" \
	--disk "image=$WORK/disk.gz,readonly" --disk "image=$WORK/disk.xz" --restart never >/dev/null
vm_wait alpha --state running
vm_wait beta --state running
mgr vm wait "$M" "$node" --converged --timeout 30 >/dev/null || fail "the generation never converged"
ok "two VMs running, the applied generation echoed"
log_a=$RUN/vms/alpha/console.log log_b=$RUN/vms/beta/console.log
python3 "$LIB/console.py" wait "$log_a" 'FAKEVM: alpha booted uid=20000 cpus=2 mem=128M disks=2' 10 ||
	fail "alpha's console log"
python3 "$LIB/console.py" wait "$log_b" 'FAKEVM: beta booted uid=20001 cpus=1 mem=128M disks=2' 10 ||
	fail "beta's console log"
ok "each VM runs under its own uid (20000, 20001); its console goes to its log"
grep -q "FAKEVM: alpha disk disk0.img $raw_size $pattern_head" "$log_a" || fail "alpha's disk0 is the image"
grep -q "FAKEVM: alpha disk disk1.img 1048576 " "$log_a" || fail "alpha's blank disk1"
grep -q "FAKEVM: beta disk disk0.img $raw_size $pattern_head" "$log_b" || fail "beta's gzip disk"
grep -q "FAKEVM: beta disk disk1.img $raw_size $pattern_head" "$log_b" || fail "beta's xz disk"
ok "disks: a raw image copied, a blank 1 MiB disk, gzip and xz images decompressed"
[ "$(cat "$CG/hvnode-vms/alpha/memory.max")" = $(((128 + 64) * 1048576)) ] || fail "memory.max"
[ "$(cat "$CG/hvnode-vms/alpha/cpu.max")" = "200000 100000" ] || fail "cpu.max"
[ "$(cat "$CG/hvnode-vms/alpha/pids.max")" = 18 ] || fail "pids.max"
[ "$(cat "$CG/hvnode-vms/alpha/cgroup.procs")" = 0 ] || fail "the VMM joined its cgroup"
ok "cgroup: memory.max = guest + 64 MiB, cpu.max = 2 CPUs, pids.max, the VMM joined it"
[ "$(stat -c %a "$RUN/vms/alpha")" = 700 ] || fail "VM directory mode"
[ "$(stat -c '%u %a' "$RUN/vms/alpha/disk0.img")" = "20000 600" ] || fail "disk owner and mode"
[ "$(stat -c '%a' "$RUN/vms/alpha/console.log")" = 600 ] || fail "console log mode"
ok "the VM's directory is root's 0700; its disks are its uid's, 0600"
for f in kernel initrd disk.raw disk.gz disk.xz; do
	[ -f "$RUN/images/$(sha256sum <"$WORK/$f" | cut -d' ' -f1)" ] || fail "image cache: $f"
done
ok "the image cache holds each image under its sha256"
python3 - "$WORK/wait.json" <<'PY' || fail "the report of a running VM"
import json, sys
vm = json.load(open(sys.argv[1]))
assert vm["uuid"] and vm["restarts"] == 0 and vm["exit_code"] is None and vm["error"] is None, vm
assert isinstance(vm["started_at"], (int, float)) and vm["devices"][0]["kind"] == "virtio-blk", vm
PY
ok "the heartbeat reports uuid, restarts, exit_code, error, started_at and device counters"

# Restart policy: kill -9 of an 'always' VM brings it back; of a 'never' VM leaves it failed.
kill -9 "$(vmm_pid alpha)"
vm_wait alpha --state running --restarts 1
ok "kill -9 of alpha (restart: always): running again, restarts 1"
kill -9 "$(vmm_pid beta)"
vm_wait beta --state failed --error 'exited with code 137 \(restart: never\)'
ok "kill -9 of beta (restart: never): failed, exit code 137"

# Bad specs and bad downloads fail that VM alone.
zeros=0000000000000000000000000000000000000000000000000000000000000000
ksha=$(sha256sum <"$WORK/kernel" | cut -d' ' -f1)
ksize=$(wc -c <"$WORK/kernel")
head -c 200000 /dev/urandom >"$WORK/kernel2"
k2sha=$(sha256sum <"$WORK/kernel2" | cut -d' ' -f1)
mgr vm create "$M" "$node" wrongsha --base-url "$base" --kernel "$WORK/kernel2" \
	--set "{\"kernel\": {\"url\": \"$base/images/$k2sha\", \"sha256\": \"$zeros\", \"size_bytes\": 200000}}" >/dev/null
mgr vm create "$M" "$node" toobig --base-url "$base" --kernel "$WORK/kernel" --set "{\"vcpus\": $(($(nproc) + 1))}" >/dev/null
mgr vm create "$M" "$node" fileurl --base-url "$base" --kernel "$WORK/kernel" \
	--set "{\"kernel\": {\"url\": \"file:///etc/shadow\", \"sha256\": \"$ksha\", \"size_bytes\": $ksize}}" >/dev/null
mgr vm create "$M" "$node" badname --base-url "$base" --kernel "$WORK/kernel" --set '{"name": "../../etc"}' >/dev/null
head -c 150000 /dev/urandom >"$WORK/kernel3"
k3sha=$(sha256sum <"$WORK/kernel3" | cut -d' ' -f1)
mkdir -p "$M/images"
touch "$M/images/$k3sha.truncate"  # the manager serves half of it, then hangs up
mgr vm create "$M" "$node" cutshort --base-url "$base" --kernel "$WORK/kernel3" >/dev/null
vm_wait wrongsha --state failed --error "^kernel image: sha256 mismatch \(got $k2sha, declared $zeros\)"
vm_wait toobig --state failed --error "^vcpus: $(($(nproc) + 1)) is more than the node's $(nproc) CPUs"
vm_wait fileurl --state failed --error '^kernel.url: must be an http:// or https:// URL'
ok "a wrong sha256, too many vCPUs and a file:// URL each fail their VM with an error naming the field"
vm_wait cutshort --state failed --error '^kernel image: '
ok "a download cut short fails its VM: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"])' "$WORK/wait.json")"
rm "$M/images/$k3sha.truncate"
mgr vm create "$M" "$node" needpool --base-url "$base" --kernel "$WORK/kernel" --disk size=1048576,persistent >/dev/null
vm_wait needpool --state failed --error '^disks\[0\]: a persistent disk needs the storage pool \(a filesystem labelled HVNODE_POOL\)'
ok "a persistent disk without a storage pool fails its VM, saying so"
mgr vm create "$M" "$node" nobridge --base-url "$base" --kernel "$WORK/kernel" --set '{"nics": [{"vlan": 10}]}' >/dev/null
vm_wait nobridge --state failed --error '^nics: this node has no VM bridge'
ok "a NIC on a node without a VM bridge fails its VM, saying so"
mgr vm wait "$M" "$node" --converged --timeout 30 >"$WORK/hb.json" || fail "converged after bad specs"
python3 - "$WORK/hb.json" <<'PY' || fail "the nameless VM's report"
import json, sys
hb = json.load(open(sys.argv[1]))
bad = [v for v in hb["vms"] if v["name"] is None]
assert len(bad) == 1 and bad[0]["state"] == "failed" and bad[0]["error"].startswith("vms[5].name: must match"), hb["vms"]
PY
ok "a VM without a valid name is reported by its index (vms[5].name)"
[ ! -e "$RUN/images/$zeros" ] && [ ! -e "$RUN/images/$k2sha" ] && [ ! -e "$RUN/images/$k3sha" ] &&
	! ls -a "$RUN/images" | grep -q '^\.part-' || fail "a bad download left a file"
ok "nothing half-downloaded or mismatching stays in the image cache"
vm_wait alpha --state running --restarts 1
ok "alpha kept running through all of it"

# A spec changed while its images download: the download is dropped, the new spec runs.
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
conns = []
while True:
    conns.append(s.accept()[0])  # accepts, never answers' >"$WORK/tarpit.port" &
tarpit_pid=$!
python3 "$LIB/console.py" wait "$WORK/tarpit.port" '^[0-9]+$' 10
tarpit=$(cat "$WORK/tarpit.port")
head -c 120000 /dev/urandom >"$WORK/kernel4"
k4sha=$(sha256sum <"$WORK/kernel4" | cut -d' ' -f1)
mgr vm create "$M" "$node" respec --base-url "$base" --kernel "$WORK/kernel4" \
	--set "{\"kernel\": {\"url\": \"http://127.0.0.1:$tarpit/k\", \"sha256\": \"$k4sha\", \"size_bytes\": 120000}}" >/dev/null
vm_wait respec --state fetching
mgr vm set "$M" "$node" respec "{\"kernel\": {\"url\": \"$base/images/$k4sha\", \"sha256\": \"$k4sha\", \"size_bytes\": 120000}}" >/dev/null
vm_wait respec --state running --restarts 0
kill "$tarpit_pid"
ok "a spec changed during its download: the download is dropped and the new spec runs"

# Stop gracefully, stop by force, delete.
mgr vm stop "$M" "$node" alpha >/dev/null
vm_wait alpha --state stopped
grep -q 'FAKEVM: alpha shutdown requested' "$log_a" || fail "alpha was asked to shut down"
ok "stopped: the VMM was asked to shut down through its API and exited"
mgr vm create "$M" "$node" stubborn --base-url "$base" --kernel "$WORK/kernel" \
	--cmdline 'console=ttyS0 fakevm.ignore-shutdown' >/dev/null
vm_wait stubborn --state running
mgr vm stop "$M" "$node" stubborn >/dev/null
vm_wait stubborn --state stopped
python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["exit_code"] == 137' "$WORK/wait.json" ||
	fail "stubborn was killed"
ok "a guest that ignores the shutdown request is killed after --stop-timeout-s"
mgr vm delete "$M" "$node" alpha >/dev/null
mgr vm wait "$M" "$node" alpha --absent --timeout 30 >/dev/null || fail "alpha still reported"
[ ! -e "$RUN/vms/alpha" ] && [ ! -e "$CG/hvnode-vms/alpha" ] || fail "alpha's files or cgroup remain"
ok "deleted: no longer reported; its directory, disks and cgroup are gone"
mgr vm stop "$M" "$node" beta >/dev/null
vm_wait beta --state stopped
mgr vm start "$M" "$node" beta >/dev/null
vm_wait beta --state running --restarts 0
ok "a failed VM stopped and started again by the manager runs"
kill "$sup_pid"
wait "$sup_pid" 2>/dev/null || true
sup_pid=
[ -z "$(vmm_pid beta)" ] || fail "a VMM outlived the supervisor's SIGTERM"
ok "SIGTERM to the supervisor ends its VMMs"

# With a storage pool (a plain directory here): persistent disks are named by their source, so
# one keeps its data when a disk before it leaves the spec; the one that left is deleted.
POOL=$WORK/pool
mkdir -p "$POOL"
"$SUPERVISOR" --run-dir "$RUN" --cmdline "$WORK/cmdline" --pool "$POOL" --vmm "$FAKE" \
	--cgroup-root "$CG" --busybox "$BUSYBOX" --stop-timeout-s 3 >"$WORK/supervisor-pool.log" 2>&1 &
sup_pid=$!
python3 "$LIB/console.py" wait "$WORK/supervisor-pool.log" "disks and images in $POOL \\(storage pool\\)" 10 ||
	fail "the supervisor did not take the pool"
mgr vm create "$M" "$node" pers --base-url "$base" --kernel "$WORK/kernel" \
	--disk size=1048576,persistent --disk size=2097152,persistent >/dev/null
vm_wait pers --state running
b=$(find "$POOL/vms/pers" -name 'p*.img' -size 2048k)
[ -n "$b" ] && [ -f "${b%.img}.meta" ] && [ "$(find "$POOL/vms/pers" -name 'p*.img' | wc -l)" = 2 ] ||
	fail "two persistent disks with their .meta in the pool"
printf 'HVKEEP-B' | dd of="$b" conv=notrunc 2>/dev/null
b_head=$(head -c 4096 "$b" | sha256sum | cut -d' ' -f1)
mgr vm set "$M" "$node" pers '{"disks": [{"size_bytes": 2097152, "persistent": true}]}' >/dev/null
python3 "$LIB/console.py" wait "$RUN/vms/pers/console.log" "FAKEVM: pers disk ${b##*/} 2097152 $b_head" 30 ||
	fail "the second persistent disk kept its data when the first left the spec"
[ "$(find "$POOL/vms/pers" -type f -name 'p*' | wc -l)" = 2 ] || fail "the removed persistent disk was deleted"
ok "pool: a persistent disk keeps its data when the disk before it leaves the spec; that one is deleted"
mgr vm delete "$M" "$node" pers >/dev/null
mgr vm wait "$M" "$node" pers --absent --timeout 30 >/dev/null || fail "pers still reported"
[ ! -e "$POOL/vms/pers" ] || fail "pers's disks remain in the pool"
ok "pool: a deleted VM's persistent disks go with it"
kill "$sup_pid"
wait "$sup_pid" 2>/dev/null || true
sup_pid=
kill -0 "$agent_pid" || fail "the agent exited"
echo "  $n checks passed"
