#!/bin/sh
# debian-mirror.sh: sourced by the scripts that make Debian 12 roots with debootstrap
# (fresh-check.sh, debian-guest.sh): where this machine gets Debian from.
#   debian_sources   the host's apt entries for Debian's archive (FRESH_SOURCES=FILE replaces them)
#   debian_mirror    the first non-security Debian URI among them (FRESH_MIRROR overrides it)
# debian_sources: the host's apt source entries for Debian's own archive: deb822 files signed
# with Debian's archive keyring, and one-line entries on a debian.org host without a keyring of
# another vendor. FRESH_SOURCES=FILE (one-line or deb822 entries) replaces them.
debian_sources() {
	if [ -n "${FRESH_SOURCES:-}" ]; then
		cat "$FRESH_SOURCES"
		return
	fi
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] && grep -q 'debian-archive-keyring' "$f" && { cat "$f"; echo; }
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		grep -E '^[[:space:]]*deb[[:space:]]' "$f" | grep -E '://[^/[:space:]]*debian\.org/' |
			grep -vE 'signed-by=[^]]*' || :
		grep -E '^[[:space:]]*deb[[:space:]].*signed-by=[^] ]*debian-archive-keyring' "$f" || :
	done
	return 0
}

debian_mirror() {
	if [ -n "${FRESH_MIRROR:-}" ]; then
		echo "$FRESH_MIRROR"
		return
	fi
	debian_sources | awk '
		$1 == "URIs:" && $2 !~ /security/ { print $2; exit }
		$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($i !~ /security/) { print $i; exit } } }'
}
