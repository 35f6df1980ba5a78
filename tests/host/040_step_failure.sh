# SUMMARY: a failing build step exits non-zero, names its log and shows its last lines
set -eu
if "$TOP/scripts/step.sh" demo "failing step" "$WORK/logs/demo.log" sh -c 'echo detail-line; exit 3' >"$WORK/out" 2>&1; then
	echo "step.sh reported success for a failing command"; exit 1
fi
cat "$WORK/out"
grep -q '^\[demo\] failing step$' "$WORK/out"
grep -q 'FAILED (failing step), exit 3' "$WORK/out"
grep -q "full log: $WORK/logs/demo.log" "$WORK/out"
grep -q 'detail-line' "$WORK/out"
