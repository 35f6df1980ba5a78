# dosfstools: fsck.fat and fatlabel, static with musl. S40config checks a vfat config partition
# with fsck.fat (-a: repairs what it can without asking) before mounting it, so a power cut in
# the middle of a write does not leave the identity or the host keys on a damaged filesystem;
# fatlabel puts back a volume label such a repair took away.
FSCK_FAT := $(B)/dosfstools/src/fsck.fat
FATLABEL := $(B)/dosfstools/src/fatlabel
dosfstools_TARGET := $(FSCK_FAT)
$(FSCK_FAT): $(STAMP)/extracted-dosfstools $(TARGET_TOOLCHAIN) $(PKG)/dosfstools/dosfstools.mk
	@$(STEP) dosfstools "configure (musl, static)" $(LOGS)/dosfstools-configure.log \
		sh -c 'cd $(B)/dosfstools && CC=$(MUSL_CC) CFLAGS="$(MUSL_CFLAGS)" LDFLAGS=-static \
		./configure --host=x86_64-linux-musl --build=x86_64-linux-gnu --without-udev \
		--disable-dependency-tracking'
	@$(STEP) dosfstools "build fsck.fat, fatlabel" $(LOGS)/dosfstools-build.log \
		$(MAKE) -C $(B)/dosfstools/src -j$(JOBS) fsck.fat fatlabel
	@strip $@ $(FATLABEL)
	@touch $@

$(STAMP)/staged-dosfstools: $(FSCK_FAT) $(PKG)/dosfstools/dosfstools.mk
	@rm -rf $(STAGING)/dosfstools
	@mkdir -p $(STAGING)/dosfstools/usr/sbin
	@install -m 0755 $(FSCK_FAT) $(STAGING)/dosfstools/usr/sbin/fsck.fat
	@install -m 0755 $(FATLABEL) $(STAGING)/dosfstools/usr/sbin/fatlabel
	@touch $@
