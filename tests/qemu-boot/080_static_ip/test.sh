# SUMMARY: a static address from the kernel's ip= syntax works without DHCP (SSH reaches the node through it); hvnode.ipv6=slaac takes an IPv6 address from a router advertisement
set -eu
. "$(dirname "$0")/../lib/lib.sh"
trap qemu_stop EXIT
key=$(new_ssh_key "$WORK/key")
port=$(free_port)
# QEMU user networking: the node is 10.0.2.15/24, the gateway 10.0.2.2, DNS 10.0.2.3.
boot_pxe_set "hvnode.ssh_key=$key ip=10.0.2.15::10.0.2.2:255.255.255.0:static-node:eth0:off:10.0.2.3 hvnode.ipv6=slaac" \
	-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" -device e1000,netdev=n0
wait_console "$READY"
wait_console 'hvnode: network: br0 over eth0 .*, static' 5
wait_ssh "$port" "$WORK/key" 120
fail=0
check "br0 has the static address" "ip -o -4 addr show br0 | grep -q '10.0.2.15/24'" || fail=1
check "the default route goes via the ip= gateway" "ip route | grep -q '^default via 10.0.2.2 dev br0'" || fail=1
check "no DHCP client runs" "! pidof udhcpc" || fail=1
check "the hostname comes from ip=" "test \"\$(hostname)\" = static-node" || fail=1
check "DNS comes from ip=" "grep -q '^nameserver 10.0.2.3' /etc/resolv.conf" || fail=1
# QEMU's user network advertises fec0::/64; with hvnode.ipv6=slaac br0 takes an address in it.
check "hvnode.ipv6=slaac: br0 takes a SLAAC address from the router advertisement (within 20 s)" \
	"i=0; until ip -6 addr show dev br0 | grep -q 'inet6 fec0::'; do i=\$((i+1)); [ \$i -lt 20 ] || exit 1; sleep 1; done" || fail=1
check "the uplink eth0 has no IPv6 of its own" "! ip -6 addr show dev eth0 | grep -q inet6" || fail=1
exit $fail
