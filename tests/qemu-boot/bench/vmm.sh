#!/bin/sh
# vmm.sh IMG WORK [RUNS]: hvnode-vmm figures (not a pass/fail test). Boots a node under QEMU TCG,
# runs the same small guest RUNS times (default 10) with the node's hvnode-vmm and prints:
# time from exec to the guest's init marker (p50, p90, ms), the VMM's RSS beyond guest RAM
# (KiB, sum of /proc/PID/smaps Rss outside the guest RAM mapping; the node kernel has no smaps,
# so there it is RssAnon + RssFile: hvnode-vmm maps guest RAM shared, as RssShmem), the static
# binary size; then,
# for reference, the same guest under qemu-system-x86_64 -M microvm on this host (TCG).
# Needs BUSYBOX (static busybox for the guest) and MUSL_CC (the build's musl-gcc, for the hvbench helper). The node's
# /tmp is noexec, so the helper runs from a tmpfs mounted for it on /tmp/b.
set -eu
USAGE="vmm.sh IMG WORK [RUNS]"
. "$(dirname "$0")/../lib/standalone.sh"
RUNS=${3:-10}
: "${BUSYBOX:?BUSYBOX must point to the static busybox binary}"
trap qemu_stop EXIT
MARKER='HVBENCH: init reached'
MEM_MIB=256
CMDLINE=$GUEST_CMDLINE

rm -rf "$WORK/initramfs" "$WORK/carry" "$WORK/results"
mkdir -p "$WORK/initramfs/bin" "$WORK/initramfs/proc" "$WORK/carry" "$WORK/results"
cp "$BUSYBOX" "$WORK/initramfs/bin/busybox"
cat >"$WORK/initramfs/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo "HVBENCH: init reached"
/bin/busybox sleep 1
/bin/busybox reboot -f
INIT
chmod 755 "$WORK/initramfs/init" "$WORK/initramfs/bin/busybox"
(cd "$WORK/initramfs" && find . | LC_ALL=C sort | cpio --reproducible -o -H newc -R 0:0 2>/dev/null) |
	gzip -n >"$WORK/carry/guest.gz"
cp "$IMG/pxe/vmlinuz" "$WORK/carry/vmlinuz"
"${MUSL_CC:?}" -static -O2 -o "$WORK/carry/hvbench" "$HERE/hvbench.c"
gcc -O2 -o "$WORK/hvbench-host" "$HERE/hvbench.c"
rm -f "$WORK/carry.img"
mkfs.fat -C -n HVGUEST "$WORK/carry.img" 16384 >/dev/null
mcopy -i "$WORK/carry.img" "$WORK/carry"/* ::/

echo "[bench] booting a node (TCG) ..."
boot_pxe_set "" -drive "file=$WORK/carry.img,if=virtio,format=raw"
wait_console "$READY"
wait_console 'WARNING: debug root shell on /dev/ttyS1' 5
node_sh "mkdir -p /tmp/b /tmp/c && mount -t tmpfs -o size=64m,mode=755 hvbench /tmp/b && mount -t vfat -o ro \$(findfs LABEL=HVGUEST) /tmp/c && cp /tmp/c/* /tmp/b/ && umount /tmp/c && chmod 755 /tmp/b/hvbench" >/dev/null
size=$(node_sh "wc -c </usr/sbin/hvnode-vmm" | tr -d ' \r\n')
i=0
while [ "$i" -lt "$RUNS" ]; do
	i=$((i + 1))
	# one line, no tabs: the debug shell is interactive and a tab would complete file names
	cmd="cd /tmp/b && ./hvbench '$MARKER' $MEM_MIB -- hvnode-vmm --kernel vmlinuz --initrd guest.gz"
	cmd="$cmd --cpus 2 --mem ${MEM_MIB}M --cmdline '$CMDLINE' 2>/dev/null </dev/null"
	line=$(node_sh "$cmd" | grep '^init_ms=' | tr -d '\r')
	echo "  hvnode-vmm run $i: $line"
	echo "$line" | sed -n 's/^init_ms=\([0-9]*\) .*/\1/p' >>"$WORK/results/vmm-ms"
	echo "$line" | sed -n 's/.* rss_kib=\([0-9]*\) .*/\1/p' >>"$WORK/results/vmm-rss"
done
qemu_stop

# Reference: QEMU microvm on this host under TCG. Measured here: with 2 vCPUs the guest does not
# reach init within 100 s (1 vCPU: about 2-3 s), and after init the guest's reboot does not end QEMU, so the reference
# uses 1 vCPU, fewer runs, and hvbench stops QEMU once the marker is seen.
QRUNS=$(( RUNS < 3 ? RUNS : 3 ))
echo "[bench] reference: qemu-system-x86_64 -M microvm on this host (TCG, not nested, 1 vCPU) ..."
i=0
while [ "$i" -lt "$QRUNS" ]; do
	i=$((i + 1))
	line=$(HVBENCH_KILL=1 "$WORK/hvbench-host" "$MARKER" $MEM_MIB -- timeout 300 qemu-system-x86_64 -M microvm -accel tcg \
		-cpu max -smp 1 -m ${MEM_MIB}M -nodefaults -no-user-config -display none -no-reboot -serial stdio \
		-kernel "$WORK/carry/vmlinuz" -initrd "$WORK/carry/guest.gz" \
		-append "$CMDLINE tsc_early_khz=2000 reboot=t" 2>/dev/null </dev/null | grep '^init_ms=')
	echo "  qemu microvm run $i: $line"
	echo "$line" | sed -n 's/^init_ms=\([0-9]*\) .*/\1/p' >>"$WORK/results/qemu-ms"
	echo "$line" | sed -n 's/.* rss_kib=\([0-9]*\) .*/\1/p' >>"$WORK/results/qemu-rss"
done

echo "[bench] hvnode-vmm inside a TCG node (nested KVM), $RUNS runs, 2 vCPUs, ${MEM_MIB} MiB:"
echo "[bench]   exec to guest init marker: p50 $(pct 50 "$WORK/results/vmm-ms") ms, p90 $(pct 90 "$WORK/results/vmm-ms") ms"
echo "[bench]   VMM RSS beyond guest RAM: p50 $(pct 50 "$WORK/results/vmm-rss") KiB, max $(pct 100 "$WORK/results/vmm-rss") KiB"
echo "[bench]   static binary /usr/sbin/hvnode-vmm: $size bytes"
echo "[bench] reference, NOT comparable (pure TCG, 1 vCPU, $QRUNS runs): qemu-system-x86_64 -M microvm on the build host:"
echo "[bench]   exec to guest init marker: p50 $(pct 50 "$WORK/results/qemu-ms") ms, p90 $(pct 90 "$WORK/results/qemu-ms") ms"
echo "[bench]   QEMU RSS beyond guest RAM: p50 $(pct 50 "$WORK/results/qemu-rss") KiB"
