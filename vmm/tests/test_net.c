/* hvnode-vmm unit tests: virtio-net (virtio 1.2 section 5.1) driven through its registers, with
 * a SOCK_SEQPACKET socket pair as the tap (one message per frame, each with its 12-byte vnet
 * header, as a tap with IFF_VNET_HDR) and the real event loop (no KVM): transmit with the
 * VMM's own header, offload requests dropped when not negotiated and checked when they are,
 * the feature dependencies, receive with num_buffers and a used length within the guest's
 * buffer, a frame merged over several buffers (MRG_RXBUF) or waiting for them, three NICs at
 * once, and a tap that hangs up: it must leave the loop (an fd with EPOLLHUP is reported even
 * with no events asked for: a 100 % CPU spin). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/virtio_net.h>
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
#define FEATURES (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MAC))
#define CSUMS (VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM))
#define TSO (VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |                 \
	     VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6))
#define OFFLOADS (FEATURES | CSUMS | TSO | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_MTU))

static uint8_t mem_buf[MEM_SIZE] __attribute__((aligned(4096)));
static struct vmm v;
static int peer[3];		/* the far ends of the three NICs' "taps" */

static void run_loop(void)
{
	for (int i = 0; i < 32 && loop_dispatch(&v.loop, 0) > 0; i++) {
	}
}

/* nic: NIC I's window; its rings and buffers sit ring_off(I) above the first NIC's */
static uint64_t nic(unsigned i)
{
	return v.virtio[i].base;
}

static uint64_t ring_off(unsigned i)
{
	return i == 2 ? 0x40000 : 0x8000ull * i;
}

static void nic_up(unsigned i, uint64_t features)
{
	uint64_t o = ring_off(i);

	CHECK(drv_negotiate(&v.mmio, nic(i), features) & VIRTIO_CONFIG_S_FEATURES_OK);
	drv_queue(&v.mmio, nic(i), 0, QSIZE, RX_DESC + o, RX_AVAIL + o, RX_USED + o);
	drv_queue(&v.mmio, nic(i), 1, QSIZE, TX_DESC + o, TX_AVAIL + o, TX_USED + o);
	drv_driver_ok(&v.mmio, nic(i));
	CHECK(drv_rd(&v.mmio, nic(i) + VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK);
}

static uint64_t offered(unsigned i)
{
	drv_wr(&v.mmio, nic(i) + VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	uint64_t hi = drv_rd(&v.mmio, nic(i) + VIRTIO_MMIO_DEVICE_FEATURES);
	drv_wr(&v.mmio, nic(i) + VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return hi << 32 | drv_rd(&v.mmio, nic(i) + VIRTIO_MMIO_DEVICE_FEATURES);
}

static void test_config(void)
{
	uint8_t mac[6];
	uint16_t mtu;

	CHECK(drv_rd(&v.mmio, nic(0) + VIRTIO_MMIO_DEVICE_ID) == 1);
	vm_bus_access(&v.mmio, nic(0) + VIRTIO_MMIO_CONFIG, mac, 6, false);
	CHECK(memcmp(mac, "\x02\x00\x00\x00\x00\x07", 6) == 0);
	vm_bus_access(&v.mmio, nic(1) + VIRTIO_MMIO_CONFIG, mac, 6, false);
	CHECK(mac[0] == 0x52 && mac[1] == 0x54);	/* derived from the name, locally administered */
	CHECK(nic(1) == nic(0) + VMMIO_SIZE && v.virtio[1].irq != v.virtio[0].irq);
	/* the MTU field (config offset 10): the default, or the configured one */
	vm_bus_access(&v.mmio, nic(0) + VIRTIO_MMIO_CONFIG + 10, (uint8_t *)&mtu, 2, false);
	CHECK(mtu == 1500);
	vm_bus_access(&v.mmio, nic(2) + VIRTIO_MMIO_CONFIG + 10, (uint8_t *)&mtu, 2, false);
	CHECK(mtu == 9000);
	/* offloads are offered unless offload=off (NIC 1) */
	CHECK((offered(0) & OFFLOADS) == OFFLOADS && (offered(2) & OFFLOADS) == OFFLOADS);
	CHECK((offered(1) & (CSUMS | TSO | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF))) == 0);
	CHECK(offered(1) & VIRTIO_BIT(VIRTIO_NET_F_MTU));
	CHECK(!(offered(0) & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX)));
}

/* the feature dependencies (virtio 1.2 5.1.3.1): segments need partial checksums */
static void test_features(void)
{
	CHECK(!(drv_negotiate(&v.mmio, nic(2), FEATURES | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4)) &
		VIRTIO_CONFIG_S_FEATURES_OK));
	CHECK(!(drv_negotiate(&v.mmio, nic(2), FEATURES | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
			      VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6)) & VIRTIO_CONFIG_S_FEATURES_OK));
	CHECK(!(drv_negotiate(&v.mmio, nic(1), FEATURES | VIRTIO_BIT(VIRTIO_NET_F_CSUM)) &
		VIRTIO_CONFIG_S_FEATURES_OK));	/* not offered there */
	CHECK(drv_negotiate(&v.mmio, nic(2), FEATURES | CSUMS | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4)) &
	      VIRTIO_CONFIG_S_FEATURES_OK);
}

