/* hvnode-vmm fuzz target: the split virtqueue walker (virtq.c) on arbitrary rings; pops
 * until empty or broken, pushes every chain back, copies through each chain. */
#include "fuzz_ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtq_chain c;
	uint8_t buf[64];
	struct gmem g;
	struct virtq q;

	if (fuzz_ring(data, size, &g, &q) < 0)
		return 0;
	for (unsigned i = 0; i < 2u * q.size && virtq_pop(&g, &q, &c) == 1; i++) {
		virtq_read(&g, &c, c.rlen / 2, buf, sizeof(buf));
		virtq_write(&g, &c, c.wlen / 2, buf, sizeof(buf));
		if (virtq_push(&g, &q, c.head, (uint32_t)c.wlen) < 0)
			__builtin_trap();	/* a popped head is always in range */
	}
	virtq_want_irq(&g, &q, (uint16_t)(q.used_idx - 1));
	return 0;
}
