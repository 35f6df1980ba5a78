# hvnode-vmm: hvnode's KVM VMM, one process per VM, from vmm/ (its own Makefile; static, musl).
VMM := $(B)/vmm/hvnode-vmm
hvnode-vmm_TARGET := $(VMM)
hvnode-vmm_BUILDDIR := $(B)/vmm
HVNODE_vmm_ARGS = $(call hvnode_args,vmm)
$(eval $(call hvnode_program,vmm))

$(STAMP)/staged-hvnode-vmm: $(VMM) $(PKG)/hvnode-vmm/hvnode-vmm.mk
	@rm -rf $(STAGING)/hvnode-vmm
	@mkdir -p $(STAGING)/hvnode-vmm/usr/sbin
	@install -m 0755 $(VMM) $(STAGING)/hvnode-vmm/usr/sbin/hvnode-vmm
	@touch $@
