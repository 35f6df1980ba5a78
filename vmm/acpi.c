/* hvnode-vmm: ACPI tables (ACPI 6.4), so guests that find their CPUs and devices only through
 * ACPI (distribution kernels: no MP table parser, virtio-mmio only as an ACPI device) see them,
 * and so a guest can power off. Written at BOOT_ACPI (0xe0000, marked ACPI in the e820 map) and
 * announced in boot_params.acpi_rsdp_addr (Linux x86 boot protocol 2.14) as well as where a
 * legacy scan finds the RSDP (16-byte aligned below 1 MiB):
 *   RSDP (5.2.5, revision 2) -> XSDT (5.2.8) -> FADT (5.2.9), MADT (5.2.12)
 *   FADT -> DSDT (5.2.11.1), FACS (5.2.10)
 * The FADT describes fixed hardware (not hardware-reduced): a PM1a event block (power button
 * status/enable), a PM1a control block (SLP_TYP/SLP_EN: the guest's S5 is "powered off") and a
 * 32-bit PM timer, emulated by pm.c at ACPI_PM_BASE, with the SCI on GSI ACPI_SCI_GSI. No SMI
 * command port: the guest is in ACPI mode from the start. No reset register (guests reset
 * through the i8042).
 * MADT: one enabled local APIC per vCPU (processor UID and APIC id = vCPU index), the IOAPIC
 * at 0xfec00000 (GSI 0-23), NMI on LINT1 of every processor; ISA IRQs map 1:1 to GSIs as in the
 * MP table (no interrupt source override).
 * DSDT (AML, 5.4 and 19.6): \_S5 (SLP_TYP 5), and in \_SB a processor device (ACPI0007) per
 * vCPU with the MADT's processor UID, the COM1 UART (PNP0501), the i8042
 * keyboard controller (PNP0303), the CMOS RTC (PNP0B00) and each virtio-mmio device (LNRO0005,
 * its 4 KiB window as Memory32Fixed, its GSI as an edge, active-high Extended Interrupt).
 * Pure: writes only through gmem; checks that everything fits below BOOT_ACPI_END. */
#include <errno.h>
#include <string.h>

#include "boot.h"

#define ACPI_OEM "HVNODE"
#define ACPI_OEM_TABLE "HVNODEVM"
#define ACPI_CREATOR 0x4e564820u	/* " HVN" */

struct acpi_header {
	char sig[4];
	uint32_t len;
	uint8_t rev, sum;
	char oem[6], oem_table[8];
	uint32_t oem_rev;
	uint32_t creator, creator_rev;
} __attribute__((packed));

struct acpi_gas {
	uint8_t space, bit_width, bit_offset, access;
	uint64_t addr;
} __attribute__((packed));

struct acpi_rsdp {
	char sig[8];
	uint8_t sum;
	char oem[6];
	uint8_t rev;
	uint32_t rsdt;
	uint32_t len;
	uint64_t xsdt;
	uint8_t ext_sum, reserved[3];
} __attribute__((packed));

struct acpi_fadt {
	struct acpi_header h;
	uint32_t facs, dsdt;
	uint8_t reserved0, pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt, pm1b_evt, pm1a_cnt, pm1b_cnt, pm2_cnt, pm_tmr, gpe0, gpe1;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len, gpe0_len, gpe1_len, gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor;
	uint64_t x_facs, x_dsdt;
	struct acpi_gas x_pm1a_evt, x_pm1b_evt, x_pm1a_cnt, x_pm1b_cnt, x_pm2_cnt, x_pm_tmr;
	struct acpi_gas x_gpe0, x_gpe1, sleep_ctl, sleep_sts;
	uint64_t hypervisor;
} __attribute__((packed));

struct acpi_facs {
	char sig[4];
	uint32_t len, hw_sig, waking, lock, flags;
	uint64_t x_waking;
	uint8_t version, reserved0[3];
	uint32_t ospm_flags;
	uint8_t reserved1[24];
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_header) == 36, "ACPI table header");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP, ACPI 6.4 table 5.3");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT, ACPI 6.4 table 5.9");
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS, ACPI 6.4 table 5.14");

