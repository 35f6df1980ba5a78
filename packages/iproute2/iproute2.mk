# iproute2: its bridge tool only (bridge vlan, bridge fdb, bridge link), static with musl. It sets
# the 802.1Q VLAN membership of the bridge's ports (S30network: the uplink trunk and the
# management VLAN; the VM supervisor: each tap's access VLAN), and is the operator's view of them.
# Built without libmnl, libelf, libcap or SELinux (pkg-config answers nothing). The busybox ip
# applet stays the node's ip.
IPROUTE2_BRIDGE := $(B)/iproute2/bridge/bridge
iproute2_TARGET := $(IPROUTE2_BRIDGE)
$(IPROUTE2_BRIDGE): $(STAMP)/extracted-iproute2 $(TARGET_TOOLCHAIN) $(PKG)/iproute2/iproute2.mk
	@$(STEP) iproute2 "configure" $(LOGS)/iproute2-configure.log \
		sh -c 'cd $(B)/iproute2 && CC=$(MUSL_CC) PKG_CONFIG=/bin/false ./configure --prefix=/usr'
	@$(STEP) iproute2 "build bridge (musl, static)" $(LOGS)/iproute2-build.log \
		$(MAKE) -C $(B)/iproute2 -j$(JOBS) SUBDIRS="lib bridge" LDFLAGS=-static \
		EXTRA_CFLAGS="$(MUSL_CFLAGS)"
	@strip $@
	@touch $@

$(STAMP)/staged-iproute2: $(IPROUTE2_BRIDGE) $(PKG)/iproute2/iproute2.mk
	@rm -rf $(STAGING)/iproute2
	@mkdir -p $(STAGING)/iproute2/usr/sbin
	@install -m 0755 $(IPROUTE2_BRIDGE) $(STAGING)/iproute2/usr/sbin/bridge
	@touch $@
