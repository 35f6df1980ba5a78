# musl: the C library of every static userland binary, built from its pinned Debian source into
# $(MUSL_ROOT) with its own gcc wrapper, $(MUSL_CC). The host's musl is never used, so a Debian
# point release cannot change libc.a. Its dynamic loader is built too: configure scripts run
# their test programs, which the wrapper links dynamically; the image's binaries are static.
musl_TARGET := $(STAMP)/musl-built
$(STAMP)/musl-built: $(STAMP)/extracted-musl $(PKG)/musl/musl.mk
	@rm -rf $(MUSL_ROOT)
	@$(STEP) musl "configure (gcc wrapper)" $(LOGS)/musl-configure.log \
		sh -c 'cd $(B)/musl && ./configure --prefix=$(MUSL_ROOT) --syslibdir=$(MUSL_ROOT)/lib \
		--enable-wrapper=gcc CC=gcc'
	@$(STEP) musl "build + install" $(LOGS)/musl-build.log \
		sh -c '$(MAKE) -C $(B)/musl -j$(JOBS) && $(MAKE) -C $(B)/musl install'
	@touch $@
