/* Unit tests: agent/vmnet.c, a VM NIC's tap name, MAC, VLAN, filter rules, and S30network's
 * file (written by the node, but read as untrusted text). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "supervisor.h"

/* The rules of N as "word word ...;" lines. */
static void rules_text(const struct vmnet_nic *n, char *out, size_t outlen)
{
	const char *rules[VMNET_RULES][VMNET_RULE_ARGS];
	int k = vmnet_rules(n, rules);

	out[0] = 0;
	for (int i = 0; i < k; i++) {
		for (int j = 0; j < VMNET_RULE_ARGS && rules[i][j]; j++) {
			strncat(out, rules[i][j], outlen - strlen(out) - 1);
			strncat(out, j + 1 < VMNET_RULE_ARGS && rules[i][j + 1] ? " " : ";",
				outlen - strlen(out) - 1);
		}
	}
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

int main(int argc, char **argv)
{
	struct vmnet_nic n = { .vlan = 0, .mgmt_vlan = 0 }, m;
	static const char *rules_buf[VMNET_RULES][VMNET_RULE_ARGS];
	unsigned char mac[6], mac2[6];
	char text[2048], path[256];

	(void)argc, (void)argv;
	vmnet_tap_name(63, 9, text, sizeof(text));
	CHECK(!strcmp(text, "hvtap63n9") && strlen(text) < 16);

	vmnet_default_mac("6f1a2b3c-4d5e-4f60-8172-93a4b5c6d7e8", 0, mac);
	vmnet_default_mac("6f1a2b3c-4d5e-4f60-8172-93a4b5c6d7e8", 0, mac2);
	CHECK(!memcmp(mac, mac2, 6));                 /* stable */
	CHECK(mac[0] == 0x52 && mac[1] == 0x54);     /* locally administered, unicast */
	vmnet_default_mac("6f1a2b3c-4d5e-4f60-8172-93a4b5c6d7e8", 1, mac2);
	CHECK(memcmp(mac, mac2, 6));                  /* per NIC */
	vmnet_default_mac("0b7c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d", 0, mac2);
	CHECK(memcmp(mac, mac2, 6));                  /* per VM */
	vmnet_mac_text((const unsigned char *)"\x52\x54\x00\xab\x0c\x01", text);
	CHECK(!strcmp(text, "52:54:00:ab:0c:01"));

	CHECK(vmnet_vid(0) == 1 && vmnet_vid(1) == 1 && vmnet_vid(2) == 2 && vmnet_vid(4094) == 4094);

	/* Untagged on an untagged management network: MAC rules, the DHCP/RA/redirect rules, and
	 * only IPv4, IPv6 and ARP returned (the chain's policy drops the rest). */
	snprintf(n.mac_text, sizeof(n.mac_text), "52:54:00:ab:0c:01");
	CHECK(vmnet_rules(&n, (const char *(*)[VMNET_RULE_ARGS])rules_buf) <= VMNET_RULES);
	rules_text(&n, text, sizeof(text));
	CHECK(!strcmp(text, "! -s 52:54:00:ab:0c:01 -j DROP;"
			    "-p ARP ! --arp-htype 1 -j DROP;"
			    "-p ARP ! --arp-mac-src 52:54:00:ab:0c:01 -j DROP;"
			    "-p IPv4 --ip-proto udp --ip-sport 67 -j DROP;"
			    "-p IPv4 --ip-proto udp --ip-dport 68 -j DROP;"
			    "-p IPv4 --ip-proto icmp --ip-icmp-type redirect -j DROP;"
			    "-p IPv6 --ip6-proto udp --ip6-sport 547 -j DROP;"
			    "-p IPv6 --ip6-proto udp --ip6-dport 546 -j DROP;"
			    "-p IPv6 --ip6-proto ipv6-icmp --ip6-icmp-type router-advertisement -j DROP;"
			    "-p IPv6 --ip6-proto ipv6-icmp --ip6-icmp-type redirect -j DROP;"
			    "-p IPv4 -j RETURN;-p IPv6 -j RETURN;-p ARP -j RETURN;"));
	/* Another VLAN: a guest may serve DHCP or route there (a router VM); the MAC rules stay,
	 * then everything else is returned. */
	n.vlan = 10;
	rules_text(&n, text, sizeof(text));
	CHECK(!strcmp(text, "! -s 52:54:00:ab:0c:01 -j DROP;"
			    "-p ARP ! --arp-htype 1 -j DROP;"
			    "-p ARP ! --arp-mac-src 52:54:00:ab:0c:01 -j DROP;"
			    "-j RETURN;"));
	/* The management network on VLAN 10 (hvnode.vlan=10): the DHCP/RA rules for VLAN 10 ... */
	n.mgmt_vlan = 10;
	rules_text(&n, text, sizeof(text));
	CHECK(strstr(text, "--ip-sport 67") && strstr(text, "router-advertisement"));
	/* ... and not for the untagged VLAN, which is then not the management network. */
	n.vlan = 0;
	rules_text(&n, text, sizeof(text));
	CHECK(!strstr(text, "--ip-sport 67"));
	/* vlan 1 is the untagged VLAN too. */
	n.vlan = 1, n.mgmt_vlan = 0;
	rules_text(&n, text, sizeof(text));
	CHECK(strstr(text, "--ip-sport 67") != NULL);

	/* S30network's file. */
	snprintf(path, sizeof(path), "%s/vmnet-network", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	CHECK(write_file(path, "nic=eth0\nmac=52:54:00:12:34:56\nvlan=\nmode=dhcp\nvm_bridge=br0\n"
			       "uplink=eth0\n") == 0);
	memset(&m, 0, sizeof(m));
	CHECK(vmnet_read_config(path, &m) == 0);
	CHECK(!strcmp(m.bridge, "br0") && !strcmp(m.uplink, "eth0") && m.mgmt_vlan == 0);
	CHECK(!strcmp(m.node_mac, "52:54:00:12:34:56"));
	CHECK(write_file(path, "vlan=100\nvm_bridge=br0\nuplink=enp65s0f0\n") == 0);
	CHECK(vmnet_read_config(path, &m) == 0 && m.mgmt_vlan == 100 && !strcmp(m.uplink, "enp65s0f0"));
	/* No VM bridge (no NIC, or its filters failed): refused. */
	CHECK(write_file(path, "nic=eth0\nvlan=\nvm_bridge=\nuplink=eth0\n") == 0);
	CHECK(vmnet_read_config(path, &m) == -1 && m.bridge[0] == 0);
	/* Values that are not interface names never reach an argv; out-of-range VLANs are none. */
	CHECK(write_file(path, "vm_bridge=br0 -j ACCEPT\nuplink=averyveryverylongname0\nvlan=5000\n"
			       "mac=52:54:00:12:34:5\n") == 0);
	CHECK(vmnet_read_config(path, &m) == -1 && m.uplink[0] == 0 && m.mgmt_vlan == 0 &&
	      m.node_mac[0] == 0);
	CHECK(write_file(path, "vm_bridge=br0\nuplink=-eth0\nvlan=1\n") == 0);
	CHECK(vmnet_read_config(path, &m) == 0 && m.mgmt_vlan == 0 && m.uplink[0] == 0);
	CHECK(vmnet_read_config("/nonexistent/network", &m) == -1);
	remove(path);
	return check_done("vmnet");
}
