# curl: libcurl over mbedTLS, HTTPS only, static with musl, installed into $(SYSROOT) for
# hvnode-agent. Debian patches curl's build system, so it is regenerated with autoreconf as
# Debian's own build does.
curl_TARGET := $(STAMP)/curl-built
CURL_CONFIGURE := --host=x86_64-linux-musl --build=x86_64-linux-gnu --disable-shared --enable-static \
	--with-mbedtls=$(SYSROOT) --without-zlib --without-brotli --without-zstd --without-libpsl \
	--without-libidn2 --without-nghttp2 --without-nghttp3 --without-ngtcp2 --without-librtmp \
	--without-libssh2 --without-libgsasl --disable-ldap --disable-ldaps --disable-rtsp --disable-dict \
	--disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smtp --disable-gopher \
	--disable-mqtt --disable-smb --disable-file --disable-ftp --disable-manual --disable-ntlm \
	--disable-alt-svc --disable-cookies --disable-netrc --disable-libcurl-option \
	--without-ca-bundle --without-ca-path --without-ca-fallback --disable-dependency-tracking
$(STAMP)/curl-built: $(STAMP)/extracted-curl $(STAMP)/mbedtls-built $(PKG)/curl/curl.mk
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
