# SUMMARY: inside a booted node: / is read-only squashfs, tmpfs runtime dirs, /dev/kvm works, no login prompt
set -eu
. "$(dirname "$0")/../lib/lib.sh"
trap qemu_stop EXIT
# The PXE set's kernel and initrd, booted directly so the debug shell can be enabled on ttyS1.
boot_pxe_set ""
wait_console "$READY"
wait_console 'WARNING: debug root shell on /dev/ttyS1' 5
fail=0
check "/ is squashfs, mounted read-only" "grep -q '^/dev/loop0 / squashfs ro[,]' /proc/mounts" || fail=1
check "writing to / fails" "! touch /hvnode-write-test 2>/dev/null && ! mkdir /etc/x 2>/dev/null" || fail=1
for d in /run /tmp /var; do
	check "$d is tmpfs with nosuid,nodev" "grep -Eq '^tmpfs $d tmpfs rw,nosuid,nodev' /proc/mounts" || fail=1
done
# QEMU's user network sends router advertisements (prefix fec0::/64): without hvnode.ipv6=slaac
# the node takes neither them nor an address.
check "no IPv6 router advertisement or SLAAC address taken (hvnode.ipv6 off by default)" \
	"for n in br0 eth0 default; do [ \"\$(cat /proc/sys/net/ipv6/conf/\$n/accept_ra)\$(cat /proc/sys/net/ipv6/conf/\$n/autoconf)\" = 00 ] || exit 1; done; ! ip -6 addr | grep -Eq 'scope (global|site)'" || fail=1
check "/dev/kvm exists and a VM can be created on it" "test -c /dev/kvm && hvnode-vmm --check-kvm" || fail=1
check "hvnode-agent is linked with libcurl over mbedTLS and cJSON" "hvnode-agent --version | grep -q 'libcurl/.* mbedTLS/.*cJSON'" || fail=1
check "the image carries its version" "grep -q '^HVNODE_VERSION=' /etc/hvnode/release && grep -q '^version: ' /usr/share/hvnode/BUILDINFO" || fail=1
check "no getty or login is running" "! ps | grep -v grep | grep -Eq 'getty|login'" || fail=1
check "the boot medium is not needed: the root lives in RAM" "! grep -q iso9660 /proc/mounts" || fail=1
exit $fail
