/* hvnode-vmm: MC146818 CMOS real-time clock on ports 0x70 (index) and 0x71 (data), read-only
 * time: seconds to year and century come from the host's CLOCK_REALTIME in UTC as BCD, with
 * register A's update-in-progress bit always clear and register D's valid-RAM bit set, so
 * Linux's rtc_cmos probe and boot clock read finish at once. Other CMOS bytes are a 128-byte
 * scratch RAM. No alarm, no periodic interrupt (IRQ 8 is never raised).
 * Trusts nothing from the guest: the index is masked to 7 bits; time registers ignore writes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm.h"

#define RTC_PORT 0x70
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_CENTURY 0x32

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t ram[128];
};

static uint8_t rtc_bcd(int v)
{
	return (uint8_t)(((v / 10) % 10) << 4 | (v % 10));
}

static int rtc_time(uint8_t reg, uint8_t *val)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	switch (reg) {
	case 0x00: *val = rtc_bcd(tm.tm_sec); return 0;
	case 0x02: *val = rtc_bcd(tm.tm_min); return 0;
	case 0x04: *val = rtc_bcd(tm.tm_hour); return 0;
	case 0x06: *val = rtc_bcd(tm.tm_wday + 1); return 0;
	case 0x07: *val = rtc_bcd(tm.tm_mday); return 0;
	case 0x08: *val = rtc_bcd(tm.tm_mon + 1); return 0;
	case 0x09: *val = rtc_bcd(tm.tm_year % 100); return 0;
	case RTC_CENTURY: *val = rtc_bcd(19 + tm.tm_year / 100); return 0;
	default: return -1;
	}
}

static uint8_t rtc_reg(struct rtc *r, uint8_t reg)
{
	uint8_t v;

	if (rtc_time(reg, &v) == 0)
		return v;
	switch (reg) {
	case RTC_REG_A: return 0x26;	/* 32.768 kHz, 1024 Hz rate, UIP clear */
	case RTC_REG_B: return 0x02;	/* 24-hour, BCD, no interrupts */
	case RTC_REG_C: return 0;
	case RTC_REG_D: return 0x80;	/* valid RAM and time */
	default: return r->ram[reg];
	}
}

static void rtc_read(void *opaque, uint64_t off, uint8_t *data, unsigned len)
{
	struct rtc *r = opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&r->lock);
	data[0] = off == 0 ? r->index : rtc_reg(r, r->index);
	pthread_mutex_unlock(&r->lock);
}

static void rtc_write(void *opaque, uint64_t off, const uint8_t *data, unsigned len)
{
	struct rtc *r = opaque;
	uint8_t v;

	(void)len;
	pthread_mutex_lock(&r->lock);
	if (off == 0)
		r->index = data[0] & 0x7f;
	else if (r->index > RTC_REG_D && rtc_time(r->index, &v) < 0)
		r->ram[r->index] = data[0];
	pthread_mutex_unlock(&r->lock);
}

int rtc_create(struct vmm *v)
{
	struct rtc *r = calloc(1, sizeof(*r));
	struct bus_dev d = { .base = RTC_PORT, .len = 2, .read = rtc_read, .write = rtc_write, .opaque = r };

	if (!r)
		return vmm_err(-ENOMEM, "rtc: %s", strerror(ENOMEM));
	pthread_mutex_init(&r->lock, NULL);
	return vm_bus_add(&v->pio, &d);
}
