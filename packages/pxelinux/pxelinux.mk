# pxelinux: the BIOS PXE boot loader of the PXE set (binary package).
pxelinux_TARGET := $(STAMP)/extracted-pxelinux
pxelinux_BOOTFILES := usr/lib/PXELINUX/pxelinux.0
