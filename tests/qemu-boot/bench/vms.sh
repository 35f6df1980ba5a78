#!/bin/sh
# vms.sh IMG WORK [RUNS]: VM lifecycle figures (not a pass/fail test). Boots a node under QEMU
# TCG against the test manager (heartbeat every 2 s) and prints:
#   - from `manager.py vm create` (the generation changes) to the guest's init marker in its
#     console log: the first VM (images downloaded and verified), then RUNS more with the images
#     cached (p50, p90, ms); beside it, the peer: the same guest started by hand with hvnode-vmm
#     in the node (exec to the same marker, RUNS times);
#   - VMs started per minute: 4 VMs declared at once, until all four markers;
#   - RSS of hvnode-supervisor and hvnode-agent (KiB, VmRSS) with 4 VMs running;
#   - the size of hvnode-supervisor (bytes), what the VM lifecycle adds to the image.
# Needs BUSYBOX (static busybox for the guest).
set -eu
USAGE="vms.sh IMG WORK [RUNS]"
. "$(dirname "$0")/../lib/standalone.sh"
RUNS=${3:-5}
: "${BUSYBOX:?BUSYBOX must point to the static busybox binary}"
trap stop_all EXIT
UUID=9e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b
now_ms() { date +%s%3N; }
rm -rf "$WORK/initramfs" "$WORK/results" "$MANAGER_DIR"
mkdir -p "$WORK/initramfs/bin" "$WORK/initramfs/proc" "$WORK/results"
cp "$BUSYBOX" "$WORK/initramfs/bin/busybox"
cat >"$WORK/initramfs/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo "HVBENCH: init reached"
while :; do /bin/busybox sleep 10; done
INIT
chmod 755 "$WORK/initramfs/init" "$WORK/initramfs/bin/busybox"
(cd "$WORK/initramfs" && find . | LC_ALL=C sort | cpio --reproducible -o -H newc -R 0:0 2>/dev/null) |
	gzip -n >"$WORK/guest.gz"

manager_start --interval 2
boot_pxe_set "$(agent_cmdline)" -uuid "$UUID"
wait_console "$READY"
wait_console 'hvnode-agent: registered as node ' 120

# declare NAME: creates VM NAME, waits in the node for its marker; prints the ms it took.
declare_vm() {
	t0=$(now_ms)
	mgr vm create "$MANAGER_DIR" "$UUID" "$1" --kernel "$IMG/pxe/vmlinuz" --initrd "$WORK/guest.gz" \
		--memory-mib 128 --cmdline "$GUEST_CMDLINE" >/dev/null
	node_sh "i=0; until grep -q 'HVBENCH: init reached' /run/hvnode/vms/$1/console.log 2>/dev/null; do \
		i=\$((i+1)); [ \$i -lt 1000 ] || exit 1; sleep 0.05; done" >/dev/null || {
		node_sh "tail -n 30 /run/hvnode/vms/$1/console.log /run/hvnode/vms/$1/vmm.log" >&2
		exit 1
	}
	echo $(($(now_ms) - t0))
}
remove_vm() {
	mgr vm delete "$MANAGER_DIR" "$UUID" "$1" >/dev/null
	mgr vm wait "$MANAGER_DIR" "$UUID" "$1" --absent --timeout 120 >/dev/null
}
first=$(declare_vm b0)
remove_vm b0
for i in $(seq 1 "$RUNS"); do
	declare_vm "b$i" >>"$WORK/results/cached.txt"
	remove_vm "b$i"
done
# The peer: the same guest by hand, in the node.
node_sh "mkdir -p /tmp/p && cp /run/hvnode/images/$(sha256sum <"$IMG/pxe/vmlinuz" | cut -d' ' -f1) /tmp/p/k && \
	cp /run/hvnode/images/$(sha256sum <"$WORK/guest.gz" | cut -d' ' -f1) /tmp/p/i" >/dev/null
for i in $(seq 1 "$RUNS"); do
	node_sh "rm -f /tmp/p/log; s=\$(cut -d' ' -f1 /proc/uptime); \
		(hvnode-vmm --kernel /tmp/p/k --initrd /tmp/p/i --mem 128M --cmdline '$GUEST_CMDLINE' --console file:/tmp/p/log \
		--api-socket /tmp/p/api </dev/null >/dev/null 2>&1 &); \
		until grep -q 'HVBENCH: init reached' /tmp/p/log 2>/dev/null; do sleep 0.05; done; \
		e=\$(cut -d' ' -f1 /proc/uptime); hvnode-vmm --api-call /tmp/p/api 'shutdown force' >/dev/null; \
		while pidof hvnode-vmm >/dev/null; do sleep 0.05; done; \
		echo \$s \$e | awk '{ printf \"%d\\n\", (\$2 - \$1) * 1000 }'" | tr -d '\r' >>"$WORK/results/peer.txt"
done
# Four at once.
t0=$(now_ms)
for v in q1 q2 q3 q4; do
	mgr vm create "$MANAGER_DIR" "$UUID" $v --kernel "$IMG/pxe/vmlinuz" --initrd "$WORK/guest.gz" \
		--memory-mib 128 --cmdline "$GUEST_CMDLINE" >/dev/null
done
node_sh "for v in q1 q2 q3 q4; do until grep -q 'HVBENCH: init reached' /run/hvnode/vms/\$v/console.log 2>/dev/null; do sleep 0.05; done; done" >/dev/null
four_ms=$(($(now_ms) - t0))
rss=$(node_sh "for p in hvnode-supervisor hvnode-agent; do sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/\$(pidof \$p)/status; done" | tr -d '\r' | tr '\n' ' ')
size=$(node_sh "wc -c </usr/sbin/hvnode-supervisor" | tr -d ' \r\n')

echo "[bench] VM lifecycle, node under QEMU TCG (-cpu max, 2 vCPUs), nested guests of 128 MiB, heartbeat 2 s"
printf '  %-58s %s\n' "vm create -> guest init marker, images downloaded (ms)" "$first"
printf '  %-58s p50 %s  p90 %s  (%s runs)\n' "vm create -> guest init marker, images cached (ms)" \
	"$(pct 50 "$WORK/results/cached.txt")" "$(pct 90 "$WORK/results/cached.txt")" "$RUNS"
printf '  %-58s p50 %s  p90 %s  (%s runs)\n' "peer: hvnode-vmm by hand, exec -> same marker (ms)" \
	"$(pct 50 "$WORK/results/peer.txt")" "$(pct 90 "$WORK/results/peer.txt")" "$RUNS"
printf '  %-58s %s ms, %s VMs/min\n' "4 VMs declared at once -> all four markers" "$four_ms" \
	"$(awk -v t="$four_ms" 'BEGIN { printf "%.1f", 4 * 60000 / t }')"
set -- $rss
printf '  %-58s supervisor %s KiB, agent %s KiB\n' "RSS with 4 VMs running (VmRSS)" "$1" "$2"
printf '  %-58s %s bytes\n' "hvnode-supervisor binary (static, stripped)" "$size"
