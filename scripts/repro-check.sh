#!/bin/sh
# repro-check.sh WORKDIR
# Builds the image twice, in WORKDIR/a and WORKDIR/b (two different output directories, same
# sources and SOURCE_DATE_EPOCH), then compares their SHA256SUMS. Exit 0 when identical;
# 1 printing the differing outputs otherwise.
set -eu
[ $# -eq 1 ] || { echo "usage: repro-check.sh WORKDIR" >&2; exit 100; }
top=$(cd "$(dirname "$0")/.." && pwd)
w=$1
rm -rf "$w/a" "$w/b"
for side in a b; do
	echo "[repro] build $side in $w/$side"
	make -C "$top" --no-print-directory O="$w/$side" images
done
if cmp -s "$w/a/images/SHA256SUMS" "$w/b/images/SHA256SUMS"; then
	echo "[repro] identical: $(wc -l <"$w/a/images/SHA256SUMS") outputs"
	sed 's/^/    /' "$w/a/images/SHA256SUMS"
	exit 0
fi
echo "[repro] outputs DIFFER between $w/a and $w/b:"
diff "$w/a/images/SHA256SUMS" "$w/b/images/SHA256SUMS" | sed 's/^/    /'
exit 1
