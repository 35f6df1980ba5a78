# SUMMARY: a hostile DHCP server: a host name carrying an escape sequence and a domain carrying a newline and a nameserver line are refused, named on the console without the escape, and the lease itself is applied, its NTP servers (option 42) included
set -eu
. "$(dirname "$0")/../lib/lib.sh"
dhcp_pid=
trap 'qemu_stop; [ -z "$dhcp_pid" ] || kill "$dhcp_pid" 2>/dev/null || true' EXIT
# Two free UDP ports: the server's, and QEMU's end of the link (each datagram one frame).
set -- $(python3 -c 'import socket
s = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
srv=$1 qport=$2
python3 "$LIB/dhcp-server.py" "$srv" "$qport" "$WORK/dhcp.log" \
	--hostname 'evil\x1b[2J\x1b]0;owned\x07name' --domain 'evil.example\nnameserver 6.6.6.6' \
	--ntp 10.9.0.1,10.9.0.2 &
dhcp_pid=$!
python3 "$LIB/console.py" wait "$WORK/dhcp.log" '^listening' 30
boot_pxe_set "" -netdev "socket,id=n0,udp=127.0.0.1:$srv,localaddr=127.0.0.1:$qport" \
	-device e1000,netdev=n0
wait_console "$READY"
fail=0
wait_console 'hvnode: network: DHCP lease 10\.9\.0\.50/24 on br0, gateway 10\.9\.0\.1' 60 || fail=1
wait_console "hvnode: network: DHCP hostname '[A-Za-z0-9.?:-]+' refused \(not an RFC 1123 name\)" 5 || fail=1
wait_console "hvnode: network: DHCP domain '[A-Za-z0-9.?:-]+' refused \(not an RFC 1123 name\)" 5 || fail=1
check "the hostname is still the default" '[ "$(hostname)" = hvnode ]' || fail=1
check "resolv.conf holds the lease's DNS server and nothing the domain smuggled in" \
	"[ \"\$(cat /etc/resolv.conf)\" = 'nameserver 10.9.0.1' ]" || fail=1
check "br0 has the lease's address" "ip -o -4 addr show br0 | grep -q '10.9.0.50/24'" || fail=1
wait_console 'hvnode: ntp: keeping time with 10\.9\.0\.1 10\.9\.0\.2 \(dhcp\)' 30 || fail=1
check "ntpd runs as a client of the lease's NTP servers (option 42)" \
	"grep -qx 'servers=10.9.0.1 10.9.0.2' /run/hvnode/ntp.state && grep -qx source=dhcp /run/hvnode/ntp.state && pidof ntpd >/dev/null" || fail=1
console_lacks "no escape sequence from the DHCP server reached the console" "$(printf '\033')" || fail=1
exit $fail
