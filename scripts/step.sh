#!/bin/sh
# step.sh TAG WHAT LOGFILE COMMAND [ARGS...]
# Runs one build step: prints "[TAG] WHAT", sends COMMAND's output to LOGFILE (and also to the
# terminal when V=1). On failure prints the log's last lines and its path, and exits with
# COMMAND's status, so make stops and the step's outputs are never marked done.
set -u
[ $# -ge 4 ] || { echo "usage: step.sh TAG WHAT LOGFILE COMMAND..." >&2; exit 100; }
tag=$1 what=$2 log=$3
shift 3
mkdir -p "$(dirname "$log")"
printf '[%s] %s\n' "$tag" "$what"
if [ "${V:-0}" = 1 ]; then
	# Keep the command's status through the pipe without bash's pipefail.
	{ { "$@" 2>&1; echo $? >"$log.status"; } | tee "$log"; }
	status=$(cat "$log.status")
	rm -f "$log.status"
else
	"$@" >"$log" 2>&1
	status=$?
fi
if [ "$status" -ne 0 ]; then
	echo "[$tag] FAILED ($what), exit $status; last lines of $log:" >&2
	tail -n 25 "$log" | sed 's/^/    /' >&2
	echo "[$tag] full log: $log" >&2
fi
exit "$status"
