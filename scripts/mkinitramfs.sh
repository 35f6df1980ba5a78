#!/bin/sh
# mkinitramfs.sh OUT GEN_INIT_CPIO BUSYBOX INIT SQUASHFS EARLY_CPIO FIRMWARE_DIR
# Writes the node's initrd: EARLY_CPIO (the early microcode cpio of scripts/mkmicrocode.sh,
# which must come first and uncompressed), then the initramfs proper, a newc cpio made with the
# kernel's usr/gen_init_cpio (uncompressed: the squashfs inside is already xz): /init,
# /bin/busybox, /dev/console, /rootfs.squashfs and /lib/firmware (FIRMWARE_DIR's tree, from
# scripts/firmware-select.sh: there before the built-in drivers probe; /init hands it on to the
# root). The kernel unpacks both archives in turn (Linux Documentation/driver-api/
# early-userspace/buffer-format.rst).
# Owners are 0:0, every mtime is SOURCE_DATE_EPOCH (files are staged and touched first, since
# gen_init_cpio takes a file's own mtime), inode numbers are sequential, lists are sorted: the
# initrd is byte-identical on every build. OUT is written only on success.
set -eu
[ $# -eq 7 ] || { echo "usage: mkinitramfs.sh OUT GEN_INIT_CPIO BUSYBOX INIT SQUASHFS EARLY_CPIO FIRMWARE_DIR" >&2; exit 100; }
out=$1 gen=$2 busybox=$3 init=$4 squashfs=$5 early=$6 firmware=$7
: "${SOURCE_DATE_EPOCH:?}"
[ -d "$firmware" ] || { echo "mkinitramfs.sh: $firmware is not a directory" >&2; exit 100; }
stage="$out.stage"
rm -rf "$stage"
mkdir -p "$stage"
cp "$busybox" "$stage/busybox"
cp "$init" "$stage/init"
cp "$squashfs" "$stage/rootfs.squashfs"
cp -R "$firmware" "$stage/firmware"
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
{
	cat <<-LIST
	dir /bin 0755 0 0
	dir /dev 0755 0 0
	nod /dev/console 0600 0 0 c 5 1
	dir /newroot 0755 0 0
	dir /proc 0755 0 0
	dir /sys 0755 0 0
	file /bin/busybox $stage/busybox 0755 0 0
	file /init $stage/init 0755 0 0
	file /rootfs.squashfs $stage/rootfs.squashfs 0444 0 0
	dir /lib 0755 0 0
	dir /lib/firmware 0755 0 0
	LIST
	(cd "$stage/firmware" && find . -mindepth 1 \( -type d -o -type f \) -printf '%y %P\n') | LC_ALL=C sort -k2 |
		while read -r kind rel; do
			case $kind in
			d) echo "dir /lib/firmware/$rel 0755 0 0" ;;
			f) echo "file /lib/firmware/$rel $stage/firmware/$rel 0444 0 0" ;;
			esac
		done
} >"$stage/list"
"$gen" -t "$SOURCE_DATE_EPOCH" "$stage/list" >"$stage/initramfs.cpio"
cat "$early" "$stage/initramfs.cpio" >"$out.tmp"
mv "$out.tmp" "$out"
rm -rf "$stage"