#define FADT_WBINVD (1u << 0)
#define FADT_PROC_C1 (1u << 2)
#define FADT_SLP_BUTTON (1u << 5)	/* no sleep button; the power button is fixed hardware */
#define FADT_FIX_RTC (1u << 6)		/* no RTC wake status in the PM1 registers */
#define FADT_TMR_VAL_EXT (1u << 8)	/* 32-bit PM timer */
#define IAPC_LEGACY_DEVICES (1u << 0)
#define IAPC_8042 (1u << 1)
#define IAPC_NO_VGA (1u << 2)
#define GAS_IO 1
#define MADT_PCAT_COMPAT 1u

static void acpi_header(struct acpi_header *h, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(h->sig, sig, 4);
	h->len = len;
	h->rev = rev;
	memcpy(h->oem, ACPI_OEM, 6);
	memcpy(h->oem_table, ACPI_OEM_TABLE, 8);
	h->oem_rev = 1;
	h->creator = ACPI_CREATOR;
	h->creator_rev = 1;
}

static void acpi_seal(uint8_t *table)
{
	struct acpi_header *h = (struct acpi_header *)table;

	h->sum = 0;
	h->sum = (uint8_t)-boot_checksum(table, h->len);
}

/* ---- AML (ACPI 6.4 chapter 20): a byte buffer and the few terms the DSDT needs ---------- */
struct aml {
	uint8_t b[8192];
	size_t n;
	bool overflow;
};

static void aml_bytes(struct aml *a, const void *p, size_t len)
{
	if (a->n + len > sizeof(a->b)) {
		a->overflow = true;
		return;
	}
	memcpy(a->b + a->n, p, len);
	a->n += len;
}

static void aml_byte(struct aml *a, uint8_t v)
{
	aml_bytes(a, &v, 1);
}

/* PkgLength (20.2.4) of a body of LEN bytes, counting its own bytes. */
static void aml_pkglen(struct aml *a, size_t len)
{
	if (len + 1 < 0x40) {
		aml_byte(a, (uint8_t)(len + 1));
	} else if (len + 2 < 0x1000) {
		len += 2;
		aml_byte(a, (uint8_t)(0x40 | (len & 0xf)));
		aml_byte(a, (uint8_t)(len >> 4));
	} else {
		len += 3;
		aml_byte(a, (uint8_t)(0x80 | (len & 0xf)));
		aml_byte(a, (uint8_t)(len >> 4));
		aml_byte(a, (uint8_t)(len >> 12));
	}
}

/* OP (one or two bytes) PkgLength BODY: Scope, Device, Buffer, Package. */
static void aml_block(struct aml *a, const uint8_t *op, size_t oplen, const struct aml *body)
{
	aml_bytes(a, op, oplen);
	aml_pkglen(a, body->n);
	aml_bytes(a, body->b, body->n);
	a->overflow |= body->overflow;
}

static void aml_integer(struct aml *a, uint32_t v)
{
	if (v <= 1) {
		aml_byte(a, (uint8_t)v);		/* ZeroOp, OneOp */
	} else if (v <= 0xff) {
		aml_byte(a, 0x0a);
		aml_byte(a, (uint8_t)v);
	} else if (v <= 0xffff) {
		aml_byte(a, 0x0b);
		aml_bytes(a, &(uint16_t){ (uint16_t)v }, 2);
	} else {
		aml_byte(a, 0x0c);
		aml_bytes(a, &v, 4);
	}
}

/* Name (SEG, "TEXT"); SEG is a 4-character NameSeg (or a \-prefixed one). */
static void aml_name_string(struct aml *a, const char *seg, const char *text)
{
	aml_byte(a, 0x08);
	aml_bytes(a, seg, strlen(seg));
	aml_byte(a, 0x0d);
	aml_bytes(a, text, strlen(text) + 1);
}

static void aml_name_integer(struct aml *a, const char *seg, uint32_t v)
{
	aml_byte(a, 0x08);
	aml_bytes(a, seg, strlen(seg));
	aml_integer(a, v);
}

