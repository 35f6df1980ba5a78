/* hvnode-vmm: guest memory view and split virtqueue walker (virtio 1.2 section 2.7).
 * Pure code: no system calls, no allocation. Guest memory is a (base, size) view; every
 * index, address and length read from guest memory is checked before use. Trusts nothing
 * in the rings; trusts the view itself (set up by the VMM). */
#ifndef HVNODE_VIRTQ_H
#define HVNODE_VIRTQ_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Guest RAM as the VMM maps it: guest physical address A is at host address base + A for A
 * below size, except in [hole, hole_end), which is not RAM (the MMIO hole below 4 GiB of a
 * guest with more memory than fits under it; hole_end 0: no hole). */
struct gmem {
	uint8_t *base;
	uint64_t size;
	uint64_t hole, hole_end;
};

/* gmem_ptr: host pointer for guest range [addr, addr + len), or NULL when any byte is
 * outside RAM: past the end or in the hole (no 64-bit wrap-around possible). */
static inline void *gmem_ptr(const struct gmem *g, uint64_t addr, uint64_t len)
{
	if (addr > g->size || len > g->size - addr)
		return NULL;
	if (g->hole_end && addr < g->hole_end && (addr >= g->hole || len > g->hole - addr))
		return NULL;
	return g->base + addr;
}

/* gmem_low_end: the end of RAM below 4 GiB (where the boot data, initrd and 32-bit DMA live). */
static inline uint64_t gmem_low_end(const struct gmem *g)
{
	return g->hole_end ? g->hole : g->size;
}

#define VIRTQ_MAX_SIZE 256
#define VIRTQ_MAX_SEGS 256	/* segments in one chain, direct plus indirect */

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq {
	uint64_t desc, avail, used;	/* guest physical addresses of the three areas */
	uint16_t size;			/* negotiated queue size, power of two */
	uint16_t last_avail;		/* next avail entry the device will take */
	uint16_t used_idx;		/* next used entry the device will fill */
	bool indirect;			/* VIRTIO_F_INDIRECT_DESC negotiated */
	bool event_idx;			/* VIRTIO_F_EVENT_IDX negotiated (virtio 1.2 2.7.7, 2.7.10) */
};

struct virtq_seg {
	uint64_t addr;
	uint32_t len;
	bool write;
};

/* One descriptor chain, copied out of guest memory: readable segments first. */
struct virtq_chain {
	uint16_t head;
	uint16_t nseg;
	uint16_t nread;		/* segments [0, nread) are device-readable */
	uint64_t rlen, wlen;	/* total readable and writable bytes */
	struct virtq_seg seg[VIRTQ_MAX_SEGS];
};

int virtq_check(const struct gmem *g, const struct virtq *q);
/* virtq_pop: 1 and the next available chain in C, 0 when the ring is empty, negative when it is
 * broken. With EVENT_IDX an empty ring first gets avail_event (the used ring's last field) set
 * to the next entry, so that the driver notifies when it adds one, and is looked at again. */
int virtq_pop(const struct gmem *g, struct virtq *q, struct virtq_chain *c);
/* virtq_fill: used entry (HEAD, LEN bytes written) at the device's used index, which advances;
 * the driver sees it at virtq_flush, which publishes the index (release order). virtq_push is
 * the two for one entry. 0, or negative when the used ring is outside guest memory. */
int virtq_fill(const struct gmem *g, struct virtq *q, uint16_t head, uint32_t len);
int virtq_flush(const struct gmem *g, const struct virtq *q);
int virtq_push(const struct gmem *g, struct virtq *q, uint16_t head, uint32_t len);
/* virtq_want_irq: whether the driver wants a used buffer notification for the entries the
 * device added since used index OLD (its value before this batch): without EVENT_IDX unless
 * the driver set VIRTQ_AVAIL_F_NO_INTERRUPT; with it when used_event (the avail ring's last
 * field) lies in [OLD, used_idx) (vring_need_event). */
bool virtq_want_irq(const struct gmem *g, const struct virtq *q, uint16_t old);
size_t virtq_read(const struct gmem *g, const struct virtq_chain *c, uint64_t off, void *dst, size_t len);
size_t virtq_write(const struct gmem *g, const struct virtq_chain *c, uint64_t off, const void *src,
		   size_t len);
/* virtq_read_back: copies up to len bytes from offset off of the writable part (what the device
 * or the host kernel wrote there; the guest may change it meanwhile); returns the count. */
size_t virtq_read_back(const struct gmem *g, const struct virtq_chain *c, uint64_t off, void *dst, size_t len);

#endif
