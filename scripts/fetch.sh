#!/bin/sh
# fetch.sh HASHFILE DL_DIR APT_STATE PACKAGE
# Makes DL_DIR/PACKAGE hold every file HASHFILE (packages/PACKAGE/PACKAGE.hash: a "version V"
# line, an optional "package NAME" line when the Debian package is not named PACKAGE, then
# "sha256 HASH FILE" lines) pins for PACKAGE, each verified by sha256.
# Files already cached and matching are used as they are (offline builds). Missing ones are
# downloaded through a private apt state (scripts/apt-private.sh) into a scratch directory,
# verified, and only then moved into place: a source package (files .dsc, .orig.tar.*, …) with
# `apt-get source --download-only PACKAGE=VERSION`, a binary package (one file, NAME_VER_ARCH.deb)
# with `apt-get download PACKAGE=VERSION`, which apt checks against the signed Packages index.
# Exit 0 ok; 1 on a hash mismatch (names file, expected and actual hash; the file is deleted)
# or when the archive no longer serves the pinned version; 100 on usage errors.
set -eu
[ $# -eq 4 ] || { echo "usage: fetch.sh HASHFILE DL_DIR APT_STATE PACKAGE" >&2; exit 100; }
lock=$1 dl=$2 state=$3 pkg=$4
here=$(cd "$(dirname "$0")" && pwd)
[ -r "$lock" ] || { echo "fetch.sh: unable to read $lock: package $pkg is not pinned" >&2; exit 100; }
version=$(awk '$1 == "version" { print $2; exit }' "$lock")
debname=$(awk '$1 == "package" { print $2; exit }' "$lock")
debname=${debname:-$pkg}
case $debname in
*[!a-z0-9.+-]*) echo "fetch.sh: $lock: package $debname is not a Debian package name" >&2; exit 100 ;;
esac
# One "VERSION FILE SHA256" line per pinned file.
entries=$(awk -v v="$version" '$1 == "sha256" && NF == 3 { print v, $3, $2 }' "$lock")
[ -n "$version" ] && [ -n "$entries" ] || { echo "fetch.sh: $lock has no version line or no sha256 lines" >&2; exit 100; }
case $version in
*[!A-Za-z0-9.+~:-]*) echo "fetch.sh: $lock: version $version is not a Debian version" >&2; exit 100 ;;
esac
bad=$(echo "$entries" | awk '$2 !~ /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/ || length($3) != 64 || $3 ~ /[^0-9a-f]/ { print $2 }')
[ -z "$bad" ] || { echo "fetch.sh: $lock: not a plain file name with a sha256: $bad" >&2; exit 100; }
mkdir -p "$dl/$pkg"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

missing=
echo "$entries" | while read -r _v file _h; do [ -e "$dl/$pkg/$file" ] || echo "$file"; done >"$dl/$pkg/.missing"
missing=$(cat "$dl/$pkg/.missing")
rm -f "$dl/$pkg/.missing"
if [ -n "$missing" ]; then
	scratch="$dl/$pkg/.fetch.$$"
	rm -rf "$scratch"
	mkdir -p "$scratch"
	trap 'rm -rf "$scratch"' EXIT
	echo "fetching $debname $version through apt (missing: $(echo $missing))"
	case $missing in
	*.deb) verb=download ;;
	*) verb="source --download-only" ;;
	esac
	# shellcheck disable=SC2086
	if ! (cd "$scratch" && "$here/apt-private.sh" "$state" apt-get -q $verb "$debname=$version"); then
		cat >&2 <<-MSG
		fetch.sh: the archive did not serve $debname $version, pinned in $lock.
		  Check the network, or move the pin to a version the archive serves:
		    scripts/update-lock.sh $pkg            (newest version the archive has)
		    scripts/update-lock.sh $pkg VERSION    (a given one)
		MSG
		exit 1
	fi
	# apt-get download names the file with the epoch (NAME_1%3aVER_ARCH.deb); the lock uses the
	# archive's pool name, without the epoch.
	case $missing in
	*.deb)
		for got_deb in "$scratch"/*.deb; do
			if [ -e "$got_deb" ] && [ "$got_deb" != "$scratch/$missing" ]; then
				mv "$got_deb" "$scratch/$missing"
			fi
		done
		;;
	esac
	for f in $missing; do
		[ -e "$scratch/$f" ] || { echo "fetch.sh: apt did not deliver $f for $pkg $version (hash file stale?)" >&2; exit 1; }
		mv "$scratch/$f" "$dl/$pkg/$f.part"
		mv "$dl/$pkg/$f.part" "$dl/$pkg/$f"
	done
fi
# Verify everything, cached or new, on every fetch: a cache is never trusted blindly.
status=0
echo "$entries" | {
	while read -r _v file want; do
		got=$(sha_of "$dl/$pkg/$file")
		if [ "$got" != "$want" ]; then
			echo "fetch.sh: sha256 mismatch for $dl/$pkg/$file: expected $want, got $got; file removed" >&2
			rm -f "$dl/$pkg/$file"
			status=1
		fi
	done
	exit $status
}
