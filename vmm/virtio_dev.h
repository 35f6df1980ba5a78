/* hvnode-vmm: the virtio-mmio transport's interface to its devices (virtio_mmio.c) and the
 * devices' pure request parsers, exported for the unit tests and fuzz targets. */
#ifndef HVNODE_VIRTIO_DEV_H
#define HVNODE_VIRTIO_DEV_H
#include <sys/uio.h>

#include "vmm.h"

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#define VIRTIO_BIT(nr) (1ull << (nr))	/* a feature bit's mask from its number */
/* what every device here offers: virtio 1.x and indirect descriptors. The event index
 * (VIRTIO_RING_F_EVENT_IDX) is implemented (virtq.c) and unit-tested, but not offered: with it
 * offered, `make soak` panicked the node kernel under TCG (nested SVM) within 4-10 starts, and
 * ran 30 of 30 without (see the soak figures in the issue notes). */
#define VIRTIO_COMMON_FEATURES (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC))
#define VMMIO_MAX_QUEUES 2
#define VMMIO_SIZE 0x1000

struct vmmio;

struct vdev_ops {
	const char *kind;
	uint32_t device_id;
	uint64_t features;
	unsigned nqueues;
	uint16_t qsize;
	void (*notify)(void *dev, struct vmmio *t, unsigned q);
	/* features_ok: whether the driver's accepted FEATURES (within the offer) go together;
	 * false refuses FEATURES_OK. NULL: any subset of the offer. */
	bool (*features_ok)(uint64_t features);
};

/* a device's chain handler: >= 0 bytes written to the chain (it goes to the used ring),
 * -EAGAIN to put the chain back and stop, other negative to mark the device broken. */
typedef int vmmio_handler(void *dev, struct vmmio *t, struct virtq_chain *c);

int vmmio_create(struct vmm *v, const struct vdev_ops *ops, void *dev, const void *config, size_t cfglen,
		 struct counters *ctr, struct vmmio **out);
int vmmio_init(struct vmm *v, const struct vdev_ops *ops, void *dev, const void *config, size_t cfglen,
	       struct counters *ctr, struct vmmio **out);
unsigned vmmio_irq_pin(unsigned slot, bool acpi);
int vmmio_drain(struct vmmio *t, unsigned q, vmmio_handler *fn);
const struct gmem *vmmio_mem(const struct vmmio *t);
uint64_t vmmio_features(const struct vmmio *t);
int vmmio_pop_more(struct vmmio *t, struct virtq_chain *c, uint32_t **used_len);

/* blk.c: the parsed form of one virtio-blk request (virtio 1.2 section 5.2.6) */
#define VBLK_MAX_IOV VIRTQ_MAX_SEGS
#define VBLK_MAX_RANGES 32			/* max_discard_seg, max_write_zeroes_seg */
#define VBLK_MAX_RANGE_SECTORS (1u << 23)	/* 4 GiB per range */
struct vblk_range {
	uint64_t sector;
	uint32_t sectors;
	bool unmap;			/* WRITE_ZEROES may punch a hole */
};
struct vblk_req {
	uint32_t type;
	uint64_t sector;
	uint64_t len;			/* data bytes */
	struct iovec iov[VBLK_MAX_IOV];	/* data buffers in guest memory */
	unsigned niov;
	struct vblk_range range[VBLK_MAX_RANGES];	/* DISCARD, WRITE_ZEROES */
	unsigned nranges;
	uint8_t *status;		/* the status byte in guest memory */
};
int vblk_parse(const struct gmem *g, const struct virtq_chain *c, uint64_t capacity, bool ro,
	       struct vblk_req *r);

/* net.c (virtio 1.2 section 5.1.6): frames of at most VNET_MAX_PACKET bytes (the receive
 * buffer size a driver must give without MRG_RXBUF, 5.1.6.3.1: a 64 KiB TCP segment with its
 * Ethernet and VLAN headers) after a 12-byte struct virtio_net_hdr_v1 */
#define VNET_HDR_LEN 12
#define VNET_MAX_PACKET 65562
#define VNET_MAX_FRAME (VNET_HDR_LEN + VNET_MAX_PACKET)
#define VNET_DEFAULT_MTU 1500
#define VNET_MAX_IOV (VIRTQ_MAX_SEGS + 1)	/* the VMM's vnet header, then the guest's segments */
/* vnet_tx_parse: a transmit chain as an iovec (at most VNET_MAX_IOV entries) for writev() to the
 * tap: the guest's header, checked against FEATURES (the negotiated ones) and copied to HDR in
 * its canonical form, then the guest's bytes after its header. 0, or -EINVAL to drop the frame. */
int vnet_tx_parse(const struct gmem *g, const struct virtq_chain *c, uint64_t features, uint8_t hdr[VNET_HDR_LEN],
		  struct iovec *iov, unsigned *niov);
/* vnet_rx_iov: 0 and the receive buffers as iov, or -EINVAL (a driver bug: device broken). */
int vnet_rx_iov(const struct gmem *g, const struct virtq_chain *c, struct iovec *iov, unsigned *niov);
/* vnet_rx_hdr: the tap's header HDR of a received frame made fit for a guest with FEATURES, with
 * NUM_BUFFERS set: 0, or -EINVAL when the frame needs an offload the guest did not accept. */
int vnet_rx_hdr(uint8_t hdr[VNET_HDR_LEN], uint64_t features, uint16_t num_buffers);

/* rng.c */
int vrng_iov(const struct gmem *g, const struct virtq_chain *c, struct iovec *iov, unsigned *niov);

#endif
