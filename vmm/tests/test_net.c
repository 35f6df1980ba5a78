/* hvnode-vmm unit tests: virtio-net (virtio 1.2 section 5.1) driven through its registers, with
 * a SOCK_SEQPACKET socket pair as the tap (one message per frame, each with its 12-byte vnet
 * header, as a tap with IFF_VNET_HDR) and the real event loop (no KVM): transmit with the
 * VMM's own header, offload requests dropped, receive with num_buffers and a used length
 * within the guest's buffer, two NICs at once, and a tap that hangs up: it must leave the
 * loop (an fd with EPOLLHUP is reported even with no events asked for: a 100 % CPU spin). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "driver.h"
#include "test.h"

#define MEM_SIZE (1 << 20)
#define QSIZE 16
#define RX_DESC 0x1000
#define RX_AVAIL 0x2000
#define RX_USED 0x3000
#define TX_DESC 0x4000
#define TX_AVAIL 0x5000
#define TX_USED 0x6000
#define DATA 0x10000
#define FEATURES (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(5))	/* VIRTIO_NET_F_MAC */

static uint8_t mem_buf[MEM_SIZE] __attribute__((aligned(4096)));
static struct vmm v;
static int peer[2];		/* the far ends of the two NICs' "taps" */

static void run_loop(void)
{
	for (int i = 0; i < 32 && loop_dispatch(&v.loop, 0) > 0; i++) {
	}
}

/* nic: NIC I's window; its rings sit 0x8000 * I above the first NIC's */
static uint64_t nic(unsigned i)
{
	return v.virtio[i].base;
}

