#!/bin/sh
# update-lock.sh [--binary] [--package DEBNAME] PACKAGE [VERSION]
# Moves PACKAGE's pin, packages/PACKAGE/PACKAGE.hash, to VERSION (default: the newest version the
# archive serves through the private apt state): it lists the versions the archive serves,
# downloads the files, and writes each file's sha256 with a line saying where it came from.
# A package already pinned keeps its kind: a source package (apt-get source: .dsc, orig and
# debian tarballs, whose hashes the signed Sources index lists) or a binary package
# (apt-get download: one .deb, whose hash the signed Packages index lists). --binary pins a new
# package as a binary one. --package pins the Debian package DEBNAME for the folder PACKAGE
# (recorded as a "package" line and kept on later moves; linux is linux-source-6.1, pinned with
# --binary --package linux-source-6.1 linux). A new package also needs its PACKAGE.mk and a word
# in image/manifest.
# Review the diff before committing. Exit 0 ok, 1 on failure, 100 on usage.
set -eu
kind= debname=
while [ $# -gt 0 ]; do
	case $1 in
	--binary) kind=binary; shift ;;
	--package) [ $# -ge 2 ] || break; debname=$2; shift 2 ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: update-lock.sh [--binary] [--package DEBNAME] PACKAGE [VERSION]" >&2; exit 100; }
pkg=$1
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${HVNODE_CACHE:-$HOME/.cache/hvnode}
state="$cache/apt"
hash="$top/packages/$pkg/$pkg.hash"
if [ -z "$debname" ] && [ -r "$hash" ]; then
	debname=$(awk '$1 == "package" { print $2; exit }' "$hash")
fi
debname=${debname:-$pkg}
for name in "$pkg" "$debname"; do
	case $name in
	*[!a-z0-9.+-]* | "") echo "update-lock.sh: $name is not a Debian package name" >&2; exit 100 ;;
	esac
done
apt() { "$top/scripts/apt-private.sh" "$state" "$@"; }
if [ -z "$kind" ]; then
	if [ -r "$hash" ] && grep -q '^sha256 [0-9a-f]* .*\.deb$' "$hash"; then
		kind=binary
	else
		kind=source
	fi
fi
index=Sources
[ "$kind" = source ] || index=Packages
# madison: "name | version | URI suite/component [arch] Sources|Packages"
madison=$(HVNODE_APT_UPDATE=1 apt apt-cache madison "$debname" | awk -F'|' -v i="$index" '$3 ~ i {
	gsub(/ /, "", $2); sub(/^ +/, "", $3); print $2 "|" $3 }')
served=$(echo "$madison" | cut -d'|' -f1 | sort -uV)
[ -n "$served" ] || { echo "update-lock.sh: the archive has no $kind package $debname" >&2; exit 1; }
echo "the archive serves $kind package $debname at: $(echo $served)"
version=${2:-$(echo "$served" | tail -n1)}
origin=$(echo "$madison" | awk -F'|' -v v="$version" '$1 == v { n = split($2, w, " "); print w[2]; exit }')
[ -n "$origin" ] || { echo "update-lock.sh: the archive does not serve $debname $version" >&2; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if [ "$kind" = binary ]; then
	(cd "$scratch" && apt apt-get -q download "$debname=$version") >&2
	# The pool's file name, without the epoch that apt-get download puts in it.
	for f in "$scratch"/*.deb; do
		want="$scratch/${debname}_${version#*:}_$(dpkg-deb -f "$f" Architecture).deb"
		[ "$f" = "$want" ] || mv "$f" "$want"
	done
else
	(cd "$scratch" && apt apt-get -q source --download-only "$debname=$version") >&2
fi
dsc=$(cd "$scratch" && ls -- *.dsc 2>/dev/null || :)
mkdir -p "$top/packages/$pkg"
{
	echo "# $debname $version: Debian $kind package ($origin), fetched by scripts/fetch.sh"
	echo "# and moved by scripts/update-lock.sh $pkg [VERSION]."
	[ "$debname" = "$pkg" ] || echo "package $debname"
	echo "version $version"
	(cd "$scratch" && LC_ALL=C ls) | while read -r f; do
		[ -f "$scratch/$f" ] || continue
		sum=$(sha256sum "$scratch/$f" | cut -d' ' -f1)
		if [ "$kind" = binary ]; then
			echo "# from the signed Packages index ($origin), checked by apt-get download"
		elif [ "$f" = "$dsc" ]; then
			echo "# from the signed Sources index ($origin), checked by apt-get source"
		elif grep -q "^ $sum [0-9]* $f\$" "$scratch/$dsc"; then
			echo "# from $dsc (Checksums-Sha256), checked by apt-get source"
		else
			echo "update-lock.sh: $f is not listed in $dsc with this sha256" >&2
			exit 1
		fi
		echo "sha256 $sum $f"
	done
} >"$hash.new"
mv "$hash.new" "$hash"
echo "packages/$pkg/$pkg.hash: $debname pinned to $version ($kind package)"
