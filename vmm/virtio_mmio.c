/* hvnode-vmm: virtio-mmio transport, virtio 1.2 section 4.2 (modern register layout,
 * version 2 only), one 4 KiB window per device from 0xd0000000, announced to the guest in the
 * ACPI DSDT (acpi.c) or, without ACPI, on its cmdline as virtio_mmio.device=4K@ADDR:IRQ (main.c). Queue notifications arrive on one ioeventfd per
 * queue (KVM_IOEVENTFD with datamatch on QueueNotify) and are handled by the event loop;
 * interrupts leave through an irqfd (KVM_IRQFD, edge on the IOAPIC pin). Registers are
 * written by vCPU threads under the transport lock; the loop works on a snapshot of a queue
 * and writes its indices back only if no reset or reconfiguration happened meanwhile
 * (generation counter), so a vCPU never waits for device I/O.
 * Trusts nothing from the guest: accesses must be 32-bit and aligned for registers, queue
 * sizes are powers of two up to the device's maximum, ring addresses are checked against
 * guest memory when a queue is made ready, feature bits outside the offer are refused, and a
 * ring error makes the device set DEVICE_NEEDS_RESET instead of retrying. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "virtio_dev.h"

#define VMMIO_BASE BOOT_MMIO_BASE
#define VMMIO_MAGIC 0x74726976	/* "virt" */
#define VMMIO_VENDOR 0x4e564800	/* "\0HVN" */
#define VMMIO_CONFIG 0x100
#define VMMIO_MAX_CONFIG 64

#define STATUS_DRIVER 2
#define STATUS_FEATURES_OK 8
#define STATUS_NEEDS_RESET 0x40
#define ISR_USED 1
#define ISR_CONFIG 2

static const unsigned vmmio_irqs[VMM_MAX_VIRTIO] = { 5, 6, 7, 9, 10, 11, 14, 15 };

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
	uint32_t status, dev_sel, drv_sel, queue_sel, gen;
	uint64_t drv_features;
	atomic_uint isr;
	uint8_t config[VMMIO_MAX_CONFIG];
	size_t cfglen;
	struct vmmio_queue q[VMMIO_MAX_QUEUES];
	struct counters *ctr;
	struct virtq_chain chain;	/* used by the event loop only */
};

const struct gmem *vmmio_mem(const struct vmmio *t)
{
	return &t->vmm->mem;
}

static void vmmio_irq(struct vmmio *t, unsigned bit)
{
	uint64_t one = 1;

	atomic_fetch_or(&t->isr, bit);
	if (write(t->irqfd, &one, sizeof(one)) < 0)
		t->ctr->errors++;
}

/* vmmio_broken: a ring error; the device stops and tells the driver (virtio 1.2 2.1.2). */
static void vmmio_broken(struct vmmio *t, uint32_t gen)
{
	pthread_mutex_lock(&t->lock);
	if (t->gen == gen && !(t->status & STATUS_NEEDS_RESET)) {
		t->status |= STATUS_NEEDS_RESET;
		for (unsigned i = 0; i < VMMIO_MAX_QUEUES; i++)
			t->q[i].ready = false;
		t->gen++;
		t->ctr->errors++;
		vmmio_irq(t, ISR_CONFIG);
	}
	pthread_mutex_unlock(&t->lock);
}

