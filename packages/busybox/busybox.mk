# busybox: init, the shell and the node's tools, static with musl; applets from busybox.config.
# It is also the initramfs's only program. Installed as /bin/busybox with one relative symlink
# per applet, where busybox says the applet belongs.
BUSYBOX := $(B)/busybox/busybox
busybox_TARGET := $(BUSYBOX)
$(BUSYBOX): $(STAMP)/extracted-busybox $(TARGET_TOOLCHAIN) $(PKG)/busybox/busybox.config \
		$(PKG)/busybox/busybox.mk
	@cp $(PKG)/busybox/busybox.config $(B)/busybox/.config
	@$(STEP) busybox "config check" $(LOGS)/busybox-config.log \
		sh -c 'cd $(B)/busybox && SOURCE_DATE_EPOCH=$(call pkg_epoch,busybox) make O= oldconfig </dev/null && \
		if ! diff -u $(PKG)/busybox/busybox.config .config | grep "^[-+]CONFIG"; then :; else \
		echo "packages/busybox/busybox.config is incomplete for this busybox: see the options above; make busybox-update-config saves $(B)/busybox/.config"; exit 1; fi'
	@$(STEP) busybox "build (musl, static)" $(LOGS)/busybox-build.log \
		env SOURCE_DATE_EPOCH=$(call pkg_epoch,busybox) \
		$(MAKE) -C $(B)/busybox O= -j$(JOBS) CC=$(MUSL_CC) HOSTCC=gcc \
		CONFIG_EXTRA_CFLAGS="$(MUSL_CFLAGS)" busybox
	@touch $@

$(STAMP)/staged-busybox: $(BUSYBOX) $(PKG)/busybox/busybox.mk
	@rm -rf $(STAGING)/busybox
	@mkdir -p $(STAGING)/busybox/bin
	@install -m 0755 $(BUSYBOX) $(STAGING)/busybox/bin/busybox
	@$(BUSYBOX) --list-full | LC_ALL=C sort | while read -r path; do \
		[ "$$path" = bin/busybox ] && continue; \
		dir=$$(dirname "$$path"); up=$$(echo "$$dir" | sed 's|[^/]\+|..|g'); \
		mkdir -p "$(STAGING)/busybox/$$dir" && ln -s "$$up/bin/busybox" "$(STAGING)/busybox/$$path" || exit 1; \
	done
	@touch $@

# busybox-update-config: save the build tree's .config (e.g. after make -C $(B)/busybox
# menuconfig, or a new busybox's oldconfig) as the package's config.
busybox-update-config: | $(STAMP)/extracted-busybox
	@cp $(B)/busybox/.config $(PKG)/busybox/busybox.config
	@echo "[busybox] packages/busybox/busybox.config updated; review and commit it"
.PHONY: busybox-update-config
