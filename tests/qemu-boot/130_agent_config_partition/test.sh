# SUMMARY: settings from the HVNODE partition (CA mode; the label fsck.fat drops is put back); the identity persists there and a reboot after a power cut (its vfat repaired) resumes with a heartbeat
set -eu
. "$(dirname "$0")/../lib/lib.sh"
trap stop_all EXIT
manager_start
# The partition carries the manager settings (nothing on the cmdline) and the manager's CA.
printf '# hvnode agent settings\nhvnode.manager=%s\nhvnode.manager_ca=/mnt/config/ca.pem\nhvnode.join_token=%s\n' \
	"$MANAGER_URL" "$MANAGER_TOKEN" >"$WORK/hvnode.conf"
mkfs.fat -C -n HVNODE "$WORK/config.img" 16384 >/dev/null
mcopy -i "$WORK/config.img" "$WORK/hvnode.conf" "$MANAGER_DIR/ca.pem" ::/
# Its label is in the boot sector only (the root directory's volume entry deleted), as some
# formatting tools leave it: fsck.fat -a drops such a label, and the node puts it back.
python3 - "$WORK/config.img" <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    bps, spc, reserved, fats, _, _, _, fat_sectors = struct.unpack_from("<HBHBHHBH", f.read(512), 11)
    f.seek((reserved + fats * fat_sectors) * bps)
    assert f.read(12)[11] == 0x08, "the first root directory entry is not the volume label"
    f.seek((reserved + fats * fat_sectors) * bps)
    f.write(b"\xe5")
PY
boot_node() {
	boot_pxe_set "hvnode.config=LABEL=HVNODE" -uuid 0e9a1c2b-3d4e-4f50-8a6b-7c8d9e0f1a2b \
		-drive "file=$WORK/config.img,format=raw,if=virtio"
}
boot_node
wait_console "$READY"
wait_console 'hvnode: config: /dev/vda \(LABEL=HVNODE\): repaired by fsck.fat -a, label HVNODE put back \(/run/hvnode/fsck-vda.log\)' 5
echo "  ok: the label fsck.fat -a dropped was put back"
wait_console 'hvnode-agent: managers: 1, first https://10\.0\.2\.2:[0-9]+; verifying TLS by CA' 30
wait_console 'hvnode-agent: registered as node [0-9a-f]+ ' 120
echo "  ok: registered with the settings and CA from the config partition"
node_id=$(python3 "$LIB/manager.py" nodes "$MANAGER_DIR" | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["node_id"])')
check "the identity is on the config partition" "grep -qx node_id=$node_id /mnt/config/agent/identity" || exit 1
manager_wait --path "^/api/v1/nodes/$node_id/heartbeat\$" --status 200 >/dev/null
# Power-cycle without a clean shutdown: the identity was written durably.
qemu_stop
boot_node
wait_console "$READY"
wait_console 'hvnode: config: /dev/vda \(LABEL=HVNODE\): repaired by fsck.fat -a \(/run/hvnode/fsck-vda.log\)' 5
echo "  ok: the vfat partition left dirty by the power cut was checked and repaired before use"
wait_console "hvnode-agent: resuming as node $node_id with https://10\.0\.2\.2" 60
wait_console "hvnode-agent: heartbeat ok \(node $node_id" 60
echo "  ok: after a power cycle the node resumed as $node_id with a heartbeat"
registrations=$(grep -c '"path": "/api/v1/nodes"' "$MANAGER_DIR/requests.jsonl")
[ "$registrations" = 1 ] || { echo "  FAIL: $registrations registrations; the reboot should only heartbeat"; exit 1; }
echo "  ok: one registration in all; the second boot only heartbeats"
