/* hvnode-vmm unit tests: virtio-blk (virtio 1.2 section 5.2) driven through its registers on a
 * temporary file, with the real event loop (no KVM): the config space, OUT and IN round trips,
 * FLUSH, GET_ID, requests outside the disk, DISCARD and WRITE_ZEROES (ranges read back as
 * zeros; bad flags, ranges and payloads refused), a read-only disk, and the event index not
 * offered. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver.h"
#include "test.h"

#define MEM_SIZE (1 << 20)
#define QSIZE 16
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define HDR 0x4000
#define DATA 0x10000
#define STATUS 0x5000
#define SECTORS 64
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2

static uint8_t mem_buf[MEM_SIZE] __attribute__((aligned(4096)));
static struct vmm v;
static char path[64], ro_path[64];
static int fd;
static uint16_t avail_idx;

static uint64_t disk(unsigned i)
{
	return v.virtio[i].base;
}

static void run_loop(void)
{
	for (int i = 0; i < 32 && loop_dispatch(&v.loop, 0) > 0; i++) {
	}
}

/* request: type, sector, LEN data bytes at DATA (device-writable when IN), on disk D; the
 * status byte it got */
static uint8_t request(unsigned d, uint32_t type, uint64_t sector, uint32_t len, bool in)
{
	uint16_t head = (uint16_t)((avail_idx * 3) % QSIZE), n = 0;

	memcpy(mem_buf + HDR, &type, 4);
	memset(mem_buf + HDR + 4, 0, 4);
	memcpy(mem_buf + HDR + 8, &sector, 8);
	mem_buf[STATUS] = 0xee;
	drv_desc(mem_buf, DESC, head, HDR, 16, VIRTQ_DESC_F_NEXT, (uint16_t)((head + 1) % QSIZE));
	if (len) {
		n++;
		drv_desc(mem_buf, DESC, (head + 1u) % QSIZE, DATA, len, VIRTQ_DESC_F_NEXT | (in ? VIRTQ_DESC_F_WRITE : 0),
			 (uint16_t)((head + 2) % QSIZE));
	}
	drv_desc(mem_buf, DESC, (head + 1u + n) % QSIZE, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	drv_avail(mem_buf, AVAIL, QSIZE, ++avail_idx, head);
	drv_wr(&v.mmio, disk(d) + VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	run_loop();
	return mem_buf[STATUS];
}

/* ranges: COUNT virtio_blk_discard_write_zeroes records at DATA */
static uint32_t ranges(unsigned count, uint64_t sector, uint32_t sectors, uint32_t flags)
{
	for (unsigned i = 0; i < count; i++) {
		uint64_t s = sector + i * (uint64_t)sectors;

		memcpy(mem_buf + DATA + 16 * i, &s, 8);
		memcpy(mem_buf + DATA + 16 * i + 8, &sectors, 4);
		memcpy(mem_buf + DATA + 16 * i + 12, &flags, 4);
	}
	return 16 * count;
}

static bool file_is(off_t off, size_t len, int byte)
{
	uint8_t buf[8192];

	if (len > sizeof(buf) || pread(fd, buf, len, off) != (ssize_t)len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (buf[i] != byte)
			return false;
	return true;
}

static void test_config(void)
{
	uint64_t cap;
	uint32_t blk_size, max_discard, discard_seg, wz_seg;
	uint8_t may_unmap;

	vm_bus_access(&v.mmio, disk(0) + VIRTIO_MMIO_CONFIG, (uint8_t *)&cap, 8, false);
	vm_bus_access(&v.mmio, disk(0) + VIRTIO_MMIO_CONFIG + 20, (uint8_t *)&blk_size, 4, false);
	vm_bus_access(&v.mmio, disk(0) + VIRTIO_MMIO_CONFIG + 36, (uint8_t *)&max_discard, 4, false);
	vm_bus_access(&v.mmio, disk(0) + VIRTIO_MMIO_CONFIG + 40, (uint8_t *)&discard_seg, 4, false);
	vm_bus_access(&v.mmio, disk(0) + VIRTIO_MMIO_CONFIG + 52, (uint8_t *)&wz_seg, 4, false);
	vm_bus_access(&v.mmio, disk(0) + VIRTIO_MMIO_CONFIG + 56, &may_unmap, 1, false);
	CHECK(cap == SECTORS && blk_size == 512 && max_discard == VBLK_MAX_RANGE_SECTORS);
	CHECK(discard_seg == VBLK_MAX_RANGES && wz_seg == VBLK_MAX_RANGES && may_unmap == 1);
	/* DISCARD (13), WRITE_ZEROES (14), BLK_SIZE (6); not on the read-only disk */
	drv_wr(&v.mmio, disk(0) + VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK((drv_rd(&v.mmio, disk(0) + VIRTIO_MMIO_DEVICE_FEATURES) & 0x6040) == 0x6040);
	drv_wr(&v.mmio, disk(1) + VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK((drv_rd(&v.mmio, disk(1) + VIRTIO_MMIO_DEVICE_FEATURES) & 0x6060) == 0x0060);
	drv_wr(&v.mmio, disk(0) + VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	CHECK(drv_rd(&v.mmio, disk(0) + VIRTIO_MMIO_DEVICE_FEATURES) & 1);	/* VERSION_1 */
}

static void up(unsigned d, uint64_t features)
{
	memset(mem_buf, 0, MEM_SIZE);
	avail_idx = 0;
	CHECK(drv_negotiate(&v.mmio, disk(d), features) & VIRTIO_CONFIG_S_FEATURES_OK);
	drv_queue(&v.mmio, disk(d), 0, QSIZE, DESC, AVAIL, USED);
	drv_driver_ok(&v.mmio, disk(d));
}

static void test_io(void)
{
	up(0, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	memset(mem_buf + DATA, 0x5a, 1024);
	CHECK(request(0, 1, 2, 1024, false) == S_OK);		/* OUT sectors 2-3 */
	CHECK(file_is(1024, 1024, 0x5a) && file_is(0, 1024, 0));
	memset(mem_buf + DATA, 0, 1024);
	CHECK(request(0, 0, 2, 1024, true) == S_OK);		/* IN */
	CHECK(mem_buf[DATA] == 0x5a && mem_buf[DATA + 1023] == 0x5a);
	CHECK(request(0, 4, 0, 0, false) == S_OK);		/* FLUSH */
	CHECK(request(0, 8, 0, 20, true) == S_OK && memcmp(mem_buf + DATA, "hvnode-vda", 11) == 0);
	CHECK(request(0, 0, SECTORS - 1, 1024, true) == S_IOERR);	/* past the end */
	CHECK(request(0, 0, 0, 100, true) == S_IOERR);		/* not whole sectors */
	CHECK(request(0, 99, 0, 0, false) == S_UNSUPP);
	CHECK(drv_used_idx(mem_buf, USED) == 7);
}

static void test_discard_write_zeroes(void)
{
	memset(mem_buf + DATA, 0x77, 8192);
	CHECK(request(0, 1, 8, 8192, false) == S_OK);		/* sectors 8-23 hold 0x77 */
	CHECK(file_is(8 * 512, 8192, 0x77));
	/* DISCARD sectors 8-15: a hole, reads back zeros (a disk that cannot punch keeps data,
	 * which the spec allows; this file system can) */
	CHECK(request(0, 11, 0, ranges(1, 8, 8, 0), false) == S_OK);
	CHECK(file_is(8 * 512, 4096, 0) && file_is(16 * 512, 4096, 0x77));
	/* WRITE_ZEROES sectors 16-19 without unmap, 20-23 with it: zeros either way */
	CHECK(request(0, 13, 0, ranges(1, 16, 4, 0), false) == S_OK);
	CHECK(request(0, 13, 0, ranges(1, 20, 4, 1), false) == S_OK);
	CHECK(file_is(16 * 512, 4096, 0));
	/* two ranges in one request */
	memset(mem_buf + DATA, 0x11, 4096);
	CHECK(request(0, 1, 30, 4096, false) == S_OK);
	CHECK(request(0, 13, 0, ranges(2, 30, 2, 0), false) == S_OK);
	CHECK(file_is(30 * 512, 2048, 0) && file_is(34 * 512, 2048, 0x11));
	/* refused: unmap on a DISCARD, unknown flags, ranges outside the disk, too many ranges,
	 * a payload that is not whole records or is empty */
	CHECK(request(0, 11, 0, ranges(1, 0, 8, 1), false) == S_UNSUPP);
	CHECK(request(0, 13, 0, ranges(1, 0, 8, 2), false) == S_UNSUPP);
	CHECK(request(0, 11, 0, ranges(1, SECTORS - 4, 8, 0), false) == S_IOERR);
	CHECK(request(0, 13, 0, ranges(1, ~0ull - 2, 8, 0), false) == S_IOERR);
	CHECK(request(0, 11, 0, ranges(VBLK_MAX_RANGES + 1, 0, 1, 0), false) == S_IOERR);
	CHECK(request(0, 11, 0, 15, false) == S_IOERR);
	CHECK(request(0, 13, 0, 0, false) == S_IOERR);
	CHECK(file_is(34 * 512, 2048, 0x11));			/* nothing refused was done */
}

static void test_read_only(void)
{
	up(1, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	CHECK(request(1, 0, 0, 512, true) == S_OK);
	CHECK(request(1, 1, 0, 512, false) == S_IOERR);
	CHECK(request(1, 11, 0, ranges(1, 0, 8, 0), false) == S_IOERR);
	CHECK(request(1, 13, 0, ranges(1, 0, 8, 0), false) == S_IOERR);
}

/* the event index: not offered (virtio_dev.h says why): a driver asking for it has
 * FEATURES_OK refused; the ring code for it is tested in test_virtq */
static void test_event_idx(void)
{
	uint32_t s = drv_negotiate(&v.mmio, disk(0), VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));

	CHECK(!(s & VIRTIO_CONFIG_S_FEATURES_OK));
	drv_wr(&v.mmio, disk(0) + VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK(!(drv_rd(&v.mmio, disk(0) + VIRTIO_MMIO_DEVICE_FEATURES) & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX)));
	/* without it the device leaves avail_event alone and interrupts for every batch */
	up(0, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	CHECK(request(0, 4, 0, 0, false) == S_OK);
	CHECK(mem_buf[USED + 4 + 8 * QSIZE] == 0 && drv_rd(&v.mmio, disk(0) + VIRTIO_MMIO_INTERRUPT_STATUS) == 1);
}

int main(void)
{
	int ro;

	strcpy(path, "/tmp/hvnode-test-blk-XXXXXX");
	strcpy(ro_path, "/tmp/hvnode-test-blk-ro-XXXXXX");
	fd = mkstemp(path);
	ro = mkstemp(ro_path);
	CHECK(fd >= 0 && ro >= 0 && ftruncate(fd, SECTORS * 512) == 0 && ftruncate(ro, 4096) == 0);
	v.mem = (struct gmem){ .base = mem_buf, .size = MEM_SIZE };
	v.vm = -1;
	CHECK(loop_init(&v.loop) == 0);
	CHECK(vblk_create(&v, path, false) == 0 && vblk_create(&v, ro_path, true) == 0);
	test_config();
	test_io();
	test_discard_write_zeroes();
	test_read_only();
	test_event_idx();
	unlink(path);
	unlink(ro_path);
	close(fd);
	close(ro);
	TEST_DONE("blk");
}
