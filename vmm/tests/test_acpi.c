/* hvnode-vmm unit tests: the ACPI tables (acpi.c): RSDP, XSDT, FADT, FACS, MADT and DSDT
 * layout, lengths and checksums, what they announce (CPUs, IOAPIC, PM registers, SCI, virtio
 * devices), and refusals. With ACPI_DUMP_DIR set, the FADT, MADT and DSDT are written there
 * as NAME.dat for the Makefile's round trip through iasl (disassemble, then compile). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "test.h"
#include "virtio_dev.h"

#define MEM (64ull << 20)

static uint8_t *mem;
static struct gmem g;

static uint32_t u32(uint64_t addr)
{
	uint32_t v;

	memcpy(&v, mem + addr, 4);
	return v;
}

static uint64_t u64(uint64_t addr)
{
	uint64_t v;

	memcpy(&v, mem + addr, 8);
	return v;
}

/* A table at ADDR: signature SIG, checksum over its length 0, inside the ACPI area. */
static int table_ok(uint64_t addr, const char *sig)
{
	return addr >= BOOT_ACPI && addr + 36 <= BOOT_ACPI_END && !memcmp(mem + addr, sig, 4) &&
	       addr + u32(addr + 4) <= BOOT_ACPI_END && boot_checksum(mem + addr, u32(addr + 4)) == 0;
}

static unsigned count_bytes(uint64_t addr, const void *needle, size_t k)
{
	unsigned n = 0, len = u32(addr + 4);

	for (unsigned i = 0; i + k <= len; i++)
		n += !memcmp(mem + addr + i, needle, k);
	return n;
}

static unsigned count(uint64_t addr, const char *needle)
{
	return count_bytes(addr, needle, strlen(needle));
}

static void dump(const char *name, uint64_t addr)
{
	const char *dir = getenv("ACPI_DUMP_DIR");
	char path[512];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	CHECK(f && fwrite(mem + addr, 1, u32(addr + 4), f) == u32(addr + 4));
	if (f)
		fclose(f);
}

static struct acpi_config config(unsigned ncpus, unsigned nvirtio)
{
	struct acpi_config c = { .ncpus = ncpus, .nvirtio = nvirtio };

	for (unsigned i = 0; i < nvirtio && i < ACPI_MAX_VIRTIO; i++) {
		c.virtio[i].base = 0xd0000000ull + i * 0x1000;
		c.virtio[i].len = 0x1000;
		c.virtio[i].gsi = vmmio_irq_pin(i, true);
	}
	return c;
}

