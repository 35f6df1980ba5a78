# SUMMARY: PXE boot of the PXE set over QEMU's TFTP, through pxelinux and through boot.ipxe, reaches the ready marker with BOOTIF
set -eu
. "$(dirname "$0")/../lib/lib.sh"
trap qemu_stop EXIT
echo "  pxelinux"
CONSOLE="$WORK/console-pxelinux.log"
qemu_start -boot n \
	-netdev "user,id=n0,tftp=$IMG/pxe,bootfile=pxelinux.0" \
	-device e1000,netdev=n0,mac=52:54:00:12:34:56
wait_console "$READY"
# pxelinux's IPAPPEND 2 told the node which NIC it booted from.
wait_console 'Command line: .*BOOTIF=01-52-54-00-12-34-56' 5
qemu_stop
echo "  iPXE script (boot.ipxe)"
CONSOLE="$WORK/console-ipxe.log"
qemu_start -boot n \
	-netdev "user,id=n0,tftp=$IMG/pxe,bootfile=boot.ipxe" \
	-device e1000,netdev=n0,mac=52:54:00:12:34:57
wait_console "$READY"
wait_console 'Command line: .*BOOTIF=01-52-54-00-12-34-57' 5
