/* hvnode-vmm fuzz target: virtio-net transmit/receive chain parsers and the receive header
 * check (net.c), without and with every offload negotiated, and the virtio-rng buffer
 * collector (rng.c), on chains from arbitrary rings. */
#include "fuzz_ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_touch(const struct iovec *iov, unsigned n)
{
	for (unsigned j = 0; j < n; j++)
		memset(iov[j].iov_base, 0x5a, iov[j].iov_len);
}

/* A transmit frame is only read (its header is the VMM's own, read-only). */
static void fuzz_read(const struct iovec *iov, unsigned n)
{
	volatile uint8_t sum = 0;

	for (unsigned j = 0; j < n; j++)
		for (size_t k = 0; k < iov[j].iov_len; k++)
			sum = (uint8_t)(sum + ((const uint8_t *)iov[j].iov_base)[k]);
	(void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtq_chain c;
	static struct iovec iov[VNET_MAX_IOV];
	static const uint64_t features[] = { 0, ~0ull };
	uint8_t hdr[VNET_HDR_LEN];
	struct gmem g;
	struct virtq q;
	unsigned n;

	if (fuzz_ring(data, size, &g, &q) < 0)
		return 0;
	for (unsigned i = 0; i < q.size && virtq_pop(&g, &q, &c) == 1; i++) {
		for (unsigned f = 0; f < 2; f++) {
			if (vnet_tx_parse(&g, &c, features[f], hdr, iov, &n) == 0)
				fuzz_read(iov, n);
			if (virtq_read(&g, &c, 0, hdr, sizeof(hdr)) == sizeof(hdr))
				(void)vnet_rx_hdr(hdr, features[f], 1);
		}
		if (vnet_rx_iov(&g, &c, iov, &n) == 0)
			fuzz_touch(iov, n);
		if (vrng_iov(&g, &c, iov, &n) == 0)
			fuzz_touch(iov, n);
	}
	return 0;
}
