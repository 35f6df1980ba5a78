# syslinux-common: ldlinux.c32, the core module isolinux and pxelinux load (binary package).
syslinux-common_TARGET := $(STAMP)/extracted-syslinux-common
syslinux-common_BOOTFILES := usr/lib/syslinux/modules/bios/ldlinux.c32
