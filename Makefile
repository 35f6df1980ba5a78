# hvnode: pinned upstream sources -> a read-only, reproducible KVM hypervisor node image.
#   make            build everything into $(O)/images (installs missing host packages as root)
#   make test       build, then boot the real outputs under QEMU and check them
#   make fuzz       run the libFuzzer targets for FUZZ_SECONDS each and print their figures
#   make bench      print figures beside a peer: node boot time and RAM floor, the VMM (boot time, RSS, size)
#   make soak       soak-vmm (SOAK_STARTS guests in one node: no panic, no leaks) and soak-register
#                   (SOAK_BOOTS boots, the manager down at random: one node, every boot heartbeats)
#   make source     fetch and verify every pinned input only (fills DL_DIR for offline builds)
#   make run        boot the ISO in QEMU on this terminal
#   make repro-check  build twice in two output directories and compare SHA256SUMS
#   make fresh-check  build HEAD in a fresh Debian 12 root (debootstrap, empty caches) and compare
#   make PKG-source | PKG-rebuild | PKG-dirclean    one package (a folder of packages/)
#   make busybox-update-config | linux-update-config  save a changed config into its package
# Variables: O (output dir, default out), DL_DIR (source cache), V=1 (show all output),
# SOURCE_DATE_EPOCH (default: the last commit's time), JOBS (parallel compile jobs),
# SITE (an operator's directory: overlay/, linux/*.config, cmdline; see the README),
# TEST_REPRO=0 (make test without its reproducibility rebuild; .ci/run, whose fresh-check
# rebuilds from scratch at another path and compares, which proves more).
.DEFAULT_GOAL := all
SHELL := /bin/sh
.DELETE_ON_ERROR:
.SUFFIXES:

TOP := $(CURDIR)
O ?= out
override O := $(abspath $(O))
HVNODE_CACHE ?= $(HOME)/.cache/hvnode
DL_DIR ?= $(HVNODE_CACHE)/dl
override DL_DIR := $(abspath $(DL_DIR))
APT_STATE := $(HVNODE_CACHE)/apt
JOBS ?= $(shell nproc)
V ?= 0
B := $(O)/build
IMG := $(O)/images
LOGS := $(O)/logs
STAMP := $(O)/stamps
STAGING := $(B)/staging
PKG := $(TOP)/packages
.PRECIOUS: $(STAMP)/fetched-% $(STAMP)/extracted-%

