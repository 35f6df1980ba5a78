/* hvnode-vmm: split virtqueue walker, virtio 1.2 section 2.7 (2.7.5 descriptor table,
 * 2.7.5.3 indirect descriptors, 2.7.6 available ring, 2.7.8 used ring, 2.7.7 and 2.7.10 the
 * event index: used_event and avail_event suppress notifications both ways).
 * Pure: no system calls, guest memory only through gmem_ptr(). The guest is hostile: rings
 * may change under us, so every descriptor is copied once and then validated. Rules:
 * - avail idx may run ahead of what we consumed by at most the queue size, else -EINVAL;
 * - a head or next index >= the table size is -EINVAL;
 * - a chain visits at most table-size descriptors (loops end as -ELOOP);
 * - one level of indirection: INDIRECT inside an indirect table, INDIRECT with NEXT, an
 *   empty or misaligned table, or an indirect table without the feature is -EINVAL;
 * - every buffer lies inside guest memory (-EFAULT otherwise);
 * - device-readable buffers precede device-writable ones (-EINVAL otherwise);
 * - zero-length buffers are skipped; a chain may end up with no segment at all.
 * Any negative result means the queue is broken: the caller sets DEVICE_NEEDS_RESET. */
#include <errno.h>
#include <string.h>

#include "virtq.h"

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static int virtq_load16(const struct gmem *g, uint64_t addr, uint16_t *v)
{
	const void *p = gmem_ptr(g, addr, 2);

	if (!p)
		return -EFAULT;
	memcpy(v, p, 2);
	return 0;
}

static int virtq_store(const struct gmem *g, uint64_t addr, const void *v, size_t len)
{
	void *p = gmem_ptr(g, addr, len);

	if (!p)
		return -EFAULT;
	memcpy(p, v, len);
	return 0;
}

int virtq_check(const struct gmem *g, const struct virtq *q)
{
	uint64_t n = q->size;

	if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return -EINVAL;
	if ((q->desc & 15) || (q->avail & 1) || (q->used & 3))
		return -EINVAL;
	if (!gmem_ptr(g, q->desc, 16 * n) || !gmem_ptr(g, q->avail, 6 + 2 * n) ||
	    !gmem_ptr(g, q->used, 6 + 8 * n))
		return -EFAULT;
	return 0;
}

static int virtq_add_seg(const struct gmem *g, struct virtq_chain *c, const struct vdesc *d)
{
	bool write = d->flags & VIRTQ_DESC_F_WRITE;

	if (!write && c->nseg > c->nread)
		return -EINVAL;
	if (!gmem_ptr(g, d->addr, d->len))
		return -EFAULT;
	if (d->len == 0)
		return 0;
	if (c->nseg >= VIRTQ_MAX_SEGS)
		return -E2BIG;
	c->seg[c->nseg++] = (struct virtq_seg){ .addr = d->addr, .len = d->len, .write = write };
	if (write) {
		c->wlen += d->len;
	} else {
		c->nread = c->nseg;
		c->rlen += d->len;
	}
	return 0;
}

/* virtq_enter: switches the walk to the indirect table that d points at. */
static int virtq_enter(const struct gmem *g, const struct virtq *q, const struct vdesc *d,
		       const uint8_t **table, unsigned *n)
{
	if (!q->indirect || (d->flags & VIRTQ_DESC_F_NEXT))
		return -EINVAL;
	if (d->len == 0 || d->len % 16 || d->len / 16 > VIRTQ_MAX_SEGS)
		return -EINVAL;
	*table = gmem_ptr(g, d->addr, d->len);
	if (!*table)
		return -EFAULT;
	*n = d->len / 16;
	return 0;
}

static int virtq_walk(const struct gmem *g, const struct virtq *q, struct virtq_chain *c)
{
	const uint8_t *table = gmem_ptr(g, q->desc, 16u * q->size);
	unsigned n = q->size, idx = c->head, seen = 0;
	bool nested = false;
	struct vdesc d;
	int ret;

	if (!table)
		return -EFAULT;
	for (;;) {
		if (idx >= n)
			return -EINVAL;
		if (seen++ >= n)
			return -ELOOP;
		memcpy(&d, table + 16 * idx, 16);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (nested)
				return -EINVAL;
			ret = virtq_enter(g, q, &d, &table, &n);
			if (ret < 0)
				return ret;
			nested = true;
			idx = 0;
			seen = 0;
			continue;
		}
		ret = virtq_add_seg(g, c, &d);
		if (ret < 0)
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		idx = d.next;
	}
}

/* virtq_pending: the number of available entries the device has not taken, or -EINVAL when the
 * driver claims more than the queue holds. */
