/* hvnode-vmm: ACPI fixed hardware (ACPI 6.4 section 4.8), the registers the FADT of acpi.c
 * describes, in port I/O at ACPI_PM_BASE:
 *   +0 PM1a_STS (16 bits): PWRBTN_STS (bit 8) is set by pm_power_button; the guest clears a
 *      bit by writing 1 to it (4.8.3.1.1)
 *   +2 PM1a_EN  (16 bits): PWRBTN_EN (bit 8), GBL_EN, SLPBTN_EN and RTC_EN read back (they
 *      never fire); TMR_EN stays 0 (no timer overflow event)
 *   +4 PM1a_CNT (16 bits): SCI_EN reads 1 (the guest is in ACPI mode from the start); BM_RLD
 *      and SLP_TYP (bits 10-12) read back; writing SLP_EN (bit 13) with SLP_TYP =
 *      ACPI_SLP_TYP_S5 is the guest's "soft off": the VMM ends with exit code 0 ("guest powered
 *      off"); other sleep types are ignored (the DSDT offers none)
 *   +8 PM_TMR   (32 bits, read-only): 3.579545 MHz since the VM was created
 * The SCI (GSI ACPI_SCI_GSI, level) is asserted while STS & EN has a bit set. Any access size
 * at any offset is taken byte by byte; bytes outside the registers read 0 and ignore writes.
 * The register logic (pm_regs_*) is pure, for the unit tests; vCPU threads (guest accesses)
 * and the API thread (the power button) share the state under a lock. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm.h"

#define PM1_PWRBTN (1u << 8)
#define PM1_STS_MASK 0x8731u	/* TMR, BM, GBL, PWRBTN, SLPBTN, RTC, WAK */
#define PM1_EN_MASK 0x0720u	/* GBL, PWRBTN, SLPBTN, RTC */
#define PM1_CNT_MASK 0x1c02u	/* BM_RLD, SLP_TYP */
#define PM1_SCI_EN 1u
#define PM1_SLP_EN (1u << 13)
#define PM1_SLP_TYP(v) (((v) >> 10) & 7u)
#define PM_TMR_HZ 3579545ull

uint8_t pm_regs_read(const struct pm_regs *r, uint64_t off, uint32_t timer)
{
	switch (off) {
	case ACPI_PM1_EVT: return (uint8_t)r->sts;
	case ACPI_PM1_EVT + 1: return (uint8_t)(r->sts >> 8);
	case ACPI_PM1_EVT + 2: return (uint8_t)r->en;
	case ACPI_PM1_EVT + 3: return (uint8_t)(r->en >> 8);
	case ACPI_PM1_CNT: return (uint8_t)(r->cnt | PM1_SCI_EN);
	case ACPI_PM1_CNT + 1: return (uint8_t)(r->cnt >> 8);
	case ACPI_PM_TMR: case ACPI_PM_TMR + 1: case ACPI_PM_TMR + 2: case ACPI_PM_TMR + 3:
		return (uint8_t)(timer >> (8 * (off - ACPI_PM_TMR)));
	default: return 0;
	}
}

bool pm_regs_write(struct pm_regs *r, uint64_t off, const uint8_t *data, unsigned len)
{
	unsigned cnt = r->cnt;

	for (unsigned i = 0; i < len; i++) {
		uint64_t o = off + i;
		unsigned shift = (o & 1) ? 8 : 0, v = (unsigned)data[i] << shift;

		if (o == ACPI_PM1_EVT || o == ACPI_PM1_EVT + 1)
			r->sts = (uint16_t)(r->sts & ~(v & PM1_STS_MASK));
		else if (o == ACPI_PM1_EVT + 2 || o == ACPI_PM1_EVT + 3)
			r->en = (uint16_t)((r->en & ~(0xffu << shift)) | (v & PM1_EN_MASK));
		else if (o == ACPI_PM1_CNT || o == ACPI_PM1_CNT + 1)
			cnt = (cnt & ~(0xffu << shift)) | v;
	}
	r->cnt = (uint16_t)(cnt & PM1_CNT_MASK);	/* SLP_EN is write-only: it acts, reads 0 */
	return (cnt & PM1_SLP_EN) && PM1_SLP_TYP(cnt) == ACPI_SLP_TYP_S5;
}

bool pm_regs_sci(const struct pm_regs *r)
{
	return (r->sts & r->en) != 0;
}

bool pm_regs_press(struct pm_regs *r)
{
	r->sts |= PM1_PWRBTN;
	return (r->en & PM1_PWRBTN) != 0;
}

bool pm_regs_pending(const struct pm_regs *r)
{
	return (r->sts & PM1_PWRBTN) != 0;
}

struct pm {
	struct vmm *vmm;
	pthread_mutex_t lock;
	struct pm_regs regs;
	int sci;		/* the level last set on the SCI line */
	uint64_t start_ns;	/* the timer counts from here: it tells nothing of the host */
};

static uint64_t pm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* With the lock held: the SCI follows STS & EN. */
static void pm_update_sci(struct pm *p)
{
	int level = pm_regs_sci(&p->regs);

	if (level != p->sci && vm_irq_line(p->vmm, ACPI_SCI_GSI, level) == 0)
		p->sci = level;
}

static void pm_read(void *opaque, uint64_t off, uint8_t *data, unsigned len)
{
	struct pm *p = opaque;
	uint32_t timer = (uint32_t)((unsigned __int128)(pm_now_ns() - p->start_ns) * PM_TMR_HZ /
				    1000000000ull);

	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < len; i++)
		data[i] = pm_regs_read(&p->regs, off + i, timer);
	pthread_mutex_unlock(&p->lock);
}

static void pm_write(void *opaque, uint64_t off, const uint8_t *data, unsigned len)
{
	struct pm *p = opaque;
	bool off_now;

	pthread_mutex_lock(&p->lock);
	off_now = pm_regs_write(&p->regs, off, data, len);
	pm_update_sci(p);
	pthread_mutex_unlock(&p->lock);
	if (off_now) {
		fprintf(stderr, "hvnode-vmm: guest powered off\n");
		vm_exit(p->vmm, 0);
	}
}

bool pm_power_button(struct vmm *v)
{
	struct pm *p = v->pm;
	bool enabled;

	if (!p)
		return false;
	pthread_mutex_lock(&p->lock);
	enabled = pm_regs_press(&p->regs);
	pm_update_sci(p);
	pthread_mutex_unlock(&p->lock);
	return enabled;
}

bool pm_power_button_pending(struct vmm *v)
{
	struct pm *p = v->pm;
	bool pending;

	if (!p)
		return false;
	pthread_mutex_lock(&p->lock);
	pending = pm_regs_pending(&p->regs);
	pthread_mutex_unlock(&p->lock);
	return pending;
}

int pm_create(struct vmm *v)
{
	struct pm *p = calloc(1, sizeof(*p));
	struct bus_dev d = { .base = ACPI_PM_BASE, .len = ACPI_PM_LEN, .read = pm_read,
			     .write = pm_write, .opaque = p };

	if (!p)
		return vmm_err(-ENOMEM, "acpi-pm: out of memory");
	p->vmm = v;
	p->start_ns = pm_now_ns();
	pthread_mutex_init(&p->lock, NULL);
	if (vm_bus_add(&v->pio, &d) < 0)
		return vmm_err(-ENOSPC, "acpi-pm: no room on the I/O bus");
	v->pm = p;
	return 0;
}