/* Name (SEG, ResourceTemplate () { RES... }): a Buffer of resource descriptors + End Tag. */
static void aml_name_resources(struct aml *a, const char *seg, const struct aml *res)
{
	static const uint8_t buffer_op = 0x11;
	struct aml body = { .n = 0 }, *in = &body;

	aml_integer(in, (uint32_t)(res->n + 2));
	aml_bytes(in, res->b, res->n);
	aml_byte(in, 0x79);	/* End Tag (6.4.2.9), checksum 0: none */
	aml_byte(in, 0);
	in->overflow |= res->overflow;
	aml_byte(a, 0x08);
	aml_bytes(a, seg, strlen(seg));
	aml_block(a, &buffer_op, 1, in);
}

/* I/O Port descriptor (6.4.2.5), 16-bit decode, fixed at BASE. */
static void res_io(struct aml *r, uint16_t base, uint8_t len)
{
	uint8_t d[8] = { 0x47, 0x01, (uint8_t)base, (uint8_t)(base >> 8), (uint8_t)base,
			 (uint8_t)(base >> 8), 1, len };

	aml_bytes(r, d, sizeof(d));
}

/* IRQ descriptor without flags (6.4.2.1): ISA, edge, active high. */
static void res_irq(struct aml *r, unsigned irq)
{
	uint16_t mask = (uint16_t)(1u << irq);
	uint8_t d[3] = { 0x22, (uint8_t)mask, (uint8_t)(mask >> 8) };

	aml_bytes(r, d, sizeof(d));
}

/* Memory32Fixed (6.4.3.4), read/write. */
static void res_mem32(struct aml *r, uint32_t base, uint32_t len)
{
	uint8_t d[12] = { 0x86, 9, 0, 1 };

	memcpy(d + 4, &base, 4);
	memcpy(d + 8, &len, 4);
	aml_bytes(r, d, sizeof(d));
}

/* Extended Interrupt (6.4.3.6): consumer, edge, active high, exclusive or shared, one GSI. */
static void res_gsi(struct aml *r, uint32_t gsi, bool shared)
{
	uint8_t d[9] = { 0x89, 6, 0, (uint8_t)(shared ? 0x0b : 0x03), 1 };

	memcpy(d + 5, &gsi, 4);
	aml_bytes(r, d, sizeof(d));
}

/* acpi_gsi_shared: another virtio device has the same GSI as device I. */
static bool acpi_gsi_shared(const struct acpi_config *c, unsigned i)
{
	for (unsigned j = 0; j < c->nvirtio; j++)
		if (j != i && c->virtio[j].gsi == c->virtio[i].gsi)
			return true;
	return false;
}

static void aml_device(struct aml *a, const char *seg, const struct aml *body)
{
	static const uint8_t device_op[2] = { 0x5b, 0x82 };
	struct aml named = { .n = 0 };

	aml_bytes(&named, seg, 4);
	aml_bytes(&named, body->b, body->n);
	named.overflow |= body->overflow;
	aml_block(a, device_op, 2, &named);
}

/* A Device with _HID (and _UID when UID >= 0) and _CRS (when RES). */
static void aml_simple_device(struct aml *a, const char *seg, const char *hid, int uid,
			      const struct aml *res)
{
	static struct aml dev;

	dev.n = 0;
	dev.overflow = false;
	aml_name_string(&dev, "_HID", hid);
	if (uid >= 0)
		aml_name_integer(&dev, "_UID", (uint32_t)uid);
	if (res)
		aml_name_resources(&dev, "_CRS", res);
	aml_device(a, seg, &dev);
}

static void aml_seg(char seg[5], char prefix0, char prefix1, unsigned i)
{
	static const char hex[] = "0123456789ABCDEF";

	seg[0] = prefix0, seg[1] = prefix1, seg[2] = hex[(i >> 4) & 15], seg[3] = hex[i & 15];
	seg[4] = 0;
}

