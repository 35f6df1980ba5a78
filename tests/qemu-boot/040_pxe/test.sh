# SUMMARY: PXE boot of the PXE set over QEMU's TFTP, through pxelinux and through boot.ipxe, reaches the ready marker with BOOTIF
set -eu
. "$(dirname "$0")/../lib/lib.sh"
trap qemu_stop EXIT
# pxe_boot BOOTFILE MAC: network boot through QEMU's TFTP; the kernel must learn its boot NIC
# (BOOTIF, from pxelinux's IPAPPEND 2 or boot.ipxe's ${netX/mac}).
pxe_boot() {
	CONSOLE="$WORK/console-$1.log"
	qemu_start -boot n -netdev "user,id=n0,tftp=$IMG/pxe,bootfile=$1" -device "e1000,netdev=n0,mac=$2"
	wait_console "$READY"
	wait_console "Kernel command line: .*BOOTIF=01-$(echo "$2" | tr : -)" 5
	qemu_stop
}
echo "  pxelinux"
pxe_boot pxelinux.0 52:54:00:12:34:56
echo "  iPXE script"
pxe_boot boot.ipxe 52:54:00:12:34:57
