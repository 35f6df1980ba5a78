/* hvnode-vmm unit tests: the virtio-mmio transport's state machine (virtio 1.2 sections 2.4,
 * 3.1 and 4.2) driven through its registers as a guest driver would, with a test device on a
 * plain buffer as guest memory and the real event loop (no KVM): identification, feature
 * negotiation and its refusals, the status bits only the device may set, queue setup and
 * QueueReady validation, config space bounds, no buffer used before DRIVER_OK, ring errors,
 * interrupt status, and a reset that waits for the request in flight. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "driver.h"
#include "test.h"

#define MEM_SIZE (1 << 20)
#define QSIZE 16
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define DATA 0x4000
#define OFFERED (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(0))

static uint8_t mem_buf[MEM_SIZE] __attribute__((aligned(4096)));
static struct vmm v;
static struct vmmio *t;
static struct counters ctr = { .kind = "test" };
static uint64_t base;
static unsigned notified[2];

/* the test device's handler: writes "ok" into the chain; may block (see test_reset_in_flight) */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_closed, in_handler;
static unsigned handled;

static int handler(void *dev, struct vmmio *tr, struct virtq_chain *c)
{
	(void)dev;
	pthread_mutex_lock(&gate_lock);
	in_handler = true;
	pthread_cond_broadcast(&gate_cond);
	while (gate_closed)
		pthread_cond_wait(&gate_cond, &gate_lock);
	in_handler = false;
	handled++;
	pthread_mutex_unlock(&gate_lock);
	return (int)virtq_write(vmmio_mem(tr), c, 0, "ok", 2);
}

static void notify(void *dev, struct vmmio *tr, unsigned q)
{
	(void)dev;
	notified[q]++;
	vmmio_drain(tr, q, handler);
}

static const struct vdev_ops ops = {
	.kind = "test", .device_id = 42, .features = OFFERED, .nqueues = 2, .qsize = QSIZE, .notify = notify,
};

static uint32_t rd(uint64_t off)
{
	return drv_rd(&v.mmio, base + off);
}

static void wr(uint64_t off, uint32_t val)
{
	drv_wr(&v.mmio, base + off, val);
}

static uint16_t used_idx(void)
{
	return drv_used_idx(mem_buf, USED);
}

/* one writable 16-byte buffer per avail slot, head = slot */
static void offer(uint16_t slot)
{
	drv_desc(mem_buf, DESC, slot, DATA + 16 * slot, 16, VIRTQ_DESC_F_WRITE, 0);
	drv_avail(mem_buf, AVAIL, QSIZE, (uint16_t)(slot + 1), slot);
}

static void setup_queue(unsigned q)
{
	drv_queue(&v.mmio, base, q, QSIZE, DESC, AVAIL, USED);
}

static uint32_t negotiate(uint64_t features)
{
	return drv_negotiate(&v.mmio, base, features);
}

static void driver_ok(void)
{
	drv_driver_ok(&v.mmio, base);
}

static void run_loop(void)
{
	while (loop_dispatch(&v.loop, 0) > 0) {
	}
}

static void test_identity(void)
{
	uint8_t b[8];

	CHECK(rd(VIRTIO_MMIO_MAGIC_VALUE) == 0x74726976 && rd(VIRTIO_MMIO_VERSION) == 2);
	CHECK(rd(VIRTIO_MMIO_DEVICE_ID) == 42);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK(rd(VIRTIO_MMIO_DEVICE_FEATURES) == 1);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	CHECK(rd(VIRTIO_MMIO_DEVICE_FEATURES) == 1);	/* VERSION_1 is bit 32 */
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 7);
	CHECK(rd(VIRTIO_MMIO_DEVICE_FEATURES) == 0);
	/* no shared memory regions: SHMLen and SHMBase read -1 (virtio 1.2 4.2.2) */
	wr(VIRTIO_MMIO_SHM_SEL, 0);
	CHECK(rd(VIRTIO_MMIO_SHM_LEN_LOW) == 0xffffffffu && rd(VIRTIO_MMIO_SHM_LEN_HIGH) == 0xffffffffu);
	CHECK(rd(VIRTIO_MMIO_SHM_BASE_LOW) == 0xffffffffu && rd(VIRTIO_MMIO_SHM_BASE_HIGH) == 0xffffffffu);
	/* registers want aligned 32-bit accesses: others read 0 and write nothing */
	vm_bus_access(&v.mmio, base + VIRTIO_MMIO_MAGIC_VALUE, b, 2, false);
	CHECK(b[0] == 0 && b[1] == 0);
	vm_bus_access(&v.mmio, base + 1, b, 4, false);
	CHECK(b[0] == 0);
	/* config space: 8 bytes, read-only, nothing past its end */
	vm_bus_access(&v.mmio, base + VIRTIO_MMIO_CONFIG, b, 8, false);
	CHECK(memcmp(b, "hvconfig", 8) == 0);
	vm_bus_access(&v.mmio, base + VIRTIO_MMIO_CONFIG + 6, b, 4, false);
	CHECK(b[0] == 0 && b[3] == 0);
	memcpy(b, "XXXX", 4);
	vm_bus_access(&v.mmio, base + VIRTIO_MMIO_CONFIG, b, 4, true);
	vm_bus_access(&v.mmio, base + VIRTIO_MMIO_CONFIG, b, 4, false);
	CHECK(memcmp(b, "hvco", 4) == 0);
	/* a window of its own on the bus; past it nothing answers */
	vm_bus_access(&v.mmio, base + VMMIO_SIZE, b, 4, false);
	CHECK(b[0] == 0xff);
}

