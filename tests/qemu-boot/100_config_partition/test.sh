# SUMMARY: an HVNODE config partition is mounted nosuid,nodev,noexec with private modes and keeps the SSH host key; its authorized keys count only when the cmdline names it, and never with key options; a damaged host key is made again
set -eu
. "$(dirname "$0")/../lib/lib.sh"
trap qemu_stop EXIT
cmdline_key=$(new_ssh_key "$WORK/cmdkey")
new_ssh_key "$WORK/key" >/dev/null
new_ssh_key "$WORK/optkey" >/dev/null
new_ssh_key "$WORK/doskey" >/dev/null
# A 16 MiB FAT disk labelled HVNODE holding authorized keys: a key with options first (refused),
# a key written as on Windows (CRLF, a tab between type and key), then a plain key as the last
# line without a final newline (which must stay one key).
{
	printf 'command="/bin/sh" %s\r\n' "$(cat "$WORK/optkey.pub")"
	awk '{ printf "%s\t%s %s\r\n", $1, $2, $3 }' "$WORK/doskey.pub"
	printf '%s' "$(cat "$WORK/key.pub")"
} >"$WORK/authorized_keys"
mkfs.fat -C -n HVNODE "$WORK/config.img" 16384 >/dev/null
mmd -i "$WORK/config.img" ::/ssh
mcopy -i "$WORK/config.img" "$WORK/authorized_keys" ::/ssh/authorized_keys
port=$(free_port)
boot() {
	CONSOLE="$WORK/console-$1.log"
	boot_pxe_set "$2" -drive "file=$WORK/config.img,format=raw,if=virtio" \
		-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" -device e1000,netdev=n0
	wait_console "$READY"
}
hostkey() {
	ssh-keyscan -t ed25519 -p "$port" 127.0.0.1 2>/dev/null | awk '{ print $3 }' >"$WORK/hostkey-$1"
	[ -s "$WORK/hostkey-$1" ] || { echo "  FAIL: no host key from boot $1"; return 1; }
}
fail=0

# Boot 1: the cmdline does not name the partition: it keeps the node's state (the host key),
# and its authorized keys are ignored; the cmdline's key logs in.
boot 1 "hvnode.ssh_key=$cmdline_key"
wait_console 'hvnode: config partition /dev/vda mounted on /mnt/config \(node state only\)' 5
wait_console 'hvnode: config: /mnt/config/ssh/authorized_keys ignored: only a partition the cmdline names' 5
wait_ssh "$port" "$WORK/cmdkey" 120
echo "  ok: the unnamed partition's keys were ignored; the cmdline's key logs in"
if ssh_node "$port" "$WORK/key" true 2>/dev/null; then
	echo "  FAIL: a key from the unnamed partition logged in"; fail=1
fi
hostkey 1 || fail=1
wait_console 'hvnode: ssh: generated ed25519 host key in /mnt/config/ssh' 5 || fail=1
check "the partition is mounted nosuid,nodev,noexec, files 0600 and directories 0700" \
	"grep -Eq '^/dev/vda /mnt/config vfat rw,nosuid,nodev,noexec,.*fmask=0177,dmask=0077' /proc/mounts" || fail=1
check "the host key is -rw------- root root, its directory drwx------ root root" \
	"ls -ld /mnt/config/ssh/dropbear_ed25519_host_key | grep -q '^-rw------- .* root *root ' && ls -ld /mnt/config/ssh | grep -q '^drwx------ .* root *root '" || fail=1
qemu_stop

# Boot 2: named by hvnode.config=: its plain key logs in, its key with options does not. The
# ecdsa host key is damaged in between: it is set aside and made again, and sshd still runs.
head -c 141 /dev/urandom >"$WORK/bad-key"
mcopy -o -i "$WORK/config.img" "$WORK/bad-key" ::/ssh/dropbear_ecdsa_host_key
boot 2 "hvnode.config=LABEL=HVNODE"
wait_console 'hvnode: config partition /dev/vda mounted on /mnt/config \(named by hvnode.config=LABEL=HVNODE\)' 5
wait_console 'hvnode: ssh: /mnt/config/ssh/authorized_keys line 1: refused \(key options' 5 || fail=1
wait_console 'hvnode: ssh: 2 authorized key\(s\)' 5 || fail=1
wait_ssh "$port" "$WORK/key" 120
echo "  ok: the named partition's plain key (its last line, no final newline) logs in"
wait_console 'hvnode: ssh: the ecdsa host key in /mnt/config/ssh is unreadable \(kept as dropbear_ecdsa_host_key.bad\); generating a new one' 5 || fail=1
wait_console 'hvnode: ssh: generated ecdsa host key in /mnt/config/ssh' 5 || fail=1
if ssh_node "$port" "$WORK/optkey" true 2>/dev/null; then
	echo "  FAIL: the key with options logged in"; fail=1
fi
if ssh_node "$port" "$WORK/doskey" true; then
	echo "  ok: the key on a CRLF line with a tab logs in"
else
	echo "  FAIL: the key on a CRLF line with a tab was refused"; fail=1
fi
hostkey 2 || fail=1
console_lacks "the host key was not generated again on the second boot" 'generated ed25519 host key' || fail=1
if cmp -s "$WORK/hostkey-1" "$WORK/hostkey-2"; then
	echo "  ok: the same SSH host key after a reboot"
else
	echo "  FAIL: the host key changed across the reboot"; fail=1
fi
exit $fail
