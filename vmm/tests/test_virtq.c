/* hvnode-vmm unit tests: the split virtqueue walker (virtq.c) and the device request parsers
 * on hostile rings built in a plain buffer: loops, indices past the queue size, buffers out
 * of memory or wrapping around 2^64, zero-length and head-only chains, nested indirect
 * tables, avail index running ahead. Each case asserts the exact outcome. */
#include <errno.h>
#include <string.h>

#include "test.h"
#include "virtio_dev.h"

#define MEM_SIZE (64 * 1024)
#define QSIZE 8
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define DATA 0x4000

static uint8_t mem_buf[MEM_SIZE] __attribute__((aligned(16)));
static struct gmem g = { .base = mem_buf, .size = MEM_SIZE };
static struct virtq q;
static struct virtq_chain chain;

static void reset(void)
{
	memset(mem_buf, 0, sizeof(mem_buf));
	q = (struct virtq){ .desc = DESC, .avail = AVAIL, .used = USED, .size = QSIZE, .indirect = true };
}

static void desc_at(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = mem_buf + table + 16 * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	desc_at(DESC, i, addr, len, flags, next);
}

static void avail(uint16_t idx, uint16_t slot, uint16_t head)
{
	memcpy(mem_buf + AVAIL + 2, &idx, 2);
	memcpy(mem_buf + AVAIL + 4 + 2 * slot, &head, 2);
}

static void test_simple(void)
{
	uint16_t used_idx;
	uint32_t elem[2];

	reset();
	desc(0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(1, DATA + 16, 100, VIRTQ_DESC_F_WRITE, 0);
	avail(1, 0, 0);
	CHECK(virtq_check(&g, &q) == 0);
	CHECK(virtq_pop(&g, &q, &chain) == 1);
	CHECK(chain.head == 0 && chain.nseg == 2 && chain.nread == 1 && chain.rlen == 16 && chain.wlen == 100);
	CHECK(virtq_pop(&g, &q, &chain) == 0);	/* empty now */
	CHECK(virtq_push(&g, &q, 0, 55) == 0);
	memcpy(&used_idx, mem_buf + USED + 2, 2);
	memcpy(elem, mem_buf + USED + 4, 8);
	CHECK(used_idx == 1 && elem[0] == 0 && elem[1] == 55);
	CHECK(virtq_push(&g, &q, QSIZE, 0) == -EINVAL);	/* head out of range */
}

static void test_loop(void)
{
	reset();
	desc(0, DATA, 8, VIRTQ_DESC_F_NEXT, 1);
	desc(1, DATA, 8, VIRTQ_DESC_F_NEXT, 0);	/* 0 -> 1 -> 0 ... */
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == -ELOOP);
	reset();
	desc(3, DATA, 8, VIRTQ_DESC_F_NEXT, 3);	/* self loop */
	avail(1, 0, 3);
	CHECK(virtq_pop(&g, &q, &chain) == -ELOOP);
}

static void test_indices(void)
{
	reset();
	avail(1, 0, QSIZE);	/* head past the queue */
	CHECK(virtq_pop(&g, &q, &chain) == -EINVAL);
	reset();
	desc(0, DATA, 8, VIRTQ_DESC_F_NEXT, QSIZE + 5);	/* next past the queue */
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == -EINVAL);
	reset();
	avail(QSIZE + 1, 0, 0);	/* avail idx ahead by more than the queue size */
	CHECK(virtq_pop(&g, &q, &chain) == -EINVAL);
	reset();
	desc(0, DATA, 8, 0, 0);
	avail(QSIZE, 0, 0);	/* exactly a full ring is fine */
	CHECK(virtq_pop(&g, &q, &chain) == 1);
	reset();
	q.last_avail = 0xfffe;	/* 16-bit wrap-around of the indices */
	desc(0, DATA, 8, 0, 0);
	avail(1, 0xfffe % QSIZE, 0);
	memcpy(mem_buf + AVAIL + 4 + 2 * (0xffff % QSIZE), &(uint16_t){ 0 }, 2);
	CHECK(virtq_pop(&g, &q, &chain) == 1 && virtq_pop(&g, &q, &chain) == 1 && q.last_avail == 0);
	CHECK(virtq_pop(&g, &q, &chain) == 1 && q.last_avail == 1);	/* idx 1: one more slot */
	CHECK(virtq_pop(&g, &q, &chain) == 0);
}

