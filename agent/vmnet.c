/* hvnode-supervisor: the host side of a VM's NIC (README "VM networks").
 *
 * A NIC is a persistent tap, TAP = "hvtap<slot>n<index>", created by the supervisor, owned by
 * the VM's uid and gid (only that VM's VMM attaches to it), with IPv6 off on the tap itself (the
 * node sends nothing into a VM network). It is a port of the VM bridge (br0: the bridge over the
 * uplink, 802.1Q VLAN filtering on, S30network), and an access port of one VLAN: bridge VLAN
 * `vid V pvid untagged`, where V is the NIC's `vlan`, or the uplink's untagged VLAN (vid 1) for
 * vlan 0 and 1. The uplink carries the VLANs of the node's VM NICs tagged (a trunk): a VLAN is
 * added to it with the first NIC on it and removed with the last (vmnet_untrunk).
 *
 * The port does not learn (the guest's MAC is a static FDB entry) and gets no flooded unknown
 * unicast. What a guest sends is filtered by ebtables before the bridge forwards it (the nat
 * table's PREROUTING hook). S30network, once at boot: nothing from an hvtap+ port reaches the
 * node (filter INPUT) and nothing from the node reaches one (filter OUTPUT), tagged frames from
 * a tap are dropped (a guest cannot hop VLANs), and the rest go through the chain HVNODE-TAPS
 * (policy DROP: a tap without rules forwards nothing), which holds each NIC's rules:
 *   -i TAP ! -s MAC -j DROP                                    another source MAC
 *   -i TAP -p ARP ! --arp-htype 1 -j DROP                      ARP not for Ethernet
 *   -i TAP -p ARP ! --arp-mac-src MAC -j DROP                  ARP speaking for another MAC
 * then, on the management network (the VLAN the node's own address is on):
 *   -i TAP -p IPv4 --ip-proto udp --ip-sport 67 -j DROP        DHCP server or relay replies
 *   -i TAP -p IPv4 --ip-proto udp --ip-dport 68 -j DROP        anything to DHCP clients
 *   -i TAP -p IPv4 --ip-proto icmp --ip-icmp-type redirect -j DROP
 *   -i TAP -p IPv6 --ip6-proto udp --ip6-sport 547 -j DROP     DHCPv6 server replies
 *   -i TAP -p IPv6 --ip6-proto udp --ip6-dport 546 -j DROP     anything to DHCPv6 clients
 *   -i TAP -p IPv6 --ip6-proto ipv6-icmp --ip6-icmp-type router-advertisement -j DROP
 *   -i TAP -p IPv6 --ip6-proto ipv6-icmp --ip6-icmp-type redirect -j DROP
 *   -i TAP -p IPv4 -j RETURN, -p IPv6 -j RETURN, -p ARP -j RETURN   (nothing else)
 * and on any other VLAN:
 *   -i TAP -j RETURN
 * Programs run with an argv and no shell: /usr/sbin/ebtables (legacy ebtables 2.0.11) and
 * /usr/sbin/bridge (iproute2). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <linux/sockios.h>

#include "supervisor.h"

enum { VMNET_ARGS_MAX = 8 + VMNET_RULE_ARGS, NATIVE_VID = 1 };

void vmnet_tap_name(unsigned slot, int index, char *out, size_t outlen)
{
	snprintf(out, outlen, "hvtap%un%d", slot, index);
}

/* FNV-1a of "UUID/INDEX" into 52:54:xx:xx:xx:xx (locally administered, unicast). */
void vmnet_default_mac(const char *uuid, int index, unsigned char mac[6])
{
	char key[64];
	uint32_t h = 2166136261u;

	snprintf(key, sizeof(key), "%s/%d", uuid, index);
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = (unsigned char)(h >> 24);
	mac[3] = (unsigned char)(h >> 16);
	mac[4] = (unsigned char)(h >> 8);
	mac[5] = (unsigned char)h;
}

