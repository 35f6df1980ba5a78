#!/bin/sh
# run-all.sh IMAGES_DIR WORK_DIR [TEST...]
# Runs the numbered boot tests (NNN_name/test.sh) in order, each with its own scratch dir under
# WORK_DIR, prints PASS/FAIL with the time taken, and exits 1 if any failed. TEST limits the run
# to the named test folders.
set -u
[ $# -ge 2 ] || { echo "usage: run-all.sh IMAGES_DIR WORK_DIR [TEST...]" >&2; exit 100; }
here=$(cd "$(dirname "$0")" && pwd)
img=$(cd "$1" && pwd) work=$2
shift 2
if [ $# -eq 0 ]; then
	set -- $(cd "$here" && ls -d [0-9][0-9][0-9]_* | LC_ALL=C sort)
fi
failed= passed=0
for t in "$@"; do
	t=${t%/}
	rm -rf "$work/$t"
	mkdir -p "$work/$t"
	summary=$(sed -n 's/^# SUMMARY: //p' "$here/$t/test.sh")
	echo "[test] $t: $summary"
	start=$(date +%s)
	if IMG=$img WORK=$(cd "$work/$t" && pwd) sh "$here/$t/test.sh"; then
		echo "[test] PASS $t ($(( $(date +%s) - start )) s)"
		passed=$((passed + 1))
	else
		echo "[test] FAIL $t ($(( $(date +%s) - start )) s); logs in $work/$t"
		failed="$failed $t"
	fi
done
if [ -n "$failed" ]; then
	echo "[test] $passed passed; FAILED:$failed"
	exit 1
fi
echo "[test] all $passed passed"
