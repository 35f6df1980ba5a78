/* hvtest-net: raw Ethernet frames for the VM network test (180_vm_network), run inside guests.
 *
 *   hvtest-net send IFACE KIND MARKER   one frame of KIND carrying "HVMARK:MARKER", from IFACE's
 *                                       own MAC unless KIND says otherwise:
 *     raw       ethertype 0x88b5 (IEEE local experimental), to ff:ff:ff:ff:ff:ff
 *     spoof     the same from 02:00:00:00:00:99, a MAC that is not the guest's
 *     tagged:V  the same inside an 802.1Q tag with VLAN id V
 *     dhcp      IPv4 UDP 67 -> 68 to 255.255.255.255 (what a DHCP server's offer looks like)
 *     dhcp68    IPv4 UDP 1067 -> 68 (an offer from another port: clients only look at 68)
 *     udp       IPv4 UDP 1067 -> 1068 (neither DHCP port)
 *     ra        ICMPv6 router advertisement to ff02::1, prefix 2001:db8:77::/64 with
 *               autonomous addressing, router lifetime 1800 s (valid checksums: a host that
 *               receives it takes the prefix and the route); the marker in an experimental
 *               option (type 253, RFC 4727), which receivers ignore
 *     echo6     ICMPv6 echo request to ff02::1 with the marker as its data
 *     q1.KIND   frame KIND inside an 802.1Q tag with VLAN id 1 (the untagged VLAN's id on the
 *               bridge: what a filter matching only untagged IPv4 or IPv6 would miss)
 *   hvtest-net recv IFACE NAME          prints "HVGUEST: NAME listening" once its socket is
 *                                       bound, then "HVNET: NAME got MARKER" once for each marker
 *                                       received on IFACE (not sent by it), forever
 * Exit status 0, 1 on a system error, 2 on usage. */
#include <arpa/inet.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define ETH_P_ALL_BE htons(0x0003)

static uint16_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, unsigned long v)
{
	put16(p, (unsigned)(v >> 16));
	put16(p + 2, (unsigned)v);
}

/* An IPv4 UDP datagram at P (20 + 8 + len bytes). */
static size_t udp4(uint8_t *p, unsigned sport, unsigned dport, const char *data, size_t len)
{
	size_t total = 28 + len;

	memset(p, 0, 28);
	p[0] = 0x45;
	put16(p + 2, (unsigned)total);
	p[8] = 64;
	p[9] = 17;
	p[12] = 10, p[13] = 0, p[14] = 2, p[15] = 77;         /* 10.0.2.77 */
	memset(p + 16, 0xff, 4);                            /* 255.255.255.255 */
	put16(p + 10, (unsigned)(~csum_add(0, p, 20) & 0xffff));
	put16(p + 20, sport);
	put16(p + 22, dport);
	put16(p + 24, (unsigned)(8 + len));                 /* UDP checksum 0: none */
	memcpy(p + 28, data, len);
	return total;
}

/* An IPv6 packet to ff02::1 from a link-local address made of MAC, carrying ICMPv6 BODY. */
static size_t icmp6(uint8_t *p, const uint8_t mac[6], const uint8_t *body, size_t len)
{
	uint8_t pseudo[40];
	uint32_t sum;

	memset(p, 0, 40);
	p[0] = 0x60;
	put16(p + 4, (unsigned)len);
	p[6] = 58;
	p[7] = 255;
	p[8] = 0xfe, p[9] = 0x80;
	p[16] = mac[0] ^ 2, p[17] = mac[1], p[18] = mac[2], p[19] = 0xff, p[20] = 0xfe;
	p[21] = mac[3], p[22] = mac[4], p[23] = mac[5];
	p[24] = 0xff, p[25] = 0x02, p[39] = 1;
	memcpy(p + 40, body, len);
	p[42] = p[43] = 0;
	memcpy(pseudo, p + 8, 32);
	sum = csum_add(0, pseudo, 32);
	sum += (uint32_t)len;
	sum += 58;
	sum = csum_add(sum, p + 40, len);
	put16(p + 42, (unsigned)(~sum & 0xffff));
	return 40 + len;
}

