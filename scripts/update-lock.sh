#!/bin/sh
# update-lock.sh [--binary] PACKAGE [VERSION]
# Moves PACKAGE's pin in sources.lock to VERSION (default: the newest version the archive
# serves through the private apt state), downloading the files and recording their sha256, and
# lists the versions the archive serves. A package already pinned keeps its kind: a source
# package (apt-get source: .dsc, orig and debian tarballs) or a binary package (apt-get download:
# one .deb, checked by apt against the signed Packages index). --binary pins a new package as a
# binary one. Review the diff of sources.lock before committing. Exit 0 ok, 1 on failure, 100 on
# usage.
set -eu
kind=
if [ "${1:-}" = --binary ]; then
	kind=binary
	shift
fi
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: update-lock.sh [--binary] PACKAGE [VERSION]" >&2; exit 100; }
pkg=$1
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${HVNODE_CACHE:-$HOME/.cache/hvnode}
state="$cache/apt"
lock="$top/sources.lock"
apt() { "$top/scripts/apt-private.sh" "$state" "$@"; }
if [ -z "$kind" ]; then
	if awk -v p="$pkg" '$1 == p && $3 ~ /\.deb$/ { found = 1 } END { exit !found }' "$lock"; then
		kind=binary
	else
		kind=source
	fi
fi
if [ "$kind" = binary ]; then
	served=$(HVNODE_APT_UPDATE=1 apt apt-cache madison "$pkg" | awk -F'|' '$3 ~ /Packages/ { gsub(/ /, "", $2); print $2 }')
else
	served=$(HVNODE_APT_UPDATE=1 apt apt-cache showsrc "$pkg" | awk '$1 == "Version:" { print $2 }')
fi
served=$(echo "$served" | sort -uV)
[ -n "$served" ] || { echo "update-lock.sh: the archive has no $kind package $pkg" >&2; exit 1; }
echo "the archive serves $kind package $pkg at: $(echo $served)"
version=${2:-$(echo "$served" | tail -n1)}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if [ "$kind" = binary ]; then
	(cd "$scratch" && apt apt-get -q download "$pkg=$version") >&2
	# The pool's file name, without the epoch that apt-get download puts in it.
	for f in "$scratch"/*.deb; do
		arch=$(dpkg-deb -f "$f" Architecture)
		want="$scratch/${pkg}_${version#*:}_$arch.deb"
		[ "$f" = "$want" ] || mv "$f" "$want"
	done
else
	(cd "$scratch" && apt apt-get -q source --download-only "$pkg=$version") >&2
fi
{
	grep -v "^$pkg " "$lock"
	(cd "$scratch" && LC_ALL=C ls | while read -r f; do
		[ -f "$f" ] && printf '%s %s %s %s\n' "$pkg" "$version" "$f" "$(sha256sum "$f" | cut -d' ' -f1)"
	done)
} >"$lock.new"
mv "$lock.new" "$lock"
echo "sources.lock: $pkg pinned to $version ($kind package)"
