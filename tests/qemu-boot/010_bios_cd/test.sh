# SUMMARY: BIOS boot of hvnode.iso as a CD (SeaBIOS, isolinux) reaches the ready marker
set -eu
. "$(dirname "$0")/../lib/lib.sh"
trap qemu_stop EXIT
qemu_start -drive "file=$IMG/hvnode.iso,media=cdrom,readonly=on" -boot d
wait_console 'ISOLINUX' 60
wait_console "$READY"
# The boot CD itself is never taken for the HVNODE config partition.
wait_console 'hvnode: no HVNODE config partition: stateless node' 5
