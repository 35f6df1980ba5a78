#!/bin/sh
# kernel-config-check.sh DOTCONFIG FRAGMENT...
# Fails (exit 1) listing every option requested by a fragment that the resolved kernel .config
# does not carry: "CONFIG_X=v" must appear exactly; "# CONFIG_X is not set" must not be =y/=m.
# Usually a missing dependency in the fragment or an option that does not exist in this kernel.
set -eu
[ $# -ge 2 ] || { echo "usage: kernel-config-check.sh DOTCONFIG FRAGMENT..." >&2; exit 100; }
config=$1
shift
[ -r "$config" ] || { echo "kernel-config-check.sh: unable to read $config" >&2; exit 100; }
bad=$(LC_ALL=C awk '
	FNR == NR { have[$0] = 1; if (match($0, /^CONFIG_[A-Za-z0-9_]+=/)) set[substr($0, 1, RLENGTH - 1)] = $0; next }
	/^CONFIG_[A-Za-z0-9_]+=/ {
		if (!($0 in have)) {
			name = $0; sub(/=.*/, "", name)
			got = (name in set) ? set[name] : "missing"
			printf "  %s: asks %s, got %s\n", FILENAME, $0, got
		}
		next
	}
	/^# CONFIG_[A-Za-z0-9_]+ is not set/ {
		name = $2
		if ((name in set) && set[name] !~ /=n$/)
			printf "  %s: asks %s off, got %s\n", FILENAME, name, set[name]
	}
' "$config" "$@")
if [ -n "$bad" ]; then
	echo "kernel config: options requested by the kernel fragments are not in $config:" >&2
	echo "$bad" >&2
	exit 1
fi