SOURCE_DATE_EPOCH ?= $(shell git -C $(TOP) log -1 --format=%ct 2>/dev/null || echo 0)
HVNODE_VERSION := $(shell cat $(TOP)/VERSION)+g$(shell git -C $(TOP) describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
export SOURCE_DATE_EPOCH V HVNODE_VERSION
export TZ := UTC
export LC_ALL := C
export CCACHE_DIR ?= $(HOME)/.cache/ccache
export CCACHE_BASEDIR := $(B)
export CCACHE_NOHASHDIR := 1
export CCACHE_MAXSIZE ?= 5G

STEP := $(TOP)/scripts/step.sh
# move_if_changed FILE: FILE.new replaces FILE only when it differs, so FILE's mtime (and what
# depends on it) changes only with its content.
move_if_changed = if cmp -s $(1).new $(1); then rm -f $(1).new; else mv $(1).new $(1); fi

# ---- host packages --------------------------------------------------------------------------
# HOST_DEPS: what `make` needs; TEST_DEPS: also what the tests and checks need (QEMU, clang…).
HOST_DEPS := $(STAMP)/host-deps-build
TEST_DEPS := $(STAMP)/host-deps-test
$(STAMP)/host-deps-%: $(TOP)/scripts/host-deps.sh
	@mkdir -p $(@D)
	@$(TOP)/scripts/host-deps.sh $*
	@touch $@
.PHONY: host-deps
host-deps: $(TEST_DEPS)

# ---- the image manifest: the one list of what the image is made of -------------------------
MANIFEST := $(TOP)/image/manifest
manifest = $(strip $(shell awk -v k="$(1):" '$$1 == k { $$1 = ""; print }' $(MANIFEST)))
IMAGE_KERNEL := $(call manifest,kernel)
IMAGE_ROOT := $(call manifest,root)
IMAGE_LOADERS := $(call manifest,loaders)
IMAGE_TEST := $(call manifest,test)
IMAGE_MICROCODE := $(call manifest,microcode)
IMAGE_FIRMWARE := $(call manifest,firmware)
OVERLAY := $(TOP)/$(call manifest,overlay)
PERMISSIONS := $(TOP)/$(call manifest,permissions)
INITRAMFS_INIT := $(TOP)/$(call manifest,init)
CMDLINE := $(TOP)/$(call manifest,cmdline)

# ---- SITE: an operator's customization, layered on top without a fork ------------------------
SITE ?=
ifneq ($(SITE),)
override SITE := $(abspath $(SITE))
$(if $(wildcard $(SITE)/.),,$(error SITE=$(SITE) is not a directory))
SITE_OVERLAY := $(wildcard $(SITE)/overlay)
SITE_FRAGMENTS := $(sort $(wildcard $(SITE)/linux/*.config))
SITE_CMDLINE := $(wildcard $(SITE)/cmdline)
SITE_FILES := $(shell find $(SITE) ! -type l -print | LC_ALL=C sort)
endif
# SITE_LIST: which SITE (and which of its files) the build uses, rewritten only on change, so
# adding, switching or dropping a SITE rebuilds what a SITE shapes (cmdline, kernel config, root).
# It is written while the Makefile is read, not by a rule: a plan (make -n) then sees it changed
# only when it did.
SITE_LIST := $(B)/site.list
$(shell mkdir -p $(B) && printf '%s\n' "site: $(SITE)" $(SITE_FILES) >$(SITE_LIST).new && \
	$(call move_if_changed,$(SITE_LIST)))

# ---- packages: one folder each (packages/NAME/NAME.hash, NAME.mk, its config) ---------------
PACKAGES := $(sort $(notdir $(wildcard $(PKG)/*)))
PINNED := $(sort $(patsubst $(PKG)/%/,%,$(dir $(wildcard $(PKG)/*/*.hash))))
$(foreach p,$(IMAGE_KERNEL) $(IMAGE_ROOT) $(IMAGE_LOADERS) $(IMAGE_TEST) $(IMAGE_MICROCODE) $(IMAGE_FIRMWARE),\
	$(if $(filter $(p),$(PACKAGES)),,$(error image/manifest names $(p), which has no folder packages/$(p))))
hash_file = $(PKG)/$(1)/$(1).hash
pkg_version = $(shell awk '$$1 == "version" { print $$2; exit }' $(call hash_file,$(1)))
# A binary package's one pinned file is its .deb; a source package's recipe is its .dsc.
pkg_file = $(shell awk '$$1 == "sha256" && $$3 ~ /$(2)$$/ { print $$3; exit }' $(call hash_file,$(1)))
pkg_kind = $(if $(call pkg_file,$(1),\.deb),binary,source)
# A third-party binary carries the date of its own Debian changelog entry, not the commit's:
# an incremental build then equals a clean one (the binary depends on its inputs only).
pkg_epoch = $$(dpkg-parsechangelog -l $(B)/$(1)/debian/changelog -S Timestamp)

extract_cmd = $(if $(filter binary,$(call pkg_kind,$(1))),\
	dpkg-deb -x $(DL_DIR)/$(1)/$(call pkg_file,$(1),\.deb),\
	dpkg-source --no-check -x $(DL_DIR)/$(1)/$(call pkg_file,$(1),\.dsc))
# fetched-P: every file the hash file pins, verified. extracted-P: a source package unpacked with
# Debian's patch series (dpkg-source -x), a binary package's files (dpkg-deb -x: no maintainer
# scripts run), into $(B)/P.
define pinned_package
$$(STAMP)/fetched-$(1): $$(call hash_file,$(1)) | $$(HOST_DEPS)
	@$$(STEP) $(1) "fetch + sha256 $$(call pkg_version,$(1))" $$(LOGS)/$(1)-fetch.log \
		$$(TOP)/scripts/fetch.sh $$< $$(DL_DIR) $$(APT_STATE) $(1)
	@touch $$@

