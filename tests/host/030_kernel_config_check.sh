# SUMMARY: the kernel config check lists every requested option the resolved .config lacks
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
"$TOP/scripts/kernel-config-check.sh" "$KCONFIG" "$TOP"/kernel-config/*.config
