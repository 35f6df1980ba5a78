#!/bin/sh
# repro-check.sh WORKDIR [REFERENCE_IMAGES]
# Builds the image twice, in WORKDIR/a and WORKDIR/b (two different output directories, same
# sources and SOURCE_DATE_EPOCH), then compares their SHA256SUMS. With REFERENCE_IMAGES (the
# images directory of a build already made, as `make test` does) only WORKDIR/b is built and
# compared with it. Exit 0 when identical; 1 printing the differing outputs otherwise.
set -eu
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: repro-check.sh WORKDIR [REFERENCE_IMAGES]" >&2; exit 100; }
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
w=$(cd "$1" && pwd)
rm -rf "$w/a" "$w/b"
if [ $# -eq 2 ]; then
	ref=$2
	sides=b
else
	ref="$w/a/images"
	sides="a b"
fi
for side in $sides; do
	echo "[repro] build $side in $w/$side"
	make -C "$top" --no-print-directory O="$w/$side" images >"$w/build-$side.log" 2>&1 || {
		cat "$w/build-$side.log"
		exit 1
	}
done
if cmp -s "$ref/SHA256SUMS" "$w/b/images/SHA256SUMS"; then
	echo "[repro] identical: $(wc -l <"$ref/SHA256SUMS") outputs of $ref and $w/b/images"
	exit 0
fi
echo "[repro] outputs DIFFER between $ref and $w/b/images:"
diff "$ref/SHA256SUMS" "$w/b/images/SHA256SUMS" | sed 's/^/    /'
exit 1