$$(STAMP)/extracted-$(1): $$(STAMP)/fetched-$(1)
	@rm -rf $$(B)/$(1) $$(B)/$(1).tmp
	@mkdir -p $$(B)
	@$$(STEP) $(1) "unpack $$(call pkg_version,$(1))" $$(LOGS)/$(1)-extract.log \
		$$(call extract_cmd,$(1)) $$(B)/$(1).tmp
	@mv $$(B)/$(1).tmp $$(B)/$(1)
	@touch $$@

$(1)-source: $$(STAMP)/fetched-$(1)
.PHONY: $(1)-source
endef
$(foreach p,$(PINNED),$(eval $(call pinned_package,$(p))))

# Per-package verbs. PKG_TARGET (set by each NAME.mk) is what building the package makes.
# NAME_BUILDDIR (default $(B)/NAME) is where the package is built.
define package_verbs
$(1)-rebuild:
	@rm -f $$($(1)_TARGET) $$(STAMP)/staged-$(1)
	@$$(MAKE) --no-print-directory $$($(1)_TARGET)
$(1)-dirclean:
	rm -rf $$(or $$($(1)_BUILDDIR),$$(B)/$(1)) $$(STAGING)/$(1) $$($(1)_TARGET) \
		$$(STAMP)/extracted-$(1) $$(STAMP)/staged-$(1)
.PHONY: $(1)-rebuild $(1)-dirclean
endef

# staging_dir P: the tree a root package installs into (its staged-P recipe removes it first);
# mkrootfs.sh merges these in the manifest's order.
staging_dir = $(STAGING)/$(1)

# Paths the package recipes share (packages/*/NAME.mk are included in name order, and a rule's
# prerequisites are expanded when it is read, so these are set before any of them).
KSRC := $(B)/linux/tree
KCONFIG := $(B)/kernel.config
KERNEL := $(B)/bzImage
KHEADERS := $(B)/linux-headers
MUSL_ROOT := $(B)/musl-root
MUSL_CC := $(MUSL_ROOT)/bin/musl-gcc
MUSL_CFLAGS := -Os -fstack-protector-strong -isystem $(KHEADERS)/include
# What every static userland binary is compiled with: musl and the kernel's UAPI headers.
TARGET_TOOLCHAIN := $(STAMP)/musl-built $(STAMP)/kernel-headers
# Libraries for hvnode-agent (mbedtls, curl, cjson) are installed here.
SYSROOT := $(B)/sysroot

.PHONY: all source kernel userland rootfs images test fuzz bench soak soak-vmm soak-register run repro-check fresh-check clean \
	distclean help
all: images

help:
	@sed -n '2,17s/^# \{0,1\}//p' $(TOP)/Makefile

# ---- hvnode's own programs (vmm/, agent/): static with musl, by their own Makefiles ----------
VERSION_FILE := $(B)/version
$(VERSION_FILE): FORCE
	@mkdir -p $(@D)
	@echo "$(HVNODE_VERSION)" >$@.new
	@$(call move_if_changed,$@)

# hvnode_program NAME: $(B)/NAME/hvnode-NAME, from NAME/ by its Makefile, which is always asked
# and rebuilds what changed. hvnode_args NAME: that sub-make's arguments (musl, static).
define hvnode_program
$$(B)/$(1)/hvnode-$(1): $$(TARGET_TOOLCHAIN) $$(VERSION_FILE) FORCE
	@mkdir -p $$(B)/$(1)
	@$$(MAKE) -s -q $$(HVNODE_$(1)_ARGS) || $$(STEP) $(1) "build hvnode-$(1) (musl, static)" \
		$$(LOGS)/$(1)-build.log $$(MAKE) $$(HVNODE_$(1)_ARGS)
endef
hvnode_args = -C $(TOP)/$(1) O=$(B)/$(1) CC=$(MUSL_CC) CFLAGS="$(MUSL_CFLAGS)" \
	HVNODE_VERSION=$(HVNODE_VERSION) VERSION_FILE=$(VERSION_FILE) TOOLCHAIN="$(TARGET_TOOLCHAIN)"

