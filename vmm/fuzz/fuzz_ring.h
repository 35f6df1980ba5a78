/* hvnode-vmm fuzzing: shared setup for the ring-based targets. The input's first 10 bytes
 * choose the queue size (2^(b0 % 9)), the consumer index (b1, b2), the features (b3: bit 0
 * indirect descriptors, bit 1 the event index), the used index (b4, b5) and where the three
 * rings are (b6-b9: the descriptor table, the avail and used rings anywhere in the 16 KiB at
 * their alignment, overlapping or not); the rest is guest memory. Everything the guest
 * controls is fuzzed; the view itself is fixed. */
#ifndef HVNODE_FUZZ_RING_H
#define HVNODE_FUZZ_RING_H
#include <string.h>

#include "virtio_dev.h"

#define FUZZ_MEM 0x4000
#define FUZZ_HDR 10

static uint8_t fuzz_mem[FUZZ_MEM] __attribute__((aligned(16)));

static int fuzz_ring(const uint8_t *data, size_t size, struct gmem *g, struct virtq *q)
{
	if (size < FUZZ_HDR)
		return -1;
	memset(fuzz_mem, 0, sizeof(fuzz_mem));
	memcpy(fuzz_mem, data + FUZZ_HDR, size - FUZZ_HDR < FUZZ_MEM ? size - FUZZ_HDR : FUZZ_MEM);
	*g = (struct gmem){ .base = fuzz_mem, .size = FUZZ_MEM };
	*q = (struct virtq){ .size = (uint16_t)(1u << (data[0] % 9)), .last_avail = (uint16_t)(data[1] | data[2] << 8),
			     .indirect = data[3] & 1, .event_idx = data[3] & 2,
			     .used_idx = (uint16_t)(data[4] | data[5] << 8),
			     .desc = (uint64_t)(data[6] | (data[7] & 0x30) << 8) & ~15ull,
			     .avail = (uint64_t)(data[8] << 6) & ~1ull,
			     .used = (uint64_t)(data[9] << 6) & ~3ull };
	return virtq_check(g, q);
}

#endif
