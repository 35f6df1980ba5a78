#!/bin/sh
# debian-guest.sh OUTDIR KERNEL_DEB CACHEDIR
# A stock Debian 12 guest for the tests (tests/qemu-boot/110_vmm_guest): a minbase root made
# with debootstrap (systemd as init, udev, dbus for systemd-logind, which turns the ACPI power
# button into a poweroff; systemd-networkd with DHCP on every Ethernet NIC), the pinned stock
# cloud kernel KERNEL_DEB installed into it, so its own initramfs-tools makes the initrd, and a
# unit, hvtest.service, that prints HVGUEST: markers on the console once the system is
# up (tests/qemu-boot/110_vmm_guest/debian-hvtest). Writes OUTDIR/root.img (raw ext4, label
# hvdebian, root=/dev/vda), OUTDIR/vmlinuz and OUTDIR/initrd.img.
# debootstrap downloads into CACHEDIR/debs; the finished guest is kept in CACHEDIR/guest-KEY,
# KEY being the sha256 of this script, the hvtest script, the kernel package and the mirror,
# so a later run only copies it (one guest is kept: a new KEY replaces the old one). The mirror is the host's first Debian URI (as fresh-check).
# Exit 0, 1 when a step fails (its log is in OUTDIR), 100 on usage, 111 without root or a tool.
set -eu
[ $# -eq 3 ] || { echo "usage: debian-guest.sh OUTDIR KERNEL_DEB CACHEDIR" >&2; exit 100; }
out=$1 deb=$2 cache=$3
top=$(cd "$(dirname "$0")/.." && pwd)
hvtest=$top/tests/qemu-boot/110_vmm_guest/debian-hvtest
[ -r "$deb" ] || { echo "debian-guest.sh: unable to read the kernel package $deb" >&2; exit 100; }
[ "$(id -u)" -eq 0 ] || { echo "debian-guest.sh: unable to make a root: debootstrap and chroot need root" >&2; exit 111; }
for tool in debootstrap unshare chroot mke2fs; do
	command -v "$tool" >/dev/null || { echo "debian-guest.sh: unable to find $tool (scripts/host-deps.sh installs it)" >&2; exit 111; }
done
. "$top/scripts/debian-mirror.sh"
m=$(debian_mirror)
[ -n "$m" ] || { echo "debian-guest.sh: no Debian mirror in the host's apt sources" >&2; exit 111; }
key=$( (cat "$0" "$hvtest" "$deb"; echo "$m") | sha256sum | cut -c1-16)
keep=$cache/guest-$key
mkdir -p "$out" "$cache/debs"

if [ ! -s "$keep/root.img" ]; then
	work=$cache/work-$$
	root=$work/root
	rm -rf --one-file-system "$work"
	mkdir -p "$root"
	trap 'rm -rf --one-file-system "$work"' EXIT
	echo "[debian-guest] debootstrap bookworm, systemd, the pinned kernel ($m)"
	unshare --mount --propagation private \
		debootstrap --variant=minbase --cache-dir="$(cd "$cache/debs" && pwd -P)" \
		--include=systemd-sysv,udev,dbus,kmod,initramfs-tools,iproute2,zstd \
		bookworm "$root" "$m" >"$out/debootstrap.log" 2>&1 ||
		{ echo "debian-guest.sh: debootstrap failed; see $out/debootstrap.log" >&2; exit 1; }
	cp "$deb" "$root/tmp/kernel.deb"
	unshare --mount --propagation private sh -c '
		set -e
		mount -t proc proc "$1/proc"
		mount --bind /dev "$1/dev"
		chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
			dpkg -i /tmp/kernel.deb' sh "$root" >"$out/kernel.log" 2>&1 ||
		{ echo "debian-guest.sh: installing the kernel failed; see $out/kernel.log" >&2; exit 1; }
	rm -f "$root/tmp/kernel.deb"
	# The system: root on vda, no password for root on the console, DHCP on every Ethernet NIC.
	echo hvdebian >"$root/etc/hostname"
	echo '/dev/vda / ext4 defaults 0 1' >"$root/etc/fstab"
	sed -i 's/^root:[^:]*:/root::/' "$root/etc/shadow"
	mkdir -p "$root/etc/systemd/network" "$root/etc/systemd/system/multi-user.target.wants"
	printf '[Match]\nType=ether\n\n[Network]\nDHCP=ipv4\n' >"$root/etc/systemd/network/20-ether.network"
	ln -sf /lib/systemd/system/systemd-networkd.service \
		"$root/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
	install -m 0755 "$hvtest" "$root/usr/local/sbin/hvtest"
	# ttyS0 is hvtest's: a getty there would hang the line up (vhangup) under it.
	ln -sf /dev/null "$root/etc/systemd/system/serial-getty@ttyS0.service"
	printf '%s\n' '[Unit]' 'Description=hvnode test markers' 'After=multi-user.target' '' \
		'[Service]' 'Type=simple' 'ExecStart=/usr/local/sbin/hvtest' 'StandardOutput=tty' \
		'TTYPath=/dev/ttyS0' '' '[Install]' 'WantedBy=multi-user.target' \
		>"$root/etc/systemd/system/hvtest.service"
	ln -sf /etc/systemd/system/hvtest.service "$root/etc/systemd/system/multi-user.target.wants/hvtest.service"
	rm -rf "$root/var/cache/apt/archives"/*.deb "$root/var/lib/apt/lists"/*
	mkdir -p "$work/keep"
	cp "$root"/boot/vmlinuz-* "$work/keep/vmlinuz"
	cp "$root"/boot/initrd.img-* "$work/keep/initrd.img"
	mke2fs -q -t ext4 -L hvdebian -d "$root" "$work/keep/root.img" 768M >"$out/mke2fs.log" 2>&1 ||
		{ echo "debian-guest.sh: mke2fs failed; see $out/mke2fs.log" >&2; exit 1; }
	rm -rf --one-file-system "$keep"
	mv "$work/keep" "$keep"
	for old in "$cache"/guest-*; do	# earlier guests: only the current one is kept
		[ "$old" = "$keep" ] || rm -rf --one-file-system "$old"
	done
fi
for f in root.img vmlinuz initrd.img; do
	cp --sparse=always "$keep/$f" "$out/$f.tmp"
	mv "$out/$f.tmp" "$out/$f"
done
echo "[debian-guest] $out: root.img ($(du -m "$out/root.img" | cut -f1) MiB used), vmlinuz, initrd.img"
