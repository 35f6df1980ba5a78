# SUMMARY: BIOS boot of hvnode.iso as a CD (SeaBIOS, isolinux) reaches the ready marker
set -eu
. "$(dirname "$0")/../lib/lib.sh"
trap qemu_stop EXIT
qemu_start -drive "file=$IMG/hvnode.iso,media=cdrom,readonly=on" -boot d
wait_console 'ISOLINUX' 60
wait_console "$READY"
