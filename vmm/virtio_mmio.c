/* hvnode-vmm: virtio-mmio transport, virtio 1.2 section 4.2 (modern register layout,
 * version 2 only, offsets from <linux/virtio_mmio.h>), one 4 KiB window per device from
 * 0xd0000000, announced to the guest in the ACPI DSDT (acpi.c) or, without ACPI, on its cmdline
 * as virtio_mmio.device=4K@ADDR:IRQ (main.c). Queue notifications arrive on one ioeventfd per
 * queue (KVM_IOEVENTFD with datamatch on QueueNotify) and are handled by the event loop;
 * interrupts leave through an irqfd (KVM_IRQFD, edge on the IOAPIC pin; past 15 devices pins
 * are shared, which virtio-mmio drivers allow). Registers are written by vCPU threads under
 * the transport lock; the loop works on a snapshot of a queue and writes its indices back only
 * if no reset or reconfiguration happened meanwhile (generation counter), so a vCPU never
 * waits for device I/O, except that a reset waits for the request in flight: after the write
 * of 0 to Status returns, the device no longer touches the guest's rings or buffers
 * (virtio 1.2 section 2.4.1).
 * Trusts nothing from the guest: accesses must be 32-bit and aligned for registers, queue
 * sizes are powers of two up to the device's maximum, ring addresses are checked against
 * guest memory when a queue is made ready, feature bits outside the offer are refused,
 * DEVICE_NEEDS_RESET is the device's alone, DRIVER_OK needs FEATURES_OK, no buffer is used
 * before DRIVER_OK, and a ring error makes the device set DEVICE_NEEDS_RESET instead of
 * retrying. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "virtio_dev.h"

#define VMMIO_BASE BOOT_MMIO_BASE
#define VMMIO_MAGIC 0x74726976	/* "virt" */
#define VMMIO_VENDOR 0x4e564800	/* "\0HVN" */
#define VMMIO_MAX_CONFIG 64

/* IOAPIC pins for the devices, in slot order: first the free ISA IRQs (the only ones the MP
 * table routes, so guests without ACPI get these), then pins 16-23 but the SCI's. */
static const unsigned vmmio_pins[] = { 5, 6, 7, 9, 10, 11, 14, 15, 16, 17, 18, 19, 21, 22, 23 };
#define VMMIO_PINS (sizeof(vmmio_pins) / sizeof(vmmio_pins[0]))
#define VMMIO_ISA_PINS 8

struct vmmio_queue {
	struct virtq q;
	bool ready;
	int efd;
	unsigned idx;
	struct vmmio *t;
};

struct vmmio {
	struct vmm *vmm;
	const struct vdev_ops *ops;
	void *dev;
	uint64_t base;
	unsigned irq;
	int irqfd;
	pthread_mutex_t lock;
	pthread_cond_t idle;		/* signalled when the loop leaves a queue (busy false) */
	bool busy;			/* the event loop is working on a snapshot of a queue */
	uint32_t status, dev_sel, drv_sel, queue_sel, gen;
	uint64_t drv_features;
	atomic_uint isr;
	uint8_t config[VMMIO_MAX_CONFIG];
	size_t cfglen;
	struct vmmio_queue q[VMMIO_MAX_QUEUES];
	struct counters *ctr;
	/* used by the event loop only: the chain a handler gets, the queue being drained, and the
	 * further chains the handler took (vmmio_pop_more) with their used lengths */
	struct virtq_chain chain;
	struct virtq *snap;
	struct { uint16_t head; uint32_t len; } more[VIRTQ_MAX_SIZE];
	unsigned nmore;
};

const struct gmem *vmmio_mem(const struct vmmio *t)
{
	return &t->vmm->mem;
}

/* vmmio_features: the features the driver accepted; fixed from FEATURES_OK until the next reset
 * (status bits stay set until then, vmmio_set_status), which waits for the handler in flight,
 * so a chain handler may read them without the lock. */
uint64_t vmmio_features(const struct vmmio *t)
{
	return t->drv_features;
}

/* vmmio_pop_more: inside a chain handler: 1 and the next available chain of the queue being
 * drained in C, for data that continues past the handler's chain (a frame over several merged
 * receive buffers, virtio 1.2 section 5.1.6.4); *USED_LEN is its used length, 0 until the
 * handler sets it. 0 when the ring is empty, -ENOBUFS when the handler already holds every
 * entry of the ring (the data can never fit), negative when it is broken. When the handler
 * returns >= 0 these chains are used after its own, in the order taken, and published with it
 * in one used index update; when it returns -EAGAIN they go back to the ring with its chain. */