# The recipes of every package: build steps and the install into its staging tree.
include $(sort $(wildcard $(PKG)/*/*.mk))
$(foreach p,$(PACKAGES),$(eval $(call package_verbs,$(p))))

FORCE:

source: $(addprefix $(STAMP)/fetched-,$(PINNED))
kernel: $(KERNEL)
userland: $(foreach p,$(IMAGE_ROOT),$($(p)_TARGET))

# ---- BUILDINFO, root tree, squashfs, initramfs ------------------------------------------------
BUILDINFO := $(B)/BUILDINFO
HASH_FILES := $(foreach p,$(filter-out $(IMAGE_TEST),$(PINNED)),$(call hash_file,$(p)))
$(BUILDINFO): $(HASH_FILES) $(KCONFIG) $(TOP)/scripts/buildinfo.sh FORCE
	@$(TOP)/scripts/buildinfo.sh $(KCONFIG) $(HASH_FILES) >$@.new
	@$(call move_if_changed,$@)

# Symlinks are left out (they may dangle on the build host); their directories are listed.
ROOTFS_FILES := $(shell find $(OVERLAY) ! -type l -print | LC_ALL=C sort)
TARGET := $(B)/target
SQUASHFS := $(B)/rootfs.squashfs
INITRD := $(B)/initrd.img
ROOT_STAGED := $(addprefix $(STAMP)/staged-,$(IMAGE_ROOT))

$(SQUASHFS): $(ROOT_STAGED) $(ROOTFS_FILES) $(PERMISSIONS) $(MANIFEST) $(BUILDINFO) $(KCONFIG) \
		$(SITE_FILES) $(SITE_LIST) $(TOP)/scripts/mkrootfs.sh
	$(STALE_IMAGES)
	@$(STEP) rootfs "assemble target tree ($(IMAGE_ROOT))" $(LOGS)/rootfs.log \
		$(TOP)/scripts/mkrootfs.sh $(TARGET) $(BUILDINFO) $(KCONFIG) \
		$(foreach p,$(IMAGE_ROOT),$(call staging_dir,$(p))) -- $(OVERLAY) $(SITE_OVERLAY)
	@awk '!/^#/ && NF == 4 { sub("^/", "", $$1); print $$1, "m", $$2, $$3, $$4 }' \
		$(PERMISSIONS) >$(B)/squashfs.pseudo
	@rm -f $@ $@.tmp
	@$(STEP) squashfs "mksquashfs (xz)" $(LOGS)/squashfs.log \
		mksquashfs $(TARGET) $@.tmp -noappend -comp xz -Xbcj x86 -all-root \
		-pf $(B)/squashfs.pseudo -processors $(JOBS) -no-progress
	@mv $@.tmp $@

# CPU microcode for early loading: an uncompressed cpio of the manifest's microcode packages,
# which goes first in the initrd.
MICROCODE_CPIO := $(B)/microcode.cpio
$(MICROCODE_CPIO): $(addprefix $(STAMP)/extracted-,$(IMAGE_MICROCODE)) $(KERNEL) $(MANIFEST) \
		$(TOP)/scripts/mkmicrocode.sh
	$(STALE_IMAGES)
	@$(STEP) microcode "early cpio ($(IMAGE_MICROCODE))" $(LOGS)/microcode.log \
		$(TOP)/scripts/mkmicrocode.sh $@ $(KSRC)/usr/gen_init_cpio $(addprefix $(B)/,$(IMAGE_MICROCODE))

# Device firmware: the files the built-in drivers name (MODULE_FIRMWARE, in the kernel build's
# modules.builtin.modinfo) that the manifest's firmware packages ship; FIRMWARE_REPORT says
# which driver asked for which file, its size and its package.
FIRMWARE_DIR := $(B)/firmware
FIRMWARE_REPORT := $(B)/firmware.txt
$(FIRMWARE_REPORT): $(addprefix $(STAMP)/extracted-,$(IMAGE_FIRMWARE)) $(KERNEL) $(MANIFEST) \
		$(TOP)/scripts/firmware-select.sh
	$(STALE_IMAGES)
	@$(STEP) firmware "select what the built-in drivers ask for ($(IMAGE_FIRMWARE))" \
		$(LOGS)/firmware.log $(TOP)/scripts/firmware-select.sh $(KSRC)/modules.builtin.modinfo \
		$(FIRMWARE_DIR) $@ $(addprefix $(B)/,$(IMAGE_FIRMWARE))

# The initramfs is made with the kernel's own gen_init_cpio from a sorted list: fixed owners,
# mtimes of SOURCE_DATE_EPOCH, sequential inode numbers, so it is identical on every build.
$(INITRD): $(SQUASHFS) $(BUSYBOX) $(INITRAMFS_INIT) $(KERNEL) $(MICROCODE_CPIO) $(FIRMWARE_REPORT) \
		$(TOP)/scripts/mkinitramfs.sh
	$(STALE_IMAGES)
	@$(STEP) initramfs "gen_init_cpio (microcode first, then /init, firmware, root)" \
		$(LOGS)/initramfs.log $(TOP)/scripts/mkinitramfs.sh $@ $(KSRC)/usr/gen_init_cpio \
		$(BUSYBOX) $(INITRAMFS_INIT) $(SQUASHFS) $(MICROCODE_CPIO) $(FIRMWARE_DIR)

rootfs: $(INITRD)

# A step that changes what the images are made of first removes the images made before, so a
# build that fails later never leaves an old image beside a SHA256SUMS that looks complete.
STALE_IMAGES = @rm -rf $(IMG)/SHA256SUMS $(IMG)/BUILDINFO $(IMG)/hvnode.iso $(IMG)/pxe $(STAMP)/pxe

# ---- images: hybrid ISO, PXE set, SHA256SUMS, BUILDINFO ---------------------------------------
ISO := $(IMG)/hvnode.iso
IMAGE_FILES := $(sort $(wildcard $(TOP)/image/*))

# The default cmdline: the manifest's, then the SITE's, on one line.
IMAGE_CMDLINE := $(B)/cmdline
$(IMAGE_CMDLINE): $(CMDLINE) $(SITE_CMDLINE) $(SITE_LIST) $(MANIFEST)
	@mkdir -p $(@D)
	@cat $(CMDLINE) $(SITE_CMDLINE) | tr '\n' ' ' | sed 's/  */ /g; s/^ //; s/ $$//' >$@.new
	@echo >>$@.new
	@$(call move_if_changed,$@)

# The boot loader files the images take, from the manifest's loader packages only (each NAME.mk
# names its files in NAME_BOOTFILES), never from the host.
BOOTFILES := $(B)/bootfiles
$(STAMP)/bootfiles: $(addprefix $(STAMP)/extracted-,$(IMAGE_LOADERS)) $(MANIFEST) \
		$(foreach p,$(IMAGE_LOADERS),$(PKG)/$(p)/$(p).mk)
	$(STALE_IMAGES)
	@rm -rf $(BOOTFILES)
	@mkdir -p $(BOOTFILES)
	@$(foreach p,$(IMAGE_LOADERS),$(foreach f,$($(p)_BOOTFILES),cp -r $(B)/$(p)/$(f) $(BOOTFILES)/ &&)) :
	@touch $@

$(ISO): $(KERNEL) $(INITRD) $(IMAGE_FILES) $(IMAGE_CMDLINE) $(STAMP)/bootfiles $(TOP)/scripts/mkiso.sh
	@mkdir -p $(IMG)
	@rm -f $@ $(IMG)/SHA256SUMS
	@$(STEP) iso "grub-mkimage + FAT ESP + xorriso" $(LOGS)/iso.log \
		$(TOP)/scripts/mkiso.sh $(B)/iso $(KERNEL) $(INITRD) $(TOP)/image $(BOOTFILES) \
		$(IMAGE_CMDLINE) $@.tmp
	@mv $@.tmp $@

$(STAMP)/pxe: $(KERNEL) $(INITRD) $(IMAGE_FILES) $(IMAGE_CMDLINE) $(STAMP)/bootfiles $(TOP)/scripts/mkpxe.sh
	@rm -rf $@ $(IMG)/SHA256SUMS $(IMG)/pxe
	@$(STEP) pxe "PXE set (pxelinux, iPXE)" $(LOGS)/pxe.log \
		$(TOP)/scripts/mkpxe.sh $(IMG)/pxe $(KERNEL) $(INITRD) $(TOP)/image $(BOOTFILES) \
		$(IMAGE_CMDLINE)
	@touch $@

$(IMG)/SHA256SUMS: $(ISO) $(STAMP)/pxe $(BUILDINFO) $(SQUASHFS)
	@# The root squashfs's sha256 is what a node reports as its image sha256 (agent facts).
	@# images/BUILDINFO also names the build host's tool versions, so it differs between
	@# machines that make the same bytes: it describes the build and is not in SHA256SUMS.
	@(cat $(BUILDINFO) && echo "rootfs_sha256: $$(sha256sum <$(SQUASHFS) | cut -d' ' -f1)" && \
		$(TOP)/scripts/buildinfo.sh --host-tools) >$(IMG)/BUILDINFO
	@(cd $(IMG) && find . -type f ! -name SHA256SUMS ! -name BUILDINFO -printf '%P\n' | \
		LC_ALL=C sort | xargs sha256sum) >$(B)/SHA256SUMS.tmp
	@mv $(B)/SHA256SUMS.tmp $@
	@echo "[images] $(IMG)"
	@(cd $(IMG) && find . -type f -printf '%P\n' | LC_ALL=C sort | xargs du -b) | \
		awk '{ printf "    %-28s %10.1f MiB  (%d bytes)\n", $$2, $$1 / 1048576, $$1 }'

images: $(IMG)/SHA256SUMS

# ---- tests, run, reproducibility -------------------------------------------------------------
# Host checks of hvnode's own C (host compiler, sanitizers; cJSON from its pinned source).
AGENT_HOST_ARGS = -s -C $(TOP)/agent O=$(O)/test/agent CJSON_SRC=$(B)/cjson
VMM_HOST_ARGS = -s -C $(TOP)/vmm O=$(O)/test/vmm KHEADERS=$(KHEADERS)/include

# The stock Debian 12 guest of tests/qemu-boot/110_vmm_guest (systemd, the pinned cloud kernel,
# its initramfs-tools initrd), made with debootstrap and kept in $(HVNODE_CACHE)/debian-guest.
DEBIAN_GUEST := $(O)/test/debian-guest
$(DEBIAN_GUEST)/root.img: $(TOP)/scripts/debian-guest.sh $(TOP)/scripts/debian-mirror.sh \
		$(TOP)/tests/qemu-boot/110_vmm_guest/debian-hvtest $(STAMP)/fetched-linux-image-cloud | $(TEST_DEPS)
	@$(STEP) debian-guest "Debian 12 guest: systemd, stock kernel and initrd" $(LOGS)/debian-guest.log \
		$(TOP)/scripts/debian-guest.sh $(DEBIAN_GUEST) \
		$(DL_DIR)/linux-image-cloud/$(call pkg_file,linux-image-cloud,\.deb) $(HVNODE_CACHE)/debian-guest

test: images $(TEST_DEPS) $(addprefix $(STAMP)/extracted-,$(IMAGE_TEST)) $(DEBIAN_GUEST)/root.img
	@KCONFIG=$(KCONFIG) AGENT=$(AGENT) SUPERVISOR=$(SUPERVISOR) BUSYBOX=$(BUSYBOX) O=$(O) \
		$(TOP)/tests/host/run-all.sh $(DL_DIR) $(APT_STATE) $(O)/test/host
	@$(STEP) agent "unit tests (ASan, UBSan) and fuzz corpus replay" $(LOGS)/agent-test.log \
		$(MAKE) $(AGENT_HOST_ARGS) test fuzz-replay
	@$(STEP) vmm "unit tests (ASan, UBSan) and fuzz corpus replay" $(LOGS)/vmm-test.log \
		$(MAKE) $(VMM_HOST_ARGS) test fuzz-replay
	@BUSYBOX=$(BUSYBOX) MUSL_CC=$(MUSL_CC) DEBIAN_GUEST_DIR=$(DEBIAN_GUEST) \
		$(TOP)/tests/qemu-boot/run-all.sh $(IMG) $(O)/test/qemu-boot
ifeq ($(TEST_REPRO),0)
	@echo "[repro] skipped (TEST_REPRO=0): make fresh-check compares a fresh machine's build instead"
else
	@$(TOP)/scripts/repro-check.sh $(O)/test/repro $(IMG)
	@rm -rf $(O)/test/repro
endif

# fuzz: each libFuzzer target for FUZZ_SECONDS (default 60) from its committed corpus.
FUZZ_SECONDS ?= 60
fuzz: $(STAMP)/extracted-cjson $(STAMP)/kernel-headers $(TEST_DEPS)
	@$(MAKE) $(AGENT_HOST_ARGS) fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)
	@$(MAKE) $(VMM_HOST_ARGS) fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)