static int vmmio_snapshot(struct vmmio *t, unsigned q, struct virtq *snap, uint32_t *gen)
{
	int ret = -EAGAIN;

	pthread_mutex_lock(&t->lock);
	if (t->q[q].ready && !(t->status & STATUS_NEEDS_RESET)) {
		*snap = t->q[q].q;
		*gen = t->gen;
		ret = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}

static void vmmio_commit(struct vmmio *t, unsigned q, const struct virtq *snap, uint32_t gen)
{
	pthread_mutex_lock(&t->lock);
	if (t->gen == gen) {
		t->q[q].q.last_avail = snap->last_avail;
		t->q[q].q.used_idx = snap->used_idx;
	}
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
	int ret;

	if (q >= t->ops->nqueues || vmmio_snapshot(t, q, &snap, &gen) < 0)
		return -EAGAIN;
	for (budget = snap.size; budget; budget--) {
		ret = virtq_pop(g, &snap, &t->chain);
		if (ret <= 0)
			break;
		ret = fn(t->dev, t, &t->chain);
		if (ret == -EAGAIN) {
			snap.last_avail--;
			ret = 1;
			break;
		}
		if (ret >= 0)
			ret = virtq_push(g, &snap, t->chain.head, (uint32_t)ret);
		if (ret < 0)
			break;
		used++;
		ret = 0;
	}
	if (budget == 0) {	/* more work than one ring's worth: come back after other events */
		uint64_t one = 1;

		if (write(t->q[q].efd, &one, sizeof(one)) < 0)
			t->ctr->errors++;
	}
	if (ret < 0) {
		vmmio_broken(t, gen);
		return ret;
	}
	vmmio_commit(t, q, &snap, gen);
	if (used && virtq_want_irq(g, &snap))
		vmmio_irq(t, ISR_USED);
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

static void vmmio_reset(struct vmmio *t)
{
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
	case 0x000: return VMMIO_MAGIC;
	case 0x004: return 2;
	case 0x008: return t->ops->device_id;
	case 0x00c: return VMMIO_VENDOR;
	case 0x010: return t->dev_sel < 2 ? (uint32_t)(t->ops->features >> (32 * t->dev_sel)) : 0;
	case 0x034: return vq ? t->ops->qsize : 0;
	case 0x044: return vq ? vq->ready : 0;
	case 0x060: return atomic_load(&t->isr);
	case 0x070: return t->status;
	case 0x0fc: return 0;
	default: return 0;
	}
}

static void vmmio_set_features(struct vmmio *t, uint32_t val)
{
	if (t->drv_sel >= 2 || !(t->status & STATUS_DRIVER) || (t->status & STATUS_FEATURES_OK))
		return;
	t->drv_features &= ~(0xffffffffull << (32 * t->drv_sel));
	t->drv_features |= (uint64_t)val << (32 * t->drv_sel);
}

static void vmmio_set_status(struct vmmio *t, uint32_t val)
{
	if (val == 0) {
		vmmio_reset(t);
		return;
	}
	if ((val & STATUS_FEATURES_OK) && !(t->status & STATUS_FEATURES_OK) &&
	    ((t->drv_features & ~t->ops->features) || !(t->drv_features & VIRTIO_F_VERSION_1)))
		val &= ~(uint32_t)STATUS_FEATURES_OK;	/* refused: the driver reads it back */
	t->status = (val & 0xff) | (t->status & STATUS_NEEDS_RESET);
}

static void vmmio_set_ready(struct vmmio *t, struct vmmio_queue *vq, uint32_t val)
{
	if (!val) {
		vq->ready = false;
		t->gen++;
		return;
	}
	vq->q.indirect = t->drv_features & VIRTIO_F_INDIRECT_DESC;
	vq->q.last_avail = vq->q.used_idx = 0;
	if (virtq_check(&t->vmm->mem, &vq->q) < 0 || vq->q.size > t->ops->qsize) {
		t->status |= STATUS_NEEDS_RESET;
		t->ctr->errors++;
		vmmio_irq(t, ISR_CONFIG);
		return;
	}
	vq->ready = true;
	t->gen++;
}

static void vmmio_set_addr(struct vmmio_queue *vq, uint64_t off, uint32_t val)
{
	uint64_t *a = off < 0x90 ? &vq->q.desc : off < 0xa0 ? &vq->q.avail : &vq->q.used;
	unsigned shift = (off & 4) ? 32 : 0;

	if (vq->ready)
		return;
	*a = (*a & ~(0xffffffffull << shift)) | ((uint64_t)val << shift);
}

static void vmmio_queue_write(struct vmmio *t, uint64_t off, uint32_t val)
{
	struct vmmio_queue *vq = t->queue_sel < t->ops->nqueues ? &t->q[t->queue_sel] : NULL;
	uint64_t one = 1;

	if (off == 0x050) {	/* normally caught by the ioeventfd */
		if (val < t->ops->nqueues && write(t->q[val].efd, &one, sizeof(one)) < 0)
			t->ctr->errors++;
		return;
	}
	if (!vq)
		return;
	if (off == 0x038 && !vq->ready && val && val <= t->ops->qsize && !(val & (val - 1)))
		vq->q.size = (uint16_t)val;
	else if (off == 0x044)
		vmmio_set_ready(t, vq, val);
	else if (off >= 0x080 && off <= 0x0a4 && (off & 0xf) <= 4)
		vmmio_set_addr(vq, off, val);
}

static void vmmio_reg_write(struct vmmio *t, uint64_t off, uint32_t val)
{
	switch (off) {
	case 0x014: t->dev_sel = val; break;
	case 0x020: vmmio_set_features(t, val); break;
	case 0x024: t->drv_sel = val; break;
	case 0x030: t->queue_sel = val; break;
	case 0x064: atomic_fetch_and(&t->isr, ~val); break;
	case 0x070: vmmio_set_status(t, val); break;
	default: vmmio_queue_write(t, off, val); break;
	}
}

static void vmmio_read(void *opaque, uint64_t off, uint8_t *data, unsigned len)
{
	struct vmmio *t = opaque;
	uint32_t v;

	memset(data, 0, len);
	pthread_mutex_lock(&t->lock);
	if (off >= VMMIO_CONFIG) {
		if (off - VMMIO_CONFIG < t->cfglen && len <= t->cfglen - (off - VMMIO_CONFIG))
			memcpy(data, t->config + (off - VMMIO_CONFIG), len);
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

	if (off >= VMMIO_CONFIG || len != 4 || (off & 3))
		return;	/* device configuration is read-only here */
	memcpy(&v, data, 4);
	pthread_mutex_lock(&t->lock);
	vmmio_reg_write(t, off, v);
	pthread_mutex_unlock(&t->lock);
}

static int vmmio_eventfds(struct vmmio *t)
{
	struct kvm_irqfd irqfd = { .gsi = t->irq };

	t->irqfd = irqfd.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->irqfd < 0 || ioctl(t->vmm->vm, KVM_IRQFD, &irqfd) < 0)
		return vmm_err(-errno, "%s: unable to set up an irqfd: %s", t->ops->kind, strerror(errno));
	for (unsigned i = 0; i < t->ops->nqueues; i++) {
		struct vmmio_queue *vq = &t->q[i];
		struct kvm_ioeventfd io = { .datamatch = i, .addr = t->base + 0x50, .len = 4,
					    .flags = KVM_IOEVENTFD_FLAG_DATAMATCH };

		vq->t = t;
		vq->idx = i;
		vq->efd = io.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vq->efd < 0 || ioctl(t->vmm->vm, KVM_IOEVENTFD, &io) < 0)
			return vmm_err(-errno, "%s: unable to set up an ioeventfd: %s", t->ops->kind,
				       strerror(errno));
		if (loop_add(&t->vmm->loop, vq->efd, EPOLLIN, vmmio_notified, vq) < 0)
			return -ENOSPC;
	}
	return 0;
}


