#!/bin/sh
# mkpxe.sh OUTDIR BZIMAGE INITRD IMAGEDIR BOOTFILES CMDLINE
# Writes the PXE set into OUTDIR (rebuilt from scratch): vmlinuz, initrd.img, pxelinux.0 with
# ldlinux.c32, pxelinux.cfg/default (BOOTIF via IPAPPEND 2) and boot.ipxe for iPXE.
# pxelinux.0 and ldlinux.c32 come from BOOTFILES (the pinned loader packages); CMDLINE is the
# file with the default kernel command line (one line).
# Serve OUTDIR as the TFTP (or HTTP, for iPXE) root. Exit 0 ok, 1 on failure.
set -eu
[ $# -eq 6 ] || { echo "usage: mkpxe.sh OUTDIR BZIMAGE INITRD IMAGEDIR BOOTFILES CMDLINE" >&2; exit 100; }
d=$1 kernel=$2 initrd=$3 imgdir=$4 boot=$5 cmdfile=$6
: "${SOURCE_DATE_EPOCH:?}" "${HVNODE_VERSION:?}"
cmdline=$(cat "$cmdfile")
# The cmdline is data for sed's replacement: its \, | and & are escaped.
cmdline_sed=$(printf '%s' "$cmdline" | sed 's/[\\|&]/\\&/g')
subst() { sed "s|@CMDLINE@|$cmdline_sed|g; s|@VERSION@|$HVNODE_VERSION|g" "$1"; }
rm -rf "$d.tmp"
mkdir -p "$d.tmp/pxelinux.cfg"
cp "$kernel" "$d.tmp/vmlinuz"
cp "$initrd" "$d.tmp/initrd.img"
cp "$boot/pxelinux.0" "$boot/ldlinux.c32" "$d.tmp/"
subst "$imgdir/pxelinux.cfg" >"$d.tmp/pxelinux.cfg/default"
subst "$imgdir/boot.ipxe" >"$d.tmp/boot.ipxe"
find "$d.tmp" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
rm -rf "$d"
mv "$d.tmp" "$d"
