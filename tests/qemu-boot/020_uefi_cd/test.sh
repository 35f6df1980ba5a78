# SUMMARY: UEFI boot of hvnode.iso as a CD (OVMF, GRUB from the EFI image) reaches the ready marker
set -eu
. "$(dirname "$0")/../lib/lib.sh"
trap qemu_stop EXIT
qemu_start -bios /usr/share/ovmf/OVMF.fd -drive "file=$IMG/hvnode.iso,media=cdrom,readonly=on" -boot d
wait_console "$READY"
# The kernel came up through EFI: the EFI stub reports the firmware.
wait_console 'efi: EFI v[0-9.]+ by EDK II' 5
