#!/bin/sh
# boot.sh IMG WORK [RUNS]: boot-time figures (not a pass/fail test). Under QEMU TCG (2 vCPUs),
# from QEMU's start to the node's `hvnode: node ready` line, at 1 GiB and at 8 GiB of RAM
# (p50 of RUNS boots each, default 3; ms), beside the peer: Debian 12's stock cloud kernel (the
# pinned linux-image-cloud package) booting a one-line init (busybox printing a marker) in the
# same QEMU, at the same sizes. Then the RAM floor: the smallest -m (MiB, in 64 MiB steps down
# from 512) at which the node still reaches ready, and the initrd and kernel sizes.
# Needs BUSYBOX (static busybox for the peer's init) and CLOUD_KERNEL (its vmlinuz).
set -eu
USAGE="boot.sh IMG WORK [RUNS]"
. "$(dirname "$0")/../lib/standalone.sh"
RUNS=${3:-3}
: "${BUSYBOX:?BUSYBOX must point to the static busybox binary}" "${CLOUD_KERNEL:?CLOUD_KERNEL must name the cloud kernel}"
trap qemu_stop EXIT
now_ms() { date +%s%3N; }
rm -rf "$WORK/initramfs" "$WORK/results"
mkdir -p "$WORK/initramfs/bin" "$WORK/results"
cp "$BUSYBOX" "$WORK/initramfs/bin/busybox"
printf '#!/bin/busybox sh\necho "HVBENCH: init reached"\nexec /bin/busybox poweroff -f\n' >"$WORK/initramfs/init"
chmod 755 "$WORK/initramfs/init"
(cd "$WORK/initramfs" && find . | LC_ALL=C sort | cpio --reproducible -o -H newc -R 0:0 2>/dev/null) | gzip -n >"$WORK/peer.gz"

# boot_ms NAME MARKER QEMU_ARGS...: ms from QEMU's start to MARKER on the console, appended to
# $WORK/results/NAME; 1 when the marker never came.
boot_ms() {
	name=$1 marker=$2
	shift 2
	start=$(now_ms)
	qemu_start "$@"
	if wait_console "$marker" 240 >/dev/null 2>&1; then
		echo $(( $(now_ms) - start )) >>"$WORK/results/$name"
		qemu_stop
		return 0
	fi
	qemu_stop
	return 1
}
for mem in 1024 8192; do
	for _ in $(seq "$RUNS"); do
		QEMU_MEM=$mem boot_ms "hvnode-$mem" "$READY" -kernel "$IMG/pxe/vmlinuz" -initrd "$IMG/pxe/initrd.img" \
			-append "$(node_cmdline)"
		QEMU_MEM=$mem boot_ms "peer-$mem" 'HVBENCH: init reached' -kernel "$CLOUD_KERNEL" -initrd "$WORK/peer.gz" \
			-append "console=ttyS0 panic=-1"
	done
done
floor=
for mem in 512 448 384 320 256 192 128; do
	QEMU_MEM=$mem boot_ms "floor-$mem" "$READY" -kernel "$IMG/pxe/vmlinuz" -initrd "$IMG/pxe/initrd.img" \
		-append "$(node_cmdline)" || break
	floor=$mem
done
echo "[bench] QEMU start to ready, TCG, 2 vCPUs (p50 of $RUNS, ms):"
printf '    %-34s %8s %8s %7s\n' "" "1 GiB" "8 GiB" "8/1"
for who in hvnode peer; do
	a=$(pct 50 "$WORK/results/$who-1024") b=$(pct 50 "$WORK/results/$who-8192")
	label=$([ "$who" = hvnode ] && echo "hvnode (node ready)" || echo "Debian cloud kernel (one-line init)")
	printf '    %-34s %8s %8s %7s\n' "$label" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')"
done
h=$(pct 50 "$WORK/results/hvnode-1024") p=$(pct 50 "$WORK/results/peer-1024")
echo "    hvnode / peer at 1 GiB: $(awk -v a="$h" -v b="$p" 'BEGIN { printf "%.2f", a / b }')"
echo "[bench] RAM floor: the node reaches ready with ${floor:-more than 512} MiB (tried down to 128 in 64 MiB steps)"
echo "[bench] sizes: vmlinuz $(wc -c <"$IMG/pxe/vmlinuz") bytes, initrd.img $(wc -c <"$IMG/pxe/initrd.img") bytes"
