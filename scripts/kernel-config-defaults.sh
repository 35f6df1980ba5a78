#!/bin/sh
# kernel-config-defaults.sh SRCDIR DOTCONFIG LISTFILE FRAGMENT...
# Finds the options allnoconfig turned off silently. The fragments are merged over allnoconfig,
# which switches off every prompted option no fragment names, even one the kernel defaults to y
# (CONFIG_USB_PCI was one: the xHCI driver was built, its PCI glue was not, and no USB controller
# was ever bound). This script resolves the same fragments over alldefconfig (every option at
# its Kconfig default) in a scratch directory and lists each bool or tristate option that is on
# there and off in DOTCONFIG (the resolved config of the build).
# Each such option must have a line in LISTFILE ("CONFIG_NAME  reason", or a glob such as
# "CONFIG_NET_VENDOR_*  reason" for a family; '#' starts a comment), which says why the node does
# without it; a listed name that is no longer dropped is stale and named too.
# Exit 0 when the list and the kernel agree; 1 naming each unlisted and each stale entry; 100 on
# usage errors.
set -eu
[ $# -ge 4 ] || { echo "usage: kernel-config-defaults.sh SRCDIR DOTCONFIG LISTFILE FRAGMENT..." >&2; exit 100; }
src=$1 config=$2 list=$3
shift 3
for f in "$config" "$list" "$@"; do
	[ -r "$f" ] || { echo "kernel-config-defaults.sh: unable to read $f" >&2; exit 100; }
done
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# The fragments in order, as merge_config.sh merges them (a later assignment wins), given to
# kconfig as KCONFIG_ALLCONFIG. KCONFIG_CONFIG puts the result in the scratch directory: the
# tree is built in place (no O=), and its own .config is left alone.
cat "$@" >"$scratch/fragments"
make -s -C "$src" ARCH=x86_64 KCONFIG_CONFIG="$scratch/.config" \
	KCONFIG_ALLCONFIG="$scratch/fragments" alldefconfig >"$scratch/merge.log" 2>&1 &&
	make -s -C "$src" ARCH=x86_64 KCONFIG_CONFIG="$scratch/.config" olddefconfig \
	>>"$scratch/merge.log" 2>&1 || { cat "$scratch/merge.log" >&2; exit 1; }
# Dropped: =y or =m over alldefconfig, not =y/=m in the build's config.
LC_ALL=C awk '
	FNR == NR { if ($0 ~ /^CONFIG_[A-Za-z0-9_]+=[ym]$/) { sub(/=.*/, ""); on[$0] = 1 } next }
	/^CONFIG_[A-Za-z0-9_]+=[ym]$/ { sub(/=.*/, ""); if (!($0 in on)) print }
' "$config" "$scratch/.config" | sort >"$scratch/dropped"
# The list's names and globs, and which dropped option each one covers.
LC_ALL=C awk '
	FILENAME == ARGV[1] {
		if ($0 ~ /^[[:space:]]*(#|$)/) next
		n++; pat[n] = $1; line[n] = FNR
		if (NF < 2) printf "  %s (list line %d): no reason given\n", $1, FNR
		next
	}
	{
		hit = 0
		for (i = 1; i <= n; i++) {
			re = "^" pat[i] "$"; gsub(/\*/, "[A-Za-z0-9_]*", re)
			if ($0 ~ re) { used[i] = 1; hit = 1 }
		}
		if (!hit) printf "  %s: off in the build, on by default, not in the list\n", $0
	}
	END { for (i = 1; i <= n; i++) if (!used[i]) printf "  %s (list line %d): stale, no option it names is dropped now\n", pat[i], line[i] }
' "$list" "$scratch/dropped" >"$scratch/report"
if [ -s "$scratch/report" ]; then
	echo "kernel config: options allnoconfig dropped disagree with $list:" >&2
	cat "$scratch/report" >&2
	echo "  Either a fragment turns the option on, or a line in $list says why the node does without it." >&2
	exit 1
fi
echo "kernel config: $(wc -l <"$scratch/dropped") default options are off, each with its reason in $(basename "$list")"
