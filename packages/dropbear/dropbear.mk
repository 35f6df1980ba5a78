# dropbear: the SSH server, static with musl, public-key logins only (localoptions.h compiles
# password authentication and forwarding out). Installed as one multi-call binary.
DROPBEAR := $(B)/dropbear/dropbearmulti
dropbear_TARGET := $(DROPBEAR)
$(DROPBEAR): $(STAMP)/extracted-dropbear $(TARGET_TOOLCHAIN) $(PKG)/dropbear/localoptions.h \
		$(PKG)/dropbear/dropbear.mk
	@cp $(PKG)/dropbear/localoptions.h $(B)/dropbear/localoptions.h
	@$(STEP) dropbear "configure (musl, static)" $(LOGS)/dropbear-configure.log \
		sh -c 'cd $(B)/dropbear && CC=$(MUSL_CC) CFLAGS="$(MUSL_CFLAGS)" ./configure \
		--enable-static --disable-zlib --disable-harden --disable-lastlog --disable-utmp \
		--disable-utmpx --disable-wtmp --disable-wtmpx --disable-pututline --disable-pututxline'
	@$(STEP) dropbear "build" $(LOGS)/dropbear-build.log \
		$(MAKE) -C $(B)/dropbear -j$(JOBS) PROGRAMS="dropbear dropbearkey" MULTI=1 STATIC=1
	@strip $(B)/dropbear/dropbearmulti
	@touch $@

$(STAMP)/staged-dropbear: $(DROPBEAR) $(PKG)/dropbear/dropbear.mk
	@rm -rf $(STAGING)/dropbear
	@mkdir -p $(STAGING)/dropbear/usr/sbin
	@install -m 0755 $(DROPBEAR) $(STAGING)/dropbear/usr/sbin/dropbearmulti
	@ln -s dropbearmulti $(STAGING)/dropbear/usr/sbin/dropbear
	@ln -s dropbearmulti $(STAGING)/dropbear/usr/sbin/dropbearkey
	@touch $@
