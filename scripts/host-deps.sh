#!/bin/sh
# host-deps.sh [--check] [build|test]
# Makes sure the Debian 12 host packages are installed that `make` needs (build, the default)
# or that `make test` and the other checks need as well (test). As root it installs the missing
# ones with apt-get (printing what and why); otherwise it prints the one `apt-get install` line
# needed and exits 1. With --check it only reports (exit 1 if missing). Exit 100 on usage.
set -eu
check=
if [ "${1:-}" = --check ]; then
	check=1
	shift
fi
group=${1:-build}
case $group in
build) groups=build ;;
test) groups='build test' ;;
*) echo "usage: host-deps.sh [--check] [build|test]" >&2; exit 100 ;;
esac
# group:package:why
need='
build:autoconf:regenerating the curl and ebtables build systems after the Debian patches
build:automake:regenerating the curl and ebtables build systems after the Debian patches
build:bc:kernel build (timeconst)
build:bison:kernel kconfig parser
build:build-essential:host compiler and make
build:ccache:compiler cache for the kernel
build:cpio:copying trees into the root tree (mkrootfs), initramfs inspection in tests
build:dosfstools:EFI system partition image (mkfs.fat)
build:dpkg-dev:dpkg-source, to unpack Debian source packages
build:flex:kernel kconfig lexer
build:grub-common:grub-mkimage for the UEFI loader (its modules come from the pinned grub-efi-amd64-bin)
build:libelf-dev:kernel objtool
build:libssl-dev:kernel certificate tools
build:libtool:regenerating the curl and ebtables build systems after the Debian patches
build:mtools:copying into the EFI FAT image
build:patch:applying the hvnode kernel patches (packages/linux/patches)
build:rsync:kernel headers_install (UAPI headers for musl-gcc)
build:squashfs-tools:mksquashfs for the root filesystem
build:xorriso:hybrid ISO
build:xz-utils:unpacking the kernel source
build:zstd:kernel compression
test:acpica-tools:iasl, which disassembles and recompiles the ACPI tables of hvnode-vmm in its unit tests
test:clang:sanitizer unit tests and libFuzzer targets (vmm, agent)
test:debootstrap:make fresh-check (a clean Debian 12 root) and the stock Debian guest of the VMM test
test:e2fsprogs:the storage pool test and the root disk of the Debian guest (mke2fs -d)
test:ipxe-qemu:network boot ROM for the PXE test
test:libclang-rt-14-dev:libFuzzer and sanitizer runtimes for clang
test:openssh-client:SSH login test against the node
test:openssl:CA and keys of the test manager, SPKI pins
test:ovmf:UEFI firmware for the boot tests
test:python3:boot test harness
test:qemu-system-x86:boot tests
'
missing=
why=
IFS='
'
for line in $need; do
	case " $groups " in
	*" ${line%%:*} "*) ;;
	*) continue ;;
	esac
	line=${line#*:}
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
if [ -n "$check" ]; then
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