static int virtq_pending(const struct gmem *g, const struct virtq *q)
{
	uint16_t avail_idx, pending;
	int ret = virtq_load16(g, q->avail + 2, &avail_idx);

	if (ret < 0)
		return ret;
	pending = (uint16_t)(avail_idx - q->last_avail);
	return pending > q->size ? -EINVAL : pending;
}

/* virtq_arm: with EVENT_IDX, avail_event = last_avail, then the avail index once more (a full
 * fence between: the driver reads avail_event after publishing its index, virtio 1.2 2.7.10). */
static int virtq_arm(const struct gmem *g, const struct virtq *q)
{
	int ret;

	if (!q->event_idx)
		return 0;
	ret = virtq_store(g, q->used + 4 + 8u * q->size, &q->last_avail, 2);
	if (ret < 0)
		return ret;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return virtq_pending(g, q);
}

int virtq_pop(const struct gmem *g, struct virtq *q, struct virtq_chain *c)
{
	uint16_t head;
	int ret;

	if (q->size == 0 || q->size > VIRTQ_MAX_SIZE)
		return -EINVAL;
	ret = virtq_pending(g, q);
	if (ret == 0)
		ret = virtq_arm(g, q);
	if (ret <= 0)
		return ret;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	ret = virtq_load16(g, q->avail + 4 + 2u * (q->last_avail % q->size), &head);
	if (ret < 0)
		return ret;
	if (head >= q->size)
		return -EINVAL;
	c->head = head;
	c->nseg = c->nread = 0;
	c->rlen = c->wlen = 0;
	ret = virtq_walk(g, q, c);
	if (ret < 0)
		return ret;
	q->last_avail++;
	return 1;
}

int virtq_fill(const struct gmem *g, struct virtq *q, uint16_t head, uint32_t len)
{
	uint32_t elem[2] = { head, len };
	int ret;

	if (q->size == 0 || head >= q->size)
		return -EINVAL;
	ret = virtq_store(g, q->used + 4 + 8u * (q->used_idx % q->size), elem, sizeof(elem));
	if (ret < 0)
		return ret;
	q->used_idx++;
	return 0;
}

int virtq_flush(const struct gmem *g, const struct virtq *q)
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
	return virtq_store(g, q->used + 2, &q->used_idx, 2);
}

int virtq_push(const struct gmem *g, struct virtq *q, uint16_t head, uint32_t len)
{
	int ret = virtq_fill(g, q, head, len);

	return ret < 0 ? ret : virtq_flush(g, q);
}

bool virtq_want_irq(const struct gmem *g, const struct virtq *q, uint16_t old)
{
	uint16_t flags, event;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (q->event_idx) {
		if (virtq_load16(g, q->avail + 4 + 2u * q->size, &event) < 0)
			return true;
		return (uint16_t)(q->used_idx - event - 1) < (uint16_t)(q->used_idx - old);
	}
	if (virtq_load16(g, q->avail, &flags) < 0)
		return true;
	return !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/* virtq_copy: copies between buf and the chain's segments [first, last) at byte offset off. */
static size_t virtq_copy(const struct gmem *g, const struct virtq_chain *c, unsigned first,
			 unsigned last, uint64_t off, uint8_t *buf, size_t len, bool to_guest)
{
	size_t done = 0;

	for (unsigned i = first; i < last && done < len; i++) {
		const struct virtq_seg *s = &c->seg[i];
		uint8_t *p;
		size_t n;

		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		n = s->len - off < len - done ? s->len - off : len - done;
		p = gmem_ptr(g, s->addr + off, n);
		if (!p)
			break;
		if (to_guest)
			memcpy(p, buf + done, n);
		else
			memcpy(buf + done, p, n);
		done += n;
		off = 0;
	}
	return done;
}

/* virtq_read: copies up to len bytes from offset off of the readable part; returns the count. */
size_t virtq_read(const struct gmem *g, const struct virtq_chain *c, uint64_t off, void *dst, size_t len)
{
	return virtq_copy(g, c, 0, c->nread, off, dst, len, false);
}

/* virtq_write: copies up to len bytes to offset off of the writable part; returns the count. */
size_t virtq_write(const struct gmem *g, const struct virtq_chain *c, uint64_t off, const void *src,
		   size_t len)
{
	return virtq_copy(g, c, c->nread, c->nseg, off, (uint8_t *)src, len, true);
}

size_t virtq_read_back(const struct gmem *g, const struct virtq_chain *c, uint64_t off, void *dst, size_t len)
{
	return virtq_copy(g, c, c->nread, c->nseg, off, dst, len, false);
}
