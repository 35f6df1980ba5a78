#!/bin/sh
# mkinitramfs.sh OUT GEN_INIT_CPIO BUSYBOX INIT SQUASHFS
# Writes the node's initramfs (newc cpio, uncompressed: the squashfs inside is already xz) with
# the kernel's usr/gen_init_cpio: /init, /bin/busybox, /dev/console, /rootfs.squashfs.
# Owners are 0:0, every mtime is SOURCE_DATE_EPOCH (files are staged and touched first, since
# gen_init_cpio takes a file's own mtime), inode numbers are sequential: the archive is
# byte-identical on every build. OUT is written only on success.
set -eu
[ $# -eq 5 ] || { echo "usage: mkinitramfs.sh OUT GEN_INIT_CPIO BUSYBOX INIT SQUASHFS" >&2; exit 100; }
out=$1 gen=$2 busybox=$3 init=$4 squashfs=$5
: "${SOURCE_DATE_EPOCH:?}"
stage="$out.stage"
rm -rf "$stage"
mkdir -p "$stage"
cp "$busybox" "$stage/busybox"
cp "$init" "$stage/init"
cp "$squashfs" "$stage/rootfs.squashfs"
touch -d "@$SOURCE_DATE_EPOCH" "$stage"/*
cat >"$stage/list" <<LIST
dir /bin 0755 0 0
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
dir /newroot 0755 0 0
dir /proc 0755 0 0
dir /sys 0755 0 0
file /bin/busybox $stage/busybox 0755 0 0
file /init $stage/init 0755 0 0
file /rootfs.squashfs $stage/rootfs.squashfs 0444 0 0
LIST
"$gen" -t "$SOURCE_DATE_EPOCH" "$stage/list" >"$out.tmp"
mv "$out.tmp" "$out"
rm -rf "$stage"