static void test_bounds(void)
{
	reset();
	desc(0, MEM_SIZE - 4, 8, 0, 0);	/* runs past the end */
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == -EFAULT);
	reset();
	desc(0, UINT64_MAX - 3, 8, 0, 0);	/* wraps around 2^64 */
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == -EFAULT);
	reset();
	desc(0, MEM_SIZE, 0, 0, 0);	/* zero bytes at the very end: allowed, skipped */
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == 1 && chain.nseg == 0);
	reset();
	q.used = MEM_SIZE - 8;	/* rings must fit */
	CHECK(virtq_check(&g, &q) == -EFAULT);
	reset();
	q.desc = DESC + 8;	/* misaligned table */
	CHECK(virtq_check(&g, &q) == -EINVAL);
	reset();
	q.size = 6;	/* not a power of two */
	CHECK(virtq_check(&g, &q) == -EINVAL);
	reset();
	q.avail = UINT64_MAX - 1;	/* rings wrapping 2^64 */
	CHECK(virtq_check(&g, &q) == -EFAULT);
}

static void test_chain_shapes(void)
{
	reset();
	desc(0, DATA, 0, VIRTQ_DESC_F_NEXT, 1);
	desc(1, DATA, 0, 0, 0);	/* all zero-length */
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == 1 && chain.nseg == 0 && chain.rlen == 0 && chain.wlen == 0);
	reset();
	desc(0, DATA, 16, 0, 0);	/* head only */
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == 1 && chain.nseg == 1 && chain.nread == 1);
	reset();
	desc(0, DATA, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(1, DATA, 16, 0, 0);	/* readable after writable */
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == -EINVAL);
}

static void test_indirect(void)
{
	const uint64_t table = 0x5000, table2 = 0x6000;

	reset();
	desc_at(table, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	desc_at(table, 1, DATA + 16, 1, VIRTQ_DESC_F_WRITE, 0);
	desc(0, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == 1 && chain.nseg == 2 && chain.wlen == 1);
	reset();
	desc_at(table2, 0, DATA, 16, 0, 0);
	desc_at(table, 0, table2, 16, VIRTQ_DESC_F_INDIRECT, 0);	/* nested */
	desc(0, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == -EINVAL);
	reset();
	desc(0, table, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);	/* INDIRECT with NEXT */
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == -EINVAL);
	reset();
	desc(0, table, 24, VIRTQ_DESC_F_INDIRECT, 0);	/* not a multiple of 16 */
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == -EINVAL);
	reset();
	desc(0, table, 0, VIRTQ_DESC_F_INDIRECT, 0);	/* empty table */
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == -EINVAL);
	reset();
	desc_at(table, 0, DATA, 8, VIRTQ_DESC_F_NEXT, 1);
	desc_at(table, 1, DATA, 8, VIRTQ_DESC_F_NEXT, 0);	/* loop inside the table */
	desc(0, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == -ELOOP);
	reset();
	desc_at(table, 0, DATA, 8, VIRTQ_DESC_F_NEXT, 2);	/* next past the table */
	desc(0, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == -EINVAL);
	reset();
	q.indirect = false;	/* feature not negotiated */
	desc(0, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == -EINVAL);
	reset();
	desc(0, MEM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);	/* table out of memory */
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == -EFAULT);
}

static void test_copy(void)
{
	uint8_t out[8] = { 0 };

	reset();
	memcpy(mem_buf + DATA, "abcd", 4);
	memcpy(mem_buf + DATA + 100, "efgh", 4);
	desc(0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
	desc(1, DATA + 100, 4, VIRTQ_DESC_F_NEXT, 2);
	desc(2, DATA + 200, 3, VIRTQ_DESC_F_WRITE, 0);
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == 1);
	CHECK(virtq_read(&g, &chain, 2, out, 8) == 6 && memcmp(out, "cdefgh", 6) == 0);
	CHECK(virtq_write(&g, &chain, 1, "xyz", 3) == 2 && memcmp(mem_buf + DATA + 201, "xy", 2) == 0);
}

