/* hvnode-vmm: virtio-net over a tap device, virtio 1.2 section 5.1: queue 0 receives, queue 1
 * transmits. Offered: MAC, MTU (the tap's, or --net mtu=), and with --net offload=on the
 * offloads a Linux guest expects: CSUM and HOST_TSO4/6 (the guest hands over partially
 * checksummed frames and TCP segments of up to 64 KiB, which the host kernel completes),
 * GUEST_CSUM and GUEST_TSO4/6 (the tap hands them on to the guest; TUNSETOFFLOAD follows what
 * the guest accepted), and MRG_RXBUF (a received frame spans several receive buffers,
 * num_buffers in its header). The tap is opened with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR and a
 * 12-byte vnet header (struct virtio_net_hdr_v1). Transmit frames go from guest memory to the
 * tap with writev and no copy; received frames go straight into one guest buffer with readv
 * without MRG_RXBUF, and through a per-NIC buffer with it (the frame's length is known before
 * buffers are taken; a frame waits there, and the tap is not read, until the guest has buffers
 * for it). The tap is watched only while the guest has receive buffers and no frame waits; the
 * guest's notification re-arms it.
 * Trusts nothing from the guest: transmit chains must be readable only, between 12 bytes and
 * 12 + 65562 bytes; the header is copied, checked against the negotiated features (only
 * NEEDS_CSUM with its checksum inside the frame, only TCPv4/TCPv6 segmentation with a segment
 * size and a header length inside the frame) and the tap gets that copy, rewritten with every
 * field that does not apply zeroed, never the guest's memory, which another vCPU could rewrite
 * between the check and the writev. Nor the tap: a received header must fit the features the
 * guest accepted (a frame left from before a reset may not), else the frame is dropped.
 * Receive chains must be writable only and hold at least the header; the used length never
 * exceeds them. Bad frames are dropped and counted. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#include "virtio_dev.h"

#define VNET_QSIZE 256
#define VNET_RXQ 0
#define VNET_TXQ 1
#define VNET_DROPS_PER_WAKE 16	/* bad frames read in a row before other events get a turn */
#define VNET_OFFLOAD_MS 100	/* the least time between two TUNSETOFFLOAD changes */

/* what every NIC offers, and the offloads on top (--net offload=off leaves them out) */
#define VNET_PLAIN_FEATURES (VIRTIO_COMMON_FEATURES | VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_MTU))
#define VNET_OFFLOADS (VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |                 \
		       VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |            \
		       VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |              \
		       VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF))
#define HAS(f, bit) (((f) & VIRTIO_BIT(bit)) != 0)

struct vnet {
	int tap;
	bool rx_watched;
	bool tap_gone;		/* the tap failed or hung up: it left the loop for good */
	unsigned tap_offload;	/* the TUN_F_* flags the tap has */
	int64_t offload_ms;	/* when they were last asked for (CLOCK_MONOTONIC, ms) */
	struct counters ctr;
	struct vmmio *t;
	struct vmm *vmm;
	uint8_t txhdr[VNET_HDR_LEN];	/* the checked copy of the guest's transmit header */
	struct iovec iov[VNET_MAX_IOV];
	struct virtq_chain more;	/* a further receive buffer of a merged frame */
	size_t pending;			/* MRG_RXBUF: bytes of the frame in rxbuf, 0: none */
	uint8_t rxbuf[VNET_MAX_FRAME + 1];	/* one byte more: a longer frame shows as cut */
};

static int vnet_iov(const struct gmem *g, const struct virtq_chain *c, unsigned first, unsigned last,
		    struct iovec *iov, unsigned *niov)
{
	*niov = 0;
	for (unsigned i = first; i < last; i++) {
		void *p = gmem_ptr(g, c->seg[i].addr, c->seg[i].len);

		if (!p)
			return -EINVAL;
		iov[(*niov)++] = (struct iovec){ .iov_base = p, .iov_len = c->seg[i].len };
	}
	return 0;
}

/* vnet_features_ok: the dependencies of virtio 1.2 section 5.1.3.1: a guest that takes
 * segments must take partial checksums too, and so must one that sends them. */
static bool vnet_features_ok(uint64_t f)
{
	if ((HAS(f, VIRTIO_NET_F_GUEST_TSO4) || HAS(f, VIRTIO_NET_F_GUEST_TSO6)) && !HAS(f, VIRTIO_NET_F_GUEST_CSUM))
		return false;
	return !((HAS(f, VIRTIO_NET_F_HOST_TSO4) || HAS(f, VIRTIO_NET_F_HOST_TSO6)) && !HAS(f, VIRTIO_NET_F_CSUM));
}

