/* hvnode-vmm unit tests: the guest driver's side of virtio-mmio (virtio 1.2 sections 2.7, 3.1
 * and 4.2.3) for tests that drive a device through its registers: register access on a bus,
 * the initialization steps, queue setup, and descriptor, avail and used ring access in a plain
 * buffer that serves as guest memory. Header-only; each test includes it once. */
#ifndef HVNODE_TEST_DRIVER_H
#define HVNODE_TEST_DRIVER_H
#include <string.h>
#include <linux/virtio_mmio.h>

#include "virtio_dev.h"

static inline uint32_t drv_rd(struct bus *b, uint64_t addr)
{
	uint32_t val;

	vm_bus_access(b, addr, (uint8_t *)&val, 4, false);
	return val;
}

static inline void drv_wr(struct bus *b, uint64_t addr, uint32_t val)
{
	vm_bus_access(b, addr, (uint8_t *)&val, 4, true);
}

/* drv_negotiate: reset, ACKNOWLEDGE, DRIVER, FEATURES (64 bits), FEATURES_OK; the status read back */
static inline uint32_t drv_negotiate(struct bus *b, uint64_t base, uint64_t features)
{
	drv_wr(b, base + VIRTIO_MMIO_STATUS, 0);
	drv_wr(b, base + VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	drv_wr(b, base + VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	drv_wr(b, base + VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	drv_wr(b, base + VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	drv_wr(b, base + VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	drv_wr(b, base + VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	drv_wr(b, base + VIRTIO_MMIO_STATUS,
	       VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	return drv_rd(b, base + VIRTIO_MMIO_STATUS);
}

static inline void drv_driver_ok(struct bus *b, uint64_t base)
{
	drv_wr(b, base + VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
	       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

/* drv_queue: queue Q of SIZE entries with its rings at DESC, AVAIL and USED, then ready */
static inline void drv_queue(struct bus *b, uint64_t base, unsigned q, uint32_t size, uint64_t desc, uint64_t avail,
		      uint64_t used)
{
	drv_wr(b, base + VIRTIO_MMIO_QUEUE_SEL, q);
	drv_wr(b, base + VIRTIO_MMIO_QUEUE_NUM, size);
	drv_wr(b, base + VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	drv_wr(b, base + VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	drv_wr(b, base + VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
	drv_wr(b, base + VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(avail >> 32));
	drv_wr(b, base + VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used);
	drv_wr(b, base + VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(used >> 32));
	drv_wr(b, base + VIRTIO_MMIO_QUEUE_READY, 1);
}

/* drv_desc: descriptor I of the table at TABLE */
static inline void drv_desc(uint8_t *mem, uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint8_t *d = mem + table + 16 * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

/* drv_avail: HEAD as avail entry IDX - 1, and the avail index set to IDX */
static inline void drv_avail(uint8_t *mem, uint64_t avail, uint16_t size, uint16_t idx, uint16_t head)
{
	memcpy(mem + avail + 4 + 2 * ((uint16_t)(idx - 1) % size), &head, 2);
	memcpy(mem + avail + 2, &idx, 2);
}

static inline uint16_t drv_used_idx(const uint8_t *mem, uint64_t used)
{
	uint16_t idx;

	memcpy(&idx, mem + used + 2, 2);
	return idx;
}

/* drv_used: used ring entry I: the head it returns and the length written */
static inline void drv_used(const uint8_t *mem, uint64_t used, unsigned i, uint32_t *id, uint32_t *len)
{
	memcpy(id, mem + used + 4 + 8 * i, 4);
	memcpy(len, mem + used + 8 + 8 * i, 4);
}

/* drv_used_is: 1 when used ring entry I returns head ID with LEN bytes written */
static inline int drv_used_is(const uint8_t *mem, uint64_t used, unsigned i, uint32_t id, uint32_t len)
{
	uint32_t got_id, got_len;

	drv_used(mem, used, i, &got_id, &got_len);
	return got_id == id && got_len == len;
}

#endif
