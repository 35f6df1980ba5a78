# linux: Debian's patched 6.1 tree, from the binary package linux-source-6.1 (its tarball of the
# tree with Debian's patches applied; the security archive serves it, not its source package),
# unpacked into $(KSRC), then hvnode's own patches (patches/*.patch). The fragments in fragments/ (then a SITE's linux/*.config)
# are merged over allnoconfig; every option a fragment asks for must be in the result, and the
# result must equal the committed resolved config (resolved.config), so an option no fragment
# names cannot drift unseen. Outputs: bzImage, the UAPI headers musl-gcc compiles against.
linux_TARGET := $(KERNEL)
KERNEL_FRAGMENTS := $(sort $(wildcard $(PKG)/linux/fragments/*.config)) $(SITE_FRAGMENTS)
# A SITE with fragments of its own keeps its own resolved config.
LINUX_RESOLVED := $(if $(SITE_FRAGMENTS),$(SITE)/linux/resolved.config,$(PKG)/linux/resolved.config)
# What the fragments give on this tree, before the comparison with LINUX_RESOLVED.
KCONFIG_NEW := $(B)/kernel.config.resolved
# O= (empty) keeps our own O, passed down by make, from turning into kbuild's output dir.
KMAKE := $(MAKE) -C $(KSRC) O= ARCH=x86_64 -j$(JOBS) CC="ccache gcc" HOSTCC="ccache gcc" \
	KBUILD_BUILD_TIMESTAMP="$$(date -u -d @$(call pkg_epoch,linux) '+%Y-%m-%d')" \
	KBUILD_BUILD_USER=hvnode KBUILD_BUILD_HOST=hvnode KBUILD_BUILD_VERSION=1

# hvnode's own kernel patches, applied in name order over Debian's tree (each says why at its top).
LINUX_PATCHES := $(sort $(wildcard $(PKG)/linux/patches/*.patch))

# The tree, and the Debian changelog the build date comes from (pkg_epoch reads debian/changelog).
$(STAMP)/linux-tree: $(STAMP)/extracted-linux $(LINUX_PATCHES)
	@rm -rf $(KSRC) $(KSRC).tmp $(B)/linux/debian
	@mkdir -p $(KSRC).tmp $(B)/linux/debian
	@$(STEP) linux "unpack the kernel tree (linux-source-6.1.tar.xz)" $(LOGS)/linux-tree.log \
		tar -xf $(B)/linux/usr/src/linux-source-6.1.tar.xz -C $(KSRC).tmp --strip-components=1
	@$(STEP) linux "apply $(words $(LINUX_PATCHES)) hvnode patch(es)" $(LOGS)/linux-patch.log \
		sh -c 'for p; do echo "$$p"; patch -d "$(KSRC).tmp" -p1 --forward --batch --no-backup-if-mismatch <"$$p" || exit 1; done' \
		sh $(LINUX_PATCHES)
	@zcat $(B)/linux/usr/share/doc/linux-source-6.1/changelog.Debian.gz >$(B)/linux/debian/changelog
	@mv $(KSRC).tmp $(KSRC)
	@touch $@

$(KCONFIG_NEW): $(KERNEL_FRAGMENTS) $(SITE_LIST) $(STAMP)/linux-tree $(TOP)/scripts/kernel-config.sh \
		$(TOP)/scripts/kernel-config-check.sh
	@$(STEP) kernel "config: merge + check $(words $(KERNEL_FRAGMENTS)) fragments" \
		$(LOGS)/kernel-config.log $(TOP)/scripts/kernel-config.sh $(KSRC) $(KSRC) $(KERNEL_FRAGMENTS)
	@grep -v '^# Linux/x86' $(KSRC)/.config | grep -v '^# Compiler:' >$@.new
	@mv $@.new $@

# Written every time its inputs change, even to the same bytes: a file kept at its old mtime
# would stay older than its inputs, and every later make (and every make -n plan) would take
# the kernel as out of date. An unchanged config costs one kbuild pass that finds nothing to do.
$(KCONFIG): $(KCONFIG_NEW) $(wildcard $(LINUX_RESOLVED)) $(TOP)/scripts/kernel-config-drift.sh
	@SITE=$(SITE) $(TOP)/scripts/kernel-config-drift.sh $(LINUX_RESOLVED) $(KCONFIG_NEW)
	@cp $(KCONFIG_NEW) $@.new
	@mv $@.new $@

# linux-update-config: accept what the fragments resolve to as the committed config.
linux-update-config: $(KCONFIG_NEW)
	@mkdir -p $(dir $(LINUX_RESOLVED))
	@cp $(KCONFIG_NEW) $(LINUX_RESOLVED)
	@echo "[kernel] $(LINUX_RESOLVED) updated; review and commit it"

kernel-config-check: $(KCONFIG)
	@$(TOP)/scripts/kernel-config-check.sh $(KCONFIG) $(KERNEL_FRAGMENTS)

# A new linux pin re-extracts the tree: bzImage and the headers follow it even when the resolved
# config is unchanged. headers_install runs first and bzImage after it (order-only), so `make -j`
# never runs two kbuild invocations in one tree at once.
$(KERNEL): $(KCONFIG) $(STAMP)/linux-tree $(PKG)/linux/linux.mk | $(STAMP)/kernel-headers
	$(STALE_IMAGES)
	@$(STEP) kernel "build bzImage ($(call pkg_version,linux))" $(LOGS)/kernel-build.log \
		$(KMAKE) bzImage
	@cp $(KSRC)/arch/x86/boot/bzImage $@.tmp && mv $@.tmp $@

# The UAPI headers do not depend on the config (headers_install is one of kbuild's
# no-dot-config targets), so a config change rebuilds the kernel and not the userland compiled
# against them; the config merge, a kbuild run in the same tree, goes first (order-only).
$(STAMP)/kernel-headers: $(STAMP)/linux-tree $(PKG)/linux/linux.mk | $(KCONFIG)
	@rm -rf $(KHEADERS)
	@$(STEP) kernel "headers_install" $(LOGS)/kernel-headers.log \
		$(KMAKE) headers_install INSTALL_HDR_PATH=$(KHEADERS)
	@touch $@

.PHONY: linux-update-config kernel-config-check