static void acpi_dsdt_body(struct aml *a, const struct acpi_config *c)
{
	static const uint8_t scope_op = 0x10, package_op = 0x12;
	static struct aml sb, res, pkg;

	/* Name (\_S5, Package (4) { 5, 0, 0, 0 }): SLP_TYPa for "soft off" (7.4.2). */
	pkg.n = 0;
	pkg.overflow = false;
	aml_byte(&pkg, 4);
	aml_integer(&pkg, ACPI_SLP_TYP_S5);
	aml_integer(&pkg, 0);
	aml_integer(&pkg, 0);
	aml_integer(&pkg, 0);
	aml_byte(a, 0x08);
	aml_bytes(a, "\\_S5_", 5);
	aml_block(a, &package_op, 1, &pkg);

	sb.n = 0;
	sb.overflow = false;
	aml_bytes(&sb, "\\_SB_", 5);
	/* A processor device per MADT entry, by its processor UID (ACPI 6.4 section 8.4). */
	for (unsigned i = 0; i < c->ncpus; i++) {
		char seg[5];

		aml_seg(seg, 'C', 'P', i);
		aml_simple_device(&sb, seg, "ACPI0007", (int)i, NULL);
	}
	res.n = 0;
	res_io(&res, 0x3f8, 8);
	res_irq(&res, 4);
	aml_simple_device(&sb, "COM1", "PNP0501", 1, &res);
	res.n = 0;
	res_io(&res, 0x60, 1);
	res_io(&res, 0x64, 1);
	res_irq(&res, 1);
	aml_simple_device(&sb, "PS2K", "PNP0303", -1, &res);
	res.n = 0;
	res_io(&res, 0x70, 2);
	res_irq(&res, 8);
	aml_simple_device(&sb, "RTC_", "PNP0B00", -1, &res);
	for (unsigned i = 0; i < c->nvirtio; i++) {
		char seg[5];

		aml_seg(seg, 'V', 'R', i);
		res.n = 0;
		res_mem32(&res, (uint32_t)c->virtio[i].base, (uint32_t)c->virtio[i].len);
		res_gsi(&res, c->virtio[i].gsi, acpi_gsi_shared(c, i));
		aml_simple_device(&sb, seg, "LNRO0005", (int)i, &res);
	}
	aml_block(a, &scope_op, 1, &sb);
}

static void acpi_fadt(struct acpi_fadt *f, uint64_t facs, uint64_t dsdt)
{
	const struct acpi_gas evt = { GAS_IO, 32, 0, 2, ACPI_PM_BASE + ACPI_PM1_EVT };
	const struct acpi_gas cnt = { GAS_IO, 16, 0, 2, ACPI_PM_BASE + ACPI_PM1_CNT };
	const struct acpi_gas tmr = { GAS_IO, 32, 0, 3, ACPI_PM_BASE + ACPI_PM_TMR };

	memset(f, 0, sizeof(*f));
	acpi_header(&f->h, "FACP", sizeof(*f), 6);
	f->facs = (uint32_t)facs;
	f->dsdt = (uint32_t)dsdt;
	f->x_facs = 0;			/* FIRMWARE_CTRL is set: X_FIRMWARE_CTRL must be 0 */
	f->x_dsdt = dsdt;
	f->sci_int = ACPI_SCI_GSI;
	f->pm1a_evt = (uint32_t)evt.addr;
	f->pm1a_cnt = (uint32_t)cnt.addr;
	f->pm_tmr = (uint32_t)tmr.addr;
	f->pm1_evt_len = 4;
	f->pm1_cnt_len = 2;
	f->pm_tmr_len = 4;
	f->p_lvl2_lat = 101;		/* > 100: no C2 */
	f->p_lvl3_lat = 1001;		/* > 1000: no C3 */
	f->iapc_boot_arch = IAPC_LEGACY_DEVICES | IAPC_8042 | IAPC_NO_VGA;
	f->flags = FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_FIX_RTC | FADT_TMR_VAL_EXT;
	f->minor = 4;
	f->x_pm1a_evt = evt;
	f->x_pm1a_cnt = cnt;
	f->x_pm_tmr = tmr;
	memcpy(&f->hypervisor, "hvnode\0\0", 8);
}