static void nic_up(unsigned i)
{
	uint64_t o = 0x8000ull * i;

	CHECK(drv_negotiate(&v.mmio, nic(i), FEATURES) & VIRTIO_CONFIG_S_FEATURES_OK);
	drv_queue(&v.mmio, nic(i), 0, QSIZE, RX_DESC + o, RX_AVAIL + o, RX_USED + o);
	drv_queue(&v.mmio, nic(i), 1, QSIZE, TX_DESC + o, TX_AVAIL + o, TX_USED + o);
	drv_driver_ok(&v.mmio, nic(i));
	CHECK(drv_rd(&v.mmio, nic(i) + VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK);
}

static void test_config(void)
{
	uint8_t mac[6];

	CHECK(drv_rd(&v.mmio, nic(0) + VIRTIO_MMIO_DEVICE_ID) == 1);
	vm_bus_access(&v.mmio, nic(0) + VIRTIO_MMIO_CONFIG, mac, 6, false);
	CHECK(memcmp(mac, "\x02\x00\x00\x00\x00\x07", 6) == 0);
	vm_bus_access(&v.mmio, nic(1) + VIRTIO_MMIO_CONFIG, mac, 6, false);
	CHECK(mac[0] == 0x52 && mac[1] == 0x54);	/* derived from the name, locally administered */
	CHECK(nic(1) == nic(0) + VMMIO_SIZE && v.virtio[1].irq != v.virtio[0].irq);
}

/* tx: a frame of LEN bytes after the guest's header HDR as chain HEAD (header and data in two
 * descriptors), avail index IDX, on NIC I */
static void tx(unsigned i, uint16_t idx, uint16_t head, const uint8_t hdr[12], const char *frame, uint32_t len)
{
	uint64_t o = 0x8000ull * i, buf = DATA + o + 0x1000 * head;

	memcpy(mem_buf + buf, hdr, 12);
	memcpy(mem_buf + buf + 0x100, frame, len);
	drv_desc(mem_buf, TX_DESC + o, head, buf, 12, VIRTQ_DESC_F_NEXT, (uint16_t)(head + 1));
	drv_desc(mem_buf, TX_DESC + o, head + 1u, buf + 0x100, len, 0, 0);
	drv_avail(mem_buf, TX_AVAIL + o, QSIZE, idx, head);
	drv_wr(&v.mmio, nic(i) + VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	run_loop();
}

static void test_tx(void)
{
	uint8_t hdr[12] = { 0 }, got[128];
	ssize_t n;

	/* the guest's header has a field set that asks for nothing: the tap gets zeros anyway */
	hdr[2] = 0x34, hdr[3] = 0x12;	/* hdr_len */
	tx(0, 1, 0, hdr, "frame-one", 9);
	n = recv(peer[0], got, sizeof(got), MSG_DONTWAIT);
	CHECK(n == 21 && memcmp(got, "\0\0\0\0\0\0\0\0\0\0\0\0", 12) == 0 && memcmp(got + 12, "frame-one", 9) == 0);
	CHECK(drv_used_idx(mem_buf, TX_USED) == 1);
	/* an offload request (NEEDS_CSUM, GSO): none was offered, the frame is dropped, the
	 * buffer still returned */
	hdr[0] = 1;
	tx(0, 2, 2, hdr, "frame-two", 9);
	CHECK(recv(peer[0], got, sizeof(got), MSG_DONTWAIT) < 0 && errno == EAGAIN);
	CHECK(drv_used_idx(mem_buf, TX_USED) == 2);
	hdr[0] = 0, hdr[1] = 3;	/* gso_type TCPv6 */
	tx(0, 3, 4, hdr, "frame-3", 7);
	CHECK(recv(peer[0], got, sizeof(got), MSG_DONTWAIT) < 0 && errno == EAGAIN);
	/* the second NIC sends on its own tap */
	hdr[1] = 0;
	tx(1, 1, 0, hdr, "on-nic-1", 8);
	CHECK(recv(peer[1], got, sizeof(got), MSG_DONTWAIT) == 20 && memcmp(got + 12, "on-nic-1", 8) == 0);
	CHECK(recv(peer[0], got, sizeof(got), MSG_DONTWAIT) < 0);
}

/* rx_offer: a receive chain HEAD of two writable descriptors (12 + LEN2 bytes), avail IDX */
static void rx_offer(unsigned i, uint16_t idx, uint16_t head, uint32_t len2)
{
	uint64_t o = 0x8000ull * i, buf = DATA + o + 0x4000 + 0x1000 * head;

	drv_desc(mem_buf, RX_DESC + o, head, buf, 12, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, (uint16_t)(head + 1));
	drv_desc(mem_buf, RX_DESC + o, head + 1u, buf + 0x100, len2, VIRTQ_DESC_F_WRITE, 0);
	drv_avail(mem_buf, RX_AVAIL + o, QSIZE, idx, head);
	drv_wr(&v.mmio, nic(i) + VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	run_loop();
}

static void test_rx(void)
{
	uint8_t msg[12 + 200] = { 0 };
	uint32_t id, len;
	uint16_t nbuf;
	uint64_t buf0 = DATA + 0x4000;

	memcpy(msg + 12, "incoming", 8);
	rx_offer(0, 1, 0, 100);
	CHECK(drv_used_idx(mem_buf, RX_USED) == 0);	/* nothing to read yet */
	CHECK(send(peer[0], msg, 12 + 8, 0) == 20);
	run_loop();
	CHECK(drv_used_idx(mem_buf, RX_USED) == 1);
	drv_used(mem_buf, RX_USED, 0, &id, &len);
	memcpy(&nbuf, mem_buf + buf0 + 10, 2);
	CHECK(id == 0 && len == 20 && nbuf == 1 && memcmp(mem_buf + buf0 + 0x100, "incoming", 8) == 0);
	/* a frame longer than the buffer: cut to it, and the used length says no more */
	rx_offer(0, 2, 2, 50);
	CHECK(send(peer[0], msg, sizeof(msg), 0) == sizeof(msg));
	run_loop();
	drv_used(mem_buf, RX_USED, 1, &id, &len);
	CHECK(drv_used_idx(mem_buf, RX_USED) == 2 && id == 2 && len == 62);
	/* a frame waits for a buffer: it comes when the guest offers one */
	CHECK(send(peer[0], msg, 30, 0) == 30);
	run_loop();
	CHECK(drv_used_idx(mem_buf, RX_USED) == 2);
	rx_offer(0, 3, 4, 100);
	CHECK(drv_used_idx(mem_buf, RX_USED) == 3);
	drv_used(mem_buf, RX_USED, 2, &id, &len);
	CHECK(id == 4 && len == 30);
	/* a read-only receive buffer is a driver bug: the device needs a reset */
	drv_desc(mem_buf, RX_DESC, 6, buf0, 64, 0, 0);
	drv_avail(mem_buf, RX_AVAIL, QSIZE, 4, 6);
	CHECK(send(peer[0], msg, 30, 0) == 30);
	drv_wr(&v.mmio, nic(0) + VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	run_loop();
	CHECK(drv_rd(&v.mmio, nic(0) + VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void test_hangup(void)
{
	uint8_t hdr[12] = { 0 };

	/* NIC 1 has a receive buffer; its tap hangs up */
	rx_offer(1, 1, 0, 100);
	close(peer[1]);
	run_loop();
	CHECK(loop_dispatch(&v.loop, 0) == 0);
	CHECK(loop_dispatch(&v.loop, 0) == 0);
	CHECK(drv_used_idx(mem_buf, RX_USED + 0x8000) == 0);
	/* the guest goes on sending: buffers come back, nothing spins */
	tx(1, 2, 2, hdr, "lost", 4);
	CHECK(drv_used_idx(mem_buf, TX_USED + 0x8000) == 2);
	CHECK(loop_dispatch(&v.loop, 0) == 0);
	/* NIC 0 hangs up with no receive buffer offered (it needs a reset): the same */
	close(peer[0]);
	run_loop();
	CHECK(loop_dispatch(&v.loop, 0) == 0);
}

int main(void)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 7 };
	int a[2], b[2];

	v.mem = (struct gmem){ .base = mem_buf, .size = MEM_SIZE };
	v.vm = -1;
	CHECK(loop_init(&v.loop) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, a) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, b) == 0);
	peer[0] = a[1], peer[1] = b[1];
	CHECK(vnet_attach(&v, a[0], "hvtap0n0", mac) == 0);
	CHECK(vnet_attach(&v, b[0], "hvtap0n1", NULL) == 0);
	CHECK(v.nvirtio == 2);
	test_config();
	nic_up(0);
	nic_up(1);
	test_tx();
	test_rx();
	test_hangup();
	TEST_DONE("net");
}