/* a blk chain: header (readable), data, status (writable) */
static void blk_chain(uint32_t type, uint64_t sector, uint32_t data_len, bool data_write)
{
	uint8_t hdr[16] = { 0 };

	reset();
	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	memcpy(mem_buf + DATA, hdr, 16);
	desc(0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(1, DATA + 0x100, data_len, VIRTQ_DESC_F_NEXT | (data_write ? VIRTQ_DESC_F_WRITE : 0), 2);
	desc(2, DATA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	avail(1, 0, 0);
}

static void test_blk(void)
{
	static struct vblk_req r;

	blk_chain(0, 0, 1024, true);	/* IN, two sectors */
	CHECK(virtq_pop(&g, &q, &chain) == 1);
	CHECK(vblk_parse(&g, &chain, 16, false, &r) == 0 && r.len == 1024 && r.niov == 1);
	CHECK(r.status == mem_buf + DATA + 0x2000);
	blk_chain(0, 15, 1024, true);	/* past the end of a 16-sector disk */
	CHECK(virtq_pop(&g, &q, &chain) == 1 && vblk_parse(&g, &chain, 16, false, &r) == 1);
	blk_chain(0, UINT64_MAX, 512, true);	/* sector overflow */
	CHECK(virtq_pop(&g, &q, &chain) == 1 && vblk_parse(&g, &chain, 16, false, &r) == 1);
	blk_chain(0, 0, 100, true);	/* not whole sectors */
	CHECK(virtq_pop(&g, &q, &chain) == 1 && vblk_parse(&g, &chain, 16, false, &r) == 1);
	blk_chain(1, 0, 512, false);	/* OUT on a read-only disk */
	CHECK(virtq_pop(&g, &q, &chain) == 1 && vblk_parse(&g, &chain, 16, true, &r) == 1);
	blk_chain(1, 0, 512, false);	/* OUT on a writable disk */
	CHECK(virtq_pop(&g, &q, &chain) == 1 && vblk_parse(&g, &chain, 16, false, &r) == 0 && r.len == 512);
	blk_chain(77, 0, 512, false);	/* unknown type */
	CHECK(virtq_pop(&g, &q, &chain) == 1 && vblk_parse(&g, &chain, 16, false, &r) == 2);
	reset();
	desc(0, DATA, 16, 0, 0);	/* head only: no status byte to answer in */
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == 1 && vblk_parse(&g, &chain, 16, false, &r) < 0);
	reset();
	desc(0, DATA, 8, VIRTQ_DESC_F_NEXT, 1);	/* short header */
	desc(1, DATA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == 1 && vblk_parse(&g, &chain, 16, false, &r) < 0);
}

static void test_net(void)
{
	static struct iovec iov[VNET_MAX_IOV];
	uint8_t hdr[VNET_HDR_LEN];
	unsigned n;

	reset();
	desc(0, DATA, 12 + 60, 0, 0);
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == 1 && vnet_tx_parse(&g, &chain, 0, hdr, iov, &n) == 0 && n == 2);
	/* The header the tap gets is the VMM's own: a second vCPU rewriting the guest's header
	 * after the check (GSO, checksum offload) changes nothing of what is sent. */
	CHECK(iov[0].iov_base == hdr && iov[0].iov_len == 12 && iov[1].iov_base == mem_buf + DATA + 12 &&
	      iov[1].iov_len == 60);
	mem_buf[DATA] = 1, mem_buf[DATA + 1] = 4;
	CHECK(hdr[0] == 0 && hdr[1] == 0);
	/* the same with every offload negotiated: a valid TCPv6 segment header is checked and
	 * copied; rewriting it afterwards (UDP, a checksum past the frame) changes nothing */
	mem_buf[DATA + 4] = 100, mem_buf[DATA + 6] = 20, mem_buf[DATA + 8] = 16;
	CHECK(vnet_tx_parse(&g, &chain, ~0ull, hdr, iov, &n) == 0 && iov[0].iov_base == hdr);
	mem_buf[DATA + 1] = 3, mem_buf[DATA + 6] = 200;
	CHECK(hdr[0] == 1 && hdr[1] == 4 && hdr[4] == 100 && hdr[6] == 20 && hdr[8] == 16);
	memset(mem_buf + DATA, 0, 12);
	/* A header split over segments: the frame starts where the header ends. */
	reset();
	desc(0, DATA, 5, VIRTQ_DESC_F_NEXT, 1);
	desc(1, DATA + 0x100, 7 + 20, 0, 0);
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == 1 && vnet_tx_parse(&g, &chain, 0, hdr, iov, &n) == 0 && n == 2);
	CHECK(iov[1].iov_base == mem_buf + DATA + 0x100 + 7 && iov[1].iov_len == 20);
	reset();
	desc(0, DATA, 12 + 60, 0, 0);
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == 1);
	CHECK(vnet_rx_iov(&g, &chain, iov, &n) == -EINVAL);	/* rx needs writable buffers */
	mem_buf[DATA + 1] = 1;	/* GSO asked for, never offered */
	CHECK(vnet_tx_parse(&g, &chain, 0, hdr, iov, &n) == -EINVAL);
	reset();
	desc(0, DATA, 8, 0, 0);	/* shorter than the vnet header */
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == 1 && vnet_tx_parse(&g, &chain, 0, hdr, iov, &n) == -EINVAL);
	reset();
	desc(0, DATA, 1500, VIRTQ_DESC_F_WRITE, 0);
	avail(1, 0, 0);
	CHECK(virtq_pop(&g, &q, &chain) == 1 && vnet_rx_iov(&g, &chain, iov, &n) == 0 && n == 1);
	CHECK(vnet_tx_parse(&g, &chain, 0, hdr, iov, &n) == -EINVAL);	/* tx must be readable */
	CHECK(vrng_iov(&g, &chain, iov, &n) == 0 && n == 1 && iov[0].iov_len == 1500);
}

