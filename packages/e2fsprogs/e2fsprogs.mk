# e2fsprogs: e2fsck only, static with musl (its own libext2fs, libcom_err, libblkid and libuuid,
# linked in). S40config and S45pool check an ext2/3/4 config partition and the storage pool with
# it (e2fsck -p: the repairs that are safe without asking) before mounting them.
E2FSCK := $(B)/e2fsprogs/e2fsck/e2fsck
e2fsprogs_TARGET := $(E2FSCK)
$(E2FSCK): $(STAMP)/extracted-e2fsprogs $(TARGET_TOOLCHAIN) $(PKG)/e2fsprogs/e2fsprogs.mk
	@$(STEP) e2fsprogs "configure (musl, static)" $(LOGS)/e2fsprogs-configure.log \
		sh -c 'cd $(B)/e2fsprogs && CC=$(MUSL_CC) CFLAGS="$(MUSL_CFLAGS)" LDFLAGS=-static \
		./configure --host=x86_64-linux-musl --build=x86_64-linux-gnu --disable-nls \
		--disable-elf-shlibs --disable-bsd-shlibs --disable-fuse2fs --disable-uuidd \
		--disable-debugfs --disable-imager --disable-resizer --disable-defrag \
		--without-libarchive --disable-tls --disable-e2initrd-helper'
	@$(STEP) e2fsprogs "build e2fsck" $(LOGS)/e2fsprogs-build.log \
		sh -c '$(MAKE) -C $(B)/e2fsprogs -j$(JOBS) libs && \
		$(MAKE) -C $(B)/e2fsprogs/e2fsck -j$(JOBS) e2fsck'
	@strip $@
	@touch $@

$(STAMP)/staged-e2fsprogs: $(E2FSCK) $(PKG)/e2fsprogs/e2fsprogs.mk
	@rm -rf $(STAGING)/e2fsprogs
	@mkdir -p $(STAGING)/e2fsprogs/usr/sbin
	@install -m 0755 $(E2FSCK) $(STAGING)/e2fsprogs/usr/sbin/e2fsck
	@touch $@
