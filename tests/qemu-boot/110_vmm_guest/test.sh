# SUMMARY: inside a node: hvnode-vmm boots the node's kernel (5 GiB, two NICs, MTU 9000 and TSO both ways, paused and resumed) and a stock Debian 12 (its cloud kernel and initrd, systemd to multi-user, DHCP) as 2-vCPU guests with virtio blk/net/rng found through ACPI, confined; the power button powers them off
set -eu
. "$(dirname "$0")/../lib/lib.sh"
: "${BUSYBOX:?BUSYBOX must point to the static busybox binary}"
HERE=$(cd "$(dirname "$0")" && pwd)
trap qemu_stop EXIT
GUEST_IP=10.0.2.200/24

# Host side: guest initramfs (busybox + init), a read-only disk with a known pattern, an empty
# disk for the guest to write, all carried into the node on a FAT drive with the node's kernel.
# The stock Debian 12 guest (scripts/debian-guest.sh: systemd, the pinned linux-image-cloud
# kernel, whose virtio drivers are modules found through ACPI and which has no MP table parser,
# with its own initramfs-tools initrd) comes as a second drive: its root disk, which the node
# hands to hvnode-vmm as the guest's vda (its kernel and initrd are read from its /boot).
mkdir -p "$WORK/initramfs/bin" "$WORK/initramfs/proc" "$WORK/initramfs/sys" "$WORK/initramfs/dev" \
	"$WORK/initramfs/tmp" "$WORK/carry"
cp "$BUSYBOX" "$WORK/initramfs/bin/busybox"
cp "$HERE/guest-init" "$WORK/initramfs/init"
"${MUSL_CC:?MUSL_CC must point to musl-gcc}" -static -Os -Wall -Wextra -Werror -o "$WORK/carry/hvtest-tcp" \
	"$HERE/../lib/hvtest-tcp.c"
cp "$WORK/carry/hvtest-tcp" "$WORK/initramfs/bin/hvtest-tcp"
chmod 755 "$WORK/initramfs/init" "$WORK/initramfs/bin/busybox" "$WORK/initramfs/bin/hvtest-tcp"
(cd "$WORK/initramfs" && find . | LC_ALL=C sort | cpio --reproducible -o -H newc -R 0:0 2>/dev/null) |
	gzip -n >"$WORK/carry/guest.gz"
: "${DEBIAN_GUEST_DIR:?DEBIAN_GUEST_DIR must hold the Debian guest (scripts/debian-guest.sh)}"
[ -s "$DEBIAN_GUEST_DIR/root.img" ] || { echo "  FAIL: no $DEBIAN_GUEST_DIR/root.img"; exit 1; }
cp "$IMG/pxe/vmlinuz" "$WORK/carry/vmlinuz"
awk 'BEGIN { for (i = 0; i < 4096; i++) printf "HVPATTERN%07d\n", i }' >"$WORK/carry/disk0.img"
dd if=/dev/zero of="$WORK/carry/disk1.img" bs=1M count=4 2>/dev/null
expect=$(printf 'HVWRITE %s\n' $(seq 1 2000) | sha256sum | cut -d' ' -f1)
size=$(printf 'HVWRITE %s\n' $(seq 1 2000) | wc -c)
rm -f "$WORK/carry.img"
mkfs.fat -C -n HVGUEST "$WORK/carry.img" 65536 >/dev/null
mcopy -i "$WORK/carry.img" "$WORK/carry"/* ::/

boot_pxe_set "" -drive "file=$WORK/carry.img,if=virtio,format=raw" \
	-drive "file=$DEBIAN_GUEST_DIR/root.img,if=virtio,format=raw,snapshot=on"
wait_console "$READY"
wait_console 'WARNING: debug root shell on /dev/ttyS1' 5
fail=0
check "the carry drive mounts and its files copy to /tmp" \
	"mkdir -p /tmp/g /tmp/c && mount -t vfat -o ro \$(findfs LABEL=HVGUEST) /tmp/c && cp /tmp/c/* /tmp/g/ && umount /tmp/c && chmod 644 /tmp/g/*" || fail=1
peer=$(node_sh "ip -4 addr show br0 | sed -n 's/.*inet \([0-9.]*\)\/.*/\1/p'" | tr -d '\r\n')
echo "  node br0 address: $peer"

