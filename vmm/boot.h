/* hvnode-vmm: guest physical memory layout at boot and the pure builders that fill it:
 * kernel loader (loader.c), zero page, e820, GDT and page tables (bootparams.c), MP table
 * (mptable.c), ACPI tables (acpi.c). All of them write only through a struct gmem view and make no system call.
 *
 *   0x000500  GDT                      0x007000  boot_params (zero page)
 *   0x001000  PML4, 0x2000 PDPT        0x008ff0  initial stack top
 *   0x003000  4 page directories       0x020000  kernel command line (up to 64 KiB)
 *   0x09fc00  MP floating pointer + configuration table (reserved in e820)
 *   0x0e0000  ACPI: RSDP, XSDT, FACS, FADT, MADT, DSDT (ACPI in e820, up to 1 MiB)
 *   0x100000  kernel (bzImage protected-mode payload, or ELF PT_LOAD segments)
 *   top       initrd, highest 4 KiB aligned address that fits below initrd_addr_max and 3 GiB
 *   0xc0000000 the hole: virtio-mmio at 0xd0000000, IOAPIC, LAPIC (not RAM)
 *   4 GiB     the RAM beyond 3 GiB, if any (e820 RAM) */
#ifndef HVNODE_BOOT_H
#define HVNODE_BOOT_H
#include <stdbool.h>
#include <stdint.h>
#include <asm/bootparam.h>

#include "virtq.h"

#define BOOT_GDT 0x500
#define BOOT_PML4 0x1000
#define BOOT_PDPT 0x2000
#define BOOT_PD 0x3000
#define BOOT_ZERO_PAGE 0x7000
#define BOOT_STACK 0x8ff0
#define BOOT_CMDLINE 0x20000
#define BOOT_CMDLINE_MAX 0x10000
#define BOOT_EBDA 0x9fc00
#define BOOT_MPTABLE BOOT_EBDA
#define BOOT_KERNEL 0x100000
#define BOOT_MIN_MEM (32ull << 20)
#define BOOT_MMIO_BASE 0xd0000000ull	/* virtio-mmio window, in the hole below 4 GiB */
#define BOOT_LOW_MEM_END 0xc0000000ull	/* RAM below 4 GiB ends here at most (3 GiB) ... */
#define BOOT_HIGH_MEM 0x100000000ull	/* ... and the rest of it starts at 4 GiB */
#define BOOT_MAX_MEM (64ull << 30)	/* RAM in all (64 GiB) */

#define BOOT_SEL_CODE 0x10
#define BOOT_SEL_DATA 0x18
#define BOOT_SEL_TSS 0x20

struct boot_kernel {
	uint64_t entry;		/* guest physical 64-bit entry point */
	uint64_t end;		/* first byte above what the kernel needs (incl. init_size) */
	bool bzimage;
	struct setup_header hdr;	/* copied from the bzImage or synthesized for ELF */
	const char *err;	/* on failure: why, for the error line */
};

int loader_load(const struct gmem *g, const uint8_t *img, uint64_t len, struct boot_kernel *k);
int loader_place_initrd(const struct gmem *g, const struct boot_kernel *k, uint64_t size, uint64_t *addr);
int bootparams_build(const struct gmem *g, const struct boot_kernel *k, const char *cmdline,
		     uint64_t initrd_addr, uint64_t initrd_size, uint64_t rsdp);
int bootparams_paging(const struct gmem *g);
int mptable_build(const struct gmem *g, unsigned ncpus);
/* boot_checksum: the 8-bit sum of LEN bytes at P; the MP table and ACPI tables make it 0. */
uint8_t boot_checksum(const uint8_t *p, uint64_t len);

/* ACPI (acpi.c): tables at BOOT_ACPI, the PM registers (pm.c) at ACPI_PM_BASE in port I/O. */
#define BOOT_ACPI 0xe0000
#define BOOT_ACPI_END 0x100000
#define ACPI_PM_BASE 0x600
#define ACPI_PM1_EVT 0		/* PM1a_STS (16 bits, write 1 to clear), then PM1a_EN (16 bits) */
#define ACPI_PM1_CNT 4		/* PM1a_CNT (16 bits): SCI_EN, SLP_TYP, SLP_EN */
#define ACPI_PM_TMR 8		/* PM_TMR (32 bits, 3.579545 MHz) */
#define ACPI_PM_LEN 12
#define ACPI_SCI_GSI 20		/* IOAPIC pin 20: level, active low (the SCI's default) */
#define ACPI_SLP_TYP_S5 5	/* \_S5's SLP_TYPa: the guest powers off */
#define ACPI_LAPIC_ADDR 0xfee00000u
#define ACPI_IOAPIC_ADDR 0xfec00000u
#define ACPI_MAX_CPUS 64
#define ACPI_MAX_VIRTIO 24

struct acpi_config {
	unsigned ncpus;
	unsigned nvirtio;
	struct {
		uint64_t base, len;	/* the device's virtio-mmio window */
		uint32_t gsi;
	} virtio[ACPI_MAX_VIRTIO];
};

/* acpi_build: the tables for C into guest memory; *RSDP_ADDR is where the RSDP is. Returns 0,
 * -EINVAL (no memory there, or more CPUs or devices than the tables take), -E2BIG (the tables
 * do not fit below BOOT_ACPI_END). */
int acpi_build(const struct gmem *g, const struct acpi_config *c, uint64_t *rsdp_addr);

/* The ACPI PM registers (pm.c), pure: offsets are from ACPI_PM_BASE. */
struct pm_regs {
	uint16_t sts, en, cnt;
};
/* pm_regs_read: the byte at OFF; TIMER is the PM timer's value (3.579545 MHz ticks). */
uint8_t pm_regs_read(const struct pm_regs *r, uint64_t off, uint32_t timer);
/* pm_regs_write: LEN bytes at OFF; true when the guest asked for S5 (power off). */
bool pm_regs_write(struct pm_regs *r, uint64_t off, const uint8_t *data, unsigned len);
bool pm_regs_sci(const struct pm_regs *r);		/* the SCI's level: STS & EN */
bool pm_regs_press(struct pm_regs *r);			/* PWRBTN_STS; true if PWRBTN_EN */
bool pm_regs_pending(const struct pm_regs *r);	/* PWRBTN_STS still set */

#endif