int vmmio_pop_more(struct vmmio *t, struct virtq_chain *c, uint32_t **used_len)
{
	int ret;

	if (!t->snap)
		return -EINVAL;
	if (t->nmore + 1 >= t->snap->size)
		return -ENOBUFS;
	ret = virtq_pop(&t->vmm->mem, t->snap, c);
	if (ret <= 0)
		return ret;
	t->more[t->nmore].head = c->head;
	t->more[t->nmore].len = 0;
	*used_len = &t->more[t->nmore++].len;
	return 1;
}

/* vmmio_irq_pin: the IOAPIC pin of virtio slot SLOT; with ACPI the guest routes all 15, without
 * it only the 8 ISA ones (the MP table's). Shared past that. */
unsigned vmmio_irq_pin(unsigned slot, bool acpi)
{
	return vmmio_pins[slot % (acpi ? VMMIO_PINS : VMMIO_ISA_PINS)];
}

static void vmmio_kick(struct vmmio *t, int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0)
		t->ctr->errors++;
}

static void vmmio_irq(struct vmmio *t, unsigned bit)
{
	atomic_fetch_or(&t->isr, bit);
	vmmio_kick(t, t->irqfd);
}

/* vmmio_broken: a ring error; the device stops and tells the driver (virtio 1.2 2.1.2). */
static void vmmio_broken(struct vmmio *t, uint32_t gen)
{
	if (t->gen == gen && !(t->status & VIRTIO_CONFIG_S_NEEDS_RESET)) {
		t->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
		for (unsigned i = 0; i < VMMIO_MAX_QUEUES; i++)
			t->q[i].ready = false;
		t->gen++;
		t->ctr->errors++;
		vmmio_irq(t, VIRTIO_MMIO_INT_CONFIG);
	}
}

