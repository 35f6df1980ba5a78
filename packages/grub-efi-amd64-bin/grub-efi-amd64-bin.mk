# grub-efi-amd64-bin: the GRUB x86_64-efi modules the host's grub-mkimage packs into the ISO's
# UEFI loader, BOOTX64.EFI (binary package).
grub-efi-amd64-bin_TARGET := $(STAMP)/extracted-grub-efi-amd64-bin
grub-efi-amd64-bin_BOOTFILES := usr/lib/grub/x86_64-efi
