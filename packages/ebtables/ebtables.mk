# ebtables: the kernel's Ethernet bridge filter tables (legacy ebtables, the kernel's
# BRIDGE_NF_EBTABLES), static with musl. The VM supervisor and S30network set the rules that keep
# guests off the node and off the management network's DHCP and router roles (README, "VM
# networks"). Debian patches the build system, so it is regenerated with autoreconf as Debian's
# own build does. The extensions (ip, ip6, arp, vlan, ...) register themselves from constructors,
# so the library is linked whole. Installed as /usr/sbin/ebtables with /etc/ethertypes.
EBTABLES := $(B)/ebtables/ebtables
ebtables_TARGET := $(EBTABLES)
$(EBTABLES): $(STAMP)/extracted-ebtables $(TARGET_TOOLCHAIN) $(PKG)/ebtables/ebtables.mk
	@$(STEP) ebtables "autoreconf + configure" $(LOGS)/ebtables-configure.log \
		sh -c 'cd $(B)/ebtables && autoreconf -fi && CC=$(MUSL_CC) CFLAGS="$(MUSL_CFLAGS)" \
		LOCKFILE=/run/ebtables.lock ./configure --host=x86_64-linux-musl --build=x86_64-linux-gnu \
		--sysconfdir=/etc --enable-static --disable-shared --disable-dependency-tracking'
	@$(STEP) ebtables "build (musl, static)" $(LOGS)/ebtables-build.log \
		sh -c '$(MAKE) -C $(B)/ebtables -j$(JOBS) libebtc.la ebtables-standalone.o && \
		cd $(B)/ebtables && $(MUSL_CC) -static -Os -o ebtables ebtables-standalone.o \
		-Wl,--whole-archive .libs/libebtc.a -Wl,--no-whole-archive && strip ebtables'
	@touch $@

$(STAMP)/staged-ebtables: $(EBTABLES) $(PKG)/ebtables/ebtables.mk
	@rm -rf $(STAGING)/ebtables
	@mkdir -p $(STAGING)/ebtables/usr/sbin $(STAGING)/ebtables/etc
	@install -m 0755 $(EBTABLES) $(STAGING)/ebtables/usr/sbin/ebtables
	@install -m 0644 $(B)/ebtables/ethertypes $(STAGING)/ebtables/etc/ethertypes
	@touch $@