/* vnet_tx_hdr: checks the guest's transmit header H (a copy; little-endian fields) for a frame
 * of LEN bytes after it, under FEATURES; 0 and H in its canonical form (fields that do not
 * apply zeroed, num_buffers 0), or -EINVAL (virtio 1.2 section 5.1.6.2). */
static int vnet_tx_hdr(struct virtio_net_hdr_v1 *h, uint64_t features, uint64_t len)
{
	uint16_t hdr_len = le16toh(h->hdr_len), gso_size = le16toh(h->gso_size);
	uint16_t start = le16toh(h->csum_start), off = le16toh(h->csum_offset);
	bool csum = h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;

	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return -EINVAL;	/* DATA_VALID and RSC_INFO are the device's to set */
	if (csum && (!HAS(features, VIRTIO_NET_F_CSUM) || (uint64_t)start + off + 2 > len))
		return -EINVAL;
	switch (h->gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		hdr_len = gso_size = 0;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!HAS(features, h->gso_type == VIRTIO_NET_HDR_GSO_TCPV4 ? VIRTIO_NET_F_HOST_TSO4 :
				   VIRTIO_NET_F_HOST_TSO6) || !csum || gso_size == 0 || hdr_len > len)
			return -EINVAL;
		break;
	default:		/* UDP, USO, ECN: not offered */
		return -EINVAL;
	}
	if (!csum)
		start = off = 0;
	*h = (struct virtio_net_hdr_v1){ .flags = h->flags, .gso_type = h->gso_type, .hdr_len = htole16(hdr_len),
					 .gso_size = htole16(gso_size), .csum_start = htole16(start),
					 .csum_offset = htole16(off) };
	return 0;
}

int vnet_tx_parse(const struct gmem *g, const struct virtq_chain *c, uint64_t features, uint8_t hdr[VNET_HDR_LEN],
		  struct iovec *iov, unsigned *niov)
{
	struct virtio_net_hdr_v1 h;
	uint64_t skip = VNET_HDR_LEN;

	*niov = 0;
	if (c->nread != c->nseg || c->rlen < VNET_HDR_LEN || c->rlen > VNET_MAX_FRAME)
		return -EINVAL;
	if (virtq_read(g, c, 0, &h, sizeof(h)) != sizeof(h) || vnet_tx_hdr(&h, features, c->rlen - VNET_HDR_LEN) < 0)
		return -EINVAL;
	memcpy(hdr, &h, VNET_HDR_LEN);
	iov[(*niov)++] = (struct iovec){ .iov_base = hdr, .iov_len = VNET_HDR_LEN };
	for (unsigned i = 0; i < c->nseg; i++) {
		uint64_t len = c->seg[i].len, from = skip < len ? skip : len;
		uint8_t *p = gmem_ptr(g, c->seg[i].addr, len);

		if (!p)
			return *niov = 0, -EINVAL;
		skip -= from;
		if (len > from)
			iov[(*niov)++] = (struct iovec){ .iov_base = p + from, .iov_len = len - from };
	}
	return 0;
}

