# hvnode: pinned upstream sources -> a read-only, reproducible KVM hypervisor node image.
#   make            build everything into $(O)/images (installs missing host packages as root)
#   make test       build, then boot the real outputs under QEMU and check them
#   make fuzz       run the libFuzzer targets for FUZZ_SECONDS each and print their figures
#   make bench      boot a node and print the VMM's figures (boot time, RSS, size)
#   make source     fetch and verify the pinned sources only (fills DL_DIR for offline builds)
#   make run        boot the ISO in QEMU on this terminal
#   make repro-check  build twice in two output directories and compare SHA256SUMS
#   make fresh-check  build HEAD in a fresh Debian 12 root (debootstrap, empty caches) and compare
# Variables: O (output dir, default out), DL_DIR (source cache), V=1 (show all output),
# SOURCE_DATE_EPOCH (default: the last commit's time), JOBS (parallel compile jobs).
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
.PRECIOUS: $(STAMP)/lock-% $(STAMP)/fetched-% $(STAMP)/extracted-% $(STAMP)/unpacked-%

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
lock_field = $(shell awk '$$1 == "$(1)" { print $$2; exit }' $(TOP)/sources.lock)
lock_file = $(shell awk '$$1 == "$(1)" { print $$3; exit }' $(TOP)/sources.lock)
# Upstream version without the Debian epoch, as in file names.
pkg_version = $(lastword $(subst :, ,$(call lock_field,$(1))))

