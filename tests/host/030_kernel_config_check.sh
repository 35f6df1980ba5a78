# SUMMARY: the kernel config check lists every requested option the resolved .config lacks, a drift from the committed resolved config is named, and every default option allnoconfig dropped has its reason
set -eu
cat >"$WORK/.config" <<'CFG'
CONFIG_KVM=y
# CONFIG_MODULES is not set
CONFIG_DEVMEM=y
CFG
cat >"$WORK/frag.config" <<'CFG'
CONFIG_KVM=y
CONFIG_KVM_AMD=y
CONFIG_NR_CPUS=512
# CONFIG_MODULES is not set
# CONFIG_DEVMEM is not set
CFG
if "$TOP/scripts/kernel-config-check.sh" "$WORK/.config" "$WORK/frag.config" 2>"$WORK/err"; then
	echo "the check passed a config that lacks requested options"; exit 1
fi
cat "$WORK/err"
grep -q "asks CONFIG_KVM_AMD=y, got missing" "$WORK/err"
grep -q "asks CONFIG_NR_CPUS=512, got missing" "$WORK/err"
grep -q "asks CONFIG_DEVMEM off, got CONFIG_DEVMEM=y" "$WORK/err"
! grep -q "CONFIG_KVM=y, got" "$WORK/err"
# And the real fragments hold against the real resolved config.
"$TOP/scripts/kernel-config-check.sh" "$KCONFIG" "$TOP"/packages/linux/fragments/*.config
# The drift check: a resolved config that differs from the committed one fails, naming each
# option with both values; an identical one passes.
printf 'CONFIG_KVM=y\n# CONFIG_USB_PCI is not set\nCONFIG_NR_CPUS=64\n' >"$WORK/committed"
printf 'CONFIG_KVM=y\nCONFIG_USB_PCI=y\nCONFIG_HZ=250\n' >"$WORK/resolved"
if "$TOP/scripts/kernel-config-drift.sh" "$WORK/committed" "$WORK/resolved" 2>"$WORK/drift"; then
	echo "the drift check passed a changed config"; exit 1
fi
cat "$WORK/drift"
grep -q "CONFIG_USB_PCI: committed n, now y" "$WORK/drift"
grep -q "CONFIG_NR_CPUS: committed 64, now n" "$WORK/drift"
grep -q "CONFIG_HZ: committed n, now 250" "$WORK/drift"
! grep -q "CONFIG_KVM:" "$WORK/drift"
grep -q "make linux-update-config" "$WORK/drift"
"$TOP/scripts/kernel-config-drift.sh" "$WORK/committed" "$WORK/committed"
# And the committed resolved config is what this build's fragments give.
"$TOP/scripts/kernel-config-drift.sh" "$TOP/packages/linux/resolved.config" "$KCONFIG"
# Options on by default that allnoconfig dropped: each has its reason in dropped-defaults.txt
# (USB_PCI was such a hole: the xHCI driver built, no controller ever bound). A list that lacks
# one fails naming it; a line that names nothing dropped is stale.
: "${O:?the output directory of the finished build}"
list=$TOP/packages/linux/dropped-defaults.txt
"$TOP/scripts/kernel-config-defaults.sh" "$O/build/linux/tree" "$KCONFIG" "$list" "$TOP"/packages/linux/fragments/*.config
first=$(awk '!/^[[:space:]]*(#|$)/ && $1 !~ /\*/ { print $1; exit }' "$list")
{ grep -vx "$first.*" "$list"; echo "CONFIG_HVNODE_NO_SUCH_OPTION  a stale line"; } >"$WORK/list"
if "$TOP/scripts/kernel-config-defaults.sh" "$O/build/linux/tree" "$KCONFIG" "$WORK/list" \
	"$TOP"/packages/linux/fragments/*.config 2>"$WORK/defaults"; then
	echo "the dropped-defaults check passed a list without $first"; exit 1
fi
cat "$WORK/defaults"
grep -q "^  $first: off in the build, on by default, not in the list" "$WORK/defaults"
grep -q "^  CONFIG_HVNODE_NO_SUCH_OPTION (list line [0-9]*): stale" "$WORK/defaults"
