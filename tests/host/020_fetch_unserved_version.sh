# SUMMARY: a pin the archive does not serve fails with a message saying how to move the pin
set -eu
printf 'version 1:0.0.0-hvnode-test\nsha256 %064d busybox_0.0.0-hvnode-test.dsc\n' 0 >"$WORK/lock"
if "$TOP/scripts/fetch.sh" "$WORK/lock" "$WORK/dl" "$APT_STATE" busybox 2>"$WORK/err"; then
	echo "fetch.sh succeeded for a version that does not exist"; exit 1
fi
cat "$WORK/err"
grep -q "did not serve busybox 1:0.0.0-hvnode-test" "$WORK/err"
grep -q "scripts/update-lock.sh busybox" "$WORK/err"
[ -z "$(ls "$WORK/dl/busybox")" ] || { echo "a partial download was left behind"; exit 1; }