/* The event index (virtio 1.2 2.7.7, 2.7.10): used_event decides interrupts, avail_event is
 * set when the device finds the ring empty. */
static void test_event_idx(void)
{
	uint16_t used_event, avail_event, flags = VIRTQ_AVAIL_F_NO_INTERRUPT;

	reset();
	q.event_idx = true;
	for (unsigned i = 0; i < 3; i++)
		desc(i, DATA + 16 * i, 16, VIRTQ_DESC_F_WRITE, 0);
	avail(1, 0, 0);
	avail(2, 1, 1);
	avail(3, 2, 2);
	CHECK(virtq_pop(&g, &q, &chain) == 1 && virtq_pop(&g, &q, &chain) == 1);
	memcpy(&avail_event, mem_buf + USED + 4 + 8 * QSIZE, 2);
	CHECK(avail_event == 0);		/* not yet empty: untouched */
	CHECK(virtq_pop(&g, &q, &chain) == 1 && virtq_pop(&g, &q, &chain) == 0);
	memcpy(&avail_event, mem_buf + USED + 4 + 8 * QSIZE, 2);
	CHECK(avail_event == 3);		/* notify me when you add entry 3 */
	/* the driver wants an interrupt once used entry 1 is there (used_event = 1) */
	used_event = 1;
	memcpy(mem_buf + AVAIL + 4 + 2 * QSIZE, &used_event, 2);
	memcpy(mem_buf + AVAIL, &flags, 2);	/* ignored with the event index */
	CHECK(virtq_push(&g, &q, 0, 0) == 0);
	CHECK(!virtq_want_irq(&g, &q, 0));	/* used 0..0: entry 1 not yet */
	CHECK(virtq_push(&g, &q, 1, 0) == 0);
	CHECK(virtq_want_irq(&g, &q, 1));	/* entry 1 added in this batch */
	CHECK(virtq_push(&g, &q, 2, 0) == 0);
	CHECK(!virtq_want_irq(&g, &q, 2));	/* past it: no more until the driver moves it */
	CHECK(virtq_want_irq(&g, &q, 0));	/* a batch 0..2 covers entry 1 */
	/* across the 16-bit wrap */
	q.used_idx = 2;
	used_event = 0xffff;
	memcpy(mem_buf + AVAIL + 4 + 2 * QSIZE, &used_event, 2);
	CHECK(virtq_want_irq(&g, &q, 0xfffe) && !virtq_want_irq(&g, &q, 1));
	/* without the event index the flag decides */
	q.event_idx = false;
	CHECK(!virtq_want_irq(&g, &q, 0));
	flags = 0;
	memcpy(mem_buf + AVAIL, &flags, 2);
	CHECK(virtq_want_irq(&g, &q, 0));
}

int main(void)
{
	test_simple();
	test_loop();
	test_indices();
	test_bounds();
	test_chain_shapes();
	test_indirect();
	test_copy();
	test_blk();
	test_net();
	test_event_idx();
	TEST_DONE("virtq");
}
