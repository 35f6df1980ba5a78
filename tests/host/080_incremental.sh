# SUMMARY: a change rebuilds exactly what depends on it: a pin bump its package, a busybox config not the kernel
set -eu
# make -n over the finished build in $O, with -W FILE ("FILE has just changed"): nothing runs
# (MAKE=true turns the recursive makes, which -n still runs, into no-ops; logs go to WORK) and
# the plan is printed. BUILDINFO and the vmm/agent binaries are always asked (FORCE), so the root
# tree is in every plan; the kernel and busybox are not.
: "${O:?the output directory of the finished build}"
plan() {
	make -C "$TOP" --no-print-directory -n O="$O" MAKE=true LOGS="$WORK/logs" "$@" images >"$WORK/plan" 2>&1 ||
		{ cat "$WORK/plan"; exit 1; }
}
has() { grep -q -- "$1" "$WORK/plan" || { echo "plan lacks: $1"; cat "$WORK/plan"; exit 1; }; }
lacks() { ! grep -q -- "$1" "$WORK/plan" || { echo "plan has: $1"; grep -- "$1" "$WORK/plan"; exit 1; }; }
kernel='kernel "build bzImage'
bb='busybox "build (musl, static)'
# Nothing changed: neither the kernel nor busybox is rebuilt.
plan
lacks "$kernel"
lacks "$bb"
# busybox's config: busybox and the root tree, not the kernel.
plan -W "$TOP/packages/busybox/busybox.config"
has "$bb"
lacks "$kernel"
# A pin bump of dropbear: fetched, unpacked and built again; busybox and the kernel are not.
plan -W "$TOP/packages/dropbear/dropbear.hash"
has 'dropbear "fetch + sha256'
has 'dropbear "build"'
lacks "$bb"
lacks "$kernel"
# A pin bump of linux: the kernel, even with an unchanged resolved config.
plan -W "$TOP/packages/linux/linux.hash"
has 'linux "fetch + sha256'
has "$kernel"
# A kernel fragment: the kernel, not busybox's own build.
plan -W "$TOP/packages/linux/fragments/kvm.config"
has "$kernel"
# A boot loader pin: the loader and the images, neither the kernel nor busybox.
plan -W "$TOP/packages/isolinux/isolinux.hash"
has 'isolinux "fetch + sha256'
has 'iso "grub-mkimage'
lacks "$kernel"
lacks "$bb"
echo "each change plans exactly its dependents"