# guest_marker TEXT: waits (in the node) up to 48 s for TEXT in the guest's console log $LOG
# (node_sh gives a command 60 s; busybox sleep takes whole seconds).
guest_marker() {
	check "$WHO: $1" "i=0; until grep -q '$1' $LOG 2>/dev/null; do i=\$((i+1)); \
		[ \$i -lt 48 ] || exit 1; sleep 1; done"
}

# pause_check: the guest watches its clock for 20 s (of its own time); meanwhile the API pauses
# it for 10 s (of the node's): the VMM must stay under 5 % of one CPU while paused (its CPU
# ticks from /proc/PID/stat, 100 per second), and the guest's clock must not jump on resume.
pause_check() {
	guest_marker 'HVGUEST: clock watch' || fail=1
	check "pause: paused for 10 s, hvnode-vmm used under 5 % of one CPU" \
		"pid=\$(pidof hvnode-vmm); t() { set -- \$(sed 's/.*) //' /proc/\$pid/stat); echo \$((\${12} + \${13})); }; \
		hvnode-vmm --api-call /tmp/g/api.sock pause | grep -q '\"state\":\"paused\"' || exit 1; \
		a=\$(t); sleep 10; b=\$(t); \
		hvnode-vmm --api-call /tmp/g/api.sock resume | grep -q '\"state\":\"running\"' || exit 1; \
		echo \"\$((b - a)) CPU ticks (10 ms) in 10 s paused\" >/tmp/g/pause.txt; [ \$((b - a)) -lt 50 ]" || fail=1
	guest_marker 'HVGUEST: clock max step' || fail=1
	check "pause: the guest's clock stepped at most 1 s over the pause" \
		"s=\$(sed -n 's/.*HVGUEST: clock max step \([0-9]*\) cs.*/\1/p' $LOG); echo \"max step \$s cs\"; \
		[ -n \"\$s\" ] && [ \$s -le 100 ]" || fail=1
	echo "  figures: $(node_sh "cat /tmp/g/pause.txt; sed -n 's/.*HVGUEST: \(clock max step.*\)/\1/p' $LOG" | tr -d '\r' | tr '\n' ' ')"
}

# offload_check: eth1 (tap0b, MTU 9000) carries jumbo frames and bulk TCP both ways with
# segmentation offload: more than 9100 bytes per frame on average (each transfer is 8 MiB).
offload_check() {
	guest_marker 'HVGUEST: eth1 mtu 9000' || fail=1
	guest_marker 'HVGUEST: jumbo ping ok' || fail=1
	check "an 8000-byte ping is one frame (3 pings: at most 10 frames with ARP and IPv6; 18 at MTU 1500)" \
		"n=\$(sed -n 's/.*HVGUEST: jumbo ping ok, \([0-9]*\) frames.*/\1/p' $LOG); [ -n \"\$n\" ] && [ \$n -le 10 ]" || fail=1
	for dir in send recv; do
		guest_marker "HVGUEST: tcp $dir ok" || guest_marker "HVGUEST: tcp $dir ok" || fail=1
		check "TCP $dir through the guest's TSO: more than 9100 bytes per frame" \
			"n=\$(sed -n 's/.*HVGUEST: tcp $dir ok, \([0-9]*\) bytes per frame.*/\1/p' $LOG); [ -n \"\$n\" ] && [ \$n -gt 9100 ]" || fail=1
	done
	check "the node received the guest's 8 MiB" "grep -q 'received 8388608 bytes' /tmp/g/tcp-5001.txt" || fail=1
	echo "  figures: $(node_sh "sed -n 's/.*HVGUEST: \(jumbo.*\|tcp.*\)/\1/p' $LOG" | tr -d '\r' | tr '\n' ' ')"
}

