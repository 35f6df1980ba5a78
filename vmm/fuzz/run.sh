#!/bin/sh
# hvnode-vmm fuzzing driver, called by vmm/Makefile.
#   run.sh run DIR SECONDS TARGET...     each target for SECONDS on a copy of its seed corpus;
#                                        prints executions and crashes; fails on a crash
#   run.sh replay DIR 0 TARGET...        runs each committed corpus file once (CI)
set -u
mode=$1 dir=$2 secs=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
fail=0
for t in "$@"; do
	name=${t#fuzz_}
	corpus=$here/corpus/$name
	if [ "$mode" = replay ]; then
		"$dir/$t" "$corpus"/* >"$dir/$t.replay.log" 2>&1
		rc=$?
		echo "fuzz-replay $t: $(ls "$corpus" | wc -l) inputs, $([ $rc -eq 0 ] && echo ok || echo "FAIL (see $dir/$t.replay.log)")"
	else
		work=$dir/work/$name
		rm -rf "$work" "$dir/crash-$name-"*
		mkdir -p "$work"
		cp "$corpus"/* "$work"/
		"$dir/$t" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$dir/crash-$name-" \
			"$work" >"$dir/$t.log" 2>&1
		rc=$?
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/$t.log")
		crashes=$(ls "$dir/crash-$name-"* 2>/dev/null | wc -l)
		echo "fuzz $t: ${execs:-?} executions in $secs s, $crashes crashes$([ $rc -eq 0 ] || echo " (FAIL, see $dir/$t.log)")"
	fi
	[ "$rc" -eq 0 ] || fail=1
done
exit $fail
