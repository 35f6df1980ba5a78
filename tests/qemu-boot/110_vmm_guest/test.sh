# SUMMARY: inside a node: hvnode-vmm boots the node's kernel (5 GiB, two NICs, paused and resumed) and Debian's stock cloud kernel as 2-vCPU guests with virtio blk/net/rng found through ACPI, confined; the power button powers them off
set -eu
. "$(dirname "$0")/../lib/lib.sh"
: "${BUSYBOX:?BUSYBOX must point to the static busybox binary}"
HERE=$(cd "$(dirname "$0")" && pwd)
trap qemu_stop EXIT
GUEST_IP=10.0.2.200/24

# Host side: guest initramfs (busybox + init), a read-only disk with a known pattern, an empty
# disk for the guest to write, all carried into the node on a FAT drive with the kernels: the
# node's own, and Debian 12's stock cloud kernel (the pinned linux-image-cloud package: no MP
# table parser, virtio as modules found through ACPI) with its modules in a second initramfs.
mkdir -p "$WORK/initramfs/bin" "$WORK/initramfs/proc" "$WORK/initramfs/sys" "$WORK/initramfs/dev" \
	"$WORK/initramfs/tmp" "$WORK/carry"
cp "$BUSYBOX" "$WORK/initramfs/bin/busybox"
cp "$HERE/guest-init" "$WORK/initramfs/init"
chmod 755 "$WORK/initramfs/init" "$WORK/initramfs/bin/busybox"
(cd "$WORK/initramfs" && find . | LC_ALL=C sort | cpio --reproducible -o -H newc -R 0:0 2>/dev/null) |
	gzip -n >"$WORK/carry/guest.gz"
: "${DEBIAN_KERNEL_DIR:?DEBIAN_KERNEL_DIR must point to the unpacked linux-image-cloud package}"
mods=$(ls -d "$DEBIAN_KERNEL_DIR"/lib/modules/*/kernel)
: "${MUSL_CC:?MUSL_CC must point to musl-gcc}"
"$MUSL_CC" -static -Os -Wall -Wextra -Werror -o "$WORK/initramfs/bin/hvtest-insmod" "$HERE/hvtest-insmod.c"
mkdir -p "$WORK/initramfs/modules"
for m in virtio_ring virtio virtio_mmio virtio_blk failover net_failover virtio_net virtio-rng button; do
	cp "$(find "$mods" -name "$m.ko")" "$WORK/initramfs/modules/" && echo "$m" >>"$WORK/initramfs/modules/list"
done
(cd "$WORK/initramfs" && find . | LC_ALL=C sort | cpio --reproducible -o -H newc -R 0:0 2>/dev/null) |
	gzip -n >"$WORK/carry/guest-debian.gz"
cp "$IMG/pxe/vmlinuz" "$WORK/carry/vmlinuz"
cp "$DEBIAN_KERNEL_DIR"/boot/vmlinuz-* "$WORK/carry/vmlinuz-debian"
awk 'BEGIN { for (i = 0; i < 4096; i++) printf "HVPATTERN%07d\n", i }' >"$WORK/carry/disk0.img"
dd if=/dev/zero of="$WORK/carry/disk1.img" bs=1M count=4 2>/dev/null
expect=$(printf 'HVWRITE %s\n' $(seq 1 2000) | sha256sum | cut -d' ' -f1)
size=$(printf 'HVWRITE %s\n' $(seq 1 2000) | wc -c)
rm -f "$WORK/carry.img"
mkfs.fat -C -n HVGUEST "$WORK/carry.img" 65536 >/dev/null
mcopy -i "$WORK/carry.img" "$WORK/carry"/* ::/

boot_pxe_set "" -drive "file=$WORK/carry.img,if=virtio,format=raw"
wait_console "$READY"
wait_console 'WARNING: debug root shell on /dev/ttyS1' 5
fail=0
check "the carry drive mounts and its files copy to /tmp" \
	"mkdir -p /tmp/g /tmp/c && mount -t vfat -o ro \$(findfs LABEL=HVGUEST) /tmp/c && cp /tmp/c/* /tmp/g/ && umount /tmp/c && chmod 644 /tmp/g/*" || fail=1
peer=$(node_sh "ip -4 addr show br0 | sed -n 's/.*inet \([0-9.]*\)\/.*/\1/p'" | tr -d '\r\n')
echo "  node br0 address: $peer"

# guest_marker TEXT: waits (in the node) up to 55 s for TEXT in the guest's console log $LOG
# (node_sh gives a command 60 s; busybox sleep takes whole seconds).
guest_marker() {
	check "$WHO: $1" "i=0; until grep -q '$1' $LOG 2>/dev/null; do i=\$((i+1)); \
		[ \$i -lt 55 ] || exit 1; sleep 1; done"
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
		check "the second NIC's tap0b, 10.9.0.1 on the node's side" \
			"ip addr add 10.9.0.1/24 dev tap0b && ip link set tap0b up" || fail=1
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
	fi
}
# The node's kernel as guest also gets 5 GiB (more than fits below the MMIO hole; backed lazily),
# a second NIC on a tap of its own (10.9.0.1 on the node's side) and a pause.
run_guest node vmlinuz guest.gz tap0 5G "--net tap=tap0b" "hvtest.eth1=10.9.0.2/24 hvtest.mem_kib=5000000"
node_sh "dd if=/dev/zero of=/tmp/g/disk1.img bs=1M count=4 2>/dev/null" >/dev/null
run_guest debian vmlinuz-debian guest-debian.gz tap1
guest_marker 'HVGUEST: modules loaded' || fail=1
exit $fail