static void test_tables(void)
{
	struct acpi_config c = config(2, 3);
	uint64_t rsdp = 0, xsdt, fadt, madt, dsdt, facs;
	unsigned lapics = 0, ioapics = 0;

	CHECK(acpi_build(&g, &c, &rsdp) == 0 && rsdp == BOOT_ACPI && rsdp % 16 == 0);
	CHECK(!memcmp(mem + rsdp, "RSD PTR ", 8) && mem[rsdp + 15] == 2);	/* revision 2 */
	CHECK(boot_checksum(mem + rsdp, 20) == 0 && boot_checksum(mem + rsdp, 36) == 0);
	CHECK(u32(rsdp + 16) == 0 && u32(rsdp + 20) == 36);			/* no RSDT; length */
	xsdt = u64(rsdp + 24);
	CHECK(table_ok(xsdt, "XSDT") && u32(xsdt + 4) == 36 + 16);
	fadt = u64(xsdt + 36);
	madt = u64(xsdt + 44);
	CHECK(table_ok(fadt, "FACP") && u32(fadt + 4) == 276 && mem[fadt + 8] == 6);
	CHECK(table_ok(madt, "APIC"));
	/* FADT: DSDT both ways, FACS, fixed hardware at ACPI_PM_BASE, SCI, no SMI port. */
	dsdt = u64(fadt + 140);
	CHECK(u32(fadt + 40) == dsdt && table_ok(dsdt, "DSDT"));
	facs = u32(fadt + 36);
	CHECK(facs % 64 == 0 && !memcmp(mem + facs, "FACS", 4) && u32(facs + 4) == 64);
	CHECK(u32(fadt + 56) == ACPI_PM_BASE && mem[fadt + 88] == 4);		/* PM1a_EVT_BLK */
	CHECK(u32(fadt + 64) == ACPI_PM_BASE + ACPI_PM1_CNT && mem[fadt + 89] == 2);
	CHECK(u32(fadt + 76) == ACPI_PM_BASE + ACPI_PM_TMR && mem[fadt + 91] == 4);
	CHECK(mem[fadt + 46] == ACPI_SCI_GSI && u32(fadt + 48) == 0);		/* SCI_INT, SMI_CMD */
	CHECK(!(u32(fadt + 112) & (1u << 20)) && !(u32(fadt + 112) & (1u << 4)));	/* not HW-reduced; fixed power button */
	CHECK(mem[fadt + 148] == 1 && u64(fadt + 152) == ACPI_PM_BASE);		/* X_PM1a_EVT_BLK */
	CHECK(!memcmp(mem + fadt + 268, "hvnode", 6));
	/* MADT: one enabled local APIC per vCPU (APIC id = index), one IOAPIC at GSI base 0. */
	CHECK(u32(madt + 36) == ACPI_LAPIC_ADDR);
	for (uint64_t p = madt + 44; p < madt + u32(madt + 4); p += mem[p + 1]) {
		if (mem[p + 1] < 2)
			break;
		if (mem[p] == 0) {
			CHECK(mem[p + 3] == lapics && u32(p + 4) == 1);
			lapics++;
		}
		if (mem[p] == 1) {
			CHECK(u32(p + 4) == ACPI_IOAPIC_ADDR && u32(p + 8) == 0);
			ioapics++;
		}
	}
	CHECK(lapics == 2 && ioapics == 1);
	/* DSDT: \_S5, COM1, the i8042, the RTC and the three virtio-mmio devices. */
	CHECK(count(dsdt, "_S5_") == 1 && count(dsdt, "PNP0501") == 1 && count(dsdt, "PNP0303") == 1);
	CHECK(count(dsdt, "PNP0B00") == 1 && count(dsdt, "LNRO0005") == 3);
	CHECK(count(dsdt, "ACPI0007") == 2 && count(dsdt, "CP01") == 1);	/* one per vCPU */
	CHECK(count(dsdt, "VR00") == 1 && count(dsdt, "VR02") == 1 && count(dsdt, "VR03") == 0);
	CHECK(count_bytes(dsdt, "\x86\x09\x00\x01\x00\x20\x00\xd0", 8) == 1);	/* Memory32Fixed VR02 */
	CHECK(count_bytes(dsdt, "\x89\x06\x00\x03\x01\x07\x00\x00\x00", 9) == 1);	/* its GSI 7 */
	dump("facp", fadt);
	dump("apic", madt);
	dump("dsdt", dsdt);
}

static void test_limits(void)
{
	struct acpi_config c = config(ACPI_MAX_CPUS, ACPI_MAX_VIRTIO);
	uint64_t rsdp = 1;

	CHECK(acpi_build(&g, &c, &rsdp) == 0);		/* the largest VM fits */
	CHECK(count(u64(u64(rsdp + 24) + 36) + 0, "FACP") == 1);
	{
		uint64_t dsdt = u64(u64(u64(rsdp + 24) + 36) + 140);

		static const uint8_t shared[] = { 0x89, 6, 0, 0x0b, 1 }, exclusive[] = { 0x89, 6, 0, 0x03, 1 };

		CHECK(table_ok(dsdt, "DSDT") && count(dsdt, "ACPI0007") == ACPI_MAX_CPUS &&
		      count(dsdt, "LNRO0005") == ACPI_MAX_VIRTIO);
		/* 24 devices on 15 pins: the 9 past the 15th and the 9 they share with say Shared. */
		CHECK(count_bytes(dsdt, shared, sizeof(shared)) == 18);
		CHECK(count_bytes(dsdt, exclusive, sizeof(exclusive)) == 6);
		dump("dsdt-max", dsdt);	/* \_SB's PkgLength in 2 bytes */
	}
	c.ncpus = 0;
	CHECK(acpi_build(&g, &c, &rsdp) == -EINVAL);
	c.ncpus = ACPI_MAX_CPUS + 1;
	CHECK(acpi_build(&g, &c, &rsdp) == -EINVAL);
	c = config(1, ACPI_MAX_VIRTIO + 1);
	CHECK(acpi_build(&g, &c, &rsdp) == -EINVAL);
	{
		struct gmem small = { .base = mem, .size = BOOT_ACPI_END - 1 };	/* the area does not fit */

		c = config(1, 0);
		CHECK(acpi_build(&small, &c, &rsdp) == -EINVAL);
	}
}

