# SUMMARY: with hvnode.ssh_key= root logs in with that key over SSH; passwords are refused; only port 22 listens
set -eu
. "$(dirname "$0")/../lib/lib.sh"
trap qemu_stop EXIT
key=$(new_ssh_key "$WORK/key")
new_ssh_key "$WORK/other-key" >/dev/null
port=$(free_port)
boot_pxe_set "hvnode.ssh_key=$key" -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" -device e1000,netdev=n0
wait_console "$READY"
wait_console 'hvnode: ssh: 1 authorized key' 5
wait_ssh "$port" "$WORK/key" 120
fail=0
out=$(ssh_node "$port" "$WORK/key" 'id -u; cat /etc/hvnode/release')
if echo "$out" | grep -q '^0$' && echo "$out" | grep -q '^HVNODE_VERSION='; then
	echo "  ok: root login with the key given on the cmdline"
else
	echo "  FAIL: key login gave: $out"; fail=1
fi
if ssh_node "$port" "$WORK/other-key" true 2>/dev/null; then
	echo "  FAIL: a key that was not given logged in"; fail=1
else
	echo "  ok: another key is refused"
fi
# Ask the server which methods it offers: only publickey.
ssh -v -p "$port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
	-o PreferredAuthentications=password -o PubkeyAuthentication=no root@127.0.0.1 true \
	2>&1 | tr -d '\r' >"$WORK/password.log"
grep -q 'debug1: Exit status' "$WORK/password.log" && { echo "  FAIL: password login succeeded"; fail=1; }
if grep -q 'Authentications that can continue: publickey$' "$WORK/password.log" &&
	grep -q 'Permission denied (publickey)' "$WORK/password.log"; then
	echo "  ok: password login refused; the server offers publickey only"
else
	echo "  FAIL: unexpected answer to a password login:"; sed 's/^/    /' "$WORK/password.log"; fail=1
fi
listening=$(node_sh "netstat -ltnu | awk 'NR > 2 { print \$1, \$4 }' | sort")
if [ "$listening" = "$(printf 'tcp 0.0.0.0:22\ntcp :::22')" ] || [ "$listening" = "tcp 0.0.0.0:22" ] ||
	[ "$listening" = "tcp :::22" ]; then
	echo "  ok: only port 22 listens ($(echo $listening))"
else
	echo "  FAIL: listening sockets: $listening"; fail=1
fi
# Logs are capped: sshd logs into syslogd's RAM ring, and /var/log (tmpfs) holds no file.
check "sshd's logins are in the syslog ring (logread), and /var/log is empty" \
	"logread | grep -q 'dropbear.*[Pp]ubkey auth succeeded for .root.' && [ -z \"\$(ls -A /var/log)\" ]" || fail=1
exit $fail
