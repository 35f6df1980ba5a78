/* hvnode-vmm: zero page (struct boot_params), e820 map, command line, GDT and identity page
 * tables for the 64-bit entry of the Linux x86 boot protocol 2.15 (Documentation/x86/boot.rst,
 * "64-bit boot protocol", and Documentation/x86/zero-page.rst).
 * e820: RAM [0, 0x9fc00), reserved [0x9fc00, 0xe0000) holding the MP table, ACPI [0xe0000,
 * 1 MiB) holding the ACPI tables, RAM [1 MiB, top below 4 GiB), and with more than 3 GiB the
 * rest as RAM from 4 GiB (the gmem's hole is what the map leaves out). With an RSDP address,
 * acpi_rsdp_addr (boot protocol 2.14) points the kernel at it.
 * Trusts the boot_kernel from loader.c; checks the cmdline length against the kernel's own
 * cmdline_size and every write against guest memory. Pure: writes only through gmem. */
#include <errno.h>
#include <string.h>

#include "boot.h"

#define E820_RAM 1
#define E820_RESERVED 2
#define E820_ACPI 3
#define PTE_PRESENT_RW 0x3ull
#define PTE_LARGE 0x80ull

static void bootparams_e820(struct boot_params *bp, const struct gmem *g)
{
	uint64_t low = gmem_low_end(g);
	struct boot_e820_entry e[5] = {
		{ .addr = 0, .size = BOOT_EBDA, .type = E820_RAM },
		{ .addr = BOOT_EBDA, .size = BOOT_ACPI - BOOT_EBDA, .type = E820_RESERVED },
		{ .addr = BOOT_ACPI, .size = BOOT_ACPI_END - BOOT_ACPI, .type = E820_ACPI },
		{ .addr = BOOT_KERNEL, .size = low - BOOT_KERNEL, .type = E820_RAM },
		{ .addr = g->hole_end, .size = g->size - g->hole_end, .type = E820_RAM },
	};

	memcpy(bp->e820_table, e, sizeof(e));
	bp->e820_entries = g->hole_end ? 5 : 4;
}

static int bootparams_cmdline(const struct gmem *g, const struct boot_kernel *k, const char *cmdline)
{
	size_t len = strlen(cmdline);
	uint8_t *dst;

	if (len > k->hdr.cmdline_size || len + 1 > BOOT_CMDLINE_MAX)
		return -E2BIG;
	dst = gmem_ptr(g, BOOT_CMDLINE, len + 1);
	if (!dst)
		return -ENOMEM;
	memcpy(dst, cmdline, len + 1);
	return 0;
}

/* bootparams_build: 0, -E2BIG (cmdline longer than the kernel takes), -ENOMEM (memory too
 * small or initrd outside it). RSDP: the ACPI RSDP's address, 0 for none. */
int bootparams_build(const struct gmem *g, const struct boot_kernel *k, const char *cmdline,
		     uint64_t initrd_addr, uint64_t initrd_size, uint64_t rsdp)
{
	static struct boot_params bp;	/* 4 KiB: kept off the stack */
	uint8_t *zp = gmem_ptr(g, BOOT_ZERO_PAGE, sizeof(bp));
	int ret;

	if (!zp || gmem_low_end(g) < BOOT_MIN_MEM || gmem_low_end(g) > BOOT_LOW_MEM_END ||
	    (g->hole_end && (g->hole_end != BOOT_HIGH_MEM || g->size <= g->hole_end)) ||
	    g->size - (g->hole_end - g->hole) > BOOT_MAX_MEM)
		return -ENOMEM;
	if (initrd_size && (!gmem_ptr(g, initrd_addr, initrd_size) || initrd_addr + initrd_size > 1ull << 32))
		return -ENOMEM;
	ret = bootparams_cmdline(g, k, cmdline);
	if (ret < 0)
		return ret;
	memset(&bp, 0, sizeof(bp));
	bp.hdr = k->hdr;
	bp.hdr.type_of_loader = 0xff;
	bp.hdr.cmd_line_ptr = BOOT_CMDLINE;
	bp.hdr.ramdisk_image = (uint32_t)initrd_addr;
	bp.hdr.ramdisk_size = (uint32_t)initrd_size;
	bp.hdr.vid_mode = 0xffff;
	bp.acpi_rsdp_addr = rsdp;
	bootparams_e820(&bp, g);
	memcpy(zp, &bp, sizeof(bp));
	return 0;
}

static void bootparams_gdt(uint8_t *gdt)
{
	const uint64_t e[5] = {
		0,
		0,
		0x00af9b000000ffffull,	/* 0x10: 64-bit code, present, ring 0 */
		0x00cf93000000ffffull,	/* 0x18: flat 4 GiB data, read/write */
		0x00008b0000000067ull,	/* 0x20: 64-bit TSS, busy (only for TR at entry) */
	};

	memcpy(gdt, e, sizeof(e));
}

/* bootparams_paging: GDT and an identity map of the first 4 GiB with 2 MiB pages. */
int bootparams_paging(const struct gmem *g)
{
	uint8_t *gdt = gmem_ptr(g, BOOT_GDT, 5 * 8);
	uint8_t *pt = gmem_ptr(g, BOOT_PML4, 6 * 4096);
	uint64_t e;

	if (!gdt || !pt)
		return -ENOMEM;
	bootparams_gdt(gdt);
	memset(pt, 0, 6 * 4096);
	e = BOOT_PDPT | PTE_PRESENT_RW;
	memcpy(pt, &e, 8);
	for (uint64_t i = 0; i < 4; i++) {
		e = (BOOT_PD + i * 4096) | PTE_PRESENT_RW;
		memcpy(pt + 4096 + i * 8, &e, 8);
	}
	for (uint64_t i = 0; i < 4 * 512; i++) {
		e = (i << 21) | PTE_PRESENT_RW | PTE_LARGE;
		memcpy(pt + 2 * 4096 + i * 8, &e, 8);
	}
	return 0;
}
