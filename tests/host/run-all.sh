#!/bin/sh
# run-all.sh DL_DIR APT_STATE WORK_DIR
# Host-side tests of the build machinery (no QEMU): each NNN_name.sh gets DL_DIR (the filled
# source cache, used read-only), APT_STATE, WORK (its scratch dir) and TOP. Exit 1 if any fail.
set -u
[ $# -eq 3 ] || { echo "usage: run-all.sh DL_DIR APT_STATE WORK_DIR" >&2; exit 100; }
here=$(cd "$(dirname "$0")" && pwd)
failed= passed=0
for t in $(cd "$here" && ls [0-9][0-9][0-9]_*.sh | LC_ALL=C sort); do
	w="$3/${t%.sh}"
	rm -rf "$w"
	mkdir -p "$w"
	echo "[test] host/${t%.sh}: $(sed -n 's/^# SUMMARY: //p' "$here/$t")"
	if DL_DIR=$1 APT_STATE=$2 WORK=$(cd "$w" && pwd) TOP=$(cd "$here/../.." && pwd) sh "$here/$t" >"$w/log" 2>&1; then
		echo "[test] PASS host/${t%.sh}"
		passed=$((passed + 1))
	else
		echo "[test] FAIL host/${t%.sh}; log:"
		sed 's/^/    /' "$w/log"
		failed="$failed $t"
	fi
done
[ -z "$failed" ] || { echo "[test] host: $passed passed; FAILED:$failed"; exit 1; }
echo "[test] host: all $passed passed"