PACKAGES := linux musl busybox dropbear mbedtls curl cjson
# Binary packages pinned by their .deb: the boot loaders the ISO and the PXE set carry.
BINARY_PACKAGES := grub-efi-amd64-bin isolinux pxelinux syslinux-common
KERNEL_FRAGMENTS := $(sort $(wildcard $(TOP)/kernel-config/*.config))

.PHONY: all source kernel userland rootfs images test fuzz bench run repro-check fresh-check clean \
	distclean help \
	kernel-config-update host-deps
all: images

help:
	@sed -n '2,13s/^# \{0,1\}//p' $(TOP)/Makefile

# ---- host packages --------------------------------------------------------------------------
HOST_DEPS := $(STAMP)/host-deps
$(HOST_DEPS): $(TOP)/scripts/host-deps.sh
	@mkdir -p $(@D)
	@$(TOP)/scripts/host-deps.sh
	@touch $@
host-deps: $(HOST_DEPS)

# ---- sources: fetch + verify (sources.lock), then unpack with Debian's patch series ----------
# Each package's slice of sources.lock is its own file, rewritten only when it changes, so
# moving one pin rebuilds only that package.
$(STAMP)/lock-%: FORCE
	@mkdir -p $(@D)
	@awk '$$1 == "$*"' $(TOP)/sources.lock >$@.new
	@$(call move_if_changed,$@)

$(STAMP)/fetched-%: $(STAMP)/lock-% | $(HOST_DEPS)
	@$(STEP) $* "fetch + sha256 $(call lock_field,$*)" $(LOGS)/$*-fetch.log \
		$(TOP)/scripts/fetch.sh $(TOP)/sources.lock $(DL_DIR) $(APT_STATE) $*
	@touch $@

$(STAMP)/extracted-%: $(STAMP)/fetched-%
	@rm -rf $(B)/$* $(B)/$*.tmp
	@mkdir -p $(B)
	@$(STEP) $* "unpack + Debian patches" $(LOGS)/$*-extract.log \
		dpkg-source --no-check -x $(DL_DIR)/$*/$*_$(call pkg_version,$*).dsc $(B)/$*.tmp
	@mv $(B)/$*.tmp $(B)/$*
	@touch $@

# A binary package is unpacked with dpkg-deb -x: its files only, no maintainer scripts run.
$(STAMP)/unpacked-%: $(STAMP)/fetched-%
	@rm -rf $(B)/$* $(B)/$*.tmp
	@mkdir -p $(B)
	@$(STEP) $* "unpack $(notdir $(call lock_file,$*))" $(LOGS)/$*-unpack.log \
		dpkg-deb -x $(DL_DIR)/$*/$(call lock_file,$*) $(B)/$*.tmp
	@mv $(B)/$*.tmp $(B)/$*
	@touch $@

source: $(addprefix $(STAMP)/fetched-,$(PACKAGES) $(BINARY_PACKAGES))

# ---- kernel -----------------------------------------------------------------------------------
# A third-party binary carries the date of its own Debian changelog entry, not the commit's:
# an incremental build then equals a clean one (the binary depends on its inputs only).
pkg_epoch = $$(dpkg-parsechangelog -l $(B)/$(1)/debian/changelog -S Timestamp)
KSRC := $(B)/linux
# O= (empty) keeps our own O, passed down by make, from turning into kbuild's output dir.
KMAKE := $(MAKE) -C $(KSRC) O= ARCH=x86_64 -j$(JOBS) CC="ccache gcc" HOSTCC="ccache gcc" \
	KBUILD_BUILD_TIMESTAMP="$$(date -u -d @$(call pkg_epoch,linux) '+%Y-%m-%d')" \
	KBUILD_BUILD_USER=hvnode KBUILD_BUILD_HOST=hvnode KBUILD_BUILD_VERSION=1
KCONFIG := $(B)/kernel.config
KERNEL := $(B)/bzImage
KHEADERS := $(B)/linux-headers

# Resolve the fragments in a scratch copy of the config machinery, check every requested option,
# then compare with the committed resolved config (kernel-config/resolved/x86_64.config).
$(KCONFIG): $(KERNEL_FRAGMENTS) $(STAMP)/extracted-linux $(TOP)/scripts/kernel-config.sh \
		$(TOP)/scripts/kernel-config-check.sh
	@$(STEP) kernel "config: merge + check $(words $(KERNEL_FRAGMENTS)) fragments" \
		$(LOGS)/kernel-config.log $(TOP)/scripts/kernel-config.sh $(KSRC) $(KSRC) $(KERNEL_FRAGMENTS)
	@grep -v '^# Linux/x86' $(KSRC)/.config | grep -v '^# Compiler:' >$@.new
	@$(call move_if_changed,$@)

kernel-config-check: $(KCONFIG)
	@$(TOP)/scripts/kernel-config-check.sh $(KCONFIG) $(KERNEL_FRAGMENTS)

# A new linux pin re-extracts the tree: bzImage and the headers follow it even when the resolved
# config is unchanged. headers_install runs first and bzImage after it (order-only), so `make -j`
# never runs two kbuild invocations in one tree at once.
$(KERNEL): $(KCONFIG) $(STAMP)/extracted-linux | $(STAMP)/kernel-headers
	$(STALE_IMAGES)
	@$(STEP) kernel "build bzImage ($(call lock_field,linux))" $(LOGS)/kernel-build.log \
		$(KMAKE) bzImage
	@cp $(KSRC)/arch/x86/boot/bzImage $@.tmp && mv $@.tmp $@

$(STAMP)/kernel-headers: $(KCONFIG) $(STAMP)/extracted-linux
	@rm -rf $(KHEADERS)
	@$(STEP) kernel "headers_install" $(LOGS)/kernel-headers.log \
		$(KMAKE) headers_install INSTALL_HDR_PATH=$(KHEADERS)
	@touch $@

kernel: $(KERNEL)

FORCE:

# ---- userland: static musl binaries ----------------------------------------------------------
# musl itself is built from its pinned Debian source into $(MUSL_ROOT), with its
# own gcc wrapper; the host's musl is never used, so a Debian point release cannot change libc.a.
MUSL_ROOT := $(B)/musl-root
MUSL_CC := $(MUSL_ROOT)/bin/musl-gcc
$(STAMP)/musl-built: $(STAMP)/extracted-musl
	@rm -rf $(MUSL_ROOT)
	@$(STEP) musl "configure (gcc wrapper)" $(LOGS)/musl-configure.log \
		sh -c 'cd $(B)/musl && ./configure --prefix=$(MUSL_ROOT) --syslibdir=$(MUSL_ROOT)/lib \
		--enable-wrapper=gcc CC=gcc'
	@$(STEP) musl "build + install" $(LOGS)/musl-build.log \
		sh -c '$(MAKE) -C $(B)/musl -j$(JOBS) && $(MAKE) -C $(B)/musl install'
	@touch $@
# What every static userland binary is compiled with: musl and the kernel's UAPI headers.
TARGET_TOOLCHAIN := $(STAMP)/musl-built $(STAMP)/kernel-headers
MUSL_CFLAGS := -Os -fstack-protector-strong -isystem $(KHEADERS)/include
BUSYBOX := $(B)/busybox/busybox
DROPBEAR := $(B)/dropbear/dropbearmulti
VMM := $(B)/vmm/hvnode-vmm
AGENT := $(B)/agent/hvnode-agent

$(BUSYBOX): $(STAMP)/extracted-busybox $(TARGET_TOOLCHAIN) $(TOP)/rootfs/busybox.config
	@cp $(TOP)/rootfs/busybox.config $(B)/busybox/.config
	@$(STEP) busybox "config check" $(LOGS)/busybox-config.log \
		sh -c 'cd $(B)/busybox && SOURCE_DATE_EPOCH=$(call pkg_epoch,busybox) make O= oldconfig </dev/null && \
		if ! diff -u $(TOP)/rootfs/busybox.config .config | grep "^[-+]CONFIG"; then :; else \
		echo "rootfs/busybox.config is incomplete for this busybox; refresh it from $(B)/busybox/.config"; exit 1; fi'
	@$(STEP) busybox "build (musl, static)" $(LOGS)/busybox-build.log \
		env SOURCE_DATE_EPOCH=$(call pkg_epoch,busybox) \
		$(MAKE) -C $(B)/busybox O= -j$(JOBS) CC=$(MUSL_CC) HOSTCC=gcc \
		CONFIG_EXTRA_CFLAGS="$(MUSL_CFLAGS)" busybox
	@touch $@

$(DROPBEAR): $(STAMP)/extracted-dropbear $(TARGET_TOOLCHAIN) $(TOP)/rootfs/dropbear/localoptions.h
	@cp $(TOP)/rootfs/dropbear/localoptions.h $(B)/dropbear/localoptions.h
	@$(STEP) dropbear "configure (musl, static)" $(LOGS)/dropbear-configure.log \
		sh -c 'cd $(B)/dropbear && CC=$(MUSL_CC) CFLAGS="$(MUSL_CFLAGS)" ./configure \
		--enable-static --disable-zlib --disable-harden --disable-lastlog --disable-utmp \
		--disable-utmpx --disable-wtmp --disable-wtmpx --disable-pututline --disable-pututxline'
	@$(STEP) dropbear "build" $(LOGS)/dropbear-build.log \
		$(MAKE) -C $(B)/dropbear -j$(JOBS) PROGRAMS="dropbear dropbearkey" MULTI=1 STATIC=1
	@strip $(B)/dropbear/dropbearmulti
	@touch $@

# Libraries for hvnode-agent, static with musl, installed into $(SYSROOT): mbedTLS (TLS),
# libcurl over mbedTLS (HTTPS only), cJSON (JSON). Debian patches curl's build system, so it is
# regenerated with autoreconf as Debian's own build does.
SYSROOT := $(B)/sysroot
$(STAMP)/mbedtls-built: $(STAMP)/extracted-mbedtls $(TARGET_TOOLCHAIN)
	@rm -rf $(SYSROOT)/include/mbedtls $(SYSROOT)/lib/libmbed*.a
	@$(STEP) mbedtls "build (musl, static)" $(LOGS)/mbedtls-build.log \
		$(MAKE) -C $(B)/mbedtls/library -j$(JOBS) CC=$(MUSL_CC) CFLAGS="$(MUSL_CFLAGS)" static
	@mkdir -p $(SYSROOT)/include $(SYSROOT)/lib
	@cp -r $(B)/mbedtls/include/mbedtls $(SYSROOT)/include/
	@cp $(B)/mbedtls/library/libmbedtls.a $(B)/mbedtls/library/libmbedx509.a \
		$(B)/mbedtls/library/libmbedcrypto.a $(SYSROOT)/lib/
	@touch $@

$(STAMP)/cjson-built: $(STAMP)/extracted-cjson $(TARGET_TOOLCHAIN)
	@rm -f $(SYSROOT)/lib/libcjson.a
	@$(STEP) cjson "build (musl, static)" $(LOGS)/cjson-build.log \
		sh -c 'cd $(B)/cjson && $(MUSL_CC) $(MUSL_CFLAGS) -std=c89 -c cJSON.c -o cJSON.o && \
		rm -f libcjson.a && ar rcsD libcjson.a cJSON.o'
	@mkdir -p $(SYSROOT)/include/cjson $(SYSROOT)/lib
	@cp $(B)/cjson/cJSON.h $(SYSROOT)/include/cjson/
	@cp $(B)/cjson/libcjson.a $(SYSROOT)/lib/
	@touch $@

CURL_CONFIGURE := --host=x86_64-linux-musl --build=x86_64-linux-gnu --disable-shared --enable-static \
	--with-mbedtls=$(SYSROOT) --without-zlib --without-brotli --without-zstd --without-libpsl \
	--without-libidn2 --without-nghttp2 --without-nghttp3 --without-ngtcp2 --without-librtmp \
	--without-libssh2 --without-libgsasl --disable-ldap --disable-ldaps --disable-rtsp --disable-dict \
	--disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smtp --disable-gopher \
	--disable-mqtt --disable-smb --disable-file --disable-ftp --disable-manual --disable-ntlm \
	--disable-alt-svc --disable-cookies --disable-netrc --disable-libcurl-option \
	--without-ca-bundle --without-ca-path --without-ca-fallback --disable-dependency-tracking
$(STAMP)/curl-built: $(STAMP)/extracted-curl $(STAMP)/mbedtls-built
	@rm -rf $(SYSROOT)/include/curl $(SYSROOT)/lib/libcurl.a
	@$(STEP) curl "autoreconf + configure (HTTPS only, mbedTLS)" $(LOGS)/curl-configure.log \
		sh -c 'cd $(B)/curl && autoreconf -fi && CC=$(MUSL_CC) CFLAGS="$(MUSL_CFLAGS)" \
		CPPFLAGS="-I$(SYSROOT)/include" LDFLAGS="-L$(SYSROOT)/lib" ./configure $(CURL_CONFIGURE)'
	@$(STEP) curl "build libcurl (musl, static)" $(LOGS)/curl-build.log \
		$(MAKE) -C $(B)/curl/lib -j$(JOBS)
	@cp -r $(B)/curl/include/curl $(SYSROOT)/include/
	@# Debian's 99_nss patch renames the library; this one is built over mbedTLS.
	@cp $(B)/curl/lib/.libs/libcurl-nss.a $(SYSROOT)/lib/libcurl.a
	@touch $@

# vmm/ and agent/ have Makefiles of their own; they are always asked and rebuild what changed.
VERSION_FILE := $(B)/version
$(VERSION_FILE): FORCE
	@mkdir -p $(@D)
	@echo "$(HVNODE_VERSION)" >$@.new
	@$(call move_if_changed,$@)

define hvnode_program
$$(B)/$(1)/hvnode-$(1): $$(TARGET_TOOLCHAIN) $$(VERSION_FILE) FORCE
	@mkdir -p $$(B)/$(1)
	@$$(MAKE) -s -q $$(HVNODE_$(1)_ARGS) || $$(STEP) $(1) "build hvnode-$(1) (musl, static)" \
		$$(LOGS)/$(1)-build.log $$(MAKE) $$(HVNODE_$(1)_ARGS)
endef
# hvnode_args NAME: the sub-make arguments of vmm/ or agent/ (musl, static).
hvnode_args = -C $(TOP)/$(1) O=$(B)/$(1) CC=$(MUSL_CC) CFLAGS="$(MUSL_CFLAGS)" \
	HVNODE_VERSION=$(HVNODE_VERSION) VERSION_FILE=$(VERSION_FILE) TOOLCHAIN="$(TARGET_TOOLCHAIN)"
HVNODE_vmm_ARGS = $(call hvnode_args,vmm)
HVNODE_agent_ARGS = $(call hvnode_args,agent) SYSROOT=$(SYSROOT)
$(eval $(call hvnode_program,vmm))
$(eval $(call hvnode_program,agent))
$(AGENT): $(STAMP)/curl-built $(STAMP)/cjson-built

userland: $(BUSYBOX) $(DROPBEAR) $(VMM) $(AGENT)

# ---- BUILDINFO, root tree, squashfs, initramfs ------------------------------------------------
BUILDINFO := $(B)/BUILDINFO
$(BUILDINFO): $(TOP)/sources.lock $(KCONFIG) $(TOP)/scripts/buildinfo.sh FORCE
	@$(TOP)/scripts/buildinfo.sh $(TOP)/sources.lock $(KCONFIG) >$@.new
	@$(call move_if_changed,$@)

# Symlinks are left out (they may dangle on the build host); their directories are listed.
ROOTFS_FILES := $(shell find $(TOP)/rootfs ! -type l -print | LC_ALL=C sort)
TARGET := $(B)/target
SQUASHFS := $(B)/rootfs.squashfs
INITRD := $(B)/initrd.img

$(SQUASHFS): $(ROOTFS_FILES) $(BUSYBOX) $(DROPBEAR) $(VMM) $(AGENT) $(BUILDINFO) $(KCONFIG) \
		$(TOP)/scripts/mkrootfs.sh
	$(STALE_IMAGES)
	@$(STEP) rootfs "assemble target tree" $(LOGS)/rootfs.log \
		$(TOP)/scripts/mkrootfs.sh $(TARGET) $(TOP)/rootfs/overlay $(BUSYBOX) $(DROPBEAR) \
		$(VMM) $(AGENT) $(BUILDINFO) $(KCONFIG)
	@awk '!/^#/ && NF == 4 { sub("^/", "", $$1); print $$1, "m", $$2, $$3, $$4 }' \
		$(TOP)/rootfs/permissions.table >$(B)/squashfs.pseudo
	@rm -f $@ $@.tmp
	@$(STEP) squashfs "mksquashfs (xz)" $(LOGS)/squashfs.log \
		mksquashfs $(TARGET) $@.tmp -noappend -comp xz -Xbcj x86 -all-root \
		-pf $(B)/squashfs.pseudo -processors $(JOBS) -no-progress
	@mv $@.tmp $@

# The initramfs is made with the kernel's own gen_init_cpio from a sorted list: fixed owners,
# mtimes of SOURCE_DATE_EPOCH, sequential inode numbers, so it is identical on every build.
$(INITRD): $(SQUASHFS) $(BUSYBOX) $(TOP)/rootfs/initramfs/init $(KERNEL) $(TOP)/scripts/mkinitramfs.sh
	$(STALE_IMAGES)
	@$(STEP) initramfs "gen_init_cpio" $(LOGS)/initramfs.log \
		$(TOP)/scripts/mkinitramfs.sh $@ $(KSRC)/usr/gen_init_cpio $(BUSYBOX) \
		$(TOP)/rootfs/initramfs/init $(SQUASHFS)

rootfs: $(INITRD)

# A step that changes what the images are made of first removes the images made before, so a
# build that fails later never leaves an old image beside a SHA256SUMS that looks complete.
STALE_IMAGES = @rm -rf $(IMG)/SHA256SUMS $(IMG)/BUILDINFO $(IMG)/hvnode.iso $(IMG)/pxe $(STAMP)/pxe

# ---- images: hybrid ISO, PXE set, SHA256SUMS, BUILDINFO ---------------------------------------
ISO := $(IMG)/hvnode.iso
IMAGE_FILES := $(sort $(wildcard $(TOP)/image/*))

# The boot loader files the images take, from the pinned binary packages only (never the host's).
BOOTFILES := $(B)/bootfiles
$(STAMP)/bootfiles: $(addprefix $(STAMP)/unpacked-,$(BINARY_PACKAGES))
	$(STALE_IMAGES)
	@rm -rf $(BOOTFILES)
	@mkdir -p $(BOOTFILES)
	@cp $(B)/isolinux/usr/lib/ISOLINUX/isolinux.bin $(B)/isolinux/usr/lib/ISOLINUX/isohdpfx.bin \
		$(B)/pxelinux/usr/lib/PXELINUX/pxelinux.0 \
		$(B)/syslinux-common/usr/lib/syslinux/modules/bios/ldlinux.c32 $(BOOTFILES)/
	@cp -r $(B)/grub-efi-amd64-bin/usr/lib/grub/x86_64-efi $(BOOTFILES)/grub-x86_64-efi
	@touch $@

$(ISO): $(KERNEL) $(INITRD) $(IMAGE_FILES) $(STAMP)/bootfiles $(TOP)/scripts/mkiso.sh
	@mkdir -p $(IMG)
	@rm -f $@ $(IMG)/SHA256SUMS
	@$(STEP) iso "grub-mkimage + FAT ESP + xorriso" $(LOGS)/iso.log \
		$(TOP)/scripts/mkiso.sh $(B)/iso $(KERNEL) $(INITRD) $(TOP)/image $(BOOTFILES) $@.tmp
	@mv $@.tmp $@

$(STAMP)/pxe: $(KERNEL) $(INITRD) $(IMAGE_FILES) $(STAMP)/bootfiles $(TOP)/scripts/mkpxe.sh
	@rm -rf $@ $(IMG)/SHA256SUMS $(IMG)/pxe
	@$(STEP) pxe "PXE set (pxelinux, iPXE)" $(LOGS)/pxe.log \
		$(TOP)/scripts/mkpxe.sh $(IMG)/pxe $(KERNEL) $(INITRD) $(TOP)/image $(BOOTFILES)
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

test: images
	@KCONFIG=$(KCONFIG) AGENT=$(AGENT) $(TOP)/tests/host/run-all.sh $(DL_DIR) $(APT_STATE) $(O)/test/host
	@$(STEP) agent "unit tests (ASan, UBSan) and fuzz corpus replay" $(LOGS)/agent-test.log \
		$(MAKE) $(AGENT_HOST_ARGS) test fuzz-replay
	@$(STEP) vmm "unit tests (ASan, UBSan) and fuzz corpus replay" $(LOGS)/vmm-test.log \
		$(MAKE) $(VMM_HOST_ARGS) test fuzz-replay
	@BUSYBOX=$(BUSYBOX) $(TOP)/tests/qemu-boot/run-all.sh $(IMG) $(O)/test/qemu-boot
	@$(TOP)/scripts/repro-check.sh $(O)/test/repro $(IMG)
	@rm -rf $(O)/test/repro

# fuzz: each libFuzzer target for FUZZ_SECONDS (default 60) from its committed corpus.
FUZZ_SECONDS ?= 60
fuzz: $(STAMP)/extracted-cjson $(STAMP)/kernel-headers $(HOST_DEPS)
	@$(MAKE) $(AGENT_HOST_ARGS) fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)
	@$(MAKE) $(VMM_HOST_ARGS) fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)

# bench: boots a node under TCG and runs a guest in it with hvnode-vmm BENCH_RUNS times
# (default 10); prints exec-to-init p50/p90, the VMM's memory beyond guest RAM, its size.
BENCH_RUNS ?= 10
bench: images
	@BUSYBOX=$(BUSYBOX) MUSL_CC=$(MUSL_CC) sh $(TOP)/tests/qemu-boot/bench/vmm.sh $(IMG) $(O)/bench $(BENCH_RUNS)

run: images
	@$(TOP)/scripts/run-qemu.sh $(ISO)

repro-check: $(HOST_DEPS)
	@$(TOP)/scripts/repro-check.sh $(O)/repro

# fresh-check: a clean Debian 12 minbase root (debootstrap, in $(O)/fresh) clones HEAD and runs
# `make` there with empty caches; its SHA256SUMS must equal this build's. Needs root.
fresh-check: images
	@$(TOP)/scripts/fresh-check.sh $(O)/fresh $(IMG) $(LOGS)

clean:
	rm -rf $(O)

# distclean also drops the source cache, so the next build fetches again.
distclean: clean
	rm -rf $(DL_DIR) $(APT_STATE)
