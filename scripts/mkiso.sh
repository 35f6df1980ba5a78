#!/bin/sh
# mkiso.sh WORKDIR BZIMAGE INITRD IMAGEDIR BOOTFILES CMDLINE OUT_ISO
# Makes the hybrid hvnode ISO: BIOS El Torito via isolinux, UEFI El Torito via an EFI system
# partition image (FAT, fixed serial) holding GRUB (grub-mkimage with only the modules needed),
# and isohybrid MBR + GPT so the same file boots when written raw to a USB stick.
# BOOTFILES holds isolinux.bin, isohdpfx.bin, ldlinux.c32 and x86_64-efi/ (GRUB) from the pinned
# loader packages; nothing is taken from the host but the tools. CMDLINE is the file with the
# default kernel command line (one line). All dates are SOURCE_DATE_EPOCH; WORKDIR is rebuilt from scratch. Exit 0 ok, 1 on failure.
set -eu
[ $# -eq 7 ] || { echo "usage: mkiso.sh WORKDIR BZIMAGE INITRD IMAGEDIR BOOTFILES CMDLINE OUT_ISO" >&2; exit 100; }
w=$1 kernel=$2 initrd=$3 imgdir=$4 boot=$5 cmdfile=$6 out=$7
: "${SOURCE_DATE_EPOCH:?}" "${HVNODE_VERSION:?}"
cmdline=$(cat "$cmdfile")
# The cmdline is data for sed's replacement: its \, | and & are escaped.
cmdline_sed=$(printf '%s' "$cmdline" | sed 's/[\\|&]/\\&/g')
subst() { sed "s|@CMDLINE@|$cmdline_sed|g; s|@VERSION@|$HVNODE_VERSION|g" "$1"; }

rm -rf "$w"
mkdir -p "$w/tree/boot/grub" "$w/tree/isolinux" "$w/efi/EFI/BOOT"
cp "$kernel" "$w/tree/boot/vmlinuz"
cp "$initrd" "$w/tree/boot/initrd.img"
cp "$boot/isolinux.bin" "$boot/ldlinux.c32" "$w/tree/isolinux/"
subst "$imgdir/isolinux.cfg" >"$w/tree/isolinux/isolinux.cfg"
subst "$imgdir/grub.cfg" >"$w/tree/boot/grub/grub.cfg"
printf '%s\n' "$HVNODE_VERSION" >"$w/tree/.hvnode-$HVNODE_VERSION"

echo "grub-mkimage"
subst "$imgdir/grub-early.cfg" >"$w/grub-early.cfg"
grub-mkimage -d "$boot/x86_64-efi" -O x86_64-efi -o "$w/efi/EFI/BOOT/BOOTX64.EFI" -p /boot/grub -c "$w/grub-early.cfg" \
	part_gpt part_msdos fat iso9660 search search_fs_file normal configfile linux echo test \
	serial terminal efi_gop efi_uga video_fb boot
echo "EFI system partition image"
size_kib=$(( ($(stat -c %s "$w/efi/EFI/BOOT/BOOTX64.EFI") / 1024) + 512 ))
mkfs.fat -C --invariant -i 68766e64 -n HVNODE_EFI "$w/tree/boot/efiboot.img" "$size_kib"
find "$w/efi" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
MTOOLS_SKIP_CHECK=1 mcopy -s -m -i "$w/tree/boot/efiboot.img" "$w/efi/EFI" ::/

echo "xorriso"
find "$w/tree" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
xorriso -as mkisofs -o "$out" -quiet \
	-iso-level 3 -full-iso9660-filenames -joliet -rational-rock -volid HVNODE_ISO \
	--set_all_file_dates "=$SOURCE_DATE_EPOCH" \
	-isohybrid-mbr "$boot/isohdpfx.bin" \
	-eltorito-boot isolinux/isolinux.bin -eltorito-catalog isolinux/boot.cat \
	-no-emul-boot -boot-load-size 4 -boot-info-table \
	-eltorito-alt-boot -e boot/efiboot.img -no-emul-boot -isohybrid-gpt-basdat \
	"$w/tree"
