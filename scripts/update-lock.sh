#!/bin/sh
# update-lock.sh PACKAGE [VERSION]
# Moves PACKAGE's pin in sources.lock to VERSION (default: the newest version the archive
# serves through the private apt state), downloading the files and recording their sha256.
# Review the diff of sources.lock before committing. Exit 0 ok, 1 on failure, 100 on usage.
set -eu
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: update-lock.sh PACKAGE [VERSION]" >&2; exit 100; }
pkg=$1
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${HVNODE_CACHE:-$HOME/.cache/hvnode}
state="$cache/apt"
lock="$top/sources.lock"
if [ $# -eq 2 ]; then
	version=$2
else
	version=$(HVNODE_APT_UPDATE=1 "$top/scripts/apt-private.sh" "$state" apt-cache showsrc "$pkg" |
		awk '$1 == "Version:" { print $2 }' | sort -V | tail -n1)
fi
[ -n "$version" ] || { echo "update-lock.sh: the archive has no source package $pkg" >&2; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && "$top/scripts/apt-private.sh" "$state" apt-get -q source --download-only "$pkg=$version") >&2
{
	grep -v "^$pkg " "$lock"
	(cd "$scratch" && LC_ALL=C ls | while read -r f; do
		[ -f "$f" ] && printf '%s %s %s %s\n' "$pkg" "$version" "$f" "$(sha256sum "$f" | cut -d' ' -f1)"
	done)
} >"$lock.new"
mv "$lock.new" "$lock"
echo "sources.lock: $pkg pinned to $version"
