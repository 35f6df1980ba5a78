# hvnode-agent: registers the node with its manager over pinned TLS, heartbeats and fetches the
# desired VM list; hvnode-supervisor: runs one hvnode-vmm per VM of that list. Both from agent/
# (its own Makefile; static, musl), linked with libcurl, mbedTLS and cJSON from $(SYSROOT).
AGENT := $(B)/agent/hvnode-agent
SUPERVISOR := $(B)/agent/hvnode-supervisor
hvnode-agent_TARGET := $(AGENT)
hvnode-agent_BUILDDIR := $(B)/agent
HVNODE_agent_ARGS = $(call hvnode_args,agent) SYSROOT=$(SYSROOT)
$(eval $(call hvnode_program,agent))
$(AGENT): $(STAMP)/curl-built $(STAMP)/cjson-built

$(STAMP)/staged-hvnode-agent: $(AGENT) $(PKG)/hvnode-agent/hvnode-agent.mk
	@rm -rf $(STAGING)/hvnode-agent
	@mkdir -p $(STAGING)/hvnode-agent/usr/sbin
	@install -m 0755 $(AGENT) $(STAGING)/hvnode-agent/usr/sbin/hvnode-agent
	@install -m 0755 $(SUPERVISOR) $(STAGING)/hvnode-agent/usr/sbin/hvnode-supervisor
	@touch $@
