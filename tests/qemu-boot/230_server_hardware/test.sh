# SUMMARY: a q35 server with every device QEMU emulates that the kernel fragments claim: each PCI device has its driver, each disk and NIC appears, the NIC with carrier is used when the first has none, the BMC answers, firmware is in place, and the watchdog keeper reports its device
set -eu
. "$(dirname "$0")/../lib/lib.sh"
trap qemu_stop EXIT
for d in ahci nvme scsi virtio usb; do
	truncate -s 64M "$WORK/$d.img"
done
drive() { echo "file=$WORK/$1.img,format=raw,if=none,id=$1"; }
# q35 (ICH9: AHCI, the LPC bridge with its TCO watchdog, SMBus), PCIe root ports (AER), NVMe,
# a MegaRAID SAS HBA, virtio-blk, xHCI with a USB stick and keyboard, EHCI, UHCI, OHCI, an IPMI
# BMC on KCS, and four NICs: e1000e, e1000 and virtio-net without carrier, vmxnet3 with it.
# noreboot=off: the TCO's strap lets the watchdog reset the machine (on a server the BIOS
# clears it); a reset ends QEMU (-no-reboot). -S: QEMU waits until the links are set.
boot_pxe_set "hvnode.watchdog=10" -M q35 -vga none -S \
	-qmp "unix:$WORK/qmp.sock,server=on,wait=off" -global ICH9-LPC.noreboot=off \
	-device pcie-root-port,id=rp1,chassis=1,slot=1 -device pcie-root-port,id=rp2,chassis=2,slot=2 \
	-drive "$(drive ahci)" -device ide-hd,drive=ahci,bus=ide.0 \
	-drive "$(drive nvme)" -device nvme,drive=nvme,serial=HVNODE-NVME,bus=rp1 \
	-device megasas-gen2,id=hba -drive "$(drive scsi)" -device scsi-hd,drive=scsi,bus=hba.0 \
	-drive "$(drive virtio)" -device virtio-blk-pci,drive=virtio,serial=HVNODE-VIRTIO \
	-device qemu-xhci,id=xhci -device usb-kbd,bus=xhci.0 \
	-drive "$(drive usb)" -device usb-storage,drive=usb,bus=xhci.0 \
	-device usb-ehci -device ich9-usb-uhci1 -device pci-ohci \
	-device ipmi-bmc-sim,id=bmc0 -device isa-ipmi-kcs,bmc=bmc0 \
	-netdev user,id=n0 -device e1000e,netdev=n0,bus=rp2 \
	-netdev user,id=n1 -device e1000,netdev=n1 \
	-netdev user,id=n2 -device virtio-net-pci,netdev=n2 \
	-netdev user,id=n3 -device vmxnet3,netdev=n3
python3 "$LIB/qmp.py" "$WORK/qmp.sock" 30 \
	'{"execute": "set_link", "arguments": {"name": "n0", "up": false}}' \
	'{"execute": "set_link", "arguments": {"name": "n1", "up": false}}' \
	'{"execute": "set_link", "arguments": {"name": "n2", "up": false}}' \
	'{"execute": "cont"}'
wait_console "$READY"
fail=0

# Every PCI function has a driver, but for the host bridge (class 0x0600), which needs none.
check "every PCI device has its driver bound" \
	"for d in /sys/bus/pci/devices/*; do c=\$(cat \$d/class); case \$c in 0x0600*) continue ;; esac; \
	[ -e \$d/driver ] || { echo \"unbound: \${d##*/} class \$c vendor \$(cat \$d/vendor) device \$(cat \$d/device)\"; exit 1; }; done" || fail=1
for drv in ahci nvme megaraid_sas virtio-pci xhci_hcd ehci-pci uhci_hcd ohci-pci e1000e e1000 vmxnet3 \
	lpc_ich i801_smbus pcieport; do
	check "$drv is bound to a PCI device" "ls /sys/bus/pci/drivers/$drv/ | grep -q '^0000:'" || fail=1
done
# Each disk, by the driver of the controller it hangs off (USB disks settle late: wait).
check "the AHCI, NVMe, SAS, virtio and USB disks appear" \
	"i=0; until ls -l /sys/class/block/ | grep -q '/usb[0-9]/'; do i=\$((i+1)); [ \$i -lt 30 ] || exit 1; sleep 1; done; \
	sas=\$(ls /sys/bus/pci/drivers/megaraid_sas/ | grep '^0000:'); \
	for want in /ata /nvme \"/\$sas/\" /virtio /usb; do ls -l /sys/class/block/ | grep -q -- \"\$want\" || { echo \"no disk under \$want\"; exit 1; }; done" || fail=1
check "four NICs, each with its driver" \
	"n=0; for i in /sys/class/net/eth*; do [ -e \$i/device/driver ] && n=\$((n+1)); done; [ \$n -eq 4 ]" || fail=1
# The first NICs have no carrier: the bridge takes the one that has it, and gets a lease there.
check "br0 is over the vmxnet3 NIC, the only one with carrier, and has the lease" \
	"p=\$(ls /sys/class/net/br0/brif/); [ \$(basename \$(readlink /sys/class/net/\$p/device/driver)) = vmxnet3 ] && \
	ip -4 addr show br0 | grep -q 'inet 10\\.0\\.2\\.'" || fail=1
check "the BMC answers on KCS: /dev/ipmi0" \
	"test -c /dev/ipmi0 && dmesg | grep -q 'IPMI kcs interface initialized'" || fail=1
check "PCIe AER is on at the root ports (the counts the heartbeat sums exist)" \
	"ls /sys/bus/pci/devices/*/aer_dev_correctable >/dev/null 2>&1 && dmesg | grep -q 'AER: enabled'" || fail=1
check "device firmware is in /lib/firmware, read-only (ice's DDP package, bnx2x, qed, rtl_nic)" \
	"grep -q '^tmpfs /lib/firmware tmpfs ro,' /proc/mounts && test -s /lib/firmware/intel/ice/ddp/ice.pkg && \
	ls /lib/firmware/bnx2x/ /lib/firmware/qed/ /lib/firmware/rtl_nic/ >/dev/null && ! touch /lib/firmware/x 2>/dev/null" || fail=1
check "the early microcode cpio was given back after boot" "! test -e /kernel" || fail=1
check "transparent huge pages are on where asked for (hvnode-vmm), KSM off" \
	"grep -q '\\[madvise\\]' /sys/kernel/mm/transparent_hugepage/enabled && \
	grep -q '\\[advise\\]' /sys/kernel/mm/transparent_hugepage/shmem_enabled && [ \$(cat /sys/kernel/mm/ksm/run) = 0 ]" || fail=1

# The watchdog keeper reports what it found (this QEMU q35 registers no watchdog device yet:
# the TCO reset path is not exercised here).
wait_console 'hvnode: watchdog: (/dev/watchdog0 .* armed|no hardware watchdog)' 30 || fail=1
check "the watchdog state file says armed or none" \
	"grep -Eqx 'state=(armed|none)' /run/hvnode/watchdog.state" || fail=1
console_lacks "no kernel panic" "Kernel panic" || fail=1
exit $fail
