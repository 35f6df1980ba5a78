/* hvnode-vmm: virtio-blk over a raw file or block device, virtio 1.2 section 5.2: requests
 * IN, OUT, FLUSH, GET_ID, DISCARD and WRITE_ZEROES (fallocate: punching holes, zeroing
 * ranges, with plain zero writes where the file system cannot), read-only mode
 * (VIRTIO_BLK_F_RO: no DISCARD or WRITE_ZEROES offered, OUT answers IOERR), capacity in
 * 512-byte sectors, BLK_SIZE 512, SEG_MAX. A disk whose size is not a multiple of 512 is
 * refused at startup.
 * Trusts nothing in a request: the header is copied out of the chain, data buffers come from
 * the validated chain, the data length must be a whole number of sectors and the sector
 * range must lie inside the disk (no overflow); a chain without header or status byte is
 * counted as an error and returned unused. I/O runs on the event loop, never on a vCPU. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include "virtio_dev.h"

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_BLK_F_SEG_MAX (1ull << 2)
#define VIRTIO_BLK_F_RO (1ull << 5)
#define VIRTIO_BLK_F_BLK_SIZE (1ull << 6)
#define VIRTIO_BLK_F_FLUSH (1ull << 9)
#define VIRTIO_BLK_F_DISCARD (1ull << 13)
#define VIRTIO_BLK_F_WRITE_ZEROES (1ull << 14)
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_WZ_UNMAP 1
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20
#define VBLK_QSIZE 256
#define VBLK_SEG_MAX (VBLK_QSIZE - 2)

/* struct virtio_blk_config up to write_zeroes_may_unmap (virtio 1.2 5.2.4) */
struct vblk_config {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	uint8_t geometry[4];
	uint32_t blk_size;
	uint8_t topology[8];
	uint8_t writeback, unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors, max_discard_seg, discard_sector_alignment;
	uint32_t max_write_zeroes_sectors, max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap, unused1[3];
} __attribute__((packed));
_Static_assert(sizeof(struct vblk_config) == 60, "virtio_blk_config layout");

struct vblk {
	int fd;
	bool ro;
	uint64_t capacity;
	char id[VIRTIO_BLK_ID_BYTES + 1];
	struct counters ctr;
	struct vmmio *t;
	struct vblk_req req;
};

static int vblk_add_iov(const struct gmem *g, struct vblk_req *r, uint64_t addr, uint64_t len)
{
	void *p = gmem_ptr(g, addr, len);

	if (!p || r->niov >= VBLK_MAX_IOV)
		return -EINVAL;
	if (len)
		r->iov[r->niov++] = (struct iovec){ .iov_base = p, .iov_len = len };
	r->len += len;
	return 0;
}

/* vblk_data: the data buffers: readable bytes after the header (OUT), or writable bytes
 * before the status byte (IN, GET_ID). */
static int vblk_data(const struct gmem *g, const struct virtq_chain *c, struct vblk_req *r, bool out)
{
	uint64_t skip = out ? 16 : 0, left = out ? c->rlen - 16 : c->wlen - 1;
	unsigned first = out ? 0 : c->nread, last = out ? c->nread : c->nseg;

	for (unsigned i = first; i < last && left; i++) {
		const struct virtq_seg *s = &c->seg[i];
		uint64_t n;

		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		n = s->len - skip < left ? s->len - skip : left;
		if (vblk_add_iov(g, r, s->addr + skip, n) < 0)
			return -EINVAL;
		left -= n;
		skip = 0;
	}
	return 0;
}

/* vblk_ranges: the DISCARD or WRITE_ZEROES payload (virtio 1.2 5.2.6: struct
 * virtio_blk_discard_write_zeroes, 16 bytes each, in the readable bytes after the header):
 * at most VBLK_MAX_RANGES ranges, each inside the disk and at most VBLK_MAX_RANGE_SECTORS;
 * flags other than WRITE_ZEROES' unmap bit are UNSUPP. */
static int vblk_ranges(const struct gmem *g, const struct virtq_chain *c, uint64_t capacity, struct vblk_req *r)
{
	uint64_t bytes = c->rlen - 16;
	uint8_t rec[16];

	r->nranges = 0;
	if (bytes == 0 || bytes % 16 || bytes / 16 > VBLK_MAX_RANGES)
		return VIRTIO_BLK_S_IOERR;
	for (unsigned i = 0; i < bytes / 16; i++) {
		struct vblk_range *x = &r->range[i];
		uint32_t flags;

		if (virtq_read(g, c, 16 + 16 * i, rec, 16) != 16)
			return VIRTIO_BLK_S_IOERR;
		memcpy(&x->sector, rec, 8);
		memcpy(&x->sectors, rec + 8, 4);
		memcpy(&flags, rec + 12, 4);
		if (flags & ~(r->type == VIRTIO_BLK_T_WRITE_ZEROES ? VIRTIO_BLK_WZ_UNMAP : 0u))
			return VIRTIO_BLK_S_UNSUPP;
		x->unmap = flags & VIRTIO_BLK_WZ_UNMAP;
		if (x->sectors > VBLK_MAX_RANGE_SECTORS || x->sector > capacity || x->sectors > capacity - x->sector)
			return VIRTIO_BLK_S_IOERR;
	}
	r->nranges = (unsigned)(bytes / 16);
	return VIRTIO_BLK_S_OK;
}

