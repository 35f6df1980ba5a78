/* hvnode-vmm: virtio-rng (entropy device), virtio 1.2 section 5.4: fills the writable
 * buffers of each request with getrandom() bytes, at most 64 KiB per request.
 * Trusts nothing in a request: only its validated writable segments are used; readable
 * segments are ignored. getrandom() runs non-blocking on the event loop (the VMM waits
 * once at startup for the host's pool to be initialized). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "virtio_dev.h"

#define VIRTIO_ID_RNG 4
#define VRNG_MAX 65536

struct vrng {
	struct counters ctr;
	struct vmmio *t;
	struct iovec iov[VIRTQ_MAX_SEGS];
};

/* vrng_iov: the writable buffers of c, up to VRNG_MAX bytes in total. */
int vrng_iov(const struct gmem *g, const struct virtq_chain *c, struct iovec *iov, unsigned *niov)
{
	uint64_t total = 0;

	*niov = 0;
	for (unsigned i = c->nread; i < c->nseg && total < VRNG_MAX; i++) {
		uint64_t n = c->seg[i].len < VRNG_MAX - total ? c->seg[i].len : VRNG_MAX - total;
		void *p = gmem_ptr(g, c->seg[i].addr, n);

		if (!p)
			return -EINVAL;
		iov[(*niov)++] = (struct iovec){ .iov_base = p, .iov_len = n };
		total += n;
	}
	return 0;
}

static int vrng_request(void *dev, struct vmmio *t, struct virtq_chain *c)
{
	struct vrng *r = dev;
	unsigned niov;
	int done = 0;

	r->ctr.requests++;
	if (vrng_iov(vmmio_mem(t), c, r->iov, &niov) < 0)
		return -EINVAL;
	for (unsigned i = 0; i < niov; i++) {
		ssize_t n = getrandom(r->iov[i].iov_base, r->iov[i].iov_len, GRND_NONBLOCK);

		if (n < 0) {
			r->ctr.errors++;
			break;
		}
		done += (int)n;
		if ((size_t)n < r->iov[i].iov_len)
			break;
	}
	r->ctr.bytes += (uint64_t)done;
	return done;
}

static void vrng_notify(void *dev, struct vmmio *t, unsigned q)
{
	(void)dev;
	vmmio_drain(t, q, vrng_request);
}

int vrng_create(struct vmm *v)
{
	static const struct vdev_ops ops = {
		.kind = "virtio-rng", .device_id = VIRTIO_ID_RNG, .nqueues = 1, .qsize = 64,
		.features = VIRTIO_COMMON_FEATURES, .notify = vrng_notify,
	};
	struct vrng *r = calloc(1, sizeof(*r));
	uint8_t b;

	if (!r)
		return vmm_err(-ENOMEM, "virtio-rng: %s", strerror(ENOMEM));
	/* Wait once, at startup, for the host pool: afterwards GRND_NONBLOCK never fails. */
	if (getrandom(&b, 1, 0) < 0)
		return vmm_err(-errno, "unable to read host entropy (getrandom): %s", strerror(errno));
	r->ctr.kind = "virtio-rng";
	strcpy(r->ctr.name, "hwrng");
	return vmmio_create(v, &ops, r, "", 0, &r->ctr, &r->t);
}
