/* hvnode-vmm fuzz target: the virtio-blk request parser (blk.c) on chains from arbitrary
 * rings; every data buffer it accepts must lie in guest memory and respect the capacity. */
#include "fuzz_ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtq_chain c;
	static struct vblk_req r;
	const uint64_t capacity = 64;
	struct gmem g;
	struct virtq q;

	if (fuzz_ring(data, size, &g, &q) < 0)
		return 0;
	for (unsigned i = 0; i < q.size && virtq_pop(&g, &q, &c) == 1; i++) {
		int ret = vblk_parse(&g, &c, capacity, data[3] & 4, &r);	/* bit 2: a read-only disk */

		if (ret != 0)
			continue;
		if ((r.type == 0 || r.type == 1) && (r.len % 512 || r.sector + r.len / 512 > capacity))
			__builtin_trap();
		for (unsigned j = 0; j < r.niov; j++)	/* touch every byte: ASan checks the range */
			memset(r.iov[j].iov_base, 0xab, r.iov[j].iov_len);
		*r.status = 0;
	}
	return 0;
}
