# SUMMARY: no NIC, or a NIC that never gets a lease, is reported and boot goes on; hvnode.vlan puts br0 on a VLAN
set -eu
. "$(dirname "$0")/../lib/lib.sh"
trap qemu_stop EXIT
echo "  no NIC at all"
CONSOLE="$WORK/console-nonic.log"
boot_pxe_set "" -nic none
wait_console 'hvnode: network: no Ethernet NIC found' 120
wait_console "$READY" 30
qemu_stop
echo "  a NIC whose network never answers DHCP, on VLAN 100"
CONSOLE="$WORK/console-nolease.log"
# A socket backend with no peer: the link is up, nothing ever answers.
port=$(free_port)
boot_pxe_set "hvnode.vlan=100" -netdev "socket,id=n0,listen=127.0.0.1:$port" -device e1000,netdev=n0
wait_console "$READY"
wait_console 'hvnode: network: no DHCP lease on br0 yet' 60
fail=0
check "br0 sits on eth0.100" "test -e /sys/class/net/br0/brif/eth0.100 && grep -q 'eth0.100.*| 100 *| eth0' /proc/net/vlan/config" || fail=1
check "the status screen says no address yet" "$(screen_cmd '(none yet)')" || fail=1
exit $fail
