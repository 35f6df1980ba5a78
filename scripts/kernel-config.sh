#!/bin/sh
# kernel-config.sh SRCDIR OBJDIR FRAGMENT...
# Resolve the hvnode kernel .config: the kernel's own scripts/kconfig/merge_config.sh merges the
# fragments over allnoconfig (-n) into OBJDIR/.config, then every option a fragment asks for is
# checked against the result. "CONFIG_X=v" must appear verbatim; "# CONFIG_X is not set" must not
# be enabled. Exit 0 when all hold, 1 listing each missing or changed option, 100 on usage errors.
set -eu
[ $# -ge 3 ] || { echo "usage: kernel-config.sh SRCDIR OBJDIR FRAGMENT..." >&2; exit 100; }
src=$1 obj=$2
shift 2
for f in "$@"; do
	[ -r "$f" ] || { echo "kernel-config.sh: unable to read fragment $f" >&2; exit 100; }
done
mkdir -p "$obj"
obj=$(cd "$obj" && pwd)
frags=
for f in "$@"; do frags="$frags $(cd "$(dirname "$f")" && pwd)/$(basename "$f")"; done
# merge_config.sh runs make in the current directory: it must be the kernel source tree.
# shellcheck disable=SC2086
(cd "$src" && ARCH=x86_64 ./scripts/kconfig/merge_config.sh -n -O "$obj" $frags) >"$obj/merge_config.log" 2>&1 || {
	cat "$obj/merge_config.log" >&2
	exit 1
}
# merge_config.sh passes srctree itself; run olddefconfig once more so the file is canonical.
make -s -C "$src" O="$obj" ARCH=x86_64 olddefconfig >/dev/null
exec "$(dirname "$0")/kernel-config-check.sh" "$obj/.config" "$@"