static bool vmmio_live(const struct vmmio *t)
{
	return (t->status & VIRTIO_CONFIG_S_DRIVER_OK) && !(t->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* vmmio_snapshot: a copy of queue q to work on; the device is busy until vmmio_release. */
static int vmmio_snapshot(struct vmmio *t, unsigned q, struct virtq *snap, uint32_t *gen)
{
	int ret = -EAGAIN;

	pthread_mutex_lock(&t->lock);
	if (t->q[q].ready && vmmio_live(t)) {
		*snap = t->q[q].q;
		*gen = t->gen;
		t->busy = true;
		ret = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}

/* vmmio_release: the loop is done with the snapshot; its indices are kept only if the queue was
 * not reset or reconfigured meanwhile; a waiting reset goes on. */
static void vmmio_release(struct vmmio *t, unsigned q, const struct virtq *snap, uint32_t gen, bool broken)
{
	pthread_mutex_lock(&t->lock);
	if (broken)
		vmmio_broken(t, gen);
	else if (t->gen == gen) {
		t->q[q].q.last_avail = snap->last_avail;
		t->q[q].q.used_idx = snap->used_idx;
	}
	t->busy = false;
	pthread_cond_broadcast(&t->idle);
	pthread_mutex_unlock(&t->lock);
}

/* vmmio_drain: hands each available chain of queue q to fn (event loop). Returns 0 when the
 * ring is empty, 1 when fn stopped early (-EAGAIN), negative when the queue is unusable. */
int vmmio_drain(struct vmmio *t, unsigned q, vmmio_handler *fn)
{
	const struct gmem *g = &t->vmm->mem;
	struct virtq snap;
	unsigned budget, used = 0;
	uint32_t gen;
	uint16_t old;
	int ret = 0;

	if (q >= t->ops->nqueues || vmmio_snapshot(t, q, &snap, &gen) < 0)
		return -EAGAIN;
	old = snap.used_idx;
	for (budget = snap.size; budget; budget--) {
		ret = virtq_pop(g, &snap, &t->chain);
		if (ret <= 0)
			break;
		t->snap = &snap;
		t->nmore = 0;
		ret = fn(t->dev, t, &t->chain);
		t->snap = NULL;
		if (ret == -EAGAIN) {
			snap.last_avail = (uint16_t)(snap.last_avail - 1 - t->nmore);
			ret = 1;
			break;
		}
		if (ret >= 0)
			ret = virtq_fill(g, &snap, t->chain.head, (uint32_t)ret);
		for (unsigned i = 0; i < t->nmore && ret >= 0; i++)
			ret = virtq_fill(g, &snap, t->more[i].head, t->more[i].len);
		if (ret >= 0)
			ret = virtq_flush(g, &snap);
		if (ret < 0)
			break;
		used += 1 + t->nmore;
		ret = 0;
	}
	if (budget == 0)	/* more work than one ring's worth: come back after other events */
		vmmio_kick(t, t->q[q].efd);
	if (used && ret >= 0 && virtq_want_irq(g, &snap, old))
		vmmio_irq(t, VIRTIO_MMIO_INT_VRING);
	vmmio_release(t, q, &snap, gen, ret < 0);
	return ret;
}

static void vmmio_notified(void *opaque, uint32_t events)
{
	struct vmmio_queue *vq = opaque;
	uint64_t n;

	(void)events;
	if (read(vq->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	vq->t->ops->notify(vq->t->dev, vq->t, vq->idx);
}

/* vmmio_quiesce: with the lock held: the loop takes no new snapshot (the caller has made the
 * device not live, or the queue not ready) and finishes the one it has. */
static void vmmio_quiesce(struct vmmio *t)
{
	t->gen++;
	while (t->busy)
		pthread_cond_wait(&t->idle, &t->lock);
}

/* vmmio_reset: with the lock held; waits until the loop is off the rings (see the top). */
static void vmmio_reset(struct vmmio *t)
{
	t->status &= ~(uint32_t)VIRTIO_CONFIG_S_DRIVER_OK;	/* no new snapshot meanwhile */
	vmmio_quiesce(t);
	t->status = t->dev_sel = t->drv_sel = t->queue_sel = 0;
	t->drv_features = 0;
	atomic_store(&t->isr, 0);
	for (unsigned i = 0; i < VMMIO_MAX_QUEUES; i++) {
		t->q[i].ready = false;
		t->q[i].q = (struct virtq){ .size = t->ops->qsize };
	}
	t->gen++;
}

static uint32_t vmmio_reg_read(struct vmmio *t, uint64_t off)
{
	struct vmmio_queue *vq = t->queue_sel < t->ops->nqueues ? &t->q[t->queue_sel] : NULL;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VMMIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return 2;
	case VIRTIO_MMIO_DEVICE_ID: return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VMMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return t->dev_sel < 2 ? (uint32_t)(t->ops->features >> (32 * t->dev_sel)) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return vq ? t->ops->qsize : 0;
	case VIRTIO_MMIO_QUEUE_READY: return vq ? vq->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return atomic_load(&t->isr);
	case VIRTIO_MMIO_STATUS: return t->status;
	case VIRTIO_MMIO_SHM_LEN_LOW: case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW: case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffffu;	/* no shared memory regions: -1 (virtio 1.2 4.2.2) */
	case VIRTIO_MMIO_CONFIG_GENERATION: return 0;
	default: return 0;
	}
}

static void vmmio_set_features(struct vmmio *t, uint32_t val)
{
	if (t->drv_sel >= 2 || !(t->status & VIRTIO_CONFIG_S_DRIVER) || (t->status & VIRTIO_CONFIG_S_FEATURES_OK))
		return;
	t->drv_features &= ~(0xffffffffull << (32 * t->drv_sel));
	t->drv_features |= (uint64_t)val << (32 * t->drv_sel);
}

/* vmmio_set_status: the driver's steps (virtio 1.2 3.1.1). FEATURES_OK is refused (reads back
 * clear) for features outside the offer, without VERSION_1, or that the device's features_ok
 * rejects (a feature without the one it depends on); DRIVER_OK is ignored without
 * FEATURES_OK; NEEDS_RESET is only ever set by the device. At DRIVER_OK every ready queue is
 * looked at once, for buffers made available before it. */
static void vmmio_set_status(struct vmmio *t, uint32_t val)
{
	uint32_t old = t->status;

	if (val == 0) {
		vmmio_reset(t);
		return;
	}
	val &= 0xff & ~(uint32_t)VIRTIO_CONFIG_S_NEEDS_RESET;
	/* the driver sets bits and never clears them but by a reset (virtio 1.2 2.1.2): so the
	 * accepted features stay fixed while the device is live (vmmio_features) */
	val |= old & (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
		      VIRTIO_CONFIG_S_DRIVER_OK);
	if ((val & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    ((t->drv_features & ~t->ops->features) || !(t->drv_features & VIRTIO_BIT(VIRTIO_F_VERSION_1)) ||
	     (t->ops->features_ok && !t->ops->features_ok(t->drv_features))))
		val &= ~(uint32_t)VIRTIO_CONFIG_S_FEATURES_OK;
	if (!(val & VIRTIO_CONFIG_S_FEATURES_OK))
		val &= ~(uint32_t)VIRTIO_CONFIG_S_DRIVER_OK;
	t->status = val | (old & VIRTIO_CONFIG_S_NEEDS_RESET);
	if ((t->status & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK))
		for (unsigned i = 0; i < t->ops->nqueues; i++)
			if (t->q[i].ready)
				vmmio_kick(t, t->q[i].efd);
}

/* vmmio_set_ready: QueueReady. 1 on a ready queue changes nothing (its indices stay); a ring
 * outside guest memory or a size above the maximum sets NEEDS_RESET. */
static void vmmio_set_ready(struct vmmio *t, struct vmmio_queue *vq, uint32_t val)
{
	if (!val) {
		vq->ready = false;
		vmmio_quiesce(t);	/* the driver frees the ring once it reads 0 back */
		return;
	}
	if (vq->ready)
		return;
	vq->q.indirect = t->drv_features & VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	vq->q.event_idx = t->drv_features & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
	vq->q.last_avail = vq->q.used_idx = 0;
	if (virtq_check(&t->vmm->mem, &vq->q) < 0 || vq->q.size > t->ops->qsize) {
		t->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
		t->ctr->errors++;
		vmmio_irq(t, VIRTIO_MMIO_INT_CONFIG);
		return;
	}
	vq->ready = true;
	t->gen++;
}

static void vmmio_set_addr(struct vmmio_queue *vq, uint64_t off, uint32_t val)
{
	uint64_t *a = off < VIRTIO_MMIO_QUEUE_AVAIL_LOW ? &vq->q.desc :
		      off < VIRTIO_MMIO_QUEUE_USED_LOW ? &vq->q.avail : &vq->q.used;
	unsigned shift = (off & 4) ? 32 : 0;

	if (vq->ready)
		return;
	*a = (*a & ~(0xffffffffull << shift)) | ((uint64_t)val << shift);
}

static void vmmio_queue_write(struct vmmio *t, uint64_t off, uint32_t val)
{
	struct vmmio_queue *vq = t->queue_sel < t->ops->nqueues ? &t->q[t->queue_sel] : NULL;

	if (off == VIRTIO_MMIO_QUEUE_NOTIFY) {	/* normally caught by the ioeventfd */
		if (val < t->ops->nqueues)
			vmmio_kick(t, t->q[val].efd);
		return;
	}
	if (!vq)
		return;
	if (off == VIRTIO_MMIO_QUEUE_NUM && !vq->ready && val && val <= t->ops->qsize && !(val & (val - 1)))
		vq->q.size = (uint16_t)val;
	else if (off == VIRTIO_MMIO_QUEUE_READY)
		vmmio_set_ready(t, vq, val);
	else if (off >= VIRTIO_MMIO_QUEUE_DESC_LOW && off <= VIRTIO_MMIO_QUEUE_USED_HIGH && (off & 0xf) <= 4)
		vmmio_set_addr(vq, off, val);
}

static void vmmio_reg_write(struct vmmio *t, uint64_t off, uint32_t val)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: t->dev_sel = val; break;
	case VIRTIO_MMIO_DRIVER_FEATURES: vmmio_set_features(t, val); break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: t->drv_sel = val; break;
	case VIRTIO_MMIO_QUEUE_SEL: t->queue_sel = val; break;
	case VIRTIO_MMIO_INTERRUPT_ACK: atomic_fetch_and(&t->isr, ~val); break;
	case VIRTIO_MMIO_STATUS: vmmio_set_status(t, val); break;
	default: vmmio_queue_write(t, off, val); break;
	}
}

static void vmmio_read(void *opaque, uint64_t off, uint8_t *data, unsigned len)
{
	struct vmmio *t = opaque;
	uint32_t v;

	memset(data, 0, len);
	pthread_mutex_lock(&t->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		if (off - VIRTIO_MMIO_CONFIG < t->cfglen && len <= t->cfglen - (off - VIRTIO_MMIO_CONFIG))
			memcpy(data, t->config + (off - VIRTIO_MMIO_CONFIG), len);
	} else if (len == 4 && !(off & 3)) {
		v = vmmio_reg_read(t, off);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&t->lock);
}

static void vmmio_write(void *opaque, uint64_t off, const uint8_t *data, unsigned len)
{
	struct vmmio *t = opaque;
	uint32_t v;

	if (off >= VIRTIO_MMIO_CONFIG || len != 4 || (off & 3))
		return;	/* device configuration is read-only here */
	memcpy(&v, data, 4);
	pthread_mutex_lock(&t->lock);
	vmmio_reg_write(t, off, v);
	pthread_mutex_unlock(&t->lock);
}

/* vmmio_eventfds: the irqfd and one ioeventfd per queue, watched by the event loop. */
static int vmmio_eventfds(struct vmmio *t)
{
	t->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->irqfd < 0)
		return vmm_err(-errno, "%s: unable to create an eventfd: %s", t->ops->kind, strerror(errno));
	for (unsigned i = 0; i < t->ops->nqueues; i++) {
		struct vmmio_queue *vq = &t->q[i];

		vq->t = t;
		vq->idx = i;
		vq->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vq->efd < 0)
			return vmm_err(-errno, "%s: unable to create an eventfd: %s", t->ops->kind, strerror(errno));
		if (loop_add(&t->vmm->loop, vq->efd, EPOLLIN, vmmio_notified, vq) < 0)
			return -ENOSPC;
	}
	return 0;
}

/* vmmio_kvm_wire: KVM raises the device's pin from its irqfd and signals a queue's ioeventfd
 * on a QueueNotify write of that queue's index. */
static int vmmio_kvm_wire(struct vmmio *t)
{
	struct kvm_irqfd irqfd = { .gsi = t->irq, .fd = (uint32_t)t->irqfd };

	if (ioctl(t->vmm->vm, KVM_IRQFD, &irqfd) < 0)
		return vmm_err(-errno, "%s: unable to set up an irqfd: %s", t->ops->kind, strerror(errno));
	for (unsigned i = 0; i < t->ops->nqueues; i++) {
		struct kvm_ioeventfd io = { .datamatch = i, .addr = t->base + VIRTIO_MMIO_QUEUE_NOTIFY, .len = 4,
					    .fd = t->q[i].efd, .flags = KVM_IOEVENTFD_FLAG_DATAMATCH };

		if (ioctl(t->vmm->vm, KVM_IOEVENTFD, &io) < 0)
			return vmm_err(-errno, "%s: unable to set up an ioeventfd: %s", t->ops->kind,
				       strerror(errno));
	}
	return 0;
}

/* vmmio_init: the transport for one device in the next slot of V (its window on V's MMIO bus,
 * its pin, its eventfds in V's loop), without KVM; config is the device's read-only config
 * space (at most 64 bytes). -ENOSPC when V has no free slot. */
int vmmio_init(struct vmm *v, const struct vdev_ops *ops, void *dev, const void *config, size_t cfglen,
	       struct counters *ctr, struct vmmio **out)
{
	unsigned slot = v->nvirtio;
	struct vmmio *t;
	struct bus_dev d;

	if (slot >= VMM_MAX_VIRTIO || v->nctr >= VMM_MAX_DEVS || cfglen > VMMIO_MAX_CONFIG ||
	    ops->nqueues > VMMIO_MAX_QUEUES)
		return vmm_err(-ENOSPC, "%s: too many virtio devices (at most %d)", ops->kind, VMM_MAX_VIRTIO);
	t = calloc(1, sizeof(*t));
	if (!t)
		return vmm_err(-ENOMEM, "%s: %s", ops->kind, strerror(ENOMEM));
	*t = (struct vmmio){ .vmm = v, .ops = ops, .dev = dev, .cfglen = cfglen, .ctr = ctr,
			     .base = VMMIO_BASE + slot * VMMIO_SIZE,
			     .irq = vmmio_irq_pin(slot, v->cfg ? config_guest_acpi(v->cfg) : true) };
	memcpy(t->config, config, cfglen);
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->idle, NULL);
	vmmio_reset(t);
	d = (struct bus_dev){ .base = t->base, .len = VMMIO_SIZE, .read = vmmio_read, .write = vmmio_write,
			      .opaque = t };
	v->virtio[slot] = (struct vmm_virtio){ .base = t->base, .irq = t->irq, .t = t };
	v->nvirtio++;
	if (vm_bus_add(&v->mmio, &d) < 0 || vmmio_eventfds(t) < 0)
		return -ENOSPC;
	v->ctr[v->nctr++] = ctr;
	*out = t;
	return 0;
}

/* vmmio_create: vmmio_init, then wired to KVM (vmmio_kvm_wire); a VMM without a VM (v->vm < 0:
 * the unit tests) gets the transport alone. */
int vmmio_create(struct vmm *v, const struct vdev_ops *ops, void *dev, const void *config, size_t cfglen,
		 struct counters *ctr, struct vmmio **out)
{
	int ret = vmmio_init(v, ops, dev, config, cfglen, ctr, out);

	return ret < 0 || v->vm < 0 ? ret : vmmio_kvm_wire(*out);
}
