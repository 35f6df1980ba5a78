# SUMMARY: PXE boot from the PXE set over QEMU's TFTP (iPXE ROM, pxelinux) reaches the ready marker with BOOTIF
set -eu
. "$(dirname "$0")/../lib/lib.sh"
trap qemu_stop EXIT
qemu_start -boot n \
	-netdev "user,id=n0,tftp=$IMG/pxe,bootfile=pxelinux.0" \
	-device e1000,netdev=n0,mac=52:54:00:12:34:56
wait_console "$READY"
# pxelinux's IPAPPEND 2 told the node which NIC it booted from.
wait_console 'Command line: .*BOOTIF=01-52-54-00-12-34-56' 5
