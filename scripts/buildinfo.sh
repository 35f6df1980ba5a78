#!/bin/sh
# buildinfo.sh KERNEL_CONFIG HASHFILE...
# buildinfo.sh --host-tools
# The first form prints the image's BUILDINFO on stdout: image version and commit,
# SOURCE_DATE_EPOCH, every pinned input (package, version, file, sha256: from each package's
# HASHFILE, packages/NAME/NAME.hash, sorted) and the resolved kernel config's sha256. It depends on pinned inputs only, never on the build host, so the image that
# carries it (/usr/share/hvnode/BUILDINFO) is the same on every machine.
# The second form prints the `host_tools:` section: the versions of the build host's packages
# that ran during the build. It goes only into images/BUILDINFO, next to the image, which is
# therefore not listed in SHA256SUMS. Neither form contains a time, host name or path.
set -eu
if [ "${1:-}" = --host-tools ] && [ $# -eq 1 ]; then
	echo "host_tools:"
	for p in gcc-12 binutils squashfs-tools xorriso grub-common mtools \
		dosfstools dpkg-dev ccache autoconf automake libtool; do
		printf '  %s %s\n' "$p" "$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo missing)"
	done
	exit 0
fi
[ $# -ge 2 ] || { echo "usage: buildinfo.sh KERNEL_CONFIG HASHFILE... | buildinfo.sh --host-tools" >&2; exit 100; }
kconfig=$1
shift
top=$(cd "$(dirname "$0")/.." && pwd)
echo "# hvnode BUILDINFO"
echo "version: ${HVNODE_VERSION:?}"
echo "commit: $(git -C "$top" rev-parse HEAD 2>/dev/null || echo unknown)"
echo "source_date_epoch: ${SOURCE_DATE_EPOCH:?}"
echo "kernel_config_sha256: $(sha256sum "$kconfig" | cut -d' ' -f1)"
echo "inputs:"
for hash in "$@"; do
	pkg=$(basename "$hash" .hash)
	awk -v p="$pkg" '$1 == "version" { v = $2 } $1 == "sha256" { printf "  %s %s %s sha256:%s\n", p, v, $3, $2 }' "$hash"
done | LC_ALL=C sort