static void test_negotiation(void)
{
	uint32_t s;

	/* features written before DRIVER are ignored */
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	CHECK(!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK));
	/* a feature outside the offer, or no VERSION_1: FEATURES_OK reads back clear */
	CHECK(!(negotiate(OFFERED | VIRTIO_BIT(3)) & VIRTIO_CONFIG_S_FEATURES_OK));
	CHECK(!(negotiate(VIRTIO_BIT(0)) & VIRTIO_CONFIG_S_FEATURES_OK));
	/* DRIVER_OK after a refused FEATURES_OK is ignored */
	driver_ok();
	CHECK(!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK));
	s = negotiate(OFFERED);
	CHECK(s == (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK));
	/* after FEATURES_OK the features are fixed */
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 0);
	driver_ok();
	CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK);
	/* DEVICE_NEEDS_RESET is the device's to set, never the driver's */
	wr(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET));
	wr(VIRTIO_MMIO_STATUS, 0);
	CHECK(rd(VIRTIO_MMIO_STATUS) == 0);
}

static void test_queue_setup(void)
{
	negotiate(OFFERED);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK(rd(VIRTIO_MMIO_QUEUE_NUM_MAX) == QSIZE && rd(VIRTIO_MMIO_QUEUE_READY) == 0);
	wr(VIRTIO_MMIO_QUEUE_SEL, 2);			/* no such queue */
	CHECK(rd(VIRTIO_MMIO_QUEUE_NUM_MAX) == 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK(rd(VIRTIO_MMIO_QUEUE_READY) == 0 && rd(VIRTIO_MMIO_STATUS) == negotiate(OFFERED));
	/* a ring outside guest memory: DEVICE_NEEDS_RESET and a config interrupt */
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, MEM_SIZE - 16);
	wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVAIL);
	wr(VIRTIO_MMIO_QUEUE_USED_LOW, USED);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK(rd(VIRTIO_MMIO_QUEUE_READY) == 0 && (rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET));
	CHECK(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	CHECK(rd(VIRTIO_MMIO_INTERRUPT_STATUS) == 0);
	/* a reset clears it; sizes must be powers of two up to the maximum */
	negotiate(OFFERED);
	CHECK(!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET));
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, 12);
	wr(VIRTIO_MMIO_QUEUE_NUM, 2 * QSIZE);
	setup_queue(0);
	wr(VIRTIO_MMIO_QUEUE_NUM, 4);			/* ignored: the queue is ready */
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0);		/* ignored too */
	CHECK(rd(VIRTIO_MMIO_QUEUE_READY) == 1);
	wr(VIRTIO_MMIO_QUEUE_READY, 0);
	CHECK(rd(VIRTIO_MMIO_QUEUE_READY) == 0);
	wr(VIRTIO_MMIO_STATUS, 0);
}

static void test_used_after_driver_ok(void)
{
	memset(mem_buf, 0, MEM_SIZE);
	notified[0] = 0;
	negotiate(OFFERED);
	setup_queue(0);
	offer(0);
	/* a notification before DRIVER_OK: the device uses no buffer yet */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	run_loop();
	CHECK(notified[0] == 1 && used_idx() == 0);
	/* DRIVER_OK: the device looks at its ready queues once and takes what is there */
	driver_ok();
	run_loop();
	CHECK(notified[0] == 2 && used_idx() == 1 && memcmp(mem_buf + DATA, "ok", 2) == 0);
	CHECK(rd(VIRTIO_MMIO_INTERRUPT_STATUS) == VIRTIO_MMIO_INT_VRING);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	/* QueueReady = 1 again on a ready queue changes nothing: the indices stay */
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	offer(1);
	handled = 0;
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	run_loop();
	CHECK(used_idx() == 2 && handled == 1);	/* not the first buffer a second time */
	{
		uint32_t id, len;

		drv_used(mem_buf, USED, 1, &id, &len);
		CHECK(id == 1 && len == 2);
	}
	/* a notification for a queue that does not exist is dropped */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 9);
	run_loop();
	CHECK(notified[1] == 0);
}

