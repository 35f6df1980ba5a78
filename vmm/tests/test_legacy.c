/* hvnode-vmm unit tests: the legacy devices driven through their ports as a guest would, with
 * pipes for the console and the real event loop (no KVM): the 16550A UART (output, input into
 * the FIFO, a full FIFO and its FCR clear, loopback filling the FIFO, a hung-up input that must
 * leave the loop, IIR priorities, divisor latch, MSR in loopback), the i8042 (probe commands,
 * keyboard answers, ctrl-alt-del in both scan code sets, the reset pulse) and the CMOS RTC
 * (BCD time from the host clock, status registers, scratch RAM, index masking). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "vmm.h"

#define COM1 0x3f8
#define UART_RBR 0
#define UART_IER 1
#define UART_IIR 2
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

static struct vmm v;

static uint8_t in8(uint16_t port)
{
	uint8_t b = 0;

	vm_bus_access(&v.pio, port, &b, 1, false);
	return b;
}

static void out8(uint16_t port, uint8_t b)
{
	vm_bus_access(&v.pio, port, &b, 1, true);
}

static void run_loop(void)
{
	for (int i = 0; i < 16 && loop_dispatch(&v.loop, 0) > 0; i++) {
	}
}

static int in_pipe[2], out_pipe[2];

static void test_serial_output(void)
{
	char buf[16] = { 0 };

	out8(COM1 + UART_RBR, 'h');
	out8(COM1 + UART_RBR, 'i');
	out8(COM1 + UART_RBR, '\n');			/* a line goes out */
	CHECK(read(out_pipe[0], buf, sizeof(buf)) == 3 && memcmp(buf, "hi\n", 3) == 0);
	CHECK((in8(COM1 + UART_LSR) & 0x60) == 0x60);	/* THRE, TEMT */
	/* the divisor latch and the scratch register read back */
	out8(COM1 + UART_LCR, 0x83);
	out8(COM1 + 0, 0x01);
	out8(COM1 + 1, 0x02);
	CHECK(in8(COM1 + 0) == 0x01 && in8(COM1 + 1) == 0x02);
	out8(COM1 + UART_LCR, 0x03);
	CHECK(in8(COM1 + UART_IER) == 0);
	out8(COM1 + UART_SCR, 0x5a);
	CHECK(in8(COM1 + UART_SCR) == 0x5a);
}

static void test_serial_input(void)
{
	uint8_t data[100];

	CHECK(write(in_pipe[1], "abc", 3) == 3);
	run_loop();
	CHECK(in8(COM1 + UART_LSR) & 0x01);
	CHECK(in8(COM1 + UART_RBR) == 'a' && in8(COM1 + UART_RBR) == 'b' && in8(COM1 + UART_RBR) == 'c');
	CHECK(!(in8(COM1 + UART_LSR) & 0x01));
	/* 100 bytes: 64 fill the FIFO, the rest waits in the pipe */
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	CHECK(write(in_pipe[1], data, sizeof(data)) == sizeof(data));
	run_loop();
	CHECK(in8(COM1 + UART_RBR) == 0);
	/* Linux clears the FIFO at startup (FCR): input must come back, not stop for good */
	out8(COM1 + UART_FCR, 0x07);
	CHECK(!(in8(COM1 + UART_LSR) & 0x01));
	run_loop();
	CHECK(in8(COM1 + UART_LSR) & 0x01);
	CHECK(in8(COM1 + UART_RBR) == 64);
	for (unsigned i = 65; i < 100; i++)
		CHECK(in8(COM1 + UART_RBR) == i);
	CHECK(!(in8(COM1 + UART_LSR) & 0x01));
}

static void test_serial_loopback(void)
{
	/* loopback fills the FIFO; input waiting meanwhile is not a hangup */
	out8(COM1 + UART_MCR, 0x10 | 0x0b);
	CHECK((in8(COM1 + UART_MSR) & 0xf0) == ((0x02 << 3) | (0x01 << 5) | (0x08 << 4)));
	for (unsigned i = 0; i < 64; i++)
		out8(COM1 + UART_RBR, (uint8_t)('A' + i % 26));
	CHECK(write(in_pipe[1], "z", 1) == 1);
	run_loop();
	out8(COM1 + UART_MCR, 0x0b);
	CHECK((in8(COM1 + UART_MSR) & 0xb0) == 0xb0);
	for (unsigned i = 0; i < 64; i++)
		CHECK(in8(COM1 + UART_RBR) == 'A' + i % 26);
	run_loop();
	CHECK(in8(COM1 + UART_RBR) == 'z');
}

static void test_serial_irq(void)
{
	/* IIR: no interrupt; THRE when enabled (cleared by reading IIR); received data first */
	CHECK((in8(COM1 + UART_IIR) & 0x0f) == 0x01);
	out8(COM1 + UART_IER, 0x02);
	CHECK((in8(COM1 + UART_IIR) & 0x0f) == 0x02);
	CHECK((in8(COM1 + UART_IIR) & 0x0f) == 0x01);
	out8(COM1 + UART_IER, 0x03);
	CHECK(write(in_pipe[1], "q", 1) == 1);
	run_loop();
	CHECK((in8(COM1 + UART_IIR) & 0x0f) == 0x04);
	CHECK(in8(COM1 + UART_RBR) == 'q');
	out8(COM1 + UART_IER, 0);
	out8(COM1 + UART_FCR, 0x01);
	CHECK((in8(COM1 + UART_IIR) & 0xc0) == 0xc0);	/* FIFOs enabled */
}