# run_guest WHO KERNEL INITRD TAP [MEM [EXTRA_VMM_ARGS [EXTRA_CMDLINE]]]: one guest from start to
# its poweroff, with every check.
run_guest() {
	WHO=$1 LOG=/tmp/g/$1.log
	echo "  $WHO: $2"
	node_sh "cd /tmp/g && rm -f vmm.rc api.sock && (hvnode-vmm --kernel $2 --initrd $3 --cpus 2 --mem ${5:-256M} \
		--disk disk0.img,ro --disk disk1.img --net tap=$4 ${6:-} --rng --api-socket /tmp/g/api.sock \
		--console file:$LOG --cmdline '$GUEST_CMDLINE hvtest.peer=$peer hvtest.ip=$GUEST_IP ${7:-}' \
		</dev/null >vmm.out 2>&1; echo \$? >vmm.rc) >/dev/null 2>&1 &" >/dev/null
	check "hvnode-vmm created $4" \
		"i=0; until ip link show $4 >/dev/null 2>&1; do i=\$((i+1)); [ \$i -lt 30 ] || exit 1; sleep 1; done" || fail=1
	# The VMM makes the tap before it drops privileges and starts its threads, each of which
	# installs its own filter: wait (up to 20 s) until the API answers and every thread is confined.
	check "the API answers status and counters" \
		"i=0; until hvnode-vmm --api-call /tmp/g/api.sock status 2>/dev/null | grep -q '\"state\":\"running\",\"vcpus\":2'; do \
		i=\$((i+1)); [ \$i -lt 20 ] || exit 1; sleep 1; done; \
		hvnode-vmm --api-call /tmp/g/api.sock counters | grep -q '\"kind\":\"virtio-blk\"'" || fail=1
	check "every VMM thread: Seccomp 2, NoNewPrivs 1, non-root uid" \
		"confined() { pid=\$(pidof hvnode-vmm) || return 1; n=0; for t in /proc/\$pid/task/*; do n=\$((n+1)); \
		grep -q '^Seccomp:[[:space:]]*2\$' \$t/status && grep -q '^NoNewPrivs:[[:space:]]*1\$' \$t/status && \
		! grep -q '^Uid:[[:space:]]*0[[:space:]]' \$t/status || return 1; done; [ \$n -ge 4 ] && echo \"\$n threads\"; }; \
		i=0; until confined; do i=\$((i+1)); [ \$i -lt 20 ] || exit 1; sleep 1; done" || fail=1
	check "$4 joins br0" "(ip link set $4 master br0 || brctl addif br0 $4) && ip link set $4 up" || fail=1
	ndev=4
	if [ -n "${6:-}" ]; then
		ndev=5
		check "the second NIC's tap0b, 10.9.0.1 on the node's side, MTU 9000" \
			"ip addr add 10.9.0.1/24 dev tap0b && ip link set tap0b mtu 9000 up" || fail=1
	fi
	guest_marker 'HVGUEST: init reached' || fail=1
	guest_marker 'HVGUEST: cpus nproc=2 cpuinfo=2' || fail=1
	guest_marker 'HVGUEST: cpus from the MADT' || fail=1
	guest_marker "HVGUEST: virtio devices from the DSDT: $ndev" || fail=1
	guest_marker 'HVGUEST: vda pattern ok' || fail=1
	guest_marker "HVGUEST: vdb written $expect" || fail=1
	guest_marker 'HVGUEST: hwrng ok' || fail=1
	guest_marker "HVGUEST: ping $peer ok" || fail=1
	if [ -n "${6:-}" ]; then
		guest_marker 'HVGUEST: ping 10.9.0.1 on eth1 ok' || fail=1
		offload_check
		guest_marker 'HVGUEST: memory MemTotal ok' || fail=1
		pause_check
	fi
	guest_marker 'HVGUEST: waiting for the power button' || fail=1
	check "the API's shutdown presses the ACPI power button" \
		"hvnode-vmm --api-call /tmp/g/api.sock shutdown | grep -q '\"action\":\"power-button\"'" || fail=1
	guest_marker 'HVGUEST: power button pressed' || fail=1
	check "the guest's poweroff (ACPI S5) ends hvnode-vmm with exit 0, saying so" \
		"i=0; until [ -s /tmp/g/vmm.rc ]; do i=\$((i+1)); [ \$i -lt 55 ] || exit 1; sleep 1; done; [ \$(cat /tmp/g/vmm.rc) = 0 ] && \
		grep -q 'hvnode-vmm: guest powered off' /tmp/g/vmm.out" || fail=1
	check "the node reads back what the guest wrote (sha256)" \
		"[ \$(dd if=/tmp/g/disk1.img bs=$size count=1 2>/dev/null | sha256sum | cut -d' ' -f1) = $expect ]" || fail=1
	if [ "$fail" != 0 ]; then
		echo "  guest console and VMM output:"
		node_sh "tail -n 40 $LOG; cat /tmp/g/vmm.out" | sed 's/^/    /'
		echo "  the VMM's exit code, its process and the node's last kernel lines:"
		node_sh "cat /tmp/g/vmm.rc; for p in \$(pidof hvnode-vmm); do grep -E '^(State|Threads)' /proc/\$p/status; \
			cat /proc/\$p/task/*/wchan 2>/dev/null; echo; done; dmesg | tail -n 25" | sed 's/^/    /'
	fi
}
# The node's kernel as guest also gets 5 GiB (more than fits below the MMIO hole; backed lazily),
# a second NIC on a tap of its own (10.9.0.1 on the node's side) and a pause.
# The node's TCP ends for offload_check (its /tmp is noexec: the tool runs from a tmpfs of its own).
node_sh "mkdir -p /tmp/t && mount -t tmpfs -o size=4m,mode=755 hvtest /tmp/t && cp /tmp/g/hvtest-tcp /tmp/t/ && \
	chmod 755 /tmp/t/hvtest-tcp && (/tmp/t/hvtest-tcp listen 5001 recv 8 >/tmp/g/tcp-5001.txt 2>&1 &) && \
	(/tmp/t/hvtest-tcp listen 5002 send 8 >/tmp/g/tcp-5002.txt 2>&1 &)" >/dev/null
