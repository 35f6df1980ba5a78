# firmware-misc-nonfree: device firmware (binary package, Debian non-free-firmware). The initramfs takes
# from it only the files a driver built into the kernel names (MODULE_FIRMWARE), chosen by
# scripts/firmware-select.sh (image/manifest "firmware").
firmware-misc-nonfree_TARGET := $(STAMP)/extracted-firmware-misc-nonfree
