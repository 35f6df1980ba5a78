# linux-image-cloud: Debian 12's stock cloud kernel (linux-image-6.1.0-N-cloud-amd64, a binary
# package), unpacked into $(B)/linux-image-cloud for the tests only (image/manifest "test"): a
# distribution kernel as a nested guest of hvnode-vmm (tests/qemu-boot/110_vmm_guest). It has
# no MP table parser and its virtio drivers are modules that find their devices through ACPI.
linux-image-cloud_TARGET := $(STAMP)/extracted-linux-image-cloud
