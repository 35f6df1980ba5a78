#!/bin/sh
# mkmicrocode.sh OUT GEN_INIT_CPIO PACKAGE_ROOT...
# Writes the early microcode cpio that goes in front of the node's initramfs (Linux
# Documentation/x86/microcode.rst, "Early load microcode": an uncompressed newc cpio at the very
# start of the initrd holding kernel/x86/microcode/GenuineIntel.bin and AuthenticAMD.bin).
# Each PACKAGE_ROOT is an unpacked microcode package (intel-microcode, amd64-microcode).
# GenuineIntel.bin is every file of their lib/firmware/intel-ucode (one per CPU signature,
# FF-MM-SS, or FF-MM-SS.initramfs for the updates Debian ships for early loading only) and
# AuthenticAMD.bin every lib/firmware/amd-ucode/microcode_amd*.bin (one container
# per CPU family), each concatenated in name order: the kernel's loaders scan the whole blob for
# the patch that matches the boot CPU. Owners 0:0, mtimes SOURCE_DATE_EPOCH: the archive is
# byte-identical on every build. OUT is written only on success; exit 1 when either vendor's
# microcode is missing, 100 on usage errors.
set -eu
[ $# -ge 3 ] || { echo "usage: mkmicrocode.sh OUT GEN_INIT_CPIO PACKAGE_ROOT..." >&2; exit 100; }
out=$1 gen=$2
shift 2
: "${SOURCE_DATE_EPOCH:?}"
stage="$out.stage"
rm -rf "$stage"
mkdir -p "$stage"
trap 'rm -rf "$stage"' EXIT
# concat SUBDIR PATTERN OUTFILE: the regular files matching PATTERN in every root's SUBDIR, in
# C-locale order of their names (a name two roots both have is an error).
concat() {
	sub=$1 pat=$2 dst=$3
	shift 3
	for root; do
		[ -d "$root/$sub" ] || continue
		for p in $pat; do
			find "$root/$sub" -maxdepth 1 -type f -name "$p" -printf '%f %p\n'
		done
	done | LC_ALL=C sort >"$stage/names"
	[ -s "$stage/names" ] || { echo "mkmicrocode.sh: no $sub/$pat in any of: $*" >&2; exit 1; }
	dup=$(cut -d' ' -f1 "$stage/names" | uniq -d)
	[ -z "$dup" ] || { echo "mkmicrocode.sh: $sub/$dup is in two packages" >&2; exit 1; }
	cut -d' ' -f2 "$stage/names" | xargs cat >"$dst"
	echo "$(basename "$dst"): $(wc -l <"$stage/names") files of $sub, $(wc -c <"$dst") bytes"
}
sig='[0-9a-f][0-9a-f]-[0-9a-f][0-9a-f]-[0-9a-f][0-9a-f]'
set -f
concat lib/firmware/intel-ucode "$sig $sig.initramfs" "$stage/GenuineIntel.bin" "$@"
concat lib/firmware/amd-ucode 'microcode_amd*.bin' "$stage/AuthenticAMD.bin" "$@"
set +f
touch -d "@$SOURCE_DATE_EPOCH" "$stage"/*.bin
cat >"$stage/list" <<LIST
dir /kernel 0755 0 0
dir /kernel/x86 0755 0 0
dir /kernel/x86/microcode 0755 0 0
file /kernel/x86/microcode/AuthenticAMD.bin $stage/AuthenticAMD.bin 0444 0 0
file /kernel/x86/microcode/GenuineIntel.bin $stage/GenuineIntel.bin 0444 0 0
LIST
"$gen" -t "$SOURCE_DATE_EPOCH" "$stage/list" >"$out.tmp"
mv "$out.tmp" "$out"
