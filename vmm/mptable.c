/* hvnode-vmm: Intel MultiProcessor Specification 1.4 tables (chapter 4): the MP floating
 * pointer and a configuration table with one processor entry per vCPU (APIC id = index,
 * the first one the bootstrap processor), one ISA bus, the IOAPIC at 0xfec00000 and
 * identity interrupt assignments ISA IRQ n -> IOAPIC pin n for n < 16, plus ExtINT on
 * LINT0 and NMI on LINT1. Placed at the start of the EBDA (0x9fc00), where Linux scans.
 * Trusts its caller for ncpus (bounded here too). Pure: writes only through gmem. */
#include <errno.h>
#include <string.h>

#include "boot.h"

#define MP_MAX_CPUS 64
#define MP_IRQS 16
#define MP_APIC_VERSION 0x14
#define MP_IOAPIC_VERSION 0x11
#define MP_LAPIC_ADDR 0xfee00000u
#define MP_IOAPIC_ADDR 0xfec00000u

struct mp_float {
	char sig[4];
	uint32_t phys;
	uint8_t len, rev, sum, feature[5];
} __attribute__((packed));

struct mp_config {
	char sig[4];
	uint16_t len;
	uint8_t rev, sum;
	char oem[8], product[12];
	uint32_t oem_table;
	uint16_t oem_size, count;
	uint32_t lapic;
	uint16_t ext_len;
	uint8_t ext_sum, reserved;
} __attribute__((packed));

struct mp_cpu {
	uint8_t type, apic_id, apic_ver, flags;
	uint32_t signature, features;
	uint32_t reserved[2];
} __attribute__((packed));

struct mp_bus {
	uint8_t type, id;
	char name[6];
} __attribute__((packed));

struct mp_ioapic {
	uint8_t type, id, ver, flags;
	uint32_t addr;
} __attribute__((packed));

struct mp_irq {
	uint8_t type, irqtype;
	uint16_t flags;
	uint8_t bus, bus_irq, apic, pin;
} __attribute__((packed));

uint8_t boot_checksum(const uint8_t *p, uint64_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return sum;
}

static uint8_t *mptable_put(uint8_t *p, const void *e, size_t len)
{
	memcpy(p, e, len);
	return p + len;
}

static uint8_t *mptable_cpus(uint8_t *p, unsigned ncpus)
{
	for (unsigned i = 0; i < ncpus; i++) {
		struct mp_cpu c = {
			.type = 0, .apic_id = (uint8_t)i, .apic_ver = MP_APIC_VERSION,
			.flags = 1 | (i == 0 ? 2 : 0), .signature = 0x600, .features = 0x201,
		};
		p = mptable_put(p, &c, sizeof(c));
	}
	return p;
}

static uint8_t *mptable_irqs(uint8_t *p, uint8_t ioapic)
{
	struct mp_irq lint[2] = {
		{ .type = 4, .irqtype = 3, .apic = 0xff, .pin = 0 },	/* ExtINT -> LINT0 */
		{ .type = 4, .irqtype = 1, .apic = 0xff, .pin = 1 },	/* NMI -> LINT1 */
	};

	for (uint8_t i = 0; i < MP_IRQS; i++) {
		struct mp_irq e = { .type = 3, .irqtype = 0, .bus_irq = i, .apic = ioapic, .pin = i };

		p = mptable_put(p, &e, sizeof(e));
	}
	return mptable_put(p, lint, sizeof(lint));
}

static size_t mptable_size(unsigned ncpus)
{
	return sizeof(struct mp_float) + sizeof(struct mp_config) + ncpus * sizeof(struct mp_cpu) +
	       sizeof(struct mp_bus) + sizeof(struct mp_ioapic) + (MP_IRQS + 2) * sizeof(struct mp_irq);
}

/* mptable_build: 0, or -EINVAL for a cpu count the table cannot describe, -ENOMEM when the
 * EBDA area is not in guest memory. */
int mptable_build(const struct gmem *g, unsigned ncpus)
{
	size_t size = mptable_size(ncpus > MP_MAX_CPUS ? MP_MAX_CPUS : ncpus);
	uint8_t *base = gmem_ptr(g, BOOT_MPTABLE, size), *p;
	struct mp_float fp = { .sig = "_MP_", .len = 1, .rev = 4, .phys = BOOT_MPTABLE + sizeof(fp) };
	struct mp_config ct = { .sig = "PCMP", .rev = 4, .oem = "HVNODE  ", .product = "hvnode-vmm  ",
				.lapic = MP_LAPIC_ADDR };
	struct mp_bus bus = { .type = 1, .id = 0, .name = "ISA   " };
	struct mp_ioapic io = { .type = 2, .id = (uint8_t)ncpus, .ver = MP_IOAPIC_VERSION, .flags = 1,
				.addr = MP_IOAPIC_ADDR };

	if (ncpus == 0 || ncpus > MP_MAX_CPUS)
		return -EINVAL;
	if (!base || size > BOOT_KERNEL - BOOT_MPTABLE)
		return -ENOMEM;
	p = base + sizeof(fp) + sizeof(ct);
	p = mptable_cpus(p, ncpus);
	p = mptable_put(p, &bus, sizeof(bus));
	p = mptable_put(p, &io, sizeof(io));
	p = mptable_irqs(p, io.id);
	ct.len = (uint16_t)(p - base - sizeof(fp));
	ct.count = (uint16_t)(ncpus + 2 + MP_IRQS + 2);
	memcpy(base + sizeof(fp), &ct, sizeof(ct));
	base[sizeof(fp) + offsetof(struct mp_config, sum)] = (uint8_t)-boot_checksum(base + sizeof(fp), ct.len);
	fp.sum = (uint8_t)-boot_checksum((const uint8_t *)&fp, sizeof(fp));
	memcpy(base, &fp, sizeof(fp));
	return 0;
}