int vnet_rx_hdr(uint8_t hdr[VNET_HDR_LEN], uint64_t features, uint16_t num_buffers)
{
	struct virtio_net_hdr_v1 h;
	uint8_t flags;

	memcpy(&h, hdr, sizeof(h));
	flags = h.flags;
	if (!HAS(features, VIRTIO_NET_F_GUEST_CSUM)) {
		if (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			return -EINVAL;
		flags = 0;	/* DATA_VALID too: flags must be 0 (virtio 1.2 5.1.6.4.1) */
	}
	if (flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		return -EINVAL;
	switch (h.gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		if (!HAS(features, VIRTIO_NET_F_GUEST_TSO4))
			return -EINVAL;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!HAS(features, VIRTIO_NET_F_GUEST_TSO6))
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	h.flags = flags;
	h.num_buffers = htole16(num_buffers);
	memcpy(hdr, &h, sizeof(h));
	return 0;
}

/* vnet_rx_usable: a receive chain is writable only and holds at least the header */
static bool vnet_rx_usable(const struct virtq_chain *c)
{
	return c->nread == 0 && c->wlen >= VNET_HDR_LEN;
}

int vnet_rx_iov(const struct gmem *g, const struct virtq_chain *c, struct iovec *iov, unsigned *niov)
{
	*niov = 0;
	if (!vnet_rx_usable(c))
		return -EINVAL;
	return vnet_iov(g, c, 0, c->nseg, iov, niov);
}

static int vnet_tx(void *dev, struct vmmio *t, struct virtq_chain *c)
{
	struct vnet *n = dev;
	unsigned niov;
	ssize_t w;

	n->ctr.requests++;
	if (vnet_tx_parse(vmmio_mem(t), c, vmmio_features(t), n->txhdr, n->iov, &niov) < 0) {
		n->ctr.errors++;
		return 0;
	}
	w = writev(n->tap, n->iov, (int)niov);
	if (w < 0)
		n->ctr.errors++;
	else
		n->ctr.bytes += (uint64_t)w;
	return 0;
}

/* vnet_tap_gone: the tap (or its interface) went away: it leaves the loop, which would
 * otherwise be woken by its EPOLLERR/EPOLLHUP for ever; frames to it are dropped. */
static void vnet_tap_gone(struct vnet *n, int err)
{
	if (n->tap_gone)
		return;
	n->tap_gone = true;
	n->rx_watched = false;
	n->ctr.errors++;
	loop_del(&n->vmm->loop, n->tap);
	vmm_err(-err, "tap %s: %s; the NIC is down", n->ctr.name, err ? strerror(err) : "hung up");
}

/* vnet_tap_offload: the tap hands over only what the guest accepted (TUNSETOFFLOAD); frames
 * the tap queued before a change are checked one by one (vnet_rx_hdr). A failure (not a tap:
 * the unit tests' sockets) leaves the tap as it is: those frames are checked the same way.
 * At most one change per VNET_OFFLOAD_MS: each takes the host's network configuration lock
 * and sends a netlink event, and a guest can renegotiate (reset) in a loop. */
static void vnet_tap_offload(struct vnet *n, uint64_t f)
{
	struct timespec now;
	int64_t ms;
	unsigned want = 0;

	if (HAS(f, VIRTIO_NET_F_GUEST_CSUM))
		want |= TUN_F_CSUM;
	if (HAS(f, VIRTIO_NET_F_GUEST_TSO4))
		want |= TUN_F_TSO4;
	if (HAS(f, VIRTIO_NET_F_GUEST_TSO6))
		want |= TUN_F_TSO6;
	if (want == n->tap_offload || clock_gettime(CLOCK_MONOTONIC, &now) < 0)
		return;
	ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	if (n->offload_ms && ms - n->offload_ms < VNET_OFFLOAD_MS)
		return;
	n->offload_ms = ms;
	if (ioctl(n->tap, TUNSETOFFLOAD, (unsigned long)want) == 0)
		n->tap_offload = want;
}

/* vnet_tap_read: the next frame from the tap into IOV: its length, or 0 when there is none for
 * now or the tap is gone (vnet_tap_gone: a hangup or an error). */
static ssize_t vnet_tap_read(struct vnet *n, const struct iovec *iov, unsigned niov)
{
	ssize_t r = readv(n->tap, iov, (int)niov);

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r <= 0) {
		vnet_tap_gone(n, r < 0 ? errno : 0);
		return 0;
	}
	return r;
}

/* vnet_rx: without MRG_RXBUF: a frame straight into the guest's buffer; a frame whose header
 * does not fit the guest's features is dropped and the buffer takes the next one. */
static int vnet_rx(struct vnet *n, struct vmmio *t, struct virtq_chain *c, uint64_t f)
{
	const struct gmem *g = vmmio_mem(t);
	uint8_t hdr[VNET_HDR_LEN];
	unsigned niov;
	ssize_t r;

	if (vnet_rx_iov(g, c, n->iov, &niov) < 0)
		return -EINVAL;
	if (n->pending) {	/* read while MRG_RXBUF was on, before a reset */
		n->pending = 0;
		n->ctr.errors++;
	}
	for (unsigned drops = 0; drops < VNET_DROPS_PER_WAKE; drops++) {
		r = vnet_tap_read(n, n->iov, niov);
		if (r == 0)
			return -EAGAIN;	/* nothing to read (or the tap is gone): keep the buffer */
		if ((uint64_t)r > c->wlen)	/* readv cannot; the used length must not either */
			r = (ssize_t)c->wlen;
		if (r >= VNET_HDR_LEN && virtq_read_back(g, c, 0, hdr, sizeof(hdr)) == sizeof(hdr) &&
		    vnet_rx_hdr(hdr, f, 1) == 0 && virtq_write(g, c, 0, hdr, sizeof(hdr)) == sizeof(hdr)) {
			n->ctr.requests++;
			n->ctr.bytes += (uint64_t)r;
			return (int)r;
		}
		n->ctr.errors++;
	}
	return -EAGAIN;
}

/* vnet_rx_read: MRG_RXBUF: the next frame from the tap into rxbuf (n->pending its length);
 * false when there is none (or the tap is gone). A frame longer than rxbuf is dropped. */
static bool vnet_rx_read(struct vnet *n)
{
	const struct iovec iov = { .iov_base = n->rxbuf, .iov_len = sizeof(n->rxbuf) };

	for (unsigned drops = 0; drops < VNET_DROPS_PER_WAKE; drops++) {
		ssize_t r = vnet_tap_read(n, &iov, 1);

		if (r == 0)
			return false;
		if (r >= VNET_HDR_LEN && (size_t)r <= VNET_MAX_FRAME) {
			n->pending = (size_t)r;
			return true;
		}
		n->ctr.errors++;
	}
	return false;
}

/* vnet_rx_merge: MRG_RXBUF: the waiting frame (or the next one) over C and as many further
 * receive buffers as it needs (vmmio_pop_more); when the ring runs out first they all go back
 * and the frame waits for the guest (-EAGAIN with n->pending set). */
static int vnet_rx_merge(struct vnet *n, struct vmmio *t, struct virtq_chain *c, uint64_t f)
{
	const struct gmem *g = vmmio_mem(t);
	uint16_t nbuf = 1;
	size_t off, first;

	if (!vnet_rx_usable(c))
		return -EINVAL;
	for (unsigned drops = 0;; drops++) {
		if (drops == VNET_DROPS_PER_WAKE || (!n->pending && !vnet_rx_read(n)))
			return -EAGAIN;
		if (vnet_rx_hdr(n->rxbuf, f, 1) == 0)
			break;
		n->pending = 0;
		n->ctr.errors++;
	}
	first = n->pending < c->wlen ? n->pending : c->wlen;
	if (virtq_write(g, c, 0, n->rxbuf, first) != first)
		return -EINVAL;
	for (off = first; off < n->pending; nbuf++) {
		uint32_t *used_len;
		size_t w;
		int ret = vmmio_pop_more(t, &n->more, &used_len);

		if (ret == -ENOBUFS) {	/* the whole ring is too small for it: drop it */
			n->pending = 0;
			n->ctr.errors++;
			return -EAGAIN;
		}
		if (ret <= 0)
			return ret == 0 ? -EAGAIN : ret;
		if (n->more.nread != 0 || n->more.wlen == 0)
			return -EINVAL;
		w = n->pending - off < n->more.wlen ? n->pending - off : n->more.wlen;
		if (virtq_write(g, &n->more, 0, n->rxbuf + off, w) != w)
			return -EINVAL;
		*used_len = (uint32_t)w;
		off += w;
	}
	nbuf = htole16(nbuf);
	virtq_write(g, c, offsetof(struct virtio_net_hdr_v1, num_buffers), &nbuf, sizeof(nbuf));
	n->ctr.requests++;
	n->ctr.bytes += n->pending;
	n->pending = 0;
	return (int)first;
}

static int vnet_rx_chain(void *dev, struct vmmio *t, struct virtq_chain *c)
{
	struct vnet *n = dev;
	uint64_t f = vmmio_features(t);

	if (n->tap_gone)
		return -EAGAIN;
	vnet_tap_offload(n, f);
	return HAS(f, VIRTIO_NET_F_MRG_RXBUF) ? vnet_rx_merge(n, t, c, f) : vnet_rx(n, t, c, f);
}

static void vnet_watch(struct vnet *n, bool on)
{
	if (!n->tap_gone && n->rx_watched != on && loop_mod(&n->vmm->loop, n->tap, on ? EPOLLIN : 0) == 0)
		n->rx_watched = on;
}

static void vnet_receive(struct vnet *n)
{
	int ret = vmmio_drain(n->t, VNET_RXQ, vnet_rx_chain);

	/* 1: the tap is empty (watch it), or a frame waits for buffers (the guest's notification
	 * brings them); 0: out of guest buffers; < 0: queue unusable */
	vnet_watch(n, ret == 1 && !n->pending);
}

static void vnet_tap_ready(void *opaque, uint32_t events)
{
	struct vnet *n = opaque;

	if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN))
		vnet_tap_gone(n, 0);
	else
		vnet_receive(n);	/* a failed read tells; without guest buffers the next wake does */
}

