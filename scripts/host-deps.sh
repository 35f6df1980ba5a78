#!/bin/sh
# host-deps.sh [--check]
# Makes sure the Debian 12 host packages the build and tests need are installed. As root it
# installs the missing ones with apt-get (printing what and why); otherwise it prints the one
# `apt-get install` line needed and exits 1. With --check it only reports (exit 1 if missing).
set -eu
# package: why
need='
bc:kernel build (timeconst)
bison:kernel kconfig parser
flex:kernel kconfig lexer
build-essential:host compiler and make
ccache:compiler cache for the kernel
cpio:initramfs inspection in tests
dosfstools:EFI system partition image (mkfs.fat)
dpkg-dev:dpkg-source, to unpack Debian source packages
grub-common:grub-mkimage for the UEFI loader (its modules come from the pinned grub-efi-amd64-bin)
libelf-dev:kernel objtool
libssl-dev:kernel certificate tools
mtools:copying into the EFI FAT image
ovmf:UEFI firmware for the boot tests
python3:boot test harness
qemu-system-x86:boot tests
squashfs-tools:mksquashfs for the root filesystem
xorriso:hybrid ISO
xz-utils:unpacking the kernel source
rsync:kernel headers_install (UAPI headers for musl-gcc)
openssh-client:SSH login test against the node
autoconf:regenerating the curl build system after the Debian patches
automake:regenerating the curl build system after the Debian patches
libtool:regenerating the curl build system after the Debian patches
zstd:kernel compression
ipxe-qemu:network boot ROM for the PXE test
clang:sanitizer unit tests and libFuzzer targets (vmm, agent)
libclang-rt-14-dev:libFuzzer and sanitizer runtimes for clang
openssl:CA and keys of the test manager, SPKI pins
debootstrap:make fresh-check (a clean Debian 12 root)
'
missing=
why=
IFS='
'
for line in $need; do
	pkg=${line%%:*}
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $pkg"
		why="$why
  $pkg: ${line#*:}"
	fi
done
unset IFS
[ -n "$missing" ] || exit 0
echo "host packages missing:$why"
if [ "${1:-}" = --check ]; then
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "run as root:  apt-get install -y --no-install-recommends$missing"
	exit 1
fi
echo "installing:$missing"
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing ||
	{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing; }