static void test_ring_error(void)
{
	uint16_t idx = 40;	/* more entries than the queue holds: a broken driver */

	memset(mem_buf, 0, MEM_SIZE);
	negotiate(OFFERED);
	setup_queue(0);
	driver_ok();
	memcpy(mem_buf + AVAIL + 2, &idx, 2);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	run_loop();
	CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK(rd(VIRTIO_MMIO_QUEUE_READY) == 0 && used_idx() == 0);
	wr(VIRTIO_MMIO_STATUS, 0);
	CHECK(rd(VIRTIO_MMIO_STATUS) == 0 && rd(VIRTIO_MMIO_INTERRUPT_STATUS) == 0);
}

/* ---- a reset while the event loop is inside a request ---- */
static bool reset_done;

static void *loop_thread(void *arg)
{
	(void)arg;
	run_loop();
	return NULL;
}

static void *reset_thread(void *arg)
{
	if (arg)	/* the queue alone: QueueReady = 0, as Linux's vm_del_vq */
		wr(VIRTIO_MMIO_QUEUE_READY, 0);
	else
		wr(VIRTIO_MMIO_STATUS, 0);
	pthread_mutex_lock(&gate_lock);
	reset_done = true;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
	return NULL;
}

/* test_reset_in_flight: a reset of the device (QUEUE_ONLY false) or of its queue while the
 * event loop is inside a request */
static void test_reset_in_flight(bool queue_only)
{
	struct timespec until;
	pthread_t loop, reset;
	bool early;
	uint16_t used_at_reset;

	memset(mem_buf, 0, MEM_SIZE);
	negotiate(OFFERED);
	setup_queue(0);
	driver_ok();
	offer(0);
	gate_closed = true;
	reset_done = false;
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	pthread_create(&loop, NULL, loop_thread, NULL);
	pthread_mutex_lock(&gate_lock);
	while (!in_handler)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	/* the request is in flight; the driver resets the device */
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	pthread_create(&reset, NULL, reset_thread, queue_only ? &reset_done : NULL);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 200 * 1000 * 1000;
	if (until.tv_nsec >= 1000000000)
		until.tv_sec++, until.tv_nsec -= 1000000000;
	pthread_mutex_lock(&gate_lock);
	while (!reset_done && pthread_cond_timedwait(&gate_cond, &gate_lock, &until) == 0) {
	}
	early = reset_done;	/* the reset returned while the device still held the ring */
	used_at_reset = used_idx();
	gate_closed = false;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
	pthread_join(reset, NULL);
	pthread_join(loop, NULL);
	CHECK(!early);
	/* the device finished the request before the reset completed, and not after */
	CHECK(used_at_reset == 0 && used_idx() == 1);
	CHECK(queue_only ? rd(VIRTIO_MMIO_QUEUE_READY) == 0 : rd(VIRTIO_MMIO_STATUS) == 0);
	memset(mem_buf + USED, 0, 8);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	run_loop();
	CHECK(used_idx() == 0);		/* a reset device touches no ring */
}

int main(void)
{
	static const char config[8] = "hvconfig";

	v.mem = (struct gmem){ .base = mem_buf, .size = MEM_SIZE };
	CHECK(loop_init(&v.loop) == 0);
	CHECK(vmmio_init(&v, &ops, NULL, config, sizeof(config), &ctr, &t) == 0);
	CHECK(v.nvirtio == 1 && v.virtio[0].t == t && v.virtio[0].irq == 5);
	base = v.virtio[0].base;
	CHECK(base == BOOT_MMIO_BASE);
	test_identity();
	test_negotiation();
	test_queue_setup();
	test_used_after_driver_ok();
	test_ring_error();
	test_reset_in_flight(false);
	test_reset_in_flight(true);
	/* pins: ISA ones first; with ACPI 15 distinct, without it 8, then shared */
	CHECK(vmmio_irq_pin(0, true) == 5 && vmmio_irq_pin(8, true) == 16 && vmmio_irq_pin(14, true) == 23);
	CHECK(vmmio_irq_pin(15, true) == 5 && vmmio_irq_pin(8, false) == 5);
	for (unsigned i = 0; i < 15; i++)
		CHECK(vmmio_irq_pin(i, true) != ACPI_SCI_GSI && vmmio_irq_pin(i, true) < 24);
	TEST_DONE("vmmio");
}
