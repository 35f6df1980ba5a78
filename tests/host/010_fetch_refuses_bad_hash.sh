# SUMMARY: a cached source file whose sha256 does not match its hash file is refused, named and removed
set -eu
mkdir -p "$WORK/dl/busybox"
cp "$DL_DIR/busybox/"* "$WORK/dl/busybox/"
hash="$TOP/packages/busybox/busybox.hash"
f="$WORK/dl/busybox/$(awk '$1 == "sha256" && $3 ~ /\.dsc$/ { print $3 }' "$hash")"
want=$(awk '$1 == "sha256" && $3 ~ /\.dsc$/ { print $2 }' "$hash")
echo "tampered" >>"$f"
got=$(sha256sum "$f" | cut -d' ' -f1)
if "$TOP/scripts/fetch.sh" "$hash" "$WORK/dl" "$APT_STATE" busybox 2>"$WORK/err"; then
	echo "fetch.sh accepted a tampered file"; exit 1
fi
cat "$WORK/err"
grep -q "sha256 mismatch for $f: expected $want, got $got" "$WORK/err"
[ ! -e "$f" ] || { echo "the tampered file was left in the cache"; exit 1; }
