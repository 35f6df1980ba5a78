# SUMMARY: no NIC, or a NIC that never gets a lease, is reported and boot goes on; hvnode.vlan puts br0 on a VLAN, tagged on the uplink
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
boot_pxe_set "hvnode.vlan=100" -netdev "socket,id=n0,listen=127.0.0.1:$port" -device e1000,netdev=n0 \
	-object "filter-dump,id=d0,netdev=n0,file=$WORK/uplink.pcap"
wait_console "$READY"
wait_console 'hvnode: network: no DHCP lease on br0 yet' 60
fail=0
check "br0 is over eth0 with VLAN filtering, itself on VLAN 100 only; eth0 carries 100 tagged" \
	"test -e /sys/class/net/br0/brif/eth0 && [ \$(cat /sys/class/net/br0/bridge/vlan_filtering) = 1 ] && \
	bridge vlan show dev br0 | grep -q ' 100 PVID Egress Untagged' && ! bridge vlan show dev br0 | grep -q ' 1 PVID' && \
	bridge vlan show dev eth0 | grep -q ' 100\$'" || fail=1
# The DHCP discovers left the NIC tagged with VLAN 100.
python3 "$LIB/pcap.py" dhcp-client "$WORK/uplink.pcap" 100 &&
	echo "  ok: br0's DHCP discovers leave eth0 tagged with VLAN 100" ||
	{ echo "  FAIL: no DHCP discover tagged with VLAN 100 on the uplink"; fail=1; }
check "the status screen says no address yet" "$(screen_cmd '(none yet)')" || fail=1
exit $fail