static void test_serial_hangup(void)
{
	uint8_t data[150];
	unsigned got = 0, bad = 0;

	/* the writer sends 150 bytes and goes away: the pipe says HUP while it still holds them;
	 * every byte must reach the guest, then input leaves the loop, which must go quiet (no
	 * HUP spin) */
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i + 1);
	CHECK(write(in_pipe[1], data, sizeof(data)) == sizeof(data));
	close(in_pipe[1]);
	for (int round = 0; round < 20 && got < sizeof(data); round++) {
		run_loop();
		while (in8(COM1 + UART_LSR) & 0x01)
			bad += in8(COM1 + UART_RBR) != data[got++ % sizeof(data)];
	}
	CHECK(got == sizeof(data) && bad == 0);
	run_loop();
	CHECK(loop_dispatch(&v.loop, 0) == 0);
	CHECK(loop_dispatch(&v.loop, 0) == 0);
	/* output still works */
	out8(COM1 + UART_RBR, '\n');
	{
		char c;

		CHECK(read(out_pipe[0], &c, 1) == 1 && c == '\n');
	}
}

static void test_i8042(void)
{
	CHECK(i8042_create(&v) == 0);
	CHECK((in8(0x64) & 0x01) == 0);		/* nothing to read */
	out8(0x64, 0xaa);				/* controller self test */
	CHECK((in8(0x64) & 0x01) && in8(0x60) == 0x55);
	out8(0x64, 0x20);				/* read the command byte */
	CHECK(in8(0x60) == 0x41);
	out8(0x64, 0x60);				/* write it: no translation */
	out8(0x60, 0x01);
	out8(0x64, 0x20);
	CHECK(in8(0x60) == 0x01);
	out8(0x60, 0xf2);				/* keyboard: identify */
	CHECK(in8(0x60) == 0xfa && in8(0x60) == 0xab && in8(0x60) == 0x83);
	out8(0x60, 0xff);				/* keyboard: reset */
	CHECK(in8(0x60) == 0xfa && in8(0x60) == 0xaa);
	out8(0x64, 0xa9);				/* no aux port */
	CHECK(in8(0x60) == 0xff);
	/* ctrl-alt-del in set 2, then in set 1 with translation on */
	i8042_ctrl_alt_del(v.i8042);
	CHECK(in8(0x60) == 0x14 && in8(0x60) == 0x11 && in8(0x60) == 0xe0 && in8(0x60) == 0x71);
	while (in8(0x64) & 0x01)
		in8(0x60);
	out8(0x64, 0x60);
	out8(0x60, 0x41);
	i8042_ctrl_alt_del(v.i8042);
	CHECK(in8(0x60) == 0x1d && in8(0x60) == 0x38 && in8(0x60) == 0xe0 && in8(0x60) == 0x53);
	while (in8(0x64) & 0x01)
		in8(0x60);
	/* the output queue is bounded: 40 answers, 16 kept */
	for (unsigned i = 0; i < 20; i++)
		out8(0x60, 0xf2);
	{
		unsigned n = 0;

		while ((in8(0x64) & 0x01) && n < 100)
			in8(0x60), n++;
		CHECK(n == 16);
	}
	/* the reset pulse ends the VMM with 0: a guest reboot */
	CHECK(atomic_load(&v.exit_code) == -1);
	out8(0x64, 0xfe);
	CHECK(atomic_load(&v.exit_code) == 0);
	atomic_store(&v.exit_code, -1);
}

static unsigned bcd(uint8_t b)
{
	return (b >> 4) * 10 + (b & 15);
}

static void test_rtc(void)
{
	time_t now = time(NULL);
	struct tm tm;
	unsigned sec, min, year;

	CHECK(rtc_create(&v) == 0);
	out8(0x70, 0x0a);
	CHECK((in8(0x71) & 0x80) == 0);		/* no update in progress */
	out8(0x70, 0x0b);
	CHECK(in8(0x71) == 0x02);			/* 24 hour, BCD */
	out8(0x70, 0x0d);
	CHECK(in8(0x71) == 0x80);
	out8(0x70, 0x00);
	sec = bcd(in8(0x71));
	out8(0x70, 0x02);
	min = bcd(in8(0x71));
	out8(0x70, 0x09);
	year = bcd(in8(0x71));
	out8(0x70, 0x32);
	year += 100 * bcd(in8(0x71));
	gmtime_r(&now, &tm);
	CHECK(sec < 60 && min < 60);
	CHECK(year == (unsigned)tm.tm_year + 1900 || year == (unsigned)tm.tm_year + 1901);
	/* time registers ignore writes; scratch RAM keeps them; the index has 7 bits */
	out8(0x70, 0x09);
	out8(0x71, 0x99);
	CHECK(in8(0x71) != 0x99 || tm.tm_year % 100 == 99);
	out8(0x70, 0x40);
	out8(0x71, 0xa5);
	out8(0x70, 0xc0);				/* NMI-disable bit: same register */
	CHECK(in8(0x71) == 0xa5);
}

int main(void)
{
	v.vm = -1;		/* no KVM: interrupt lines go nowhere */
	v.exit_fd = -1;
	atomic_store(&v.exit_code, -1);
	CHECK(loop_init(&v.loop) == 0);
	CHECK(pipe2(in_pipe, O_NONBLOCK | O_CLOEXEC) == 0 && pipe2(out_pipe, O_NONBLOCK | O_CLOEXEC) == 0);
	CHECK(serial_create(&v, in_pipe[0], out_pipe[1], -1) == 0);
	test_serial_output();
	test_serial_input();
	test_serial_loopback();
	test_serial_irq();
	test_serial_hangup();
	test_i8042();
	test_rtc();
	TEST_DONE("legacy");
}
