# SUMMARY: with an HVNODE_POOL disk the node keeps VM disks and images on it; a persistent disk's data survives a node reboot, and the manager's desired state brings its VM back
set -eu
. "$(dirname "$0")/../lib/lib.sh"
: "${BUSYBOX:?BUSYBOX must point to the static busybox binary}"
GUEST_INIT=$(cd "$(dirname "$0")/../160_vm_lifecycle" && pwd)/guest-init
trap stop_all EXIT
UUID=5d2e8c1a-7b3f-4e60-9a1d-2c4b6e8f0a13
TOKEN=keep-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
guest_images "$GUEST_INIT"
truncate -s 256M "$WORK/pool.img"
mkfs.ext4 -q -F -L HVNODE_POOL "$WORK/pool.img"

manager_start --interval 2
boot_node() {
	boot_pxe_set "$(agent_cmdline)" -uuid "$UUID" \
		-drive "file=$WORK/pool.img,if=none,id=pool,format=raw" -device virtio-blk-pci,drive=pool
}
boot_node
wait_console "$READY"
wait_console 'hvnode: storage pool /dev/vda mounted on /var/lib/hvnode/pool \([0-9]+ MiB free\)' 5
wait_console 'hvnode-supervisor: ready: .* disks and images in /var/lib/hvnode/pool \(storage pool\)' 30
wait_console 'hvnode-agent: registered as node ' 120
fail=0
check "the pool is mounted nosuid,nodev,noexec" \
	"grep -q ' /var/lib/hvnode/pool ext4 rw,nosuid,nodev,noexec' /proc/mounts" || fail=1
mgr vm create "$MANAGER_DIR" "$UUID" keep --kernel "$IMG/pxe/vmlinuz" --initrd "$WORK/guest.gz" \
	--disk "image=$WORK/disk.img,readonly" --disk size=16777216,persistent --memory-mib 96 \
	--restart always --cmdline "$GUEST_CMDLINE hvtest.name=keep hvtest.keep=$TOKEN" >/dev/null
vm_wait "$UUID" keep --state running
guest_marker keep "HVGUEST: keep vda pattern ok" || fail=1
guest_marker keep "HVGUEST: keep wrote HVKEEP $TOKEN" || fail=1
check "the guest's write is in the disk file on the pool" \
	"dd if=\$(ls /var/lib/hvnode/pool/vms/keep/p*-0.img) bs=64 count=1 2>/dev/null | grep -q 'HVKEEP $TOKEN'" || fail=1
check "the disks and the image cache are on the pool; the persistent disk has its meta" \
	"ls /var/lib/hvnode/pool/vms/keep/disk0.img /var/lib/hvnode/pool/vms/keep/p*-0.img /var/lib/hvnode/pool/vms/keep/p*-0.meta && \
	[ \$(ls /var/lib/hvnode/pool/images | wc -l) = 3 ] && [ ! -e /var/lib/hvnode/pool/vms/keep/disk0.meta ]" || fail=1
mgr vm wait "$MANAGER_DIR" "$UUID" --converged --timeout 60 >"$WORK/hb.json" || fail=1
python3 - "$WORK/hb.json" <<'PY' && echo "  ok: the heartbeat reports the pool's size and free bytes" || { echo "  FAIL: storage_pool in the heartbeat"; fail=1; }
import json, sys
pool = json.load(open(sys.argv[1]))["storage_pool"]
assert pool["path"] == "/var/lib/hvnode/pool" and 200 << 20 < pool["size_bytes"] <= 256 << 20, pool
assert 0 < pool["free_bytes"] < pool["size_bytes"], pool
PY
[ $fail = 0 ] || exit 1

# Reboot: the guest is asked to shut down, the pool unmounts, the node comes back, registers
# again (the operator expects it: the node keeps no credential), and the manager's desired
# state brings the VM back with its disk.
mgr approve "$MANAGER_DIR" "$UUID"
node_sh "reboot" >/dev/null 2>&1 || true
wait_console 'hvnode-supervisor: terminating: asking every guest to shut down' 60
wait "$QEMU_PID" 2>/dev/null || true
QEMU_PID=
cp "$CONSOLE" "$WORK/console-first-boot.log"
echo "  ok: the node rebooted (the supervisor asked the guest to shut down first)"
boot_node
wait_console "$READY"
wait_console 'hvnode: storage pool /dev/vda mounted on /var/lib/hvnode/pool' 5
vm_wait "$UUID" keep --state running --restarts 0
guest_marker keep "HVGUEST: keep found HVKEEP $TOKEN" || fail=1
check "the ext4 pool was unmounted cleanly before the reboot (no journal recovery)" \
	"! dmesg | grep -q 'EXT4-fs (vda): recovery complete'" || fail=1
exit $fail
