# intel-microcode: CPU microcode (binary package, Debian non-free-firmware), whose files
# scripts/mkmicrocode.sh packs into the early cpio at the front of the initramfs (image/manifest
# "microcode"; Linux Documentation/arch/x86/microcode.rst, "Early load microcode").
intel-microcode_TARGET := $(STAMP)/extracted-intel-microcode