run_guest node vmlinuz guest.gz tap0 5G "--net tap=tap0b,mtu=9000,offload=on" "hvtest.eth1=10.9.0.2/24 hvtest.mem_kib=5000000"

# The stock Debian guest: systemd to multi-user with both vCPUs, its root disk and a scratch disk,
# DHCP through the bridge; the API's shutdown presses the power button and systemd powers off.
# debian_marker TEXT [TRIES]: guest_marker, TRIES times (48 s each; systemd's boot under nested
# TCG takes a minute or more), fewer if the VMM has exited; once one fails (its console is
# shown then), the guest counts as down and the markers after it fail at once.
debian_marker() {
	[ -z "${debian_down:-}" ] || { echo "  FAIL: $WHO: $1 (the guest is not up)"; return 1; }
	n=${2:-1}
	while ! guest_marker "$1" >/dev/null; do
		n=$((n - 1))
		if [ "$n" -le 0 ] || node_sh "[ -s /tmp/g/vmm.rc ]" >/dev/null; then
			guest_marker "$1" && return 0
			debian_down=1
			echo "  the guest's console so far, and the VMM's output:"
			node_sh "tail -n 30 $LOG; cat /tmp/g/vmm.out /tmp/g/vmm.rc" | tr -d '\r' | sed 's/^/    /'
			return 1
		fi
	done
	echo "  ok: $WHO: $1"
}
WHO=debian LOG=/tmp/g/debian.log
echo "  debian: Debian 12 with systemd, stock kernel and initramfs-tools initrd"
check "the Debian guest's root disk is in the node; its kernel and initrd copy out of its /boot" \
	"dev=\$(findfs LABEL=hvdebian) && mkdir -p /tmp/d && mount -t ext4 -o ro \$dev /tmp/d && \
	cp /tmp/d/boot/vmlinuz-* /tmp/g/vmlinuz-debian && cp /tmp/d/boot/initrd.img-* /tmp/g/initrd-debian && \
	umount /tmp/d && echo \$dev >/tmp/g/debian-dev" || fail=1
