# SUMMARY: an HVNODE config partition is mounted nosuid,nodev,noexec and keeps the SSH host key and authorized keys across reboots
set -eu
. "$(dirname "$0")/../lib/lib.sh"
trap qemu_stop EXIT
new_ssh_key "$WORK/key" >/dev/null
# A 16 MiB FAT disk labelled HVNODE holding an authorized key (no cmdline key this time).
mkfs.fat -C -n HVNODE "$WORK/config.img" 16384 >/dev/null
mmd -i "$WORK/config.img" ::/ssh
mcopy -i "$WORK/config.img" "$WORK/key.pub" ::/ssh/authorized_keys
port=$(free_port)
boot() {
	CONSOLE="$WORK/console-$1.log"
	boot_pxe_set "" -drive "file=$WORK/config.img,format=raw,if=virtio" \
		-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" -device e1000,netdev=n0
	wait_console "$READY"
	wait_console 'hvnode: config partition /dev/vda mounted on /mnt/config' 5
	wait_ssh "$port" "$WORK/key" 120
	ssh-keyscan -t ed25519 -p "$port" 127.0.0.1 2>/dev/null | awk '{ print $3 }' >"$WORK/hostkey-$1"
	[ -s "$WORK/hostkey-$1" ] || { echo "  FAIL: no host key from boot $1"; return 1; }
}
boot 1
fail=0
wait_console 'hvnode: ssh: generated ed25519 host key in /mnt/config/ssh' 5 || fail=1
check "the partition is mounted nosuid,nodev,noexec" "grep -Eq '^/dev/vda /mnt/config vfat rw,nosuid,nodev,noexec' /proc/mounts" || fail=1
qemu_stop
boot 2
if grep -q 'generated ed25519 host key' "$CONSOLE"; then
	echo "  FAIL: the host key was generated again on the second boot"; fail=1
fi
if cmp -s "$WORK/hostkey-1" "$WORK/hostkey-2"; then
	echo "  ok: the same SSH host key after a reboot"
else
	echo "  FAIL: the host key changed across the reboot"; fail=1
fi
exit $fail