static void vnet_notify(void *dev, struct vmmio *t, unsigned q)
{
	if (q == VNET_TXQ)
		vmmio_drain(t, q, vnet_tx);
	else
		vnet_receive(dev);
}

/* vnet_tap_mtu: the MTU of interface NAME, or 0 when it cannot be read. */
static unsigned vnet_tap_mtu(const char *name)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret;

	if (s < 0)
		return 0;
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	ret = ioctl(s, SIOCGIFMTU, &ifr);
	close(s);
	return ret < 0 || ifr.ifr_mtu < 0 ? 0 : (unsigned)ifr.ifr_mtu;
}

static int vnet_open_tap(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int fd, hdr = VNET_HDR_LEN;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return vmm_err(-errno, "unable to open /dev/net/tun: %s", strerror(errno));
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return vmm_err(-errno, "unable to attach tap %s: %s", name, strerror(errno));
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 || ioctl(fd, TUNSETOFFLOAD, 0) < 0)
		return vmm_err(-errno, "unable to set up tap %s: %s", name, strerror(errno));
	return fd;
}

/* vnet_default_mac: a locally administered unicast address derived from the tap name. */
static void vnet_default_mac(const char *name, uint8_t mac[6])
{
	uint32_t h = 2166136261u;

	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	mac[0] = 0x52;
	mac[1] = 0x54;
	memcpy(mac + 2, &h, 4);
}