node_sh "dd if=/dev/zero of=/tmp/g/disk1.img bs=1M count=4 2>/dev/null" >/dev/null
# Without NIC offloads (hvnode-vmm's default): with them on here (its kernel takes MRG_RXBUF and
# TSO), the node under TCG hung as this guest started in 2 of 6 runs (QEMU stopped serving the
# node's console socket; no panic); the node's own kernel as guest above carries the offloads.
node_sh "cd /tmp/g && rm -f vmm.rc api.sock && (hvnode-vmm --kernel vmlinuz-debian --initrd initrd-debian \
	--cpus 2 --mem 512M --disk \$(cat debian-dev) --disk disk1.img --net tap=tap1 --rng --api-socket /tmp/g/api.sock \
	--console file:$LOG --cmdline 'console=ttyS0 root=/dev/vda rw quiet panic=-1 i8042.noaux i8042.nomux i8042.nopnp' \
	</dev/null >vmm.out 2>&1; echo \$? >vmm.rc) >/dev/null 2>&1 &" >/dev/null
check "hvnode-vmm created tap1 and it joins br0" \
	"i=0; until ip link show tap1 >/dev/null 2>&1; do i=\$((i+1)); [ \$i -lt 30 ] || exit 1; sleep 1; done; \
	(ip link set tap1 master br0 || brctl addif br0 tap1) && ip link set tap1 up" || fail=1
debian_marker 'HVGUEST: systemd .*, multi-user.target active' 6 || fail=1
debian_marker 'HVGUEST: cpus nproc=2 cpuinfo=2' || fail=1
debian_marker 'HVGUEST: cpus from the MADT' || fail=1
debian_marker 'HVGUEST: virtio devices from the DSDT: 4' || fail=1
debian_marker 'HVGUEST: root /dev/vda ext4 rw' || fail=1
debian_marker 'HVGUEST: root written' || fail=1
debian_marker "HVGUEST: vdb written $expect" || fail=1
debian_marker 'HVGUEST: address [a-z0-9]* 10\.0\.2\.' 2 || fail=1
debian_marker 'HVGUEST: hwrng ok' || fail=1
debian_marker 'HVGUEST: waiting for the power button' || fail=1
check "the API's shutdown presses the ACPI power button" \
	"date +%s >/tmp/g/shutdown.t && hvnode-vmm --api-call /tmp/g/api.sock shutdown | grep -q '\"action\":\"power-button\"'" || fail=1
# systemd's shutdown under nested TCG is slow: wait in two steps (each node_sh call has 60 s).
node_sh "i=0; until [ -s /tmp/g/vmm.rc ] || [ \$i -ge 50 ]; do i=\$((i+1)); sleep 1; done" >/dev/null
check "systemd powers off (ACPI S5): hvnode-vmm exits 0, saying so, within 90 s of the button" \
	"i=0; until [ -s /tmp/g/vmm.rc ]; do i=\$((i+1)); [ \$i -lt 50 ] || exit 1; sleep 1; done; \
	e=\$((\$(date +%s) - \$(cat /tmp/g/shutdown.t))); echo \"\$e s from the button to the VMM's exit\" >/tmp/g/shutdown.txt; \
	[ \$(cat /tmp/g/vmm.rc) = 0 ] && grep -q 'hvnode-vmm: guest powered off' /tmp/g/vmm.out && \
	grep -q 'reboot: Power down' $LOG && [ \$e -le 90 ]" || fail=1
check "the node reads back what the guest wrote (sha256)" \
	"[ \$(dd if=/tmp/g/disk1.img bs=$size count=1 2>/dev/null | sha256sum | cut -d' ' -f1) = $expect ]" || fail=1
echo "  figures: $(node_sh "cat /tmp/g/shutdown.txt; grep 'HVGUEST: \(systemd\|failed\|address\)' $LOG" | tr -d '\r' | tr '\n' ' ')"
if [ "$fail" != 0 ]; then
	echo "  guest console and VMM output:"
	node_sh "tail -n 60 $LOG; cat /tmp/g/vmm.out" | sed 's/^/    /'
fi
exit $fail
