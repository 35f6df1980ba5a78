# SUMMARY: the manager declares two VMs; the node fetches, verifies and runs them (own uid, own cgroup), stops one gracefully, deletes it, restarts a killed one, and fails a wrong sha256 alone
set -eu
. "$(dirname "$0")/../lib/lib.sh"
: "${BUSYBOX:?BUSYBOX must point to the static busybox binary}"
HERE=$(cd "$(dirname "$0")" && pwd)
trap stop_all EXIT
UUID=0b7c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d
guest_images "$HERE/guest-init"

manager_start --interval 2
boot_pxe_set "$(agent_cmdline)" -uuid "$UUID"
wait_console "$READY"
wait_console 'hvnode-agent: registered as node ' 120
wait_console 'hvnode-supervisor: ready: ' 30
fail=0
for vm in one two; do
	fill=
	[ $vm = one ] && fill=' hvtest.fill=48'
	mgr vm create "$MANAGER_DIR" "$UUID" $vm --kernel "$IMG/pxe/vmlinuz" --initrd "$WORK/guest.gz" \
		--disk "image=$WORK/disk.img,readonly" --memory-mib 128 --restart always \
		--cmdline "$GUEST_CMDLINE hvtest.name=$vm$fill" >/dev/null
done
vm_wait "$UUID" one --state running
vm_wait "$UUID" two --state running
mgr vm wait "$MANAGER_DIR" "$UUID" --converged --timeout 60 >/dev/null || { echo "  FAIL: not converged"; exit 1; }
echo "  ok: both VMs running, the applied generation echoed in the heartbeat"
for vm in one two; do
	guest_marker $vm "HVGUEST: $vm init reached" || fail=1
	guest_marker $vm "HVGUEST: $vm vda pattern ok" || fail=1
done
guest_marker one "HVGUEST: one filled 48 MiB" ||
	{ fail=1; node_sh "cat /run/hvnode/vms/one/console.log | grep HVGUEST; cat /sys/fs/cgroup/hvnode-vms/one/memory.events" | sed 's/^/    /'; }
check "one touched 48 MiB of its RAM: charged to its cgroup, within memory.max, no OOM kill" \
	"cg=/sys/fs/cgroup/hvnode-vms/one; cur=\$(cat \$cg/memory.current); echo \"memory.current \$cur\"; \
	[ \$cur -gt $((48 * 1048576)) ] && [ \$cur -le \$(cat \$cg/memory.max) ] && grep -qx 'oom_kill 0' \$cg/memory.events" || fail=1
# uid_of NAME: the Uid line of NAME's VMM, found through its cgroup.
uid_of='uid_of() { pid=$(head -n1 /sys/fs/cgroup/hvnode-vms/$1/cgroup.procs); sed -n "s/^Uid:[[:space:]]*\([0-9]*\).*/\1/p" /proc/$pid/status; }'
check "each VMM runs under its own non-root uid" \
	"$uid_of; a=\$(uid_of one); b=\$(uid_of two); echo \"uids \$a \$b\"; [ -n \"\$a\" ] && [ -n \"\$b\" ] && [ \$a != \$b ] && [ \$a != 0 ] && [ \$b != 0 ]" || fail=1
check "memory.max is guest RAM + 64 MiB, cpu.max one CPU, pids.max set" \
	"[ \$(cat /sys/fs/cgroup/hvnode-vms/one/memory.max) = $(((128 + 64) * 1048576)) ] && \
	[ \"\$(cat /sys/fs/cgroup/hvnode-vms/one/cpu.max)\" = '100000 100000' ] && [ \$(cat /sys/fs/cgroup/hvnode-vms/one/pids.max) = 17 ]" || fail=1
check "the VM's directory is root's alone (0700)" "ls -ld /run/hvnode/vms/one | grep -q '^drwx------ .* root '" || fail=1
check "the status screen counts the VMs" "$(screen_cmd 'VMs: 2 of 2 running, 0 failed')" || fail=1

# A graceful stop, then the delete.
mgr vm stop "$MANAGER_DIR" "$UUID" two >/dev/null
vm_wait "$UUID" two --state stopped
guest_marker two "HVGUEST: two power button" || fail=1
guest_marker two "HVGUEST: two shutting down" || fail=1
python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["exit_code"] == 0' "$WORK/wait.json" &&
	echo "  ok: two stopped gracefully (the ACPI power button, the guest rebooted, exit code 0)" || { echo "  FAIL: two's exit code"; fail=1; }
mgr vm delete "$MANAGER_DIR" "$UUID" two >/dev/null
mgr vm wait "$MANAGER_DIR" "$UUID" two --absent --timeout 60 >/dev/null && echo "  ok: two deleted: no longer reported" ||
	{ echo "  FAIL: two still reported"; fail=1; }
check "two's VMM, directory (disk, logs) and cgroup are gone" \
	"[ ! -e /run/hvnode/vms/two ] && [ ! -e /sys/fs/cgroup/hvnode-vms/two ] && [ \$(pidof hvnode-vmm | wc -w) = 1 ]" || fail=1

# kill -9 of one's VMM (restart: always) brings it back.
node_sh "kill -9 \$(head -n1 /sys/fs/cgroup/hvnode-vms/one/cgroup.procs)" >/dev/null
vm_wait "$UUID" one --state running --restarts 1
echo "  ok: one's VMM killed with -9: running again, restarts 1"
guest_marker one "HVGUEST: one init reached" 2 || fail=1

# A wrong sha256 fails that VM alone, and nothing half-downloaded stays.
zeros=0000000000000000000000000000000000000000000000000000000000000000
mgr vm create "$MANAGER_DIR" "$UUID" bad --kernel "$WORK/guest.gz" \
	--set "{\"kernel\": {\"url\": \"$MANAGER_URL/images/$(sha256sum <"$WORK/guest.gz" | cut -d' ' -f1)\", \"sha256\": \"$zeros\", \"size_bytes\": $(wc -c <"$WORK/guest.gz")}}" >/dev/null
vm_wait "$UUID" bad --state failed --error '^kernel image: sha256 mismatch'
echo "  ok: a wrong sha256 fails that VM: $(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["error"])' "$WORK/wait.json" | cut -c1-60)..."
check "no partial or mismatching image in the cache" "! ls -a /run/hvnode/images | grep -q -e '^\.part-' -e '^$zeros'" || fail=1
vm_wait "$UUID" one --state running --restarts 1
echo "  ok: one kept running"
check "the status screen shows the failure" "$(screen_cmd 'VMs: 1 of 2 running, 1 failed')" || fail=1
exit $fail
