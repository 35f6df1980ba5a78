# SUMMARY: the initrd starts with the uncompressed early microcode cpio (both vendors' blobs, whole), then the initramfs with exactly the firmware the built-in drivers ask for; the two scripts refuse bad input
set -eu
: "${O:?}"
B=$O/build
initrd=$O/images/pxe/initrd.img
# newc.py FILE: one line per entry of every newc archive in FILE, "ARCHIVE SIZE NAME" (ARCHIVE
# counts from 0; a TRAILER!!! ends one archive; NUL padding between archives is skipped).
cat >"$WORK/newc.py" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
off, archive = 0, 0
while off < len(data):
    if data[off] == 0:
        off += 1
        continue
    if data[off:off + 6] != b"070701":
        sys.exit(f"not a newc header at offset {off}")
    h = data[off:off + 110]
    size, namesize = int(h[54:62], 16), int(h[94:102], 16)
    name = data[off + 110:off + 110 + namesize - 1].decode()
    off = (off + 110 + namesize + 3) & ~3
    if name == "TRAILER!!!":
        archive += 1
    else:
        print(archive, size, name)
    off = (off + size + 3) & ~3
PY
python3 "$WORK/newc.py" "$initrd" >"$WORK/entries"
# The early cpio comes first, uncompressed, and holds the two blobs and their directories only.
[ "$(head -c 6 "$initrd")" = 070701 ] || { echo "the initrd does not start with a newc cpio"; exit 1; }
awk '$1 == 0 { print $3 }' "$WORK/entries" >"$WORK/early"
printf '%s\n' kernel kernel/x86 kernel/x86/microcode kernel/x86/microcode/AuthenticAMD.bin \
	kernel/x86/microcode/GenuineIntel.bin | diff -u - "$WORK/early"
# Each blob is every microcode file of its package, whole, in name order.
mkdir "$WORK/x"
(cd "$WORK/x" && cpio -i --quiet --make-directories <"$initrd")
find "$B/intel-microcode/lib/firmware/intel-ucode" -type f -printf '%f\n' | LC_ALL=C sort |
	(cd "$B/intel-microcode/lib/firmware/intel-ucode" && xargs cat) | cmp - "$WORK/x/kernel/x86/microcode/GenuineIntel.bin"
find "$B/amd64-microcode/lib/firmware/amd-ucode" -type f -name 'microcode_amd*.bin' -printf '%f\n' | LC_ALL=C sort |
	(cd "$B/amd64-microcode/lib/firmware/amd-ucode" && xargs cat) | cmp - "$WORK/x/kernel/x86/microcode/AuthenticAMD.bin"
echo "early cpio: $(wc -c <"$WORK/x/kernel/x86/microcode/GenuineIntel.bin") + $(wc -c <"$WORK/x/kernel/x86/microcode/AuthenticAMD.bin") bytes of microcode"
# The initramfs proper: /init, the root, and under lib/firmware exactly the files the report
# ships (those a built-in driver named and a firmware package has), each with its size.
awk '$1 == 1 { print $3 }' "$WORK/entries" | grep -qx init
awk '$1 == 1 { print $3 }' "$WORK/entries" | grep -qx rootfs.squashfs
awk '$1 == 1 && $3 ~ /^lib\/firmware\/./ && $2 > 0 { sub("^lib/firmware/", "", $3); print $3, $2 }' "$WORK/entries" |
	LC_ALL=C sort >"$WORK/fw-initrd"
awk '$3 != "-" { print $2, $3 }' "$B/firmware.txt" | LC_ALL=C sort -u >"$WORK/fw-report"
diff -u "$WORK/fw-report" "$WORK/fw-initrd"
for drv in ice bnx2x qed r8169 tg3; do
	awk -v d="$drv" '$1 == d && $3 != "-"' "$B/firmware.txt" | grep -q . || { echo "no firmware shipped for $drv"; exit 1; }
done
echo "firmware: $(wc -l <"$WORK/fw-initrd") files, $(awk '{ s += $2 } END { print s }' "$WORK/fw-initrd") bytes"
# Every firmware name the report lists was asked for by a built-in driver (modules.builtin.modinfo).
tr '\0' '\n' <"$B/linux/tree/modules.builtin.modinfo" | sed -n 's/^\([^.]*\)\.firmware=/\1 /p' | LC_ALL=C sort -u >"$WORK/asked"
awk '{ print $1, $2 }' "$B/firmware.txt" | diff -u "$WORK/asked" -

# firmware-select.sh: a name that climbs out of lib/firmware is refused; a name no package has
# is reported with "-"; a symlinked file is copied as the file it names.
mkdir -p "$WORK/pkg/lib/firmware/vendor"
echo blob >"$WORK/pkg/lib/firmware/vendor/real.bin"
ln -s real.bin "$WORK/pkg/lib/firmware/vendor/link.bin"
printf 'drv.firmware=vendor/link.bin\0drv.firmware=vendor/none.bin\0drv.license=GPL\0' >"$WORK/modinfo"
"$TOP/scripts/firmware-select.sh" "$WORK/modinfo" "$WORK/fw" "$WORK/report" "$WORK/pkg"
printf 'drv vendor/link.bin 5 pkg\ndrv vendor/none.bin - -\n' | diff -u - "$WORK/report"
[ -f "$WORK/fw/vendor/link.bin" ] && ! [ -L "$WORK/fw/vendor/link.bin" ] && ! [ -e "$WORK/fw/vendor/none.bin" ]
printf 'drv.firmware=../../etc/passwd\0' >"$WORK/modinfo"
if "$TOP/scripts/firmware-select.sh" "$WORK/modinfo" "$WORK/fw2" "$WORK/report2" "$WORK/pkg" 2>"$WORK/err"; then
	echo "firmware-select.sh took a name outside lib/firmware"; exit 1
fi
grep -q 'not a plain relative path: ../../etc/passwd' "$WORK/err"
! [ -e "$WORK/fw2" ]

# mkmicrocode.sh: a package set without one vendor's microcode is refused, nothing written.
mkdir -p "$WORK/intel-only/lib/firmware/intel-ucode"
echo x >"$WORK/intel-only/lib/firmware/intel-ucode/06-55-04"
if SOURCE_DATE_EPOCH=0 "$TOP/scripts/mkmicrocode.sh" "$WORK/mc.cpio" "$B/linux/tree/usr/gen_init_cpio" \
	"$WORK/intel-only" 2>"$WORK/err"; then
	echo "mkmicrocode.sh made a cpio without AMD microcode"; exit 1
fi
grep -q 'no lib/firmware/amd-ucode/microcode_amd\*.bin' "$WORK/err"
! [ -e "$WORK/mc.cpio" ]
