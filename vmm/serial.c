/* hvnode-vmm: 16550A UART on COM1 (I/O ports 0x3f8-0x3ff, ISA IRQ 4), the guest console.
 * Register model per the National Semiconductor PC16550D data sheet: divisor latch (DLAB),
 * IER, IIR with FIFO bits, LCR, MCR with loopback (Linux's autoconfig probes it), LSR, MSR,
 * scratch. Output goes to stdout, a file or a connected socket client; input comes from
 * stdin or the client through the event loop into a 64-byte receive FIFO. Input is watched
 * while the FIFO has room; a vCPU that makes room (a read, an FCR clear) asks the loop to watch
 * again through an eventfd (vCPUs make no epoll calls). A hung-up input leaves the loop.
 * Trusts nothing from the guest: every register write is masked; the FIFO index is bounded.
 * Output is written in lines (or when the driver stops transmitting) to save system calls. */
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm.h"

#define SERIAL_PORT 0x3f8
#define SERIAL_IRQ 4
#define SERIAL_FIFO 64
#define UART_LCR_DLAB 0x80
#define UART_IER_RDI 0x01
#define UART_IER_THRI 0x02
#define UART_IIR_NO_INT 0x01
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04
#define UART_IIR_FIFO 0xc0
#define UART_FCR_ENABLE 0x01
#define UART_FCR_CLEAR_RCVR 0x02
#define UART_LSR_DR 0x01
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_MCR_LOOP 0x10

struct serial {
	struct vmm *vmm;
	pthread_mutex_t lock;
	int in_fd, out_fd, listen_fd;
	int room_fd;		/* eventfd: the FIFO has room again (vCPU to loop) */
	bool in_watched;	/* in_fd is in the loop with EPOLLIN */
	uint8_t ier, fcr, lcr, mcr, scr, dll, dlm;
	bool thre_pending;
	int irq_level;
	uint8_t rx[SERIAL_FIFO];
	unsigned rx_head, rx_count;
	uint8_t out[256];
	unsigned out_len;
	struct counters ctr;
};

static void serial_flush(struct serial *s)
{
	if (s->out_len && s->out_fd >= 0 && write(s->out_fd, s->out, s->out_len) < 0)
		s->ctr.errors++;
	s->ctr.bytes += s->out_len;
	s->out_len = 0;
}

static uint8_t serial_iir(const struct serial *s)
{
	if ((s->ier & UART_IER_RDI) && s->rx_count)
		return UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->thre_pending)
		return UART_IIR_THRI;
	return UART_IIR_NO_INT;
}

static void serial_update_irq(struct serial *s)
{
	int level = serial_iir(s) != UART_IIR_NO_INT;

	if (level != s->irq_level) {
		s->irq_level = level;
		vm_irq_line(s->vmm, SERIAL_IRQ, level);
	}
}

static void serial_rx_push(struct serial *s, uint8_t ch)
{
	if (s->rx_count >= SERIAL_FIFO)
		return;
	s->rx[(s->rx_head + s->rx_count) % SERIAL_FIFO] = ch;
	s->rx_count++;
}

static void serial_input(void *opaque, uint32_t events);

/* serial_rx_room: with the lock held, after the FIFO shrank: input is to be watched again. */
static void serial_rx_room(struct serial *s)
{
	uint64_t one = 1;

	if (s->in_fd >= 0 && !s->in_watched && s->rx_count < SERIAL_FIFO &&
	    write(s->room_fd, &one, sizeof(one)) < 0)
		s->ctr.errors++;
}

static uint8_t serial_rx_pop(struct serial *s)
{
	uint8_t ch;

	if (!s->rx_count)
		return 0;
	ch = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_FIFO;
	s->rx_count--;
	serial_rx_room(s);
	return ch;
}

static void serial_tx(struct serial *s, uint8_t ch)
{
	s->thre_pending = true;
	if (s->mcr & UART_MCR_LOOP) {
		serial_rx_push(s, ch);
		return;
	}
	s->out[s->out_len++] = ch;
	if (ch == '\n' || s->out_len == sizeof(s->out))
		serial_flush(s);
}

static uint8_t serial_msr(const struct serial *s)
{
	uint8_t m = s->mcr;

	if (!(m & UART_MCR_LOOP))
		return 0xb0;	/* DCD, DSR, CTS */
	return (uint8_t)(((m & 0x02) << 3) | ((m & 0x01) << 5) | ((m & 0x04) << 4) | ((m & 0x08) << 4));
}

