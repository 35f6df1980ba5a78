#!/bin/sh
# apt-private.sh STATE_DIR COMMAND [ARGS...]
# Runs apt-get/apt-cache (COMMAND) against a private apt state under STATE_DIR whose deb and
# deb-src entries are generated from this machine's own apt sources (/etc/apt/sources.list and
# sources.list.d/*.list, *.sources). The system's apt configuration, lists and caches are never
# touched. The lists are refreshed when older than the newest system source file or when
# HVNODE_APT_UPDATE=1. Exit status is COMMAND's; 111 when no source entry could be generated.
set -eu
[ $# -ge 2 ] || { echo "usage: apt-private.sh STATE_DIR apt-get|apt-cache ARGS..." >&2; exit 100; }
state=$1
shift
mkdir -p "$state/sources.list.d" "$state/lists/partial" "$state/cache/archives/partial"
gen="$state/sources.list.d/hvnode-src.sources"
tmp="$gen.tmp"
: >"$tmp"
list="$state/sources.list.d/hvnode-src.list"
# One-line format: "deb [opts] URI suite comps" is kept and becomes a deb-src line too.
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
	[ -r "$f" ] || continue
	sed -n 's/^[[:space:]]*deb[[:space:]]\+\(.*\)$/deb \1\ndeb-src \1/p' "$f"
done >"$list.tmp"
# deb822 format: add deb-src to every Types: line that lists deb.
for f in /etc/apt/sources.list.d/*.sources; do
	[ -r "$f" ] || continue
	sed 's/^\(Types:.*\)\<deb\>\(.*\)$/\1deb deb-src\2/; s/deb-src deb-src/deb-src/' "$f" >>"$tmp"
	echo >>"$tmp"
done
# Debian's non-free-firmware component (CPU microcode, NIC firmware: binary packages only, so
# no deb-src): one stanza more for each Debian archive whose entries list main, system sources
# untouched. Debian archives are the ones whose path ends in /debian or /debian-security.
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
	[ -r "$f" ] || continue
	sed -n 's/^[[:space:]]*deb[[:space:]]\+\(\(\[[^]]*\][[:space:]]\+\)\{0,1\}[^[:space:]]*\/debian\(-security\)\{0,1\}\/\{0,1\}[[:space:]]\+[^[:space:]]\+\)[[:space:]].*\<main\>.*$/deb \1 non-free-firmware/p' "$f"
done >>"$list.tmp"
for f in /etc/apt/sources.list.d/*.sources; do
	[ -r "$f" ] || continue
	awk 'BEGIN { RS = ""; ORS = "\n\n" }
		/(^|\n)Types:([^\n]*[ \t])?deb([ \t\n]|$)/ && /(^|\n)URIs:[^\n]*\/debian(-security)?\/?([ \t\n]|$)/ &&
		/(^|\n)Components:([^\n]*[ \t])?main([ \t\n]|$)/ && !/non-free-firmware/ {
			gsub(/(^|\n)Types:[^\n]*/, "\nTypes: deb"); gsub(/\nComponents:[^\n]*/, "\nComponents: non-free-firmware")
			sub(/^\n/, ""); print }' "$f"
done >>"$tmp"
# Each generated file is replaced only when it changes, so its mtime says when the lists
# below must be refreshed.
for f in "$gen" "$list"; do
	if cmp -s "$f.tmp" "$f"; then rm -f "$f.tmp"; else mv "$f.tmp" "$f"; fi
done
if ! [ -s "$gen" ] && ! [ -s "$list" ]; then
	echo "apt-private.sh: unable to generate deb-src entries: no apt sources found under /etc/apt" >&2
	exit 111
fi
cmd=$1
shift
apt_opts() {
	"$@" -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$state/sources.list.d" \
		-o Dir::State::Lists="$state/lists" -o Dir::Cache="$state/cache" \
		-o Debug::NoLocking=1 -o APT::Sandbox::User=root
}
stamp="$state/lists/.updated"
if [ "${HVNODE_APT_UPDATE:-0}" = 1 ] || ! [ -e "$stamp" ] ||
	[ -n "$(find /etc/apt/sources.list.d /etc/apt/sources.list "$gen" "$list" -newer "$stamp" 2>/dev/null | head -n1)" ]; then
	apt_opts apt-get -q update >&2 || \
		echo "apt-private.sh: warning: apt-get update reported errors; continuing with the lists it fetched" >&2
	touch "$stamp"
fi
apt_opts "$cmd" "$@"
