#!/bin/sh
# run-qemu.sh ISO: boots the hvnode ISO in QEMU on this terminal (serial console on stdio,
# BIOS, TCG with -cpu max so the node's KVM works). Quit with Ctrl-A then X.
set -eu
[ $# -eq 1 ] || { echo "usage: run-qemu.sh ISO" >&2; exit 100; }
[ -r "$1" ] || { echo "run-qemu.sh: unable to read $1" >&2; exit 111; }
echo "hvnode: booting $1 in QEMU (TCG); quit with Ctrl-A X"
exec qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2048 -nographic \
	-drive "file=$1,media=cdrom,readonly=on" -boot d \
	-netdev user,id=n0 -device virtio-net-pci,netdev=n0
