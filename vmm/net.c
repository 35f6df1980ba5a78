/* hvnode-vmm: virtio-net over a tap device, virtio 1.2 section 5.1: queue 0 receives, queue 1
 * transmits, VIRTIO_NET_F_MAC, no offloads. The tap is opened with IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR and a 12-byte vnet header (struct virtio_net_hdr_v1), so frames move between
 * the tap and guest buffers with readv/writev and no copy. The tap is watched only while the
 * guest has receive buffers; the guest's notification re-arms it.
 * Trusts nothing from the guest: transmit chains must be readable only, between 12 bytes and
 * 64 KiB + header, with a header asking for no offload (none was offered); the tap gets a
 * header of the VMM's own (all zero), never the guest's, which another vCPU could rewrite
 * between the check and the writev. Receive chains must be writable only and hold at least
 * the header; the used length never exceeds them. Bad frames are dropped and counted. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/if_tun.h>

#include "virtio_dev.h"

#define VIRTIO_ID_NET 1
#define VIRTIO_NET_F_MAC (1ull << 5)
#define VNET_QSIZE 256
#define VNET_RXQ 0
#define VNET_TXQ 1

struct vnet {
	int tap;
	bool rx_watched;
	bool tap_gone;		/* the tap failed or hung up: it left the loop for good */
	struct counters ctr;
	struct vmmio *t;
	struct vmm *vmm;
	struct iovec iov[VNET_MAX_IOV];
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

/* vnet_tx_parse: 0 and the frame as iov (at most VNET_MAX_IOV entries): a zero vnet header of
 * the VMM's own, then the guest's bytes after its header; or -EINVAL to drop the frame. */
int vnet_tx_parse(const struct gmem *g, const struct virtq_chain *c, struct iovec *iov, unsigned *niov)
{
	static const uint8_t zero_hdr[VNET_HDR_LEN];
	uint8_t hdr[VNET_HDR_LEN];
	uint64_t skip = VNET_HDR_LEN;

	*niov = 0;
	if (c->nread != c->nseg || c->rlen < VNET_HDR_LEN || c->rlen > VNET_MAX_FRAME)
		return -EINVAL;
	if (virtq_read(g, c, 0, hdr, sizeof(hdr)) != sizeof(hdr))
		return -EINVAL;
	if (hdr[0] != 0 || hdr[1] != 0)	/* flags, gso_type: no offload was negotiated */
		return -EINVAL;
	iov[(*niov)++] = (struct iovec){ .iov_base = (void *)zero_hdr, .iov_len = sizeof(zero_hdr) };
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

/* vnet_rx_iov: 0 and the receive buffers as iov, or -EINVAL (a driver bug: device broken). */
int vnet_rx_iov(const struct gmem *g, const struct virtq_chain *c, struct iovec *iov, unsigned *niov)
{
	*niov = 0;
	if (c->nread != 0 || c->wlen < VNET_HDR_LEN)
		return -EINVAL;
	return vnet_iov(g, c, 0, c->nseg, iov, niov);
}

static int vnet_tx(void *dev, struct vmmio *t, struct virtq_chain *c)
{
	struct vnet *n = dev;
	unsigned niov;
	ssize_t w;

	n->ctr.requests++;
	if (vnet_tx_parse(vmmio_mem(t), c, n->iov, &niov) < 0) {
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

static int vnet_rx(void *dev, struct vmmio *t, struct virtq_chain *c)
{
	static const uint16_t one = 1;
	struct vnet *n = dev;
	unsigned niov;
	ssize_t r;

	if (vnet_rx_iov(vmmio_mem(t), c, n->iov, &niov) < 0)
		return -EINVAL;
	if (n->tap_gone)
		return -EAGAIN;
	r = readv(n->tap, n->iov, (int)niov);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return -EAGAIN;	/* nothing to read: keep the buffer */
	if (r <= 0) {
		vnet_tap_gone(n, r < 0 ? errno : 0);
		return -EAGAIN;
	}
	if (r < VNET_HDR_LEN) {
		n->ctr.errors++;
		return 0;
	}
	if ((uint64_t)r > c->wlen)	/* readv cannot; the used length must not either */
		r = (ssize_t)c->wlen;
	virtq_write(vmmio_mem(t), c, 10, &one, sizeof(one));	/* num_buffers */
	n->ctr.requests++;
	n->ctr.bytes += (uint64_t)r;
	return (int)r;
}

static void vnet_watch(struct vnet *n, bool on)
{
	if (!n->tap_gone && n->rx_watched != on && loop_mod(&n->vmm->loop, n->tap, on ? EPOLLIN : 0) == 0)
		n->rx_watched = on;
}

static void vnet_receive(struct vnet *n)
{
	int ret = vmmio_drain(n->t, VNET_RXQ, vnet_rx);

	vnet_watch(n, ret == 1);	/* 0: out of guest buffers; < 0: queue unusable */
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

/* vnet_attach: one NIC on FD, an open tap (or, in the unit tests, a socket that keeps message
 * boundaries) whose frames carry a 12-byte vnet header; NAME names it in counters and errors;
 * MAC from the config, or derived from NAME. The NIC owns FD. */
int vnet_attach(struct vmm *v, int fd, const char *name, const uint8_t *mac)
{
	static const struct vdev_ops ops = {
		.kind = "virtio-net", .device_id = VIRTIO_ID_NET, .nqueues = 2, .qsize = VNET_QSIZE,
		.features = VIRTIO_COMMON_FEATURES | VIRTIO_NET_F_MAC,
		.notify = vnet_notify,
	};
	struct vnet *n = calloc(1, sizeof(*n));
	uint8_t cfg[6];
	int ret;

	if (!n)
		return vmm_err(-ENOMEM, "tap %s: %s", name, strerror(ENOMEM));
	n->vmm = v;
	n->tap = fd;
	if (mac)
		memcpy(cfg, mac, 6);
	else
		vnet_default_mac(name, cfg);
	n->ctr.kind = "virtio-net";
	strncpy(n->ctr.name, name, sizeof(n->ctr.name) - 1);
	ret = loop_add(&v->loop, n->tap, 0, vnet_tap_ready, n);
	if (ret < 0)
		return ret;
	return vmmio_create(v, &ops, n, cfg, sizeof(cfg), &n->ctr, &n->t);
}

/* vnet_create: one NIC on tap TAP (see vnet_attach). */
int vnet_create(struct vmm *v, const char *tap, const uint8_t *mac)
{
	int fd = vnet_open_tap(tap);

	return fd < 0 ? fd : vnet_attach(v, fd, tap, mac);
}
