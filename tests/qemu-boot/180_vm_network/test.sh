# SUMMARY: VM NICs are taps on the VM bridge, untagged or on their VLAN trunked over the uplink; guests cannot reach the node, serve DHCP or router advertisements to the management network, spoof a MAC or hop VLANs
set -eu
. "$(dirname "$0")/../lib/lib.sh"
: "${BUSYBOX:?BUSYBOX must point to the static busybox binary}" "${MUSL_CC:?MUSL_CC must point to musl-gcc}"
HERE=$(cd "$(dirname "$0")" && pwd)
trap stop_all EXIT
UUID=3c9a7e51-0d2b-4f86-b1e3-6a5d4c2f8e07
"$MUSL_CC" -static -Os -Wall -Wextra -Werror -o "$WORK/hvtest-net" "$HERE/hvtest-net.c"
guest_images "$HERE/guest-init" "$WORK/hvtest-net"
key=$(new_ssh_key "$WORK/key")

# The uplink's traffic, both ways, as the management network sees it.
manager_start --interval 2
boot_pxe_set "$(agent_cmdline) hvnode.ssh_key=$key" -uuid "$UUID" -netdev user,id=n0 \
	-device e1000,netdev=n0 -object "filter-dump,id=d0,netdev=n0,file=$WORK/uplink.pcap"
wait_console "$READY"
wait_console 'hvnode: network: br0 over eth0 ' 5
wait_console 'hvnode-supervisor: ready: ' 30
wait_console 'hvnode-agent: registered as node ' 120
fail=0
node_ip=$(node_sh "ip -4 addr show br0" | sed -n 's/.*inet \([0-9.]*\)\/.*/\1/p' | head -n1)
[ -n "$node_ip" ] || { echo "  FAIL: br0 has no IPv4 address"; exit 1; }
mport=$(cat "$MANAGER_DIR/port")
check "dropbear listens on the node's port 22" "netstat -ltn | grep -q ':22 '" || fail=1

# a: untagged (the management network), probes the node and the gateway, sends DHCP offers (from
# the server port, or only to the client port), a router advertisement (also inside a VLAN 1
# tag) and a frame tagged for VLAN 10, each beside a control frame that may pass.
# b and c (a MAC of its spec's): VLAN 10; d: VLAN 20, the same IP subnet as b and c.
create() {
	name=$1 nic=$2
	shift 2
	mgr vm create "$MANAGER_DIR" "$UUID" "$name" --kernel "$IMG/pxe/vmlinuz" --initrd "$WORK/guest.gz" \
		--memory-mib 96 --restart always --nic "$nic" \
		--cmdline "$GUEST_CMDLINE hvtest.name=$name $*" >/dev/null
}
create a vlan=0 hvtest.ip=10.0.2.50/24 hvtest.send=dhcp,dhcp68,udp,ra,echo6,tagged:10,q1.dhcp,q1.ra \
	hvtest.ping=10.0.2.2,$node_ip hvtest.tcp=10.0.2.2:$mport,$node_ip:22
create b vlan=10 hvtest.ip=192.168.10.2/24 hvtest.send=raw,spoof hvtest.ping=192.168.10.3,192.168.10.4
create c vlan=10,mac=52:54:00:0c:00:03 hvtest.ip=192.168.10.3/24 hvtest.send=raw
create d vlan=20 hvtest.ip=192.168.10.4/24 hvtest.send=raw
# nic_of VM FIELD: FIELD (tap, mac) of VM's NIC in the report $WORK/wait.json.
nic_of() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["nics"][0][sys.argv[2]])' "$WORK/wait.json" "$1"; }
for vm in a b c d; do
	vm_wait "$UUID" $vm --state running
	eval "tap_$vm=\$(nic_of tap) mac_$vm=\$(nic_of mac)"
done
for vm in a b c d; do
	guest_marker $vm "HVGUEST: $vm listening" || fail=1
done
# Every guest listens now: three more rounds of each sender's frames and probes.
for vm in a b c d; do
	now=$(node_sh "grep -c 'HVGUEST: $vm round' /run/hvnode/vms/$vm/console.log || true")
	guest_marker $vm "HVGUEST: $vm round" $((now + 3)) >/dev/null || fail=1
done
echo "  ok: four guests listening, three rounds of frames and probes sent since"
[ $fail = 0 ] || exit 1

# has VM TEXT / lacks VM TEXT: VM's console log shows (or never showed) TEXT.
has() { check "$1: $2" "grep -q '$2' /run/hvnode/vms/$1/console.log"; }
lacks() { check "$1 never: $2" "test -s /run/hvnode/vms/$1/console.log && ! grep -q '$2' /run/hvnode/vms/$1/console.log"; }
for vm in a b c d; do
	lacks $vm "HVGUEST: $vm send .* failed" || fail=1               # every frame was sent
done
has c "HVNET: c got b-raw" || fail=1                       # same VLAN: reach
lacks d "HVNET: d got b-" || fail=1                        # another VLAN: nothing
lacks a "HVNET: a got b-" || fail=1
lacks c "HVNET: c got b-spoof" || fail=1                   # another source MAC
lacks b "HVNET: b got a-tagged" || fail=1                  # a tag into VLAN 10
lacks c "HVNET: c got a-tagged" || fail=1
has b "HVNET: b ping 192.168.10.3 answered" || fail=1
lacks b "HVNET: b ping 192.168.10.4" || fail=1
has a "HVNET: a ping 10.0.2.2 answered" || fail=1           # the management network: reach
has a "HVNET: a tcp 10.0.2.2:$mport connected" || fail=1
lacks a "HVNET: a ping $node_ip" || fail=1                 # the node: nothing
lacks a "HVNET: a tcp $node_ip:22" || fail=1
check "the node took no address or route from a's router advertisement" \
	"! ip -6 addr show | grep -q 2001:db8:77 && ! ip -6 route | grep -q 2001:db8:77" || fail=1

