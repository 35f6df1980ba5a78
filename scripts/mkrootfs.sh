#!/bin/sh
# mkrootfs.sh TARGET OVERLAY BUSYBOX DROPBEARMULTI VMM AGENT BUILDINFO KERNEL_CONFIG
# Assembles the node's root tree in TARGET (removed and rebuilt from scratch): the rootfs/
# overlay, busybox with one symlink per applet, dropbear, hvnode-vmm, hvnode-agent, the image
# release file and BUILDINFO. Modes are normalized here (dirs 0755, files 0644 or 0755 when
# executable); owners and special modes come from rootfs/permissions.table at mksquashfs time.
# Every mtime is set to SOURCE_DATE_EPOCH. Exit 0 ok, 1 on failure, 100 on usage.
set -eu
[ $# -eq 8 ] || { echo "usage: mkrootfs.sh TARGET OVERLAY BUSYBOX DROPBEARMULTI VMM AGENT BUILDINFO KERNEL_CONFIG" >&2; exit 100; }
t=$1 overlay=$2 busybox=$3 dropbear=$4 vmm=$5 agent=$6 buildinfo=$7 kconfig=$8
: "${SOURCE_DATE_EPOCH:?}" "${HVNODE_VERSION:?}"
rm -rf "$t"
mkdir -p "$t"
for d in bin sbin usr/bin usr/sbin usr/share/hvnode etc/hvnode dev proc sys run tmp var root mnt/config; do
	mkdir -p "$t/$d"
done
# Overlay: copied as files, modes normalized below.
(cd "$overlay" && find . -print | LC_ALL=C sort | cpio -pdm --quiet "$t")
install -m 0755 "$busybox" "$t/bin/busybox"
# One symlink per applet, relative, where busybox says it belongs.
"$busybox" --list-full | LC_ALL=C sort | while read -r path; do
	[ "$path" = bin/busybox ] && continue
	[ -e "$t/$path" ] && continue
	dir=$(dirname "$path")
	up=$(echo "$dir" | sed 's|[^/]\+|..|g')
	ln -s "$up/bin/busybox" "$t/$path"
done
for must in sbin/init bin/sh sbin/switch_root bin/mount sbin/udhcpc; do
	[ -e "$t/$must" ] || { echo "mkrootfs.sh: $must is missing: busybox lacks the applet or --list-full" >&2; exit 1; }
done
install -m 0755 "$dropbear" "$t/usr/sbin/dropbearmulti"
ln -s dropbearmulti "$t/usr/sbin/dropbear"
ln -s dropbearmulti "$t/usr/sbin/dropbearkey"
install -m 0755 "$vmm" "$t/usr/sbin/hvnode-vmm"
install -m 0755 "$agent" "$t/usr/sbin/hvnode-agent"
install -m 0644 "$buildinfo" "$t/usr/share/hvnode/BUILDINFO"
install -m 0644 "$kconfig" "$t/usr/share/hvnode/kernel.config"
cat >"$t/etc/hvnode/release" <<REL
HVNODE_VERSION=$HVNODE_VERSION
HVNODE_SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH
REL
cat >"$t/etc/os-release" <<REL
NAME=hvnode
ID=hvnode
PRETTY_NAME="hvnode $HVNODE_VERSION"
VERSION_ID=$HVNODE_VERSION
HOME_URL=
REL
printf 'hvnode\n' >"$t/etc/hostname"
ln -s /proc/self/mounts "$t/etc/mtab"
ln -s /run/resolv.conf "$t/etc/resolv.conf"
find "$t" -type d -exec chmod 0755 {} +
find "$t" -type f \( -perm -u+x -exec chmod 0755 {} + \) -o \( -type f -exec chmod 0644 {} + \)
find "$t" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
