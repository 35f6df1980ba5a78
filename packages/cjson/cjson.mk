# cjson: the JSON parser of hvnode-agent, static with musl, installed into $(SYSROOT). The
# agent's host unit tests compile the same source ($(B)/cjson) with the host compiler.
cjson_TARGET := $(STAMP)/cjson-built
$(STAMP)/cjson-built: $(STAMP)/extracted-cjson $(TARGET_TOOLCHAIN) $(PKG)/cjson/cjson.mk
	@rm -f $(SYSROOT)/lib/libcjson.a
	@$(STEP) cjson "build (musl, static)" $(LOGS)/cjson-build.log \
		sh -c 'cd $(B)/cjson && $(MUSL_CC) $(MUSL_CFLAGS) -std=c89 -c cJSON.c -o cJSON.o && \
		rm -f libcjson.a && ar rcsD libcjson.a cJSON.o'
	@mkdir -p $(SYSROOT)/include/cjson $(SYSROOT)/lib
	@cp $(B)/cjson/cJSON.h $(SYSROOT)/include/cjson/
	@cp $(B)/cjson/libcjson.a $(SYSROOT)/lib/
	@touch $@
