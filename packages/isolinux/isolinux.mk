# isolinux: the BIOS CD boot loader and the isohybrid MBR of hvnode.iso (binary package).
isolinux_TARGET := $(STAMP)/extracted-isolinux
isolinux_BOOTFILES := usr/lib/ISOLINUX/isolinux.bin usr/lib/ISOLINUX/isohdpfx.bin
