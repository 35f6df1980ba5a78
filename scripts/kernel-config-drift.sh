#!/bin/sh
# kernel-config-drift.sh COMMITTED RESOLVED
# Compares the kernel config the fragments resolve to (RESOLVED) with the committed resolved
# config (COMMITTED, packages/linux/resolved.config or a SITE's linux/resolved.config). Exit 0
# when identical; 1 naming every option whose value differs ("n" stands for "is not set" or
# absent), with the command that accepts the change; 100 on usage errors.
set -eu
[ $# -eq 2 ] || { echo "usage: kernel-config-drift.sh COMMITTED RESOLVED" >&2; exit 100; }
committed=$1 resolved=$2
[ -r "$resolved" ] || { echo "kernel-config-drift.sh: unable to read $resolved" >&2; exit 100; }
if [ ! -r "$committed" ]; then
	echo "kernel config: there is no committed resolved config $committed;" >&2
	echo "  make it with: make linux-update-config${SITE:+ SITE=$SITE}, then commit it" >&2
	exit 1
fi
cmp -s "$committed" "$resolved" && exit 0
echo "kernel config drift: the fragments now resolve to a config that differs from $committed:" >&2
LC_ALL=C awk '
	function value(line, name) {
		if (line ~ /^CONFIG_[A-Za-z0-9_]+=/) { sub(/^[^=]*=/, "", line); return line }
		return "n"
	}
	{
		if (match($0, /^CONFIG_[A-Za-z0-9_]+=/)) name = substr($0, 1, RLENGTH - 1)
		else if ($0 ~ /^# CONFIG_[A-Za-z0-9_]+ is not set$/) name = $2
		else next
		v = value($0)
		if (FNR == NR) old[name] = v; else new[name] = v
		seen[name] = 1
	}
	END {
		for (n in seen) {
			o = (n in old) ? old[n] : "n"; w = (n in new) ? new[n] : "n"
			if (o != w) printf "  %s: committed %s, now %s\n", n, o, w
		}
	}' "$committed" "$resolved" | LC_ALL=C sort >"$resolved.drift"
if [ -s "$resolved.drift" ]; then
	cat "$resolved.drift" >&2
else
	diff -u "$committed" "$resolved" | sed 's/^/  /' >&2 || :
fi
rm -f "$resolved.drift"
echo "  if the change is wanted: make linux-update-config${SITE:+ SITE=$SITE}, then commit $committed" >&2
exit 1