static uint8_t serial_reg_read(struct serial *s, uint64_t off)
{
	bool dlab = s->lcr & UART_LCR_DLAB;
	uint8_t iir;

	switch (off) {
	case 0: return dlab ? s->dll : serial_rx_pop(s);
	case 1: return dlab ? s->dlm : s->ier;
	case 2:
		iir = serial_iir(s);
		if (iir == UART_IIR_THRI)
			s->thre_pending = false;
		return iir | ((s->fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0);
	case 3: return s->lcr;
	case 4: return s->mcr;
	case 5: return UART_LSR_THRE | UART_LSR_TEMT | (s->rx_count ? UART_LSR_DR : 0);
	case 6: return serial_msr(s);
	default: return s->scr;
	}
}

static void serial_reg_write(struct serial *s, uint64_t off, uint8_t val)
{
	bool dlab = s->lcr & UART_LCR_DLAB;

	switch (off) {
	case 0:
		if (dlab)
			s->dll = val;
		else
			serial_tx(s, val);
		break;
	case 1:
		if (dlab) {
			s->dlm = val;
			break;
		}
		if ((val & UART_IER_THRI) && !(s->ier & UART_IER_THRI))
			s->thre_pending = true;
		s->ier = val & 0x0f;
		serial_flush(s);
		break;
	case 2:
		if (val & UART_FCR_CLEAR_RCVR) {
			s->rx_count = 0;
			serial_rx_room(s);
		}
		s->fcr = val & 0xc9;
		break;
	case 3: s->lcr = val; break;
	case 4: s->mcr = val & 0x1f; break;
	case 7: s->scr = val; break;
	}
}

static void serial_read(void *opaque, uint64_t off, uint8_t *data, unsigned len)
{
	struct serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	memset(data, 0, len);
	data[0] = serial_reg_read(s, off);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_write(void *opaque, uint64_t off, const uint8_t *data, unsigned len)
{
	struct serial *s = opaque;

	(void)len;
	pthread_mutex_lock(&s->lock);
	serial_reg_write(s, off, data[0]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

/* serial_watch: with the lock held: input is in the loop while the FIFO has room, and out of
 * it while full (only leaving the epoll set stops a hung-up fd from being reported; what it
 * still holds is read once there is room). */
static void serial_watch(struct serial *s)
{
	bool on = s->rx_count < SERIAL_FIFO;

	if (s->in_fd < 0 || s->in_watched == on)
		return;
	if (on && loop_add(&s->vmm->loop, s->in_fd, EPOLLIN, serial_input, s) == 0)
		s->in_watched = true;
	else if (!on && loop_del(&s->vmm->loop, s->in_fd) == 0)
		s->in_watched = false;
}

/* serial_hangup: input ended (EOF or an error on read): it leaves the loop for good; a socket
 * client is closed, and the next one may connect. */
static void serial_hangup(struct serial *s)
{
	if (s->in_watched)
		loop_del(&s->vmm->loop, s->in_fd);
	if (s->listen_fd >= 0) {
		close(s->in_fd);
		s->out_fd = -1;
	}
	s->in_fd = -1;
	s->in_watched = false;
}

/* serial_input: console input is readable or hung up (event loop): as much as the FIFO takes;
 * the end of input is a read of 0 (or an error), never the HUP flag alone, which a pipe or
 * socket shows while it still holds data. */
static void serial_input(void *opaque, uint32_t events)
{
	struct serial *s = opaque;
	uint8_t buf[SERIAL_FIFO];
	ssize_t n = 0;

	(void)events;
	pthread_mutex_lock(&s->lock);
	if (s->in_fd >= 0 && s->rx_count < SERIAL_FIFO) {
		n = read(s->in_fd, buf, SERIAL_FIFO - s->rx_count);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			serial_hangup(s);
	}
	for (ssize_t i = 0; i < n; i++)
		serial_rx_push(s, buf[i]);
	serial_watch(s);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

/* serial_room: a vCPU made room in the FIFO (event loop). */
static void serial_room(void *opaque, uint32_t events)
{
	struct serial *s = opaque;
	uint64_t n;

	(void)events;
	if (read(s->room_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		s->ctr.errors++;
	pthread_mutex_lock(&s->lock);
	serial_watch(s);
	pthread_mutex_unlock(&s->lock);
}

/* serial_accept: a client connects to the console socket; one at a time. */
static void serial_accept(void *opaque, uint32_t events)
{
	struct serial *s = opaque;
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	(void)events;
	if (fd < 0)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->in_fd >= 0 || loop_add(&s->vmm->loop, fd, EPOLLIN, serial_input, s) < 0) {
		close(fd);
	} else {
		s->in_fd = s->out_fd = fd;
		s->in_watched = true;
		serial_watch(s);
	}
	pthread_mutex_unlock(&s->lock);
}

/* serial_create: in_fd may be -1 (no input); with listen_fd >= 0 the console is a socket. */
int serial_create(struct vmm *v, int in_fd, int out_fd, int listen_fd)
{
	struct serial *s = calloc(1, sizeof(*s));
	struct bus_dev d = { .base = SERIAL_PORT, .len = 8, .read = serial_read, .write = serial_write,
			     .opaque = s };
	int ret;

	if (!s)
		return vmm_err(-ENOMEM, "serial: %s", strerror(ENOMEM));
	s->vmm = v;
	s->in_fd = in_fd;
	s->out_fd = out_fd;
	s->listen_fd = listen_fd;
	pthread_mutex_init(&s->lock, NULL);
	s->ctr.kind = "serial";
	strcpy(s->ctr.name, "ttyS0");
	v->serial = s;
	if (v->nctr < VMM_MAX_DEVS)
		v->ctr[v->nctr++] = &s->ctr;
	s->room_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->room_fd < 0)
		return vmm_err(-errno, "serial: unable to create an eventfd: %s", strerror(errno));
	ret = vm_bus_add(&v->pio, &d);
	if (ret == 0)
		ret = loop_add(&v->loop, s->room_fd, EPOLLIN, serial_room, s);
	if (ret == 0 && in_fd >= 0) {
		ret = loop_add(&v->loop, in_fd, EPOLLIN, serial_input, s);
		s->in_watched = ret == 0;
		if (ret < 0)
			s->in_fd = -1, ret = 0;	/* e.g. stdin is a regular file: no input */
	}
	if (ret == 0 && listen_fd >= 0)
		ret = loop_add(&v->loop, listen_fd, EPOLLIN, serial_accept, s);
	return ret;
}