int vnet_attach(struct vmm *v, int fd, const struct config_nic *cfg)
{
	static const struct vdev_ops plain = {
		.kind = "virtio-net", .device_id = VIRTIO_ID_NET, .nqueues = 2, .qsize = VNET_QSIZE,
		.features = VNET_PLAIN_FEATURES, .notify = vnet_notify, .features_ok = vnet_features_ok,
	}, offload = {
		.kind = "virtio-net", .device_id = VIRTIO_ID_NET, .nqueues = 2, .qsize = VNET_QSIZE,
		.features = VNET_PLAIN_FEATURES | VNET_OFFLOADS, .notify = vnet_notify,
		.features_ok = vnet_features_ok,
	};
	struct virtio_net_config cfgspace = { .mtu = htole16(cfg->mtu ? (uint16_t)cfg->mtu : VNET_DEFAULT_MTU) };
	struct vnet *n = calloc(1, sizeof(*n));
	int ret;

	if (!n) {
		close(fd);
		return vmm_err(-ENOMEM, "tap %s: %s", cfg->tap, strerror(ENOMEM));
	}
	n->vmm = v;
	n->tap = fd;
	if (cfg->has_mac)
		memcpy(cfgspace.mac, cfg->mac, 6);
	else
		vnet_default_mac(cfg->tap, cfgspace.mac);
	n->ctr.kind = "virtio-net";
	strncpy(n->ctr.name, cfg->tap, sizeof(n->ctr.name) - 1);
	ret = loop_add(&v->loop, n->tap, 0, vnet_tap_ready, n);
	if (ret < 0)
		return ret;
	/* the config space up to mtu: mac, status and max_virtqueue_pairs (neither offered) first */
	return vmmio_create(v, cfg->offload_off ? &plain : &offload, n, &cfgspace,
			    offsetof(struct virtio_net_config, mtu) + sizeof(cfgspace.mtu), &n->ctr, &n->t);
}

int vnet_create(struct vmm *v, const struct config_nic *cfg)
{
	struct config_nic c = *cfg;
	int fd = vnet_open_tap(cfg->tap);
	unsigned mtu;

	if (fd < 0)
		return fd;
	/* without mtu=, the tap's own (the supervisor sets it to the bridge's); with it, the tap
	 * should be set to match, or the host drops the longer frames */
	mtu = vnet_tap_mtu(cfg->tap);
	if (!c.mtu)
		c.mtu = mtu >= CONFIG_MIN_MTU && mtu <= CONFIG_MAX_MTU ? mtu : VNET_DEFAULT_MTU;
	return vnet_attach(v, fd, &c);
}
