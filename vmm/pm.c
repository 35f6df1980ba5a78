/* hvnode-vmm: ACPI fixed hardware (ACPI 6.4 section 4.8), the registers the FADT of acpi.c
 * describes, in port I/O at ACPI_PM_BASE:
 *   +0 PM1a_STS (16 bits): PWRBTN_STS (bit 8) is set by pm_power_button; the guest clears a
 *      bit by writing 1 to it (4.8.3.1.1)
 *   +2 PM1a_EN  (16 bits): PWRBTN_EN (bit 8); the other enables read back but never fire
 *   +4 PM1a_CNT (16 bits): SCI_EN reads 1 (the guest is in ACPI mode from the start); writing
 *      SLP_EN (bit 13) with SLP_TYP (bits 10-12) = ACPI_SLP_TYP_S5 is the guest's "soft off":
 *      the VMM ends with exit code 0 ("guest powered off")
 *   +8 PM_TMR   (32 bits, read-only): 3.579545 MHz from CLOCK_MONOTONIC
 * The SCI (GSI ACPI_SCI_GSI, level) is asserted while STS & EN has a bit set. Any access size
 * at any offset is taken byte by byte; bytes outside the registers read 0 and ignore writes.
 * vCPU threads (guest accesses) and the API thread (the power button) share the state under
 * a lock. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm.h"

#define PM1_PWRBTN (1u << 8)
#define PM1_STS_MASK 0x8731u	/* TMR, BM, GBL, PWRBTN, SLPBTN, RTC, WAK */
#define PM1_EN_MASK 0x0721u	/* TMR, GBL, PWRBTN, SLPBTN, RTC */
#define PM1_SCI_EN 1u
#define PM1_SLP_EN (1u << 13)
#define PM1_SLP_TYP(v) (((v) >> 10) & 7u)
#define PM_TMR_HZ 3579545ull

struct pm {
	struct vmm *vmm;
	pthread_mutex_t lock;
	uint16_t sts, en, cnt;
	int sci;		/* the level last set on the SCI line */
};

/* With the lock held: the SCI follows STS & EN. */
static void pm_update_sci(struct pm *p)
{
	int level = (p->sts & p->en) != 0;

	if (level != p->sci && vm_irq_line(p->vmm, ACPI_SCI_GSI, level) == 0)
		p->sci = level;
}

static uint32_t pm_timer(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)(((unsigned __int128)((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) *
			   PM_TMR_HZ) / 1000000000ull);
}

static uint8_t pm_read_byte(struct pm *p, uint64_t off, uint32_t tmr)
{
	switch (off) {
	case 0: return (uint8_t)p->sts;
	case 1: return (uint8_t)(p->sts >> 8);
	case 2: return (uint8_t)p->en;
	case 3: return (uint8_t)(p->en >> 8);
	case 4: return (uint8_t)(p->cnt | PM1_SCI_EN);
	case 5: return (uint8_t)(p->cnt >> 8);
	case 8: case 9: case 10: case 11: return (uint8_t)(tmr >> (8 * (off - 8)));
	default: return 0;
	}
}

static void pm_read(void *opaque, uint64_t off, uint8_t *data, unsigned len)
{
	struct pm *p = opaque;
	uint32_t tmr = pm_timer();

	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < len; i++)
		data[i] = pm_read_byte(p, off + i, tmr);
	pthread_mutex_unlock(&p->lock);
}

static void pm_write(void *opaque, uint64_t off, const uint8_t *data, unsigned len)
{
	struct pm *p = opaque;
	int off_now = 0;

	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < len; i++) {
		uint64_t o = off + i;
		unsigned shift = (o & 1) ? 8 : 0, v = (unsigned)data[i] << shift;

		if (o <= 1)
			p->sts = (uint16_t)(p->sts & ~(v & PM1_STS_MASK));
		else if (o <= 3)
			p->en = (uint16_t)((p->en & ~(0xffu << shift)) | (v & PM1_EN_MASK));
		else if (o <= 5)
			p->cnt = (uint16_t)((p->cnt & ~(0xffu << shift)) | v);
	}
	/* SLP_EN is write-only: it acts, then reads back 0. */
	if (p->cnt & PM1_SLP_EN) {
		off_now = PM1_SLP_TYP(p->cnt) == ACPI_SLP_TYP_S5;
		p->cnt = (uint16_t)(p->cnt & ~PM1_SLP_EN);
	}
	pm_update_sci(p);
	pthread_mutex_unlock(&p->lock);
	if (off_now) {
		fprintf(stderr, "hvnode-vmm: guest powered off\n");
		vm_exit(p->vmm, 0);
	}
}

void pm_power_button(struct vmm *v)
{
	struct pm *p = v->pm;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->sts |= PM1_PWRBTN;
	pm_update_sci(p);
	pthread_mutex_unlock(&p->lock);
}

int pm_create(struct vmm *v)
{
	struct pm *p = calloc(1, sizeof(*p));
	struct bus_dev d = { .base = ACPI_PM_BASE, .len = ACPI_PM_LEN, .read = pm_read,
			     .write = pm_write, .opaque = p };

	if (!p)
		return vmm_err(-ENOMEM, "acpi-pm: out of memory");
	p->vmm = v;
	pthread_mutex_init(&p->lock, NULL);
	if (vm_bus_add(&v->pio, &d) < 0)
		return vmm_err(-ENOSPC, "acpi-pm: no room on the I/O bus");
	v->pm = p;
	return 0;
}