/* vblk_parse: < 0 when the chain cannot carry an answer (no 16-byte header or no status
 * byte); otherwise the status to answer with, VIRTIO_BLK_S_OK meaning "do the I/O". */
int vblk_parse(const struct gmem *g, const struct virtq_chain *c, uint64_t capacity, bool ro,
	       struct vblk_req *r)
{
	const struct virtq_seg *last = c->nseg ? &c->seg[c->nseg - 1] : NULL;
	uint8_t hdr[16];

	r->niov = 0;
	r->len = 0;
	r->nranges = 0;
	if (c->rlen < 16 || c->wlen < 1 || !last || !last->write)
		return -EINVAL;
	r->status = gmem_ptr(g, last->addr + last->len - 1, 1);
	if (!r->status || virtq_read(g, c, 0, hdr, 16) != 16)
		return -EINVAL;
	memcpy(&r->type, hdr, 4);
	memcpy(&r->sector, hdr + 8, 8);
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (vblk_data(g, c, r, r->type == VIRTIO_BLK_T_OUT) < 0 || r->len % 512 ||
		    r->sector > capacity || r->len / 512 > capacity - r->sector)
			return VIRTIO_BLK_S_IOERR;
		return r->type == VIRTIO_BLK_T_OUT && ro ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		return vblk_data(g, c, r, false) < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return ro ? VIRTIO_BLK_S_IOERR : vblk_ranges(g, c, capacity, r);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* vblk_zero: writes zeros over [off, off + len) (a file system without ZERO_RANGE). */
static int vblk_zero(struct vblk *b, off_t off, uint64_t len)
{
	static uint8_t zeros[65536];	/* in .bss, never written (const would put 64 KiB in the binary) */

	while (len) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		ssize_t w = pwrite(b->fd, zeros, n, off);

		if (w <= 0)
			return -1;
		off += w;
		len -= (uint64_t)w;
	}
	return 0;
}

/* vblk_range: one DISCARD (a hole punched; a disk that cannot only ignores it, which the spec
 * allows) or WRITE_ZEROES range (a hole when the driver allows unmapping, else a zeroed range,
 * else zero writes: either way the range reads back as zeros). */
static int vblk_range(struct vblk *b, uint32_t type, const struct vblk_range *x)
{
	off_t off = (off_t)(x->sector * 512), len = (off_t)x->sectors * 512;

	if (type == VIRTIO_BLK_T_DISCARD) {
		if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) < 0 &&
		    errno != EOPNOTSUPP)
			return -1;
		return 0;
	}
	if (x->unmap && fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) == 0)
		return 0;
	if (fallocate(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len) == 0)
		return 0;
	return vblk_zero(b, off, (uint64_t)len);
}

static uint64_t vblk_get_id(struct vblk *b)
{
	uint64_t done = 0;

	for (unsigned i = 0; i < b->req.niov && done < VIRTIO_BLK_ID_BYTES; i++) {
		size_t n = b->req.iov[i].iov_len;

		n = n < VIRTIO_BLK_ID_BYTES - done ? n : VIRTIO_BLK_ID_BYTES - done;
		memcpy(b->req.iov[i].iov_base, b->id + done, n);
		done += n;
	}
	return done;
}

/* vblk_exec: runs a parsed request; returns the bytes written into the chain. */
static uint64_t vblk_exec(struct vblk *b, uint8_t *status)
{
	struct vblk_req *r = &b->req;
	off_t off = (off_t)(r->sector * 512);
	ssize_t n;

	*status = VIRTIO_BLK_S_OK;
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		n = r->len ? preadv(b->fd, r->iov, (int)r->niov, off) : 0;
		break;
	case VIRTIO_BLK_T_OUT:
		n = r->len ? pwritev(b->fd, r->iov, (int)r->niov, off) : 0;
		break;
	case VIRTIO_BLK_T_FLUSH:
		return fdatasync(b->fd) < 0 ? (*status = VIRTIO_BLK_S_IOERR, 0) : 0;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		for (unsigned i = 0; i < r->nranges; i++)
			if (vblk_range(b, r->type, &r->range[i]) < 0)
				*status = VIRTIO_BLK_S_IOERR;
		return 0;
	default:
		return vblk_get_id(b);
	}
	if (n < 0 || (uint64_t)n != r->len) {
		*status = VIRTIO_BLK_S_IOERR;
		return 0;
	}
	b->ctr.bytes += r->len;
	return r->type == VIRTIO_BLK_T_IN ? r->len : 0;
}

