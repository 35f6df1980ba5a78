# mbedtls: TLS for libcurl (hvnode-agent), static with musl, installed into $(SYSROOT).
mbedtls_TARGET := $(STAMP)/mbedtls-built
$(STAMP)/mbedtls-built: $(STAMP)/extracted-mbedtls $(TARGET_TOOLCHAIN) $(PKG)/mbedtls/mbedtls.mk
	@rm -rf $(SYSROOT)/include/mbedtls $(SYSROOT)/lib/libmbed*.a
	@$(STEP) mbedtls "build (musl, static)" $(LOGS)/mbedtls-build.log \
		$(MAKE) -C $(B)/mbedtls/library -j$(JOBS) CC=$(MUSL_CC) CFLAGS="$(MUSL_CFLAGS)" static
	@mkdir -p $(SYSROOT)/include $(SYSROOT)/lib
	@cp -r $(B)/mbedtls/include/mbedtls $(SYSROOT)/include/
	@cp $(B)/mbedtls/library/libmbedtls.a $(B)/mbedtls/library/libmbedx509.a \
		$(B)/mbedtls/library/libmbedcrypto.a $(SYSROOT)/lib/
	@touch $@