/* The MADT into P (at most MAX bytes); returns its length, or 0 when it does not fit. */
static uint32_t acpi_madt(uint8_t *p, uint64_t max, unsigned ncpus)
{
	uint32_t n = sizeof(struct acpi_header) + 8;
	const uint32_t lapic = ACPI_LAPIC_ADDR, flags = MADT_PCAT_COMPAT;

	if (n + ncpus * 8 + 12 + 6 > max)
		return 0;
	memset(p, 0, n);
	memcpy(p + 36, &lapic, 4);
	memcpy(p + 40, &flags, 4);
	for (unsigned i = 0; i < ncpus; i++) {
		/* Processor Local APIC (5.2.12.2): UID, APIC id, enabled */
		uint8_t e[8] = { 0, 8, (uint8_t)i, (uint8_t)i, 1, 0, 0, 0 };

		memcpy(p + n, e, 8);
		n += 8;
	}
	{
		/* I/O APIC (5.2.12.3): id = ncpus (after the local APICs), GSI base 0 */
		uint8_t e[12] = { 1, 12, (uint8_t)ncpus, 0 };
		const uint32_t addr = ACPI_IOAPIC_ADDR, base = 0;

		memcpy(e + 4, &addr, 4);
		memcpy(e + 8, &base, 4);
		memcpy(p + n, e, 12);
		n += 12;
	}
	{
		/* Local APIC NMI (5.2.12.7): every processor (0xff), LINT1 */
		uint8_t e[6] = { 4, 6, 0xff, 0, 0, 1 };

		memcpy(p + n, e, 6);
		n += 6;
	}
	acpi_header((struct acpi_header *)p, "APIC", n, 5);
	return n;
}

int acpi_build(const struct gmem *g, const struct acpi_config *c, uint64_t *rsdp_addr)
{
	static struct aml dsdt;
	uint8_t *area = gmem_ptr(g, BOOT_ACPI, BOOT_ACPI_END - BOOT_ACPI);
	uint64_t off, rsdp = 0, xsdt = 64, facs = 128, fadt = 192, madt, dsdt_at;
	struct acpi_rsdp *r;
	struct acpi_facs *fs;
	uint32_t madt_len;

	if (!area || c->ncpus == 0 || c->ncpus > ACPI_MAX_CPUS || c->nvirtio > ACPI_MAX_VIRTIO)
		return -EINVAL;
	memset(area, 0, BOOT_ACPI_END - BOOT_ACPI);
	/* DSDT: header, then the AML. */
	dsdt.n = 0;
	dsdt.overflow = false;
	acpi_dsdt_body(&dsdt, c);
	madt = fadt + sizeof(struct acpi_fadt);
	madt = (madt + 15) & ~15ull;
	madt_len = acpi_madt(area + madt, BOOT_ACPI_END - BOOT_ACPI - madt, c->ncpus);
	dsdt_at = (madt + madt_len + 15) & ~15ull;
	off = dsdt_at + sizeof(struct acpi_header) + dsdt.n;
	if (dsdt.overflow || !madt_len || off > BOOT_ACPI_END - BOOT_ACPI)
		return -E2BIG;
	acpi_header((struct acpi_header *)(area + dsdt_at), "DSDT", (uint32_t)(off - dsdt_at), 2);
	memcpy(area + dsdt_at + sizeof(struct acpi_header), dsdt.b, dsdt.n);
	acpi_seal(area + dsdt_at);
	acpi_seal(area + madt);
	/* FACS: 64-byte aligned, no checksum. */
	fs = (struct acpi_facs *)(area + facs);
	memcpy(fs->sig, "FACS", 4);
	fs->len = sizeof(*fs);
	fs->version = 2;
	acpi_fadt((struct acpi_fadt *)(area + fadt), BOOT_ACPI + facs, BOOT_ACPI + dsdt_at);
	acpi_seal(area + fadt);
	/* XSDT: FADT, MADT. */
	{
		uint64_t entries[2] = { BOOT_ACPI + fadt, BOOT_ACPI + madt };

		acpi_header((struct acpi_header *)(area + xsdt), "XSDT", 36 + sizeof(entries), 1);
		memcpy(area + xsdt + 36, entries, sizeof(entries));
		acpi_seal(area + xsdt);
	}
	r = (struct acpi_rsdp *)(area + rsdp);
	memcpy(r->sig, "RSD PTR ", 8);
	memcpy(r->oem, ACPI_OEM, 6);
	r->rev = 2;
	r->len = sizeof(*r);
	r->xsdt = BOOT_ACPI + xsdt;
	r->sum = (uint8_t)-boot_checksum((const uint8_t *)r, 20);
	r->ext_sum = (uint8_t)-boot_checksum((const uint8_t *)r, sizeof(*r));
	*rsdp_addr = BOOT_ACPI + rsdp;
	return 0;
}
