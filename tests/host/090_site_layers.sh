# SUMMARY: SITE layers: its overlay replaces overlay files, a path two packages give is refused, its cmdline is appended
set -eu
export SOURCE_DATE_EPOCH=1 HVNODE_VERSION=test
mk() { mkdir -p "$(dirname "$WORK/$1")" && printf '%s\n' "$2" >"$WORK/$1"; }
mk pkg-a/bin/busybox a
for applet in sbin/init bin/sh sbin/switch_root bin/mount sbin/udhcpc; do mk "pkg-a/$applet" a; done
mk pkg-b/usr/sbin/tool b
mk overlay/etc/motd overlay
mk overlay/etc/keep overlay
mk site/overlay/etc/motd site
echo 'CONFIG_KVM=y' >"$WORK/kconfig"
echo 'version: test' >"$WORK/buildinfo"
root() { "$TOP/scripts/mkrootfs.sh" "$WORK/target" "$WORK/buildinfo" "$WORK/kconfig" "$@"; }

# A SITE overlay replaces the image overlay's file; the other files stay.
root "$WORK/pkg-a" "$WORK/pkg-b" -- "$WORK/overlay" "$WORK/site/overlay"
[ "$(cat "$WORK/target/etc/motd")" = site ]
[ "$(cat "$WORK/target/etc/keep")" = overlay ]
[ "$(cat "$WORK/target/usr/sbin/tool")" = b ]
grep -q '^version: test$' "$WORK/target/usr/share/hvnode/BUILDINFO"

# The image's own files cannot be replaced by an overlay; the default hostname can.
mk site-bad/usr/share/hvnode/BUILDINFO fake
if root "$WORK/pkg-a" -- "$WORK/overlay" "$WORK/site-bad" 2>"$WORK/err"; then
	echo "an overlay replaced the image's BUILDINFO"; exit 1
fi
grep -q "usr/share/hvnode/BUILDINFO is provided by both" "$WORK/err"
mk site-host/etc/hostname rack12
root "$WORK/pkg-a" -- "$WORK/overlay" "$WORK/site-host"
[ "$(cat "$WORK/target/etc/hostname")" = rack12 ]
[ "$(readlink "$WORK/target/etc/mtab")" = /proc/self/mounts ]

# Two packages giving one path: refused, both named.
mk pkg-c/usr/sbin/tool c
if root "$WORK/pkg-a" "$WORK/pkg-b" "$WORK/pkg-c" -- "$WORK/overlay" 2>"$WORK/err"; then
	echo "a path given by two packages was accepted"; exit 1
fi
cat "$WORK/err"
grep -q "usr/sbin/tool is provided by both $WORK/pkg-b and $WORK/pkg-c" "$WORK/err"

# An overlay cannot silently replace a package's file either.
mk overlay2/usr/sbin/tool o
if root "$WORK/pkg-a" "$WORK/pkg-b" -- "$WORK/overlay2" 2>"$WORK/err"; then
	echo "an overlay replaced a package's file"; exit 1
fi
grep -q "usr/sbin/tool is provided by both $WORK/pkg-b and $WORK/overlay2" "$WORK/err"

# The default cmdline is the manifest's, then the SITE's, on one line.
printf 'hvnode.manager=https://mgr.example:8443\nhvnode.join_token=abc\n' >"$WORK/site/cmdline"
make -s -C "$TOP" O="$WORK/out" SITE="$WORK/site" "$WORK/out/build/cmdline"
want="$(tr '\n' ' ' <"$TOP/image/cmdline" | sed 's/ *$//') hvnode.manager=https://mgr.example:8443 hvnode.join_token=abc"
[ "$(cat "$WORK/out/build/cmdline")" = "$want" ] || { echo "cmdline: $(cat "$WORK/out/build/cmdline")"; exit 1; }
echo "site layers as documented"