/* tx: a frame of LEN bytes after the guest's header HDR as chain HEAD (header and data in two
 * descriptors), avail index IDX, on NIC I */
static void tx(unsigned i, uint16_t idx, uint16_t head, const uint8_t hdr[12], const char *frame, uint32_t len)
{
	uint64_t o = ring_off(i), buf = DATA + o + 0x1000 * head;

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
	uint64_t o = ring_off(i), buf = DATA + o + 0x4000 + 0x1000 * head;

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

/* the tap gets the guest's offload header, checked and in canonical form, never its memory */
static void test_tx_offload(void)
{
	static const uint8_t ok[12] = { 1, 1, 54, 0, 0xa8, 5, 34, 0, 16, 0, 0, 0 };	/* TCPv4, 1448 */
	uint8_t hdr[12], got[256];
	char frame[100];
	uint16_t idx = 0;

	memset(frame, 'f', sizeof(frame));
	memcpy(hdr, ok, 12);
	hdr[10] = 7;	/* num_buffers: not the guest's to give */
	tx(2, ++idx, 0, hdr, frame, 100);
	CHECK(recv(peer[2], got, sizeof(got), MSG_DONTWAIT) == 112 && memcmp(got, ok, 12) == 0);
	hdr[10] = 0, hdr[1] = 4;	/* TCPv6 */
	tx(2, ++idx, 2, hdr, frame, 100);
	CHECK(recv(peer[2], got, sizeof(got), MSG_DONTWAIT) == 112 && got[1] == 4);
	/* a partial checksum alone: the segmentation fields are zeroed */
	hdr[1] = 0;
	tx(2, ++idx, 4, hdr, frame, 100);
	CHECK(recv(peer[2], got, sizeof(got), MSG_DONTWAIT) == 112 && got[0] == 1 && got[2] == 0 && got[4] == 0 &&
	      got[6] == 34 && got[8] == 16);
	/* each of these is dropped, its buffer returned */
	static const struct { unsigned at; uint8_t val; } bad[] = {
		{ 0, 2 },	/* DATA_VALID: the device's flag */
		{ 0, 0 },	/* segmentation without NEEDS_CSUM */
		{ 1, 3 },	/* UDP fragmentation: not offered */
		{ 1, 0x81 },	/* ECN: not offered */
		{ 4, 0 },	/* segment size 0 */
		{ 2, 101 },	/* header length past the frame */
		{ 6, 83 },	/* checksum start + offset + 2 past the frame */
		{ 1, 6 },	/* TCPv6 and TCPv4 only */
	};
	for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		memcpy(hdr, ok, 12);
		hdr[bad[k].at] = bad[k].val;
		if (bad[k].at == 4)
			hdr[5] = 0;
		tx(2, ++idx, (uint16_t)(2 * (k % 7)), hdr, frame, 100);
		CHECK(recv(peer[2], got, sizeof(got), MSG_DONTWAIT) < 0 && errno == EAGAIN);
		CHECK(drv_used_idx(mem_buf, TX_USED + ring_off(2)) == idx);
	}
	/* at the boundary: checksum field ends at the frame's last byte */
	memcpy(hdr, ok, 12);
	hdr[6] = 82;
	tx(2, ++idx, 0, hdr, frame, 100);
	CHECK(recv(peer[2], got, sizeof(got), MSG_DONTWAIT) == 112);
}