static int vblk_request(void *dev, struct vmmio *t, struct virtq_chain *c)
{
	struct vblk *b = dev;
	int ret = vblk_parse(vmmio_mem(t), c, b->capacity, b->ro, &b->req);
	uint64_t written = 0;
	uint8_t status = (uint8_t)ret;

	b->ctr.requests++;
	if (ret < 0) {
		b->ctr.errors++;
		return 0;
	}
	if (ret == VIRTIO_BLK_S_OK)
		written = vblk_exec(b, &status);
	if (status != VIRTIO_BLK_S_OK)
		b->ctr.errors++;
	*b->req.status = status;
	return (int)(written + 1);
}

static void vblk_notify(void *dev, struct vmmio *t, unsigned q)
{
	(void)dev;
	vmmio_drain(t, q, vblk_request);
}

/* vblk_name: PREFIX and Linux's letter for disk IDX (a-z; 16 disks at most here). */
static void vblk_name(unsigned idx, const char *prefix, char *buf, size_t size)
{
	snprintf(buf, size, "%s%c", prefix, 'a' + (int)(idx % 26));
}

static int vblk_open(struct vblk *b, const char *path)
{
	off_t size;

	b->fd = open(path, (b->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0)
		return vmm_err(-errno, "unable to open disk %s: %s", path, strerror(errno));
	size = lseek(b->fd, 0, SEEK_END);
	if (size < 0)
		return vmm_err(-errno, "unable to size disk %s: %s", path, strerror(errno));
	if (size % 512)
		return vmm_err(-EINVAL, "disk %s: size %lld is not a multiple of 512 bytes", path,
			       (long long)size);
	b->capacity = (uint64_t)size / 512;
	return 0;
}

/* vblk_create: disk PATH as the next virtio-blk device (vda, vdb, ...); -EINVAL for a bad disk
 * (usage), other negative errno for host failures. */
int vblk_create(struct vmm *v, const char *path, bool ro)
{
	static const struct vdev_ops ops_rw = {
		.kind = "virtio-blk", .device_id = VIRTIO_ID_BLOCK, .nqueues = 1, .qsize = VBLK_QSIZE,
		.features = VIRTIO_COMMON_FEATURES | VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE |
			    VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_DISCARD | VIRTIO_BLK_F_WRITE_ZEROES,
		.notify = vblk_notify,
	};
	static const struct vdev_ops ops_ro = {
		.kind = "virtio-blk", .device_id = VIRTIO_ID_BLOCK, .nqueues = 1, .qsize = VBLK_QSIZE,
		.features = VIRTIO_COMMON_FEATURES | VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE |
			    VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_RO,
		.notify = vblk_notify,
	};
	struct vblk_config cfg = {
		.seg_max = VBLK_SEG_MAX, .blk_size = 512,
		.max_discard_sectors = VBLK_MAX_RANGE_SECTORS, .max_discard_seg = VBLK_MAX_RANGES,
		.discard_sector_alignment = 8,	/* 4 KiB, the host page and file system block */
		.max_write_zeroes_sectors = VBLK_MAX_RANGE_SECTORS, .max_write_zeroes_seg = VBLK_MAX_RANGES,
		.write_zeroes_may_unmap = 1,
	};
	unsigned idx = v->ndisks;
	struct vblk *b;
	int ret;

	if (idx >= CONFIG_MAX_DISKS)
		return vmm_err(-EINVAL, "too many disks (at most %d)", CONFIG_MAX_DISKS);
	b = calloc(1, sizeof(*b));
	if (!b)
		return vmm_err(-ENOMEM, "disk %s: %s", path, strerror(ENOMEM));
	b->ro = ro;
	ret = vblk_open(b, path);
	if (ret < 0)
		return ret;
	cfg.capacity = b->capacity;
	vblk_name(idx, "vd", b->ctr.name, sizeof(b->ctr.name));
	vblk_name(idx, "hvnode-vd", b->id, sizeof(b->id));
	b->ctr.kind = "virtio-blk";
	v->ndisks++;
	return vmmio_create(v, ro ? &ops_ro : &ops_rw, b, &cfg, sizeof(cfg), &b->ctr, &b->t);
}
