#!/bin/sh
# mkrootfs.sh TARGET BUILDINFO KERNEL_CONFIG STAGING... -- OVERLAY...
# Assembles the node's root tree in TARGET (removed and rebuilt from scratch): the staging trees
# of the image manifest's root packages, in that order, and the files that describe the image
# (BUILDINFO, the resolved kernel config, /etc/hvnode/release, /etc/os-release, the /etc/mtab
# and /etc/resolv.conf links), then the overlays (the manifest's, then a SITE's). A path that two
# packages, or a package and an overlay, both provide is an error naming both; a later overlay
# may replace an earlier overlay's file (that is what a SITE is for), and the default
# /etc/hostname. Modes are normalized here
# (dirs 0755, files 0644 or 0755 when executable); owners and special modes come from the
# manifest's permissions table at mksquashfs time. Every mtime is set to SOURCE_DATE_EPOCH.
# Exit 0 ok, 1 on failure, 100 on usage.
set -eu
usage() { echo "usage: mkrootfs.sh TARGET BUILDINFO KERNEL_CONFIG STAGING... -- OVERLAY..." >&2; exit 100; }
[ $# -ge 4 ] || usage
t=$1 buildinfo=$2 kconfig=$3
shift 3
: "${SOURCE_DATE_EPOCH:?}" "${HVNODE_VERSION:?}"
rm -rf "$t" "$t.image" "$t.defaults"
mkdir -p "$t"
owners="$t.owners"
: >"$owners"

# The image's own files: a tree like a package's, so nothing may replace them ...
g="$t.image"
mkdir -p "$g/usr/share/hvnode" "$g/etc/hvnode"
install -m 0644 "$buildinfo" "$g/usr/share/hvnode/BUILDINFO"
install -m 0644 "$kconfig" "$g/usr/share/hvnode/kernel.config"
cat >"$g/etc/hvnode/release" <<REL
HVNODE_VERSION=$HVNODE_VERSION
HVNODE_SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH
REL
cat >"$g/etc/os-release" <<REL
NAME=hvnode
ID=hvnode
PRETTY_NAME="hvnode $HVNODE_VERSION"
VERSION_ID=$HVNODE_VERSION
HOME_URL=
REL
ln -s /proc/self/mounts "$g/etc/mtab"
ln -s /run/resolv.conf "$g/etc/resolv.conf"
# ... and the defaults an overlay may replace.
mkdir -p "$t.defaults/etc"
printf 'hvnode\n' >"$t.defaults/etc/hostname"

# add_tree DIR OVERLAY: copies DIR's files into TARGET. A path already taken by a package is an
# error; with OVERLAY=1 a path taken by an earlier overlay is replaced.
add_tree() {
	(cd "$1" && find . ! -type d -print | LC_ALL=C sort) | while read -r path; do
		prev=$(awk -v p="$path" '$1 == p { print $2, $3; exit }' "$owners")
		if [ -n "$prev" ]; then
			case "$prev $2" in
			"overlay "*" 1") rm -f "$t/$path" ;;
			*) echo "mkrootfs.sh: ${path#./} is provided by both ${prev#* } and $1" >&2; return 1 ;;
			esac
		fi
		echo "$path $([ "$2" = 1 ] && echo overlay || echo package) $1" >>"$owners"
	done
	(cd "$1" && find . -print | LC_ALL=C sort | cpio -pdm --quiet "$t")
}

while [ $# -gt 0 ] && [ "$1" != -- ]; do
	add_tree "$1" 0
	shift
done
[ "${1:-}" = -- ] || usage
shift
add_tree "$g" 0
for overlay in "$t.defaults" "$@"; do
	add_tree "$overlay" 1
done
rm -rf "$owners" "$g" "$t.defaults"

# lib/firmware: the mount point of the device firmware the initramfs carries (its /init).
for d in bin sbin usr/bin usr/sbin usr/share/hvnode etc/hvnode dev proc sys run tmp var root mnt/config lib/firmware; do
	mkdir -p "$t/$d"
done
for must in sbin/init bin/sh sbin/switch_root bin/mount sbin/udhcpc; do
	[ -e "$t/$must" ] || [ -L "$t/$must" ] || { echo "mkrootfs.sh: $must is missing: no root package provides it (busybox's applets?)" >&2; exit 1; }
done
find "$t" -type d -exec chmod 0755 {} +
find "$t" -type f \( -perm -u+x -exec chmod 0755 {} + \) -o \( -type f -exec chmod 0644 {} + \)
find "$t" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
