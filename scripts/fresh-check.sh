#!/bin/sh
# fresh-check.sh WORKDIR REFERENCE_IMAGES LOGDIR
# Proves that a fresh Debian 12 machine builds the same bytes as this one. It makes a clean
# Debian 12 minbase root with debootstrap in WORKDIR/root (plus git, make, ca-certificates and
# sudo: what an operator installs to clone the project), clones this repository's HEAD commit
# into it at another path (/build/hvnode-fresh), and runs the README's `make` there as root with
# empty caches (no DL_DIR, no ccache, no apt lists of this machine), so the Makefile has to
# install its own host packages. Then it compares that build's SHA256SUMS with
# REFERENCE_IMAGES/SHA256SUMS (the images of this tree's own build).
# Nothing on the host changes: the root's mounts (/proc, /dev, /sys) live in a private mount
# namespace and vanish with it. The root is the machine's: its apt sources are the host's Debian
# entries, and the host's Acquire:: settings (proxy, snapshot validity) are copied.
# FRESH_MIRROR overrides the debootstrap mirror (default: the host's first Debian URI).
# Exit 0 when identical; 1 naming the differing files, or when a step fails (its log is named);
# 100 on usage errors or a dirty work tree; 111 when not root or a host tool is missing.
set -eu
[ $# -eq 3 ] || { echo "usage: fresh-check.sh WORKDIR REFERENCE_IMAGES LOGDIR" >&2; exit 100; }
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1" "$3"
# Physical paths: /proc/self/mountinfo names mount points by them.
work=$(cd "$1" && pwd -P) ref=$2 logs=$(cd "$3" && pwd -P)
step="$top/scripts/step.sh"
root="$work/root"
src=/build/hvnode-fresh
suite=bookworm

[ "$(id -u)" -eq 0 ] || { echo "fresh-check.sh: unable to make a root: debootstrap and chroot need root" >&2; exit 111; }
for tool in debootstrap unshare chroot git; do
	command -v "$tool" >/dev/null || { echo "fresh-check.sh: unable to find $tool (scripts/host-deps.sh installs it)" >&2; exit 111; }
done
[ -r "$ref/SHA256SUMS" ] || { echo "fresh-check.sh: no reference $ref/SHA256SUMS: run make first" >&2; exit 100; }
# The reference build reads the work tree, the fresh one the commit: they must be the same.
if [ -n "$(git -C "$top" status --porcelain)" ]; then
	echo "fresh-check.sh: the work tree has uncommitted or untracked files; the fresh machine builds commits only: commit first" >&2
	exit 100
fi
commit=$(git -C "$top" rev-parse HEAD)

. "$top/scripts/debian-mirror.sh"

# Refuse to delete a root that still has something mounted in it (a bind of /dev above all);
# and never cross into another filesystem while deleting.
if [ -d "$root" ] && sed 's/\\040/ /g' /proc/self/mountinfo |
	awk -v r="$root" 'index($5, r) == 1 { found = 1 } END { exit !found }'; then
	echo "fresh-check.sh: $root still has mounts; unmount them before a new check" >&2
	exit 1
fi
rm -rf --one-file-system "$root"
mkdir -p "$root"
m=$(debian_mirror)
[ -n "$m" ] || { echo "fresh-check.sh: no Debian mirror in the host's apt sources; set FRESH_MIRROR" >&2; exit 111; }

# debootstrap mounts /proc and /sys in the root: in a private mount namespace they cannot outlive it.
"$step" fresh "debootstrap --variant=minbase $suite ($m)" "$logs/fresh-debootstrap.log" \
	unshare --mount --propagation private \
	debootstrap --variant=minbase --include=git,make,ca-certificates,sudo "$suite" "$root" "$m"

# The machine's own apt sources and network settings, nothing of this host's caches.
debian_sources >"$root/etc/apt/sources.list.d/host.sources.tmp"
if [ -s "$root/etc/apt/sources.list.d/host.sources.tmp" ]; then
	# deb822 stanzas and one-line entries go to files of their own kind.
	grep -v '^[[:space:]]*deb[[:space:]]' "$root/etc/apt/sources.list.d/host.sources.tmp" \
		>"$root/etc/apt/sources.list.d/host.sources" || :
	grep '^[[:space:]]*deb[[:space:]]' "$root/etc/apt/sources.list.d/host.sources.tmp" \
		>"$root/etc/apt/sources.list" || :
	rm -f "$root/etc/apt/sources.list.d/host.sources.tmp"
else
	rm -f "$root/etc/apt/sources.list.d/host.sources.tmp"
fi
apt-config dump | grep '^Acquire::' >"$root/etc/apt/apt.conf.d/99host-acquire" || :
cp /etc/resolv.conf "$root/etc/resolv.conf"

"$step" fresh "clone $commit into $src" "$logs/fresh-clone.log" \
	sh -c 'git clone --no-hardlinks --quiet "$1" "$2" && git -C "$2" checkout --quiet --detach "$3"' \
	sh "$top" "$root$src" "$commit"

# What the fresh machine keeps of this environment: the network proxies and an explicit
# SOURCE_DATE_EPOCH (the default, the commit's time, is the same in both). CCACHE_DISABLE: an
# empty cache can only miss, and each miss costs a hash and a store (ccache then runs gcc as is).
passenv=
for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY SOURCE_DATE_EPOCH; do
	eval "val=\${$v:-}"
	# shellcheck disable=SC2154
	case $val in
	*[!A-Za-z0-9._:/@,=+-]*) echo "fresh-check.sh: $v has characters this script does not pass on" >&2; exit 100 ;;
	?*) passenv="$passenv $v=$val" ;;
	esac
done
# In a private mount namespace: the mounts end with the chroot's last process.
"$step" fresh "make in the fresh root (empty caches, host packages installed by the Makefile)" \
	"$logs/fresh-make.log" \
	unshare --mount --propagation private sh -c '
		set -e
		mount -t proc proc "$1/proc"
		mount --bind /dev "$1/dev"
		mount -t devpts -o newinstance,ptmxmode=0666 devpts "$1/dev/pts"
		mount -t tmpfs -o nosuid,nodev tmpfs "$1/dev/shm"
		mount -t sysfs -o ro sysfs "$1/sys"
		exec chroot "$1" /usr/bin/env -i HOME=/root TERM=dumb CCACHE_DISABLE=1 \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			$3 sh -c "cd \"\$0\" && make" "$2"' sh "$root" "$src" "$passenv"

fresh="$root$src/out/images"
if cmp -s "$ref/SHA256SUMS" "$fresh/SHA256SUMS"; then
	echo "[fresh] identical: $(wc -l <"$ref/SHA256SUMS") outputs of $ref and the fresh root's $src/out/images"
	if ! diff -u "$ref/BUILDINFO" "$fresh/BUILDINFO" >"$work/host-tools.diff"; then
		echo "[fresh] host tool versions differed (images/BUILDINFO, not in SHA256SUMS):"
		grep '^[-+]  ' "$work/host-tools.diff" | sed 's/^/    /'
	fi
	rm -rf --one-file-system "$root"
	exit 0
fi
echo "[fresh] outputs DIFFER between $ref and the fresh root's $src/out/images:"
diff "$ref/SHA256SUMS" "$fresh/SHA256SUMS" | awk '/^[<>]/ { print "    " ($1 == "<" ? "here:  " : "fresh: ") $3, $2 }'
echo "[fresh] the fresh root is kept for inspection: $root"
exit 1