# What left the node on the uplink: markers by 802.1Q VLAN (0: untagged).
python3 "$LIB/pcap.py" markers "$WORK/uplink.pcap" >"$WORK/uplink.markers"
on_uplink() { grep -qx "$1" "$WORK/uplink.markers"; }
for m in "a-udp vlan 0" "a-echo6 vlan 0" "b-raw vlan 10" "c-raw vlan 10" "d-raw vlan 20"; do
	on_uplink "$m" && echo "  ok: on the uplink: $m" || { echo "  FAIL: not on the uplink: $m"; fail=1; }
done
for m in a-dhcp a-dhcp68 a-ra a-tagged:10 a-q1.dhcp a-q1.ra b-spoof; do
	grep -q "^$m " "$WORK/uplink.markers" && { echo "  FAIL: on the uplink: $(grep "^$m " "$WORK/uplink.markers")"; fail=1; } ||
		echo "  ok: never on the uplink: $m"
done

# The rules that dropped them counted those frames (TABLE CHAIN PATTERN: the first rule listed
# with PATTERN dropped at least one frame).
dropped() {
	check "ebtables -t $1 $2 dropped frames: $3" \
		"n=\$(ebtables -t $1 -L $2 --Lc | grep -e '$3' | head -n1 | sed -n 's/.* pcnt = \([0-9]*\) .*/\1/p'); \
		echo \"pcnt \$n\"; [ \"\${n:-0}\" -gt 0 ]"
}
dropped nat PREROUTING '-p 802_1Q -i hvtap+ -j DROP' || fail=1
dropped nat HVNODE-TAPS "-i $tap_a --ip-proto udp --ip-sport 67 -j DROP" || fail=1
dropped nat HVNODE-TAPS "-i $tap_a --ip-proto udp --ip-dport 68 -j DROP" || fail=1
dropped nat HVNODE-TAPS "-i $tap_a .*router-advertisement -j DROP" || fail=1
dropped nat HVNODE-TAPS "-s ! $(echo "$mac_b" | tr a-f A-F) -i $tap_b -j DROP" || fail=1
dropped filter INPUT '-i hvtap+ -j DROP' || fail=1

# The bridge as an operator sees it; the report names each NIC.
check "b's NIC ($tap_b, $mac_b) is the guest's MAC, an access port of VLAN 10 owned by b's uid" \
	"grep -q 'HVGUEST: b eth0 $mac_b' /run/hvnode/vms/b/console.log && \
	bridge vlan show dev $tap_b | grep -q ' 10 PVID Egress Untagged' && \
	! bridge vlan show dev $tap_b | grep -q ' 1 PVID' && \
	[ \$(cat /sys/class/net/$tap_b/owner) = \$(sed -n 's/^Uid:[[:space:]]*\\([0-9]*\\).*/\\1/p' /proc/\$(head -n1 /sys/fs/cgroup/hvnode-vms/b/cgroup.procs)/status) ]" || fail=1
check "b's port learns nothing and gets no flooded unicast; b's MAC is a static entry on VLAN 10" \
	"bridge -d link show dev $tap_b | grep -q 'learning off' && bridge -d link show dev $tap_b | grep -q 'flood off' && \
	bridge fdb show dev $tap_b | grep -q '^$mac_b vlan 10 master br0 static'" || fail=1
check "the uplink trunks VLANs 10 and 20, tagged" \
	"bridge vlan show dev eth0 | grep -q ' 10\$' && bridge vlan show dev eth0 | grep -q ' 20\$'" || fail=1
node_sh "bridge vlan show; bridge -d link show; ebtables -t nat -L --Lc; ebtables -t filter -L --Lc" >"$WORK/bridge.txt" || true

# kill -9 of b's VMM: back with its tap, and its rules once, not twice.
node_sh "kill -9 \$(head -n1 /sys/fs/cgroup/hvnode-vms/b/cgroup.procs)" >/dev/null
vm_wait "$UUID" b --state running --restarts 1
check "b restarted: its tap is back on VLAN 10 with its 4 rules, once" \
	"bridge vlan show dev $tap_b | grep -q ' 10 PVID Egress Untagged' && \
	[ \$(ebtables -t nat -L HVNODE-TAPS | grep -c -e '-i $tap_b ') = 4 ]" || fail=1

# Deleting d removes its tap, its rules, and VLAN 20 from the uplink; deleting c leaves VLAN 10
# there, which b still uses.
mgr vm delete "$MANAGER_DIR" "$UUID" d >/dev/null
mgr vm wait "$MANAGER_DIR" "$UUID" d --absent --timeout 60 >/dev/null || { echo "  FAIL: d still reported"; fail=1; }
check "d's tap $tap_d, its filter rules and VLAN 20 on the uplink are gone" \
	"[ ! -e /sys/class/net/$tap_d ] && ebtables -t nat -L HVNODE-TAPS >/tmp/rules && ! grep -q '$tap_d' /tmp/rules && \
	! bridge vlan show dev eth0 | grep -q ' 20\$' && bridge vlan show dev eth0 | grep -q ' 10\$'" || fail=1
mgr vm delete "$MANAGER_DIR" "$UUID" c >/dev/null
mgr vm wait "$MANAGER_DIR" "$UUID" c --absent --timeout 60 >/dev/null || { echo "  FAIL: c still reported"; fail=1; }
check "c deleted: VLAN 10 stays on the uplink for b" \
	"[ ! -e /sys/class/net/$tap_c ] && bridge vlan show dev eth0 | grep -q ' 10\$'" || fail=1
exit $fail
