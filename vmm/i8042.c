/* hvnode-vmm: i8042 keyboard controller, just enough for Linux: status and data ports
 * (0x64, 0x60), the controller commands Linux's i8042 driver sends at probe (read/write
 * command byte 0x20/0x60, self tests 0xaa/0xab/0xa9, port enables, output port 0xd0/0xd1),
 * ACK/ID answers for the keyboard commands atkbd sends, IRQ 1 for queued bytes, and the CPU
 * reset pulse (command 0xfe), which ends the VMM with exit 0: that is how a guest reboots.
 * The API injects ctrl-alt-del (scan code set 1 when the command byte asks for translation,
 * set 2 otherwise) to ask the guest to shut down. Follows the IBM PC/AT keyboard controller
 * interface as implemented by Linux drivers/input/serio/i8042.c; no mouse.
 * Trusts nothing from the guest: commands outside the list are ignored; the output queue is
 * bounded and drops bytes when full. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm.h"

#define I8042_DATA 0x60
#define I8042_CMD 0x64
#define I8042_IRQ 1
#define I8042_STR_OBF 0x01
#define I8042_STR_SYS 0x04
#define I8042_STR_CMD 0x08
#define I8042_STR_KEYLOCK 0x10	/* set: keyboard not locked */
#define I8042_CTR_KBDINT 0x01
#define I8042_CTR_XLATE 0x40
#define I8042_QUEUE 16

struct i8042 {
	struct vmm *vmm;
	pthread_mutex_t lock;
	uint8_t ctr, outp, pending_cmd, status_cmd;
	uint8_t q[I8042_QUEUE];
	unsigned q_head, q_count;
};

static void i8042_irq(struct i8042 *k)
{
	if (k->q_count && (k->ctr & I8042_CTR_KBDINT)) {
		vm_irq_line(k->vmm, I8042_IRQ, 1);
		vm_irq_line(k->vmm, I8042_IRQ, 0);
	}
}

static void i8042_push(struct i8042 *k, uint8_t b)
{
	if (k->q_count >= I8042_QUEUE)
		return;
	k->q[(k->q_head + k->q_count) % I8042_QUEUE] = b;
	k->q_count++;
}

static uint8_t i8042_pop(struct i8042 *k)
{
	uint8_t b;

	if (!k->q_count)
		return 0;
	b = k->q[k->q_head];
	k->q_head = (k->q_head + 1) % I8042_QUEUE;
	k->q_count--;
	return b;
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
	k->status_cmd = I8042_STR_CMD;
	switch (cmd) {
	case 0x20: i8042_push(k, k->ctr); break;
	case 0x60: case 0xd1: case 0xd2: case 0xd4: k->pending_cmd = cmd; break;
	case 0xaa: i8042_push(k, 0x55); break;
	case 0xab: i8042_push(k, 0x00); break;
	case 0xa9: i8042_push(k, 0xff); break;	/* no aux port */
	case 0xd0: i8042_push(k, k->outp); break;
	case 0xfe: vm_exit(k->vmm, 0); break;	/* pulse reset line: guest reboot */
	default: break;				/* 0xa7/0xa8/0xad/0xae: port enables */
	}
}

/* i8042_kbd: a byte for the keyboard itself; answer as a PS/2 keyboard would. */
static void i8042_kbd(struct i8042 *k, uint8_t b)
{
	i8042_push(k, 0xfa);
	if (b == 0xff)
		i8042_push(k, 0xaa);
	else if (b == 0xf2)
		i8042_push(k, 0xab), i8042_push(k, 0x83);
}

static void i8042_data(struct i8042 *k, uint8_t b)
{
	uint8_t cmd = k->pending_cmd;

	k->pending_cmd = 0;
	k->status_cmd = 0;
	switch (cmd) {
	case 0x60: k->ctr = b; break;
	case 0xd1: k->outp = b; break;
	case 0xd2: i8042_push(k, b); break;
	case 0xd4: break;
	default: i8042_kbd(k, b); break;
	}
}

static void i8042_read(void *opaque, uint64_t off, uint8_t *data, unsigned len)
{
	struct i8042 *k = opaque;

	pthread_mutex_lock(&k->lock);
	memset(data, 0, len);
	if (off == I8042_DATA - I8042_DATA)
		data[0] = i8042_pop(k);
	else if (off == I8042_CMD - I8042_DATA)
		data[0] = (k->q_count ? I8042_STR_OBF : 0) | I8042_STR_SYS | I8042_STR_KEYLOCK | k->status_cmd;
	if (off == 0)
		i8042_irq(k);
	pthread_mutex_unlock(&k->lock);
}

static void i8042_write(void *opaque, uint64_t off, const uint8_t *data, unsigned len)
{
	struct i8042 *k = opaque;

	(void)len;
	pthread_mutex_lock(&k->lock);
	if (off == I8042_DATA - I8042_DATA)
		i8042_data(k, data[0]);
	else if (off == I8042_CMD - I8042_DATA)
		i8042_command(k, data[0]);
	i8042_irq(k);
	pthread_mutex_unlock(&k->lock);
}

/* i8042_ctrl_alt_del: queues the key presses and releases; the guest sees IRQ 1. */
void i8042_ctrl_alt_del(struct i8042 *k)
{
	static const uint8_t set1[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
	static const uint8_t set2[] = { 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14 };
	bool xlate;

	pthread_mutex_lock(&k->lock);
	xlate = k->ctr & I8042_CTR_XLATE;
	for (size_t i = 0; i < (xlate ? sizeof(set1) : sizeof(set2)); i++)
		i8042_push(k, xlate ? set1[i] : set2[i]);
	i8042_irq(k);
	pthread_mutex_unlock(&k->lock);
}

int i8042_create(struct vmm *v)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	struct bus_dev d = { .base = I8042_DATA, .len = 5, .read = i8042_read, .write = i8042_write,
			     .opaque = k };

	if (!k)
		return vmm_err(-ENOMEM, "i8042: %s", strerror(ENOMEM));
	k->vmm = v;
	k->ctr = I8042_CTR_KBDINT | I8042_CTR_XLATE;
	k->outp = 0x03;	/* A20 on, no reset */
	pthread_mutex_init(&k->lock, NULL);
	v->i8042 = k;
	return vm_bus_add(&v->pio, &d);
}