/* The PM registers (pm.c's pure core). */
static void test_pm(void)
{
	struct pm_regs r = { 0 };
	const uint8_t en_pwrbtn[2] = { 0x00, 0x01 }, all[2] = { 0xff, 0xff };
	uint8_t s5[2] = { 0x00, (uint8_t)((ACPI_SLP_TYP_S5 << 2) | 0x20) };	/* SLP_TYP 5 | SLP_EN */
	uint8_t s3[2] = { 0x00, (uint8_t)((3 << 2) | 0x20) };

	CHECK(!pm_regs_press(&r) && pm_regs_pending(&r) && !pm_regs_sci(&r));	/* not enabled */
	CHECK(!pm_regs_write(&r, ACPI_PM1_EVT + 2, en_pwrbtn, 2) && r.en == 0x100);
	CHECK(pm_regs_sci(&r));					/* pending and enabled: SCI */
	CHECK(pm_regs_write(&r, ACPI_PM1_EVT, (const uint8_t *)"\x00\x00", 2) == false && pm_regs_sci(&r));
	CHECK(!pm_regs_write(&r, ACPI_PM1_EVT + 1, (const uint8_t *)"\x01", 1));	/* write 1 clears */
	CHECK(!pm_regs_pending(&r) && !pm_regs_sci(&r));
	pm_regs_write(&r, ACPI_PM1_EVT + 2, all, 2);
	CHECK(r.en == 0x0720);					/* TMR_EN and reserved bits stay 0 */
	CHECK(pm_regs_read(&r, ACPI_PM1_CNT, 0) & 1);		/* SCI_EN: ACPI mode */
	CHECK(!pm_regs_write(&r, ACPI_PM1_CNT, s3, 2) && r.cnt == (3 << 10));	/* S3: ignored */
	CHECK(!pm_regs_write(&r, ACPI_PM1_CNT, all, 1) && r.cnt == ((3 << 10) | 2));	/* BM_RLD only */
	CHECK(pm_regs_write(&r, ACPI_PM1_CNT, s5, 2));		/* S5: power off */
	CHECK(!(pm_regs_read(&r, ACPI_PM1_CNT + 1, 0) & 0x20));	/* SLP_EN reads 0 */
	/* Split and stray accesses: the high byte alone, a 4-byte write over EN and CNT. */
	r = (struct pm_regs){ 0 };
	CHECK(pm_regs_write(&r, ACPI_PM1_EVT + 3, (const uint8_t *)"\x01\x00\x34", 3));
	CHECK(r.en == 0x100);
	CHECK(!pm_regs_write(&r, ACPI_PM_TMR, all, 2) && !pm_regs_write(&r, 64, all, 2));
	CHECK(pm_regs_read(&r, ACPI_PM_TMR, 0x12345678) == 0x78 && pm_regs_read(&r, ACPI_PM_TMR + 3, 0x12345678) == 0x12);
	CHECK(pm_regs_read(&r, 6, 0x12345678) == 0 && pm_regs_read(&r, 200, 0) == 0);
}

int main(void)
{
	mem = calloc(1, MEM);
	g = (struct gmem){ .base = mem, .size = MEM };
	test_limits();
	test_tables();
	test_pm();
	free(mem);
	TEST_DONE("acpi");
}
