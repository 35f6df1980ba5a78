/* hvnode-vmm fuzzing: shared setup for the ring-based targets. The input's first 4 bytes
 * choose the queue size (2^(b0 % 9)), the consumer index and the indirect feature; the rest
 * is guest memory (16 KiB): descriptor table at 0, avail ring at 0x1000, used ring at 0x2000.
 * Everything the guest controls is fuzzed; the view itself is fixed. */
#ifndef HVNODE_FUZZ_RING_H
#define HVNODE_FUZZ_RING_H
#include <string.h>

#include "virtio_dev.h"

#define FUZZ_MEM 0x4000

static uint8_t fuzz_mem[FUZZ_MEM] __attribute__((aligned(16)));

static int fuzz_ring(const uint8_t *data, size_t size, struct gmem *g, struct virtq *q)
{
	if (size < 4)
		return -1;
	memset(fuzz_mem, 0, sizeof(fuzz_mem));
	memcpy(fuzz_mem, data + 4, size - 4 < FUZZ_MEM ? size - 4 : FUZZ_MEM);
	*g = (struct gmem){ .base = fuzz_mem, .size = FUZZ_MEM };
	*q = (struct virtq){ .desc = 0, .avail = 0x1000, .used = 0x2000, .size = (uint16_t)(1u << (data[0] % 9)),
			     .last_avail = (uint16_t)(data[1] | data[2] << 8), .indirect = data[3] & 1 };
	return virtq_check(g, q);
}

#endif
