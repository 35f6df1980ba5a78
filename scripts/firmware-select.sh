#!/bin/sh
# firmware-select.sh MODINFO OUT_DIR REPORT PACKAGE_ROOT...
# Chooses the device firmware the node carries: exactly the files that drivers built into the
# kernel ask for. MODINFO is the kernel build's modules.builtin.modinfo (the .modinfo section of
# vmlinux: NUL-separated "driver.firmware=NAME" entries, one per MODULE_FIRMWARE); each
# PACKAGE_ROOT is an unpacked firmware package (its files under lib/firmware). Every NAME found
# under some PACKAGE_ROOT/lib/firmware (the first root that has it; a symlink is copied as the
# file it names) is copied to OUT_DIR/NAME; OUT_DIR is replaced as a whole.
# REPORT gets one line per requested NAME, sorted: "DRIVER NAME BYTES PACKAGE", with BYTES and
# PACKAGE "-" when no package ships it (the driver then runs without it, or fails to probe:
# the README lists what each NIC gets). Exit 0; 1 when MODINFO names a path that is not a plain
# relative file name; 100 on usage errors.
set -eu
[ $# -ge 3 ] || { echo "usage: firmware-select.sh MODINFO OUT_DIR REPORT PACKAGE_ROOT..." >&2; exit 100; }
modinfo=$1 out=$2 report=$3
shift 3
[ -r "$modinfo" ] || { echo "firmware-select.sh: unable to read $modinfo" >&2; exit 100; }
rm -rf "$out" "$out.tmp"
mkdir -p "$out.tmp"
tr '\0' '\n' <"$modinfo" | sed -n 's/^\([A-Za-z0-9_-]*\)\.firmware=\(.*\)$/\1 \2/p' | LC_ALL=C sort -u >"$out.tmp/.wanted"
bad=$(awk '$2 !~ /^[A-Za-z0-9_][A-Za-z0-9._+-]*(\/[A-Za-z0-9_][A-Za-z0-9._+-]*)*$/ || $2 ~ /\.\./ { print $2 }' "$out.tmp/.wanted")
[ -z "$bad" ] || { echo "firmware-select.sh: $modinfo names firmware that is not a plain relative path: $bad" >&2; exit 1; }
: >"$out.tmp/.report"
while read -r driver name; do
	found=
	for root; do
		src="$root/lib/firmware/$name"
		if [ -f "$src" ]; then
			mkdir -p "$(dirname "$out.tmp/$name")"
			cp -L "$src" "$out.tmp/$name"
			found="$(wc -c <"$out.tmp/$name") $(basename "$root")"
			break
		fi
	done
	echo "$driver $name ${found:-- -}" >>"$out.tmp/.report"
done <"$out.tmp/.wanted"
LC_ALL=C sort "$out.tmp/.report" >"$report.tmp"
rm -f "$out.tmp/.wanted" "$out.tmp/.report"
mv "$report.tmp" "$report"
mv "$out.tmp" "$out"