/* vmmio_create: the transport for one device; config is the device's read-only config space. */
int vmmio_create(struct vmm *v, const struct vdev_ops *ops, void *dev, const void *config, size_t cfglen,
		 struct counters *ctr, struct vmmio **out)
{
	static struct vmmio slots[VMM_MAX_VIRTIO];
	struct vmmio *t;
	struct bus_dev d;

	if (v->nvirtio >= VMM_MAX_VIRTIO || cfglen > VMMIO_MAX_CONFIG || ops->nqueues > VMMIO_MAX_QUEUES)
		return vmm_err(-ENOSPC, "%s: too many virtio devices", ops->kind);
	t = &slots[v->nvirtio];
	*t = (struct vmmio){ .vmm = v, .ops = ops, .dev = dev, .cfglen = cfglen, .ctr = ctr,
			     .base = VMMIO_BASE + v->nvirtio * VMMIO_SIZE, .irq = vmmio_irqs[v->nvirtio] };
	memcpy(t->config, config, cfglen);
	pthread_mutex_init(&t->lock, NULL);
	vmmio_reset(t);
	d = (struct bus_dev){ .base = t->base, .len = VMMIO_SIZE, .read = vmmio_read, .write = vmmio_write,
			      .opaque = t };
	if (vm_bus_add(&v->mmio, &d) < 0 || vmmio_eventfds(t) < 0)
		return -ENOSPC;
	v->virtio[v->nvirtio].base = t->base;
	v->virtio[v->nvirtio].irq = t->irq;
	v->nvirtio++;
	v->ctr[v->nctr++] = ctr;
	*out = t;
	return 0;
}
