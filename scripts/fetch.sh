#!/bin/sh
# fetch.sh LOCKFILE DL_DIR APT_STATE PACKAGE
# Makes DL_DIR/PACKAGE hold every file sources.lock pins for PACKAGE, each verified by sha256.
# Files already cached and matching are used as they are (offline builds). Missing ones are
# downloaded through a private apt state (scripts/apt-private.sh) into a scratch directory,
# verified, and only then moved into place: a source package (files .dsc, .orig.tar.*, …) with
# `apt-get source --download-only PACKAGE=VERSION`, a binary package (one file, NAME_VER_ARCH.deb)
# with `apt-get download PACKAGE=VERSION`, which apt checks against the signed Packages index.
# Exit 0 ok; 1 on a hash mismatch (names file, expected and actual hash; the file is deleted)
# or when the archive no longer serves the pinned version; 100 on usage errors.
set -eu
[ $# -eq 4 ] || { echo "usage: fetch.sh LOCKFILE DL_DIR APT_STATE PACKAGE" >&2; exit 100; }
lock=$1 dl=$2 state=$3 pkg=$4
here=$(cd "$(dirname "$0")" && pwd)
entries=$(awk -v p="$pkg" '$1 == p { print $2, $3, $4 }' "$lock")
[ -n "$entries" ] || { echo "fetch.sh: package $pkg is not pinned in $lock" >&2; exit 100; }
version=$(echo "$entries" | awk 'NR == 1 { print $1 }')
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
	echo "fetching $pkg $version through apt (missing: $(echo $missing))"
	case $missing in
	*.deb) verb=download ;;
	*) verb="source --download-only" ;;
	esac
	# shellcheck disable=SC2086
	if ! (cd "$scratch" && "$here/apt-private.sh" "$state" apt-get -q $verb "$pkg=$version"); then
		cat >&2 <<-MSG
		fetch.sh: the archive did not serve $pkg $version, pinned in $lock.
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
		[ -e "$scratch/$f" ] || { echo "fetch.sh: apt did not deliver $f for $pkg $version (lock entry stale?)" >&2; exit 1; }
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
