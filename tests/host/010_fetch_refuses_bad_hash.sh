# SUMMARY: a cached source file whose sha256 does not match the lock is refused, named and removed
set -eu
mkdir -p "$WORK/dl/busybox"
cp "$DL_DIR/busybox/"* "$WORK/dl/busybox/"
f="$WORK/dl/busybox/$(awk '$1 == "busybox" && $3 ~ /\.dsc$/ { print $3 }' "$TOP/sources.lock")"
want=$(awk '$1 == "busybox" && $3 ~ /\.dsc$/ { print $4 }' "$TOP/sources.lock")
echo "tampered" >>"$f"
got=$(sha256sum "$f" | cut -d' ' -f1)
if "$TOP/scripts/fetch.sh" "$TOP/sources.lock" "$WORK/dl" "$APT_STATE" busybox 2>"$WORK/err"; then
	echo "fetch.sh accepted a tampered file"; exit 1
fi
cat "$WORK/err"
grep -q "sha256 mismatch for $f: expected $want, got $got" "$WORK/err"
[ ! -e "$f" ] || { echo "the tampered file was left in the cache"; exit 1; }