# bench: node boot time (QEMU start to ready at 1 and 8 GiB, beside Debian's cloud kernel) and
# the node's RAM floor (bench/boot.sh); then boots a node under TCG and runs a guest in it with
# hvnode-vmm BENCH_RUNS times (default 10); prints exec-to-init p50/p90, the VMM's memory beyond
# guest RAM, its size; then the VM lifecycle figures (bench/vms.sh).
BENCH_RUNS ?= 10
bench: images $(TEST_DEPS) $(STAMP)/extracted-linux-image-cloud
	@BUSYBOX=$(BUSYBOX) CLOUD_KERNEL=$$(ls $(B)/linux-image-cloud/boot/vmlinuz-*) \
		sh $(TOP)/tests/qemu-boot/bench/boot.sh $(IMG) $(O)/bench-boot
	@BUSYBOX=$(BUSYBOX) MUSL_CC=$(MUSL_CC) sh $(TOP)/tests/qemu-boot/bench/vmm.sh $(IMG) $(O)/bench $(BENCH_RUNS)
	@BUSYBOX=$(BUSYBOX) sh $(TOP)/tests/qemu-boot/bench/vms.sh $(IMG) $(O)/bench-vms

# soak: soak-vmm, then soak-register. Not part of make test (about 35 minutes).
# soak-vmm: SOAK_STARTS guests (default 300), SOAK_PARALLEL at a time (default 2), started by
# hvnode-vmm in one node under TCG; fails on a node panic, a failed start, a leaked tap or
# process, or memory that does not come back (about 20 minutes).
# soak-register: SOAK_BOOTS boots of one node (default 20), the manager down for a random part
# of each; fails on a duplicate node, a boot without a heartbeat, or a registration after the
# first (about 15 minutes).
SOAK_STARTS ?= 300
SOAK_PARALLEL ?= 2
SOAK_BOOTS ?= 20
soak: soak-vmm soak-register
soak-vmm: images $(TEST_DEPS)
	@BUSYBOX=$(BUSYBOX) sh $(TOP)/tests/qemu-boot/soak/vmm.sh $(IMG) $(O)/soak $(SOAK_STARTS) $(SOAK_PARALLEL)
soak-register: images $(TEST_DEPS)
	@sh $(TOP)/tests/qemu-boot/soak/register.sh $(IMG) $(O)/soak-register $(SOAK_BOOTS)

run: images $(TEST_DEPS)
	@$(TOP)/scripts/run-qemu.sh $(ISO)

repro-check: $(HOST_DEPS)
	@$(TOP)/scripts/repro-check.sh $(O)/repro

# fresh-check: a clean Debian 12 minbase root (debootstrap, in $(O)/fresh) clones HEAD and runs
# `make` there with empty caches; its SHA256SUMS must equal this build's. Needs root.
fresh-check: images $(TEST_DEPS)
	@$(TOP)/scripts/fresh-check.sh $(O)/fresh $(IMG) $(LOGS)

clean:
	rm -rf $(O)

# distclean also drops the source cache, so the next build fetches again.
distclean: clean
	rm -rf $(DL_DIR) $(APT_STATE)
