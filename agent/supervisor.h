/* hvnode-supervisor: declarations shared by its files (supervisor.c, fetch.c). */
#ifndef HVNODE_SUPERVISOR_H
#define HVNODE_SUPERVISOR_H

#include <stdint.h>

#include "agent.h"

/* fetch_image: IMG into CACHE_DIR/<sha256> unless a file of its size is there already.
 * WHAT names the image in errors ("kernel", "disks[0]"). Returns 0, or -1 with ERR. */
int fetch_image(const struct agent_config *cfg, const char *cache_dir, const struct vm_image *img,
		const char *what, char *err, size_t errlen);
/* disk_from_image: IMAGE (raw, gzip or xz) copied or decompressed to DST, at most MAX bytes,
 * through DST.tmp and a rename. Returns 0, or -1 with ERR. */
int disk_from_image(const char *busybox, const char *image, const char *dst, uint64_t max,
		    char *err, size_t errlen);

/* ---- vmnet.c: the host side of a VM NIC (a tap on the VM bridge, its VLAN, its filters) ---- */
enum { VMNET_RULES = 14, VMNET_RULE_ARGS = 10 };
struct vmnet_nic {
	char tap[16];              /* vmnet_tap_name: "hvtap<slot>n<index>" */
	char bridge[16];           /* the VM bridge (br0) */
	char uplink[16];           /* its uplink, the trunk of the VMs' VLANs ("" when none) */
	char node_mac[18];         /* the node's own MAC (br0's), "" when unknown */
	int vlan;                  /* the NIC's vlan: 0 (untagged) or 1-4094 */
	int mgmt_vlan;             /* the node's own VLAN: 0 (untagged) or hvnode.vlan */
	char mac_text[18];         /* the guest's MAC, "52:54:xx:xx:xx:xx" */
	unsigned uid;              /* the VM's uid and gid: the tap's owner */
	const char *ebtables, *bridge_cmd; /* /usr/sbin/ebtables, /usr/sbin/bridge */
};
/* vmnet_tap_name: "hvtap<SLOT>n<INDEX>" (at most 15 characters for slots < 64, index < 10). */
void vmnet_tap_name(unsigned slot, int index, char *out, size_t outlen);
/* vmnet_default_mac: the MAC of NIC INDEX of the VM UUID when its spec names none, stable
 * across restarts and nodes: 52:54 then 32 bits of FNV-1a of "UUID/INDEX". */
void vmnet_default_mac(const char *uuid, int index, unsigned char mac[6]);
void vmnet_mac_text(const unsigned char mac[6], char out[18]);
/* vmnet_vid: the bridge VLAN id of a NIC's vlan (0 and 1: 1, the uplink's untagged VLAN). */
int vmnet_vid(int vlan);
/* vmnet_rules: the ebtables rules of NIC (words after "-i TAP", NULL-terminated, in the chain
 * HVNODE-TAPS of the nat table), at most VMNET_RULES. Returns how many. */
int vmnet_rules(const struct vmnet_nic *n, const char *rules[][VMNET_RULE_ARGS]);
/* vmnet_attach: creates (or takes over) NIC's tap, owned by its uid, IPv6 off, up, a port of
 * the bridge on its VLAN, with its rules. Returns 0, or -1 with ERR naming the step. */
int vmnet_attach(const struct vmnet_nic *n, char *err, size_t errlen);
/* vmnet_detach: removes NIC's rules and its tap (with its bridge port and VLAN); the VMM must
 * have let go of the tap. Quiet about what is already gone. */
void vmnet_detach(const struct vmnet_nic *n);
/* vmnet_untrunk: removes NIC's VLAN from the uplink (call it when no other NIC is on it);
 * never the untagged or the management VLAN. */
void vmnet_untrunk(const struct vmnet_nic *n);
/* vmnet_read_config: N's bridge, uplink, management VLAN and node MAC from S30network's
 * key=value file PATH (RUN/network: vm_bridge=, written only once the bridge and its filters are
 * in place; uplink=; vlan=, empty when untagged; mac=). Values that are not interface names
 * (or a MAC of 17 characters) are ignored.
 * Returns 0, or -1 when the node has no VM bridge (N's bridge is then ""). */
int vmnet_read_config(const char *path, struct vmnet_nic *n);
/* vmnet_reset: a clean slate for a starting supervisor: every hvtap* in SYSFS_NET
 * (/sys/class/net) is removed and the chain HVNODE-TAPS flushed. Returns how many taps went. */
int vmnet_reset(const char *ebtables, const char *sysfs_net);

#endif
