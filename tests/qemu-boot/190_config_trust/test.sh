# SUMMARY: a disk is not trusted: a removable or USB HVNODE disk is never used (xHCI, a USB stick and keyboard bound), a named partition cannot change the cmdline's manager, pin or token, and Ctrl-Alt-Del does not reboot
set -eu
. "$(dirname "$0")/../lib/lib.sh"
trap qemu_stop EXIT
new_ssh_key "$WORK/key" >/dev/null
# The attacker's disk: root's key and other manager settings.
evil_pin="sha256//$(printf 'x%.0s' $(seq 32) | openssl dgst -sha256 -binary | base64)"
printf 'hvnode.manager=https://203.0.113.9:8443\nhvnode.manager_pin=%s\nhvnode.join_token=stolen\nhvnode.proxy=socks5://bad\n' \
	"$evil_pin" >"$WORK/hvnode.conf"
mkfs.fat -C -n HVNODE "$WORK/hostile.img" 16384 >/dev/null
mmd -i "$WORK/hostile.img" ::/ssh
mcopy -i "$WORK/hostile.img" "$WORK/key.pub" ::/ssh/authorized_keys
mcopy -i "$WORK/hostile.img" "$WORK/hvnode.conf" ::/hvnode.conf
fail=0

# Boot 1: the disk is removable (a stick, virtual media), and the cmdline even names it. A USB
# stick carrying the same files sits on an xHCI controller, beside a USB keyboard.
CONSOLE="$WORK/console-removable.log"
cp "$WORK/hostile.img" "$WORK/usb.img"
boot_pxe_set "hvnode.config=LABEL=HVNODE" -device megasas,id=hba \
	-drive "file=$WORK/hostile.img,format=raw,if=none,id=stick" \
	-device scsi-hd,drive=stick,bus=hba.0,removable=on \
	-device qemu-xhci,id=xhci -device usb-kbd,bus=xhci.0 \
	-drive "file=$WORK/usb.img,format=raw,if=none,id=usbstick" -device usb-storage,drive=usbstick,bus=xhci.0
wait_console "$READY"
# USB disks appear asynchronously (usb-storage waits for the device to settle), maybe after
# S40config ran: wait for it, then run the check again, as a stick plugged in later would meet
# it at the next boot.
check "the xHCI controller is bound and the USB keyboard and stick have their drivers" \
	"i=0; until ls /sys/bus/usb/drivers/usb-storage/ | grep -q ':'; do i=\$((i+1)); [ \$i -lt 30 ] || exit 1; sleep 1; done; \
	ls /sys/bus/pci/drivers/xhci_hcd/ | grep -q '^0000:' && ls /sys/bus/usb/drivers/usbhid/ | grep -q ':'" || fail=1
check "the USB stick is a disk the node sees, and S40config refuses it as on USB" \
	"i=0; until ls -l /sys/class/block/ | grep -q '/usb[0-9]/'; do i=\$((i+1)); [ \$i -lt 30 ] || exit 1; sleep 1; done; \
	/etc/init.d/S40config start | grep -Eq '^hvnode: config: /dev/sd[a-z] \(LABEL=HVNODE\) is on a USB disk \(sd[a-z]\): not used\$' && ! mountpoint -q /mnt/config" || fail=1
wait_console 'hvnode: config: /dev/sd[a-z] \(LABEL=HVNODE\) is on a removable disk \(sd[a-z]\): not used' 5 || fail=1
wait_console 'hvnode: config: no fixed disk holds LABEL=HVNODE: stateless node' 5 || fail=1
wait_console 'hvnode: ssh: no authorized keys; sshd not started' 5 || fail=1
wait_console 'hvnode-agent: not configured: no manager' 60 || fail=1
check "nothing is mounted on /mnt/config" "! mountpoint -q /mnt/config" || fail=1
# What the kernel does on Ctrl-Alt-Del (kernel.ctrl-alt-del = 0): SIGINT to init.
node_sh 'kill -INT 1' >/dev/null || fail=1
wait_console 'hvnode: Ctrl-Alt-Del ignored' 30 || fail=1
check "the node is still up after Ctrl-Alt-Del" "true" || fail=1
kill -0 "$QEMU_PID" 2>/dev/null || { echo "  FAIL: the node rebooted on Ctrl-Alt-Del"; fail=1; }
qemu_stop

# Boot 2: a fixed ext4 disk the cmdline names, and a cmdline with its own manager settings.
mkdir -p "$WORK/named/ssh"
cp "$WORK/hvnode.conf" "$WORK/named/"
ln -s /etc/shadow "$WORK/named/ssh/authorized_keys"
mke2fs -q -t ext4 -L HVNODE -d "$WORK/named" "$WORK/named.img" 16M
CONSOLE="$WORK/console-named.log"
pin="sha256//$(printf 'y%.0s' $(seq 32) | openssl dgst -sha256 -binary | base64)"
boot_pxe_set "hvnode.config=LABEL=HVNODE hvnode.manager=https://10.0.2.2:9 hvnode.manager_pin=$pin hvnode.join_token=fleet" \
	-drive "file=$WORK/named.img,format=raw,if=virtio"
wait_console "$READY"
wait_console 'hvnode: config partition /dev/vda mounted on /mnt/config \(named by' 5 || fail=1
check "ext4 is mounted nosuid,nodev,noexec,nosymfollow, and a symlink on it is not followed" \
	"grep -Eq '^/dev/vda /mnt/config ext4 rw,nosuid,nodev,noexec,.*nosymfollow' /proc/mounts && ! cat /mnt/config/ssh/authorized_keys >/dev/null 2>&1" || fail=1
locked=0
for name in hvnode.manager hvnode.manager_pin hvnode.join_token; do
	wait_console "hvnode-agent: $name \(/mnt/config/hvnode.conf\): ignored: the cmdline gives the manager settings" 60 || locked=1
done
# A bad line in the file is named and ignored; it does not block the complete cmdline.
wait_console 'hvnode-agent: invalid hvnode.proxy \(/mnt/config/hvnode.conf\): not an http://host:port URL; ignored' 5 || locked=1
wait_console 'hvnode-agent: managers: 1, first https://10\.0\.2\.2:9; verifying TLS by pin' 5 || locked=1
if [ "$locked" = 0 ]; then
	echo "  ok: the partition's manager, pin and token were ignored; the cmdline's are used"
else
	echo "  FAIL: the partition's manager settings were not all refused in favour of the cmdline's"; fail=1
fi
exit $fail
