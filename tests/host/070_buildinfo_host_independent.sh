# SUMMARY: the image's BUILDINFO is the same whatever versions the build host's tools have
set -eu
echo 'CONFIG_KVM=y' >"$WORK/kconfig"
for v in 1.0 2.0; do
	mkdir -p "$WORK/bin-$v"
	printf '#!/bin/sh\necho %s\n' "$v" >"$WORK/bin-$v/dpkg-query"
	chmod +x "$WORK/bin-$v/dpkg-query"
	PATH="$WORK/bin-$v:$PATH" HVNODE_VERSION=test SOURCE_DATE_EPOCH=1 \
		"$TOP/scripts/buildinfo.sh" "$WORK/kconfig" "$TOP"/packages/*/*.hash >"$WORK/image-$v"
	PATH="$WORK/bin-$v:$PATH" "$TOP/scripts/buildinfo.sh" --host-tools >"$WORK/host-$v"
done
# The host part does see the versions (so the fake took effect) ...
grep -q '^  dpkg-dev 1.0$' "$WORK/host-1.0"
grep -q '^  dpkg-dev 2.0$' "$WORK/host-2.0"
# ... and the image part does not change with them.
cmp "$WORK/image-1.0" "$WORK/image-2.0"
! grep -q 'host_tools' "$WORK/image-1.0"
grep -q '^  linux ' "$WORK/image-1.0"
echo "image BUILDINFO identical under two host tool sets"