void vmnet_mac_text(const unsigned char mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

int vmnet_vid(int vlan)
{
	return vlan <= NATIVE_VID ? NATIVE_VID : vlan;
}

int vmnet_rules(const struct vmnet_nic *n, const char *rules[][VMNET_RULE_ARGS])
{
	/* The words after "-i TAP": each rule is appended to, or deleted from, HVNODE-TAPS,
	 * whose policy is DROP: what no rule of the tap RETURNs is dropped. */
	static const char *const mgmt[][VMNET_RULE_ARGS] = {
		{ "-p", "IPv4", "--ip-proto", "udp", "--ip-sport", "67", "-j", "DROP" },
		{ "-p", "IPv4", "--ip-proto", "udp", "--ip-dport", "68", "-j", "DROP" },
		{ "-p", "IPv4", "--ip-proto", "icmp", "--ip-icmp-type", "redirect", "-j", "DROP" },
		{ "-p", "IPv6", "--ip6-proto", "udp", "--ip6-sport", "547", "-j", "DROP" },
		{ "-p", "IPv6", "--ip6-proto", "udp", "--ip6-dport", "546", "-j", "DROP" },
		{ "-p", "IPv6", "--ip6-proto", "ipv6-icmp", "--ip6-icmp-type", "router-advertisement",
		  "-j", "DROP" },
		{ "-p", "IPv6", "--ip6-proto", "ipv6-icmp", "--ip6-icmp-type", "redirect", "-j",
		  "DROP" },
		{ "-p", "IPv4", "-j", "RETURN" },
		{ "-p", "IPv6", "-j", "RETURN" },
		{ "-p", "ARP", "-j", "RETURN" },
	};
	int k = 0;

	memset(rules, 0, sizeof(rules[0]) * VMNET_RULES);
	rules[k][0] = "!", rules[k][1] = "-s", rules[k][2] = n->mac_text;
	rules[k][3] = "-j", rules[k][4] = "DROP";
	k++;
	rules[k][0] = "-p", rules[k][1] = "ARP", rules[k][2] = "!", rules[k][3] = "--arp-htype";
	rules[k][4] = "1", rules[k][5] = "-j", rules[k][6] = "DROP";
	k++;
	rules[k][0] = "-p", rules[k][1] = "ARP", rules[k][2] = "!", rules[k][3] = "--arp-mac-src";
	rules[k][4] = n->mac_text, rules[k][5] = "-j", rules[k][6] = "DROP";
	k++;
	if (vmnet_vid(n->vlan) == vmnet_vid(n->mgmt_vlan)) {
		for (size_t i = 0; i < sizeof(mgmt) / sizeof(mgmt[0]); i++, k++)
			memcpy(rules[k], mgmt[i], sizeof(mgmt[i]));
	} else {
		rules[k][0] = "-j", rules[k][1] = "RETURN";
		k++;
	}
	return k;
}

/* Runs PROGRAM ARGS... with stdout to /dev/null; its first stderr line goes to ERR. Returns its
 * exit status, or -1. */
static int vmnet_exec(char *const argv[], char *err, size_t errlen)
{
	char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	char buf[256];
	int pipefd[2], status;
	ssize_t got = 0, r;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return snprintf(err, errlen, "pipe: %s", strerror(errno)), -1;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(pipefd[1], 2) < 0)
			_exit(127);
		execve(argv[0], argv, envp);
		dprintf(2, "unable to run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	if (pid < 0) {
		close(pipefd[0]);
		return snprintf(err, errlen, "fork: %s", strerror(errno)), -1;
	}
	while (got < (ssize_t)sizeof(buf) - 1 &&
	       ((r = read(pipefd[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0 ||
		(r < 0 && errno == EINTR)))
		got += r > 0 ? r : 0;
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return snprintf(err, errlen, "waitpid: %s", strerror(errno)), -1;
	buf[got] = 0;
	buf[strcspn(buf, "\n")] = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		snprintf(err, errlen, "%s failed: %s", argv[0], buf[0] ? buf : "no message");
		return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	return 0;
}

/* ebtables -t nat {-A|-D} HVNODE-TAPS -i TAP RULE... */
static int vmnet_rule(const struct vmnet_nic *n, const char *op, const char *const rule[],
		      char *err, size_t errlen)
{
	char *argv[VMNET_ARGS_MAX];
	int argc = 0;

	argv[argc++] = (char *)n->ebtables;
	argv[argc++] = "-t", argv[argc++] = "nat";
	argv[argc++] = (char *)op, argv[argc++] = "HVNODE-TAPS";
	argv[argc++] = "-i", argv[argc++] = (char *)n->tap;
	for (int i = 0; i < VMNET_RULE_ARGS && rule[i]; i++)
		argv[argc++] = (char *)rule[i];
	argv[argc] = NULL;
	return vmnet_exec(argv, err, errlen);
}

static int tun_open(const char *tap, struct ifreq *ifr, char *err, size_t errlen)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return snprintf(err, errlen, "unable to open /dev/net/tun: %s", strerror(errno)), -1;
	memset(ifr, 0, sizeof(*ifr));
	ifr->ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr->ifr_name, IFNAMSIZ, "%s", tap);
	if (ioctl(fd, TUNSETIFF, ifr) < 0) {
		snprintf(err, errlen, "unable to create tap %s: %s", tap, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Writes TEXT to /proc/sys/net/ipv6/conf/TAP/KEY. */
static int tap_sysctl(const char *tap, const char *key, const char *text)
{
	char path[96];
	int fd, ok;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/%s", tap, key);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok ? 0 : -1;
}

/* N's tap into (SIOCBRADDIF) or out of (SIOCBRDELIF) N's bridge. */
static int tap_bridge(const struct vmnet_nic *n, unsigned long request)
{
	struct ifreq ifr = { .ifr_ifindex = (int)if_nametoindex(n->tap) };
	int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (sock < 0)
		return -1;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", n->bridge);
	rc = ifr.ifr_ifindex ? ioctl(sock, request, &ifr) : -1;
	close(sock);
	return rc;
}

/* TAP up or down. */
static int tap_up(const char *tap, int up)
{
	struct ifreq ifr;
	int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = -1;

	if (sock < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", tap);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags = (short)(up ? ifr.ifr_flags | IFF_UP : ifr.ifr_flags & ~IFF_UP);
		rc = ioctl(sock, SIOCSIFFLAGS, &ifr);
	}
	close(sock);
	return rc;
}

/* Removes the persistent TAP (it goes with the last descriptor); fails while a VMM holds it. */
static int tap_remove(const char *tap)
{
	char err[256];
	struct ifreq ifr;
	int fd = tun_open(tap, &ifr, err, sizeof(err)), rc;

	if (fd < 0)
		return -1;
	rc = ioctl(fd, TUNSETPERSIST, 0UL);
	close(fd);
	return rc;
}

int vmnet_attach(const struct vmnet_nic *n, char *err, size_t errlen)
{
	const char *rules[VMNET_RULES][VMNET_RULE_ARGS];
	char vid[12], native[12];
	struct ifreq ifr;
	int fd, nrules;
	char *add[] = { (char *)n->bridge_cmd, "vlan", "add", "dev", (char *)n->tap, "vid", vid,
			"pvid", "untagged", NULL };
	char *del[] = { (char *)n->bridge_cmd, "vlan", "del", "dev", (char *)n->tap, "vid", native,
			NULL };
	char *trunk[] = { (char *)n->bridge_cmd, "vlan", "add", "dev", (char *)n->uplink, "vid", vid,
			  NULL };
	char *port[] = { (char *)n->bridge_cmd, "link", "set", "dev", (char *)n->tap, "learning",
			 "off", "flood", "off", NULL };
	char *fdb[] = { (char *)n->bridge_cmd, "fdb", "add", (char *)n->mac_text, "dev", (char *)n->tap,
			"master", "static", "vlan", vid, NULL };

	snprintf(vid, sizeof(vid), "%d", vmnet_vid(n->vlan));
	snprintf(native, sizeof(native), "%d", NATIVE_VID);
	/* The rules first (by name: they apply to the tap from its first frame). */
	nrules = vmnet_rules(n, rules);
	for (int i = 0; i < nrules; i++)
		if (vmnet_rule(n, "-A", rules[i], err, errlen))
			return -1;
	fd = tun_open(n->tap, &ifr, err, errlen);
	if (fd < 0)
		return -1;
	if (ioctl(fd, TUNSETOWNER, (unsigned long)n->uid) < 0 ||
	    ioctl(fd, TUNSETGROUP, (unsigned long)n->uid) < 0 || ioctl(fd, TUNSETPERSIST, 1UL) < 0) {
		snprintf(err, errlen, "unable to give tap %s to uid %u: %s", n->tap, (unsigned)n->uid,
			 strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	/* No address, no router solicitation, no DAD from the node into the VM network. */
	if (tap_sysctl(n->tap, "disable_ipv6", "1") < 0)
		return snprintf(err, errlen, "unable to turn IPv6 off on %s: %s", n->tap,
				strerror(errno)), -1;
	if (tap_bridge(n, SIOCBRADDIF) < 0)
		return snprintf(err, errlen, "unable to add %s to the VM bridge %s: %s", n->tap,
				n->bridge, strerror(errno)), -1;
	/* Its VLAN (an access port), the uplink's trunk; no learning (the guest's MAC is a static
	 * entry: no frame of any kind moves another MAC to this port) and no unknown-unicast
	 * flooding into it (a guest sees no other host's traffic). */
	if ((vmnet_vid(n->vlan) != NATIVE_VID &&
	     (vmnet_exec(add, err, errlen) || vmnet_exec(del, err, errlen) ||
	      (n->uplink[0] && vmnet_exec(trunk, err, errlen)))) ||
	    vmnet_exec(port, err, errlen) || vmnet_exec(fdb, err, errlen))
		return -1;
	if (tap_up(n->tap, 1) < 0)
		return snprintf(err, errlen, "unable to bring %s up: %s", n->tap, strerror(errno)), -1;
	return 0;
}

void vmnet_untrunk(const struct vmnet_nic *n)
{
	char vid[12], err[256];
	char *del[] = { (char *)n->bridge_cmd, "vlan", "del", "dev", (char *)n->uplink, "vid", vid,
			NULL };

	if (!n->uplink[0] || vmnet_vid(n->vlan) == NATIVE_VID || n->vlan == n->mgmt_vlan)
		return;
	snprintf(vid, sizeof(vid), "%d", n->vlan);
	vmnet_exec(del, err, sizeof(err));
}

void vmnet_detach(const struct vmnet_nic *n)
{
	const char *rules[VMNET_RULES][VMNET_RULE_ARGS];
	char err[256];
	int nrules = vmnet_rules(n, rules);

	/* Down and off the bridge first: a tap a VMM still holds (it cannot be removed then)
	 * forwards nothing. Without its rules, HVNODE-TAPS drops what it sends. */
	if (if_nametoindex(n->tap)) {
		tap_up(n->tap, 0);
		if (n->bridge[0])
			tap_bridge(n, SIOCBRDELIF);
		tap_remove(n->tap);
	}
	/* Every copy of each rule (an attach that failed half-way may have left some). */
	for (int i = 0; i < nrules; i++)
		for (int tries = 0; tries < 4 && vmnet_rule(n, "-D", rules[i], err, sizeof(err)) == 0;
		     tries++)
			;
}

static int vmnet_ifname(const char *s)
{
	return s[0] && s[0] != '-' && strlen(s) < IFNAMSIZ &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == strlen(s);
}

int vmnet_read_config(const char *path, struct vmnet_nic *n)
{
	char text[1024], *line, *save = NULL;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	n->bridge[0] = n->uplink[0] = n->node_mac[0] = 0;
	n->mgmt_vlan = 0;
	if (fd < 0)
		return -1;
	got = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (got < 0)
		return -1;
	text[got] = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "vm_bridge=", 10) && vmnet_ifname(line + 10))
			snprintf(n->bridge, sizeof(n->bridge), "%s", line + 10);
		else if (!strncmp(line, "uplink=", 7) && vmnet_ifname(line + 7))
			snprintf(n->uplink, sizeof(n->uplink), "%s", line + 7);
		else if (!strncmp(line, "mac=", 4) && strlen(line + 4) == 17)
			snprintf(n->node_mac, sizeof(n->node_mac), "%s", line + 4);
		else if (!strncmp(line, "vlan=", 5))
			n->mgmt_vlan = atoi(line + 5) > 1 && atoi(line + 5) <= 4094 ? atoi(line + 5) : 0;
	}
	return n->bridge[0] ? 0 : -1;
}

int vmnet_reset(const char *ebtables, const char *sysfs_net)
{
	char *flush[] = { (char *)ebtables, "-t", "nat", "-F", "HVNODE-TAPS", NULL };
	char err[256];
	DIR *d = opendir(sysfs_net);
	struct dirent *e;
	int left = 0;

	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, "hvtap", 5) && strlen(e->d_name) < IFNAMSIZ &&
		    tap_remove(e->d_name) == 0)
			left++;
	if (d)
		closedir(d);
	vmnet_exec(flush, err, sizeof(err));
	return left;
}
