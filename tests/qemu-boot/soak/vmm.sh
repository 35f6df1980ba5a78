#!/bin/sh
# vmm.sh IMG WORK [STARTS [PARALLEL]]: a soak of hvnode-vmm (make soak; not part of make test).
# Boots one node under QEMU TCG and starts STARTS guests (default 300) with the node's
# hvnode-vmm, PARALLEL at a time (default 2): each boots the node's kernel with a busybox init
# that prints a marker and reboots, on 2 vCPUs with a disk, a NIC on its own tap and the rng.
# Then it checks the node: every VMM exited 0 with the marker in its console, the node did not
# panic (its console has no "Kernel panic", "BUG:" or "corrupted stack"), no tap is left, no
# hvnode-vmm process is left, and MemAvailable came back (within 32 MiB of where it started).
# Prints the figures; exit 0 when all hold, 1 otherwise. Needs BUSYBOX (static busybox).
# SOAK_VMM=FILE soaks that hvnode-vmm binary instead of the node's (another build, to compare).
set -eu
USAGE="vmm.sh IMG WORK [STARTS [PARALLEL]]"
. "$(dirname "$0")/../lib/standalone.sh"
STARTS=${3:-300}
PARALLEL=${4:-2}
: "${BUSYBOX:?BUSYBOX must point to the static busybox binary}"
trap qemu_stop EXIT
MARKER='HVSOAK: init reached'

rm -rf "$WORK/initramfs" "$WORK/carry"
mkdir -p "$WORK/initramfs/bin" "$WORK/initramfs/proc" "$WORK/carry"
cp "$BUSYBOX" "$WORK/initramfs/bin/busybox"
cat >"$WORK/initramfs/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo "HVSOAK: init reached"
/bin/busybox reboot -f
INIT
chmod 755 "$WORK/initramfs/init" "$WORK/initramfs/bin/busybox"
(cd "$WORK/initramfs" && find . | LC_ALL=C sort | cpio --reproducible -o -H newc -R 0:0 2>/dev/null) |
	gzip -n >"$WORK/carry/guest.gz"
cp "$IMG/pxe/vmlinuz" "$WORK/carry/vmlinuz"
vmm=hvnode-vmm
if [ -n "${SOAK_VMM:-}" ]; then
	cp "$SOAK_VMM" "$WORK/carry/hvnode-vmm"
	vmm=/tmp/x/hvnode-vmm	# the node's /tmp is noexec: a tmpfs of its own
fi
rm -f "$WORK/carry.img"
mkfs.fat -C -n HVGUEST "$WORK/carry.img" 16384 >/dev/null
mcopy -i "$WORK/carry.img" "$WORK/carry"/* ::/

echo "[soak] booting a node (TCG) ..."
boot_pxe_set "" -drive "file=$WORK/carry.img,if=virtio,format=raw"
wait_console "$READY"
wait_console 'WARNING: debug root shell on /dev/ttyS1' 5
node_sh "mkdir -p /tmp/s /tmp/c /tmp/x && mount -t tmpfs -o size=8m,mode=755 soak /tmp/x && mount -t vfat -o ro \$(findfs LABEL=HVGUEST) /tmp/c && cp /tmp/c/* /tmp/s/ && cp /tmp/s/hvnode-vmm /tmp/x/ 2>/dev/null; chmod 755 /tmp/x/* 2>/dev/null; umount /tmp/c && \
	for j in \$(seq $PARALLEL); do dd if=/dev/zero of=/tmp/s/disk\$j.img bs=1M count=1 2>/dev/null; done" >/dev/null
mem0=$(node_sh "sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo" | tr -d '\r\n ')
started=0 bad=0 t0=$(date +%s)
while [ "$started" -lt "$STARTS" ]; do
	# one batch: PARALLEL VMMs at once, each its own tap and disk; one line per VMM: rc, marker
	out=$(node_sh "cd /tmp/s && for j in \$(seq $PARALLEL); do ($vmm --kernel vmlinuz --initrd guest.gz \
		--cpus 2 --mem 128M --disk disk\$j.img --net tap=soak\$j --rng --console file:/tmp/s/c\$j.log \
		--cmdline '$GUEST_CMDLINE' </dev/null >/tmp/s/v\$j.out 2>&1; echo \$? >/tmp/s/rc\$j) & done; wait; \
		for j in \$(seq $PARALLEL); do echo \"soak rc=\$(cat rc\$j) marker=\$(grep -c '$MARKER' c\$j.log)\"; done" |
		tr -d '\r' | grep '^soak ' || true)
	n=$(echo "$out" | grep -c '^soak ' || true)
	ok=$(echo "$out" | grep -c '^soak rc=0 marker=1$' || true)
	started=$((started + PARALLEL))
	bad=$((bad + PARALLEL - ok))
	[ "$n" -eq "$PARALLEL" ] || echo "[soak] batch at $started: only $n of $PARALLEL VMMs answered (node stuck?)"
	[ $((started % 20)) -ne 0 ] || echo "[soak] $started started, $bad failed, $(( $(date +%s) - t0 )) s"
	if grep -q 'Kernel panic\|BUG:\|corrupted stack' "$WORK/console.log" 2>/dev/null; then
		echo "[soak] the node's kernel panicked after $started starts:"
		grep -m3 'Kernel panic\|BUG:\|corrupted stack' "$WORK/console.log" | sed 's/^/    /'
		exit 1
	fi
done
left=$(node_sh "ip -o link show | grep -c ' soak' ; pidof hvnode-vmm | wc -w" | tr -d '\r' | tr '\n' ' ')
mem1=$(node_sh "sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo" | tr -d '\r\n ')
set -- $left
echo "[soak] $started starts ($PARALLEL at a time) in $(( $(date +%s) - t0 )) s: $bad failed"
echo "[soak] left over: $1 taps, $2 hvnode-vmm processes; MemAvailable $mem0 kB before, $mem1 kB after"
echo "[soak] the node's kernel: no panic, no BUG"
[ "$bad" -eq 0 ] && [ "$1" -eq 0 ] && [ "$2" -eq 0 ] && [ $((mem0 - mem1)) -lt 32768 ]
