#!/bin/sh
# buildinfo.sh LOCKFILE KERNEL_CONFIG
# Prints the image's BUILDINFO on stdout: image version and commit, SOURCE_DATE_EPOCH, every
# pinned input (package, version, file, sha256), the resolved kernel config's sha256 and the
# versions of the host tools that shape the output. Contains no time, host or path of the build.
set -eu
[ $# -eq 2 ] || { echo "usage: buildinfo.sh LOCKFILE KERNEL_CONFIG" >&2; exit 100; }
lock=$1 kconfig=$2
top=$(cd "$(dirname "$0")/.." && pwd)
echo "# hvnode BUILDINFO"
echo "version: ${HVNODE_VERSION:?}"
echo "commit: $(git -C "$top" rev-parse HEAD 2>/dev/null || echo unknown)"
echo "source_date_epoch: ${SOURCE_DATE_EPOCH:?}"
echo "kernel_config_sha256: $(sha256sum "$kconfig" | cut -d' ' -f1)"
echo "inputs:"
grep -v '^#' "$lock" | awk 'NF == 4 { printf "  %s %s %s sha256:%s\n", $1, $2, $3, $4 }'
echo "host_tools:"
for p in gcc-12 binutils musl-tools musl-dev squashfs-tools xorriso grub-efi-amd64-bin \
	grub-common isolinux syslinux-common pxelinux mtools dosfstools dpkg-dev ccache \
	autoconf automake libtool; do
	printf '  %s %s\n' "$p" "$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo missing)"
done