/* rx_offer1: a receive chain HEAD of one writable descriptor of LEN bytes, avail IDX, on NIC 2 */
static uint64_t rx_offer1(uint16_t idx, uint16_t head, uint32_t len)
{
	uint64_t o = ring_off(2), buf = DATA + o + 0x4000 + 0x1000 * head;

	drv_desc(mem_buf, RX_DESC + o, head, buf, len, VIRTQ_DESC_F_WRITE, 0);
	drv_avail(mem_buf, RX_AVAIL + o, QSIZE, idx, head);
	drv_wr(&v.mmio, nic(2) + VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	run_loop();
	return buf;
}

static void test_rx_merge(void)
{
	static uint8_t msg[VNET_MAX_FRAME + 2];
	uint64_t used = RX_USED + ring_off(2), b[4];
	uint16_t nbuf;

	for (unsigned k = 12; k < sizeof(msg); k++)
		msg[k] = (uint8_t)(k * 7);
	/* a 4000-byte TCPv4 segment with a partial checksum over three 1536-byte buffers */
	msg[0] = 1, msg[1] = 1, msg[4] = 0xa8, msg[5] = 5;
	for (uint16_t k = 0; k < 3; k++)
		b[k] = rx_offer1((uint16_t)(k + 1), k, 1536);
	CHECK(drv_used_idx(mem_buf, used) == 0);
	CHECK(send(peer[2], msg, 4000, 0) == 4000);
	run_loop();
	CHECK(drv_used_idx(mem_buf, used) == 3);
	CHECK(drv_used_is(mem_buf, used, 0, 0, 1536));
	CHECK(drv_used_is(mem_buf, used, 1, 1, 1536));
	CHECK(drv_used_is(mem_buf, used, 2, 2, 4000 - 3072));
	memcpy(&nbuf, mem_buf + b[0] + 10, 2);
	CHECK(nbuf == 3 && mem_buf[b[0]] == 1 && mem_buf[b[0] + 1] == 1);
	CHECK(memcmp(mem_buf + b[0] + 12, msg + 12, 1524) == 0 && memcmp(mem_buf + b[1], msg + 1536, 1536) == 0 &&
	      memcmp(mem_buf + b[2], msg + 3072, 928) == 0);
	/* a 4000-byte frame and two buffers: it waits, both buffers go back, and the tap is not
	 * read (nor watched) meanwhile */
	msg[0] = msg[1] = msg[4] = msg[5] = 0;
	b[0] = rx_offer1(4, 4, 1536);
	b[1] = rx_offer1(5, 5, 1536);
	CHECK(send(peer[2], msg, 4000, 0) == 4000);
	run_loop();
	CHECK(send(peer[2], msg, 200, 0) == 200);
	CHECK(drv_used_idx(mem_buf, used) == 3);
	CHECK(loop_dispatch(&v.loop, 0) == 0);
	b[2] = rx_offer1(6, 6, 1536);
	CHECK(drv_used_idx(mem_buf, used) == 6);
	CHECK(drv_used_is(mem_buf, used, 3, 4, 1536));
	CHECK(drv_used_is(mem_buf, used, 4, 5, 1536));
	memcpy(&nbuf, mem_buf + b[0] + 10, 2);
	CHECK(drv_used_is(mem_buf, used, 5, 6, 4000 - 3072) && nbuf == 3 &&
	      memcmp(mem_buf + b[2], msg + 3072, 928) == 0);
	/* the 200-byte frame comes with the next buffer */
	rx_offer1(7, 7, 1536);
	CHECK(drv_used_idx(mem_buf, used) == 7 && drv_used_is(mem_buf, used, 6, 7, 200));
	/* a frame longer than any a guest can be given, and one asking for an offload this guest
	 * has not got (UDP): dropped; the buffer takes the next frame */
	CHECK(send(peer[2], msg, VNET_MAX_FRAME + 1, 0) == VNET_MAX_FRAME + 1);
	msg[1] = 3;
	CHECK(send(peer[2], msg, 300, 0) == 300);
	msg[1] = 0;
	CHECK(send(peer[2], msg, 400, 0) == 400);
	rx_offer1(8, 8, 1536);
	CHECK(drv_used_idx(mem_buf, used) == 8 && drv_used_is(mem_buf, used, 7, 8, 400));
	/* the largest frame (65574 bytes) into one buffer of that size */
	CHECK(send(peer[2], msg, VNET_MAX_FRAME, 0) == VNET_MAX_FRAME);
	drv_desc(mem_buf, RX_DESC + ring_off(2), 9, 0x80000, VNET_MAX_FRAME, VIRTQ_DESC_F_WRITE, 0);
	drv_avail(mem_buf, RX_AVAIL + ring_off(2), QSIZE, 9, 9);
	drv_wr(&v.mmio, nic(2) + VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	run_loop();
	CHECK(drv_used_idx(mem_buf, used) == 9 && drv_used_is(mem_buf, used, 8, 9, VNET_MAX_FRAME));
	CHECK(memcmp(mem_buf + 0x80000 + 12, msg + 12, VNET_MAX_PACKET) == 0);
	/* a frame longer than the whole ring (16 buffers of 64 bytes) can never fit: dropped, so
	 * that receive goes on; the next frame takes two of them */
	for (uint16_t k = 0; k < QSIZE; k++) {
		drv_desc(mem_buf, RX_DESC + ring_off(2), k, DATA + ring_off(2) + 0x4000 + 0x1000 * k, 64,
			 VIRTQ_DESC_F_WRITE, 0);
		drv_avail(mem_buf, RX_AVAIL + ring_off(2), QSIZE, (uint16_t)(10 + k), k);
	}
	drv_wr(&v.mmio, nic(2) + VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	run_loop();
	CHECK(send(peer[2], msg, 2000, 0) == 2000);
	run_loop();
	CHECK(drv_used_idx(mem_buf, used) == 9);
	CHECK(send(peer[2], msg, 100, 0) == 100);
	run_loop();
	CHECK(drv_used_idx(mem_buf, used) == 11);
	CHECK(drv_used_is(mem_buf, used, 9, 0, 64));
	CHECK(drv_used_is(mem_buf, used, 10, 1, 36));
}

/* the driver cannot clear status bits without a reset: the accepted features stay as they are
 * while the device is live (a handler reads them without the lock) */
static void test_status_sticky(void)
{
	drv_wr(&v.mmio, nic(2) + VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	CHECK(drv_rd(&v.mmio, nic(2) + VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK(drv_rd(&v.mmio, nic(2) + VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	drv_wr(&v.mmio, nic(2) + VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	drv_wr(&v.mmio, nic(2) + VIRTIO_MMIO_DRIVER_FEATURES, 0);
	CHECK(vmmio_features(v.virtio[2].t) == OFFLOADS);
}

/* receive headers on a NIC without offloads: a segment is dropped, DATA_VALID cleared */
static void test_rx_plain_hdr(void)
{
	uint8_t msg[12 + 64] = { 0 };
	uint64_t buf = DATA + ring_off(1) + 0x4000 + 0x1000 * 8;
	uint32_t id, len;

	msg[0] = 1, msg[1] = 1;	/* NEEDS_CSUM, TCPv4 */
	CHECK(send(peer[1], msg, sizeof(msg), 0) == sizeof(msg));
	msg[0] = 2, msg[1] = 0;	/* DATA_VALID */
	CHECK(send(peer[1], msg, 40, 0) == 40);
	mem_buf[buf] = 0xff;
	rx_offer(1, 1, 8, 100);
	drv_used(mem_buf, RX_USED + ring_off(1), 0, &id, &len);
	CHECK(drv_used_idx(mem_buf, RX_USED + ring_off(1)) == 1 && id == 8 && len == 40 && mem_buf[buf] == 0);
}

static void test_hangup(void)
{
	uint8_t hdr[12] = { 0 };

	/* NIC 1 has a receive buffer; its tap hangs up */
	rx_offer(1, 2, 0, 100);
	close(peer[1]);
	run_loop();
	CHECK(loop_dispatch(&v.loop, 0) == 0);
	CHECK(loop_dispatch(&v.loop, 0) == 0);
	CHECK(drv_used_idx(mem_buf, RX_USED + 0x8000) == 1);
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
	struct config_nic cfg[3] = {
		{ .tap = "hvtap0n0", .has_mac = true },
		{ .tap = "hvtap0n1", .offload_off = true },
		{ .tap = "hvtap0n2", .mtu = 9000 },
	};
	int sp[2], sndbuf = 1 << 20;

	memcpy(cfg[0].mac, mac, 6);
	v.mem = (struct gmem){ .base = mem_buf, .size = MEM_SIZE };
	v.vm = -1;
	CHECK(loop_init(&v.loop) == 0);
	for (unsigned i = 0; i < 3; i++) {
		CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) == 0);
		CHECK(setsockopt(sp[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) == 0);
		peer[i] = sp[1];
		CHECK(vnet_attach(&v, sp[0], &cfg[i]) == 0);
	}
	CHECK(v.nvirtio == 3);
	test_config();
	test_features();
	nic_up(0, FEATURES);
	nic_up(1, FEATURES);
	nic_up(2, OFFLOADS);
	test_tx();
	test_tx_offload();
	test_rx();
	test_rx_merge();
	test_rx_plain_hdr();
	test_status_sticky();
	test_hangup();
	TEST_DONE("net");
}