static int send_frame(const char *ifname, const char *kind, const char *marker)
{
	uint8_t frame[1514], body[512], mac[6];
	char data[128];
	struct ifreq ifr;
	struct sockaddr_ll to = { .sll_family = AF_PACKET };
	size_t n = 14, dlen;
	int fd = socket(AF_PACKET, SOCK_RAW, 0), q1 = !strncmp(kind, "q1.", 3);

	if (fd < 0 || strlen(ifname) >= IFNAMSIZ)
		return perror("hvtest-net: socket"), 1;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		return perror("hvtest-net: SIOCGIFHWADDR"), 1;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	to.sll_ifindex = (int)if_nametoindex(ifname);
	to.sll_halen = 6;
	dlen = (size_t)snprintf(data, sizeof(data), "HVMARK:%s", marker);
	if (dlen >= sizeof(data))
		return fprintf(stderr, "hvtest-net: marker too long\n"), 2;
	memset(frame, 0xff, 6);
	memcpy(frame + 6, mac, 6);
	if (q1)
		kind += 3;
	if (!strcmp(kind, "raw") || !strcmp(kind, "spoof")) {
		if (kind[0] == 's')
			memcpy(frame + 6, "\x02\x00\x00\x00\x00\x99", 6);
		put16(frame + 12, 0x88b5);
		memcpy(frame + 14, data, dlen);
		n = 14 + dlen;
	} else if (!strncmp(kind, "tagged:", 7)) {
		put16(frame + 12, 0x8100);
		put16(frame + 14, (unsigned)atoi(kind + 7) & 0xfff);
		put16(frame + 16, 0x88b5);
		memcpy(frame + 18, data, dlen);
		n = 18 + dlen;
	} else if (!strcmp(kind, "dhcp") || !strcmp(kind, "dhcp68") || !strcmp(kind, "udp")) {
		put16(frame + 12, 0x0800);
		n = 14 + udp4(frame + 14, !strcmp(kind, "dhcp") ? 67 : 1067, kind[0] == 'd' ? 68 : 1068,
			      data, dlen);
	} else if (!strcmp(kind, "ra") || !strcmp(kind, "echo6")) {
		size_t blen, opt = (2 + dlen + 7) / 8 * 8;

		memcpy(frame, "\x33\x33\x00\x00\x00\x01", 6);
		put16(frame + 12, 0x86dd);
		memset(body, 0, sizeof(body));
		if (kind[0] == 'r') {
			body[0] = 134;                       /* router advertisement */
			body[4] = 64;                        /* cur hop limit */
			put16(body + 6, 1800);               /* router lifetime, s */
			body[16] = 3, body[17] = 4;          /* prefix information, 32 bytes */
			body[18] = 64, body[19] = 0xc0;      /* /64, on-link + autonomous */
			put32(body + 20, 86400);
			put32(body + 24, 14400);
			body[32] = 0x20, body[33] = 0x01, body[34] = 0x0d, body[35] = 0xb8;
			body[37] = 0x77;                     /* 2001:db8:77:: */
			body[48] = 253;                      /* experimental option */
			body[49] = (uint8_t)(opt / 8);
			memcpy(body + 50, data, dlen);
			blen = 48 + opt;
		} else {
			body[0] = 128;                       /* echo request */
			put16(body + 4, 0x4856);
			memcpy(body + 8, data, dlen);
			blen = 8 + dlen;
		}
		n = 14 + icmp6(frame + 14, mac, body, blen);
	} else {
		return fprintf(stderr, "hvtest-net: unknown kind %s\n", kind), 2;
	}
	if (q1) {
		memmove(frame + 16, frame + 12, n - 12);
		put16(frame + 12, 0x8100);
		put16(frame + 14, 1);
		n += 4;
	}
	while (n < 60)
		frame[n++] = 0;
	if (sendto(fd, frame, n, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)n)
		return perror("hvtest-net: sendto"), 1;
	close(fd);
	return 0;
}

static int recv_frames(const char *ifname, const char *name)
{
	char seen[64][48];
	int nseen = 0;
	struct sockaddr_ll at = { .sll_family = AF_PACKET, .sll_protocol = ETH_P_ALL_BE };
	int fd = socket(AF_PACKET, SOCK_RAW, ETH_P_ALL_BE);
	uint8_t frame[2048];

	at.sll_ifindex = (int)if_nametoindex(ifname);
	if (fd < 0 || bind(fd, (struct sockaddr *)&at, sizeof(at)) < 0)
		return perror("hvtest-net: packet socket"), 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("HVGUEST: %s listening\n", name);
	for (;;) {
		struct sockaddr_ll from;
		socklen_t fromlen = sizeof(from);
		ssize_t got = recvfrom(fd, frame, sizeof(frame) - 1, 0, (struct sockaddr *)&from, &fromlen);
		char marker[48];
		int known = 0;
		size_t k;

		if (got <= 0 || from.sll_pkttype == PACKET_OUTGOING) /* what this guest sent */
			continue;
		frame[got] = 0;
		for (ssize_t i = 0; i + 7 < got; i++) {
			if (memcmp(frame + i, "HVMARK:", 7))
				continue;
			for (k = 0; k + 1 < sizeof(marker) && i + 7 + (ssize_t)k < got &&
				    frame[i + 7 + k] > ' ' && frame[i + 7 + k] < 127; k++)
				marker[k] = (char)frame[i + 7 + k];
			marker[k] = 0;
			for (int j = 0; j < nseen; j++)
				known |= !strcmp(seen[j], marker);
			if (!known && nseen < 64) {
				strcpy(seen[nseen++], marker);
				printf("HVNET: %s got %s\n", name, marker);
			}
			break;
		}
	}
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "send"))
		return send_frame(argv[2], argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[1], "recv"))
		return recv_frames(argv[2], argv[3]);
	fprintf(stderr, "usage: hvtest-net send IFACE KIND MARKER | recv IFACE NAME\n");
	return 2;
}
