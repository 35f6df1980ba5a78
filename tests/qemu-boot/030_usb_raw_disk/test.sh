# SUMMARY: hvnode.iso written raw to a USB stick boots under BIOS (isohybrid MBR) and UEFI (GPT ESP)
set -eu
. "$(dirname "$0")/../lib/lib.sh"
trap qemu_stop EXIT
# "Write" the ISO to a stick exactly as dd would, into a stick-sized file.
cp "$IMG/hvnode.iso" "$WORK/usb.img"
truncate -s 256M "$WORK/usb.img"
usb="-device qemu-xhci,id=xhci -drive if=none,id=stick,format=raw,file=$WORK/usb.img"
echo "  BIOS, USB mass storage"
CONSOLE="$WORK/console-bios.log"
# shellcheck disable=SC2086
qemu_start $usb -device usb-storage,bus=xhci.0,drive=stick,bootindex=0
wait_console 'ISOLINUX' 60
wait_console "$READY"
qemu_stop
echo "  UEFI, USB mass storage"
CONSOLE="$WORK/console-uefi.log"
# shellcheck disable=SC2086
qemu_start -bios /usr/share/ovmf/OVMF.fd $usb -device usb-storage,bus=xhci.0,drive=stick,bootindex=0
wait_console "$READY"
wait_console 'efi: EFI v[0-9.]+ by EDK II' 5
