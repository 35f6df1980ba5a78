/* hvnode-vmm unit tests: bzImage and ELF loader on well-formed and malformed images,
 * boot_params builder (e820, cmdline limit, initrd placement) and the MP table checksums. */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "boot.h"
#include "test.h"

#define MEM (64ull << 20)

static uint8_t *mem;
static struct gmem g;
static uint8_t img[64 * 1024];
static struct boot_kernel k;

/* bz: a minimal bzImage: 4 setup sectors + 1 boot sector, then payload. */
static uint64_t bz(uint16_t version, uint16_t xload, uint8_t loadflags, uint8_t sects, uint32_t init_size)
{
	memset(img, 0, sizeof(img));
	img[0x1f1] = sects;
	img[0x1fe] = 0x55;
	img[0x1ff] = 0xaa;
	img[0x201] = 0x6a;	/* jump: header ends at 0x26c */
	memcpy(img + 0x202, "HdrS", 4);
	memcpy(img + 0x206, &version, 2);
	img[0x211] = loadflags;
	memcpy(img + 0x236, &xload, 2);
	memcpy(img + 0x22c, &(uint32_t){ 0x7fffffff }, 4);	/* initrd_addr_max */
	memcpy(img + 0x238, &(uint32_t){ 255 }, 4);		/* cmdline_size */
	memcpy(img + 0x260, &init_size, 4);
	memset(img + 5 * 512, 0xcc, 1024);
	return 5 * 512 + 1024;
}

static void test_bzimage(void)
{
	uint64_t len = bz(0x020f, 1, 1, 4, 0x10000);

	CHECK(loader_load(&g, img, len, &k) == 0 && k.bzimage && k.entry == 0x100200);
	CHECK(mem[0x100000] == 0xcc && k.end == 0x110000);
	CHECK(loader_load(&g, img, 0x300, &k) == -ENOEXEC);	/* truncated in the header */
	CHECK(loader_load(&g, img, 5 * 512, &k) == -ENOEXEC);	/* no payload */
	img[0x202] = 'X';
	CHECK(loader_load(&g, img, len, &k) == -ENOEXEC);	/* bad magic */
	bz(0x0206, 1, 1, 4, 0);
	CHECK(loader_load(&g, img, len, &k) == -ENOEXEC);	/* protocol too old */
	bz(0x020f, 0, 1, 4, 0);
	CHECK(loader_load(&g, img, len, &k) == -ENOEXEC);	/* no 64-bit entry */
	bz(0x020f, 1, 0, 4, 0);
	CHECK(loader_load(&g, img, len, &k) == -ENOEXEC);	/* not loaded high */
	bz(0x020f, 1, 1, 255, 0);
	CHECK(loader_load(&g, img, len, &k) == -ENOEXEC);	/* setup_sects past the file */
	bz(0x020f, 1, 1, 4, 0xffffffff);
	CHECK(loader_load(&g, img, len, &k) == -ENOMEM);	/* init_size beyond RAM */
}

static uint64_t elf(uint64_t paddr, uint64_t filesz, uint64_t memsz, uint64_t entry, uint64_t off)
{
	Elf64_Ehdr eh = { .e_type = ET_EXEC, .e_machine = EM_X86_64, .e_entry = entry, .e_phoff = 64,
			  .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 1 };
	Elf64_Phdr ph = { .p_type = PT_LOAD, .p_offset = off, .p_paddr = paddr,
			  .p_vaddr = 0xffffffff80000000ull + paddr, .p_filesz = filesz, .p_memsz = memsz };

	memset(img, 0, sizeof(img));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	memcpy(img, &eh, sizeof(eh));
	memcpy(img + 64, &ph, sizeof(ph));
	memset(img + 4096, 0xee, 4096);
	return 8192;
}

static void test_elf(void)
{
	uint64_t len = elf(0x1000000, 4096, 8192, 0x1000000, 4096);

	CHECK(loader_load(&g, img, len, &k) == 0 && !k.bzimage && k.entry == 0x1000000 && k.end == 0x1002000);
	CHECK(mem[0x1000000] == 0xee && mem[0x1001000] == 0);
	elf(0x1000000, 4096, 8192, 0xffffffff81000010ull, 4096);	/* virtual entry translated */
	CHECK(loader_load(&g, img, len, &k) == 0 && k.entry == 0x1000010);
	elf(0x1000000, 4096, 8192, 0x5000000, 4096);	/* entry outside the segments */
	CHECK(loader_load(&g, img, len, &k) == -ENOEXEC);
	elf(MEM - 4096, 4096, 8192, MEM - 4096, 4096);	/* segment past the end of RAM */
	CHECK(loader_load(&g, img, len, &k) == -ENOMEM);
	elf(0x1000000, 8192, 4096, 0x1000000, 4096);	/* filesz > memsz */
	CHECK(loader_load(&g, img, len, &k) == -ENOEXEC);
	elf(0x1000000, 4096, 4096, 0x1000000, UINT64_MAX - 10);	/* offset wraps */
	CHECK(loader_load(&g, img, len, &k) == -ENOEXEC);
	elf(0x1000, 4096, 4096, 0x1000, 4096);	/* below 1 MiB: would hit boot data */
	CHECK(loader_load(&g, img, len, &k) == -ENOEXEC);
	elf(0x1000000, 4096, 4096, 0x1000000, 4096);
	img[EI_CLASS] = ELFCLASS32;
	CHECK(loader_load(&g, img, len, &k) == -ENOEXEC);
	elf(0x1000000, 4096, 4096, 0x1000000, 4096);
	memcpy(img + 56, &(uint16_t){ 60000 }, 2);	/* e_phnum huge */
	CHECK(loader_load(&g, img, len, &k) == -ENOEXEC);
	CHECK(loader_load(&g, img, 10, &k) == -ENOEXEC);	/* truncated */
}

static void test_bootparams(void)
{
	struct boot_params bp;
	char longline[300];
	uint64_t addr;

	bz(0x020f, 1, 1, 4, 0x10000);
	CHECK(loader_load(&g, img, 5 * 512 + 1024, &k) == 0);
	CHECK(loader_place_initrd(&g, &k, 1000000, &addr) == 0 && addr + 1000000 <= MEM && !(addr & 0xfff));
	CHECK(loader_place_initrd(&g, &k, MEM, &addr) == -ENOMEM);	/* initrd too big */
	CHECK(bootparams_build(&g, &k, "console=ttyS0", addr, 1000000, BOOT_ACPI) == 0);
	memcpy(&bp, mem + BOOT_ZERO_PAGE, sizeof(bp));
	CHECK(bp.e820_entries == 4 && bp.e820_table[0].addr == 0 && bp.e820_table[0].size == BOOT_EBDA);
	CHECK(bp.e820_table[1].type == 2 && bp.e820_table[1].addr + bp.e820_table[1].size == BOOT_ACPI);
	CHECK(bp.e820_table[2].type == 3 && bp.e820_table[2].addr == BOOT_ACPI &&
	      bp.e820_table[2].addr + bp.e820_table[2].size == BOOT_KERNEL);
	CHECK(bp.e820_table[3].addr == BOOT_KERNEL && bp.e820_table[3].addr + bp.e820_table[3].size == MEM);
	CHECK(bp.acpi_rsdp_addr == BOOT_ACPI);
	CHECK(bp.hdr.cmd_line_ptr == BOOT_CMDLINE && strcmp((char *)mem + BOOT_CMDLINE, "console=ttyS0") == 0);
	CHECK(bp.hdr.ramdisk_image == addr && bp.hdr.ramdisk_size == 1000000 && bp.hdr.type_of_loader == 0xff);
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = 0;
	CHECK(bootparams_build(&g, &k, longline, 0, 0, 0) == -E2BIG);	/* over cmdline_size 255 */
	CHECK(bootparams_build(&g, &k, "", MEM - 10, 100, 0) == -ENOMEM);	/* initrd outside RAM */
	CHECK(bootparams_paging(&g) == 0);
	memcpy(&addr, mem + BOOT_PML4, 8);
	CHECK(addr == (BOOT_PDPT | 3));
	memcpy(&addr, mem + BOOT_PD + 8 * 2047, 8);
	CHECK(addr == ((2047ull << 21) | 0x83));	/* last 2 MiB page below 4 GiB */
}

/* A 5 GiB guest: 3 GiB from 0, the hole, 2 GiB from 4 GiB. The view is only a window on the
 * test's buffer: nothing above the buffer is written (the builders write only boot data). */
static void test_high_memory(void)
{
	struct gmem big = { mem, BOOT_HIGH_MEM + (2ull << 30), BOOT_LOW_MEM_END, BOOT_HIGH_MEM };
	struct boot_params bp;
	uint64_t addr;

	/* no range may touch the hole; the RAM on either side is there */
	CHECK(gmem_ptr(&big, 0, MEM) == mem);
	CHECK(gmem_ptr(&big, BOOT_LOW_MEM_END - 4096, 4096) != NULL);
	CHECK(gmem_ptr(&big, BOOT_LOW_MEM_END - 4096, 4097) == NULL);
	CHECK(gmem_ptr(&big, BOOT_MMIO_BASE, 4) == NULL && gmem_ptr(&big, BOOT_HIGH_MEM - 1, 1) == NULL);
	CHECK(gmem_ptr(&big, BOOT_LOW_MEM_END - 1, BOOT_HIGH_MEM) == NULL);	/* across it */
	CHECK(gmem_ptr(&big, BOOT_HIGH_MEM, 2ull << 30) == mem + BOOT_HIGH_MEM);
	CHECK(gmem_ptr(&big, BOOT_HIGH_MEM + (2ull << 30) - 8, 9) == NULL);
	CHECK(gmem_low_end(&big) == BOOT_LOW_MEM_END && gmem_low_end(&g) == MEM);
	/* the initrd goes below initrd_addr_max and 3 GiB, never into the hole or above */
	bz(0x020f, 1, 1, 4, 0x10000);
	CHECK(loader_load(&g, img, 5 * 512 + 1024, &k) == 0);
	CHECK(loader_place_initrd(&big, &k, 1 << 20, &addr) == 0 && addr + (1 << 20) <= BOOT_LOW_MEM_END);
	/* e820: the low RAM ends at 3 GiB, the rest starts at 4 GiB */
	CHECK(bootparams_build(&big, &k, "console=ttyS0", 0, 0, BOOT_ACPI) == 0);
	memcpy(&bp, mem + BOOT_ZERO_PAGE, sizeof(bp));
	CHECK(bp.e820_entries == 5);
	CHECK(bp.e820_table[3].addr == BOOT_KERNEL && bp.e820_table[3].addr + bp.e820_table[3].size == BOOT_LOW_MEM_END);
	CHECK(bp.e820_table[4].type == 1 && bp.e820_table[4].addr == BOOT_HIGH_MEM &&
	      bp.e820_table[4].size == 2ull << 30);
	/* 64 GiB of RAM at most; a hole elsewhere than the one below 4 GiB is refused */
	big.size = BOOT_HIGH_MEM + (61ull << 30);
	CHECK(bootparams_build(&big, &k, "", 0, 0, 0) == 0);
	big.size += 1ull << 30;
	CHECK(bootparams_build(&big, &k, "", 0, 0, 0) == -ENOMEM);
	big = (struct gmem){ mem, BOOT_HIGH_MEM + (1ull << 30), 2ull << 30, BOOT_HIGH_MEM + 4096 };
	CHECK(bootparams_build(&big, &k, "", 0, 0, 0) == -ENOMEM);
}

static void test_mptable(void)
{
	uint32_t phys;
	uint16_t len;

	CHECK(mptable_build(&g, 2) == 0);
	CHECK(memcmp(mem + BOOT_MPTABLE, "_MP_", 4) == 0 && boot_checksum(mem + BOOT_MPTABLE, 16) == 0);
	memcpy(&phys, mem + BOOT_MPTABLE + 4, 4);
	memcpy(&len, mem + phys + 4, 2);
	CHECK(memcmp(mem + phys, "PCMP", 4) == 0 && boot_checksum(mem + phys, len) == 0);
	CHECK(mem[phys + 44] == 0 && mem[phys + 44 + 3] == 3 && mem[phys + 64 + 1] == 1);	/* cpu 0 BP, cpu 1 */
	CHECK(mptable_build(&g, 0) == -EINVAL && mptable_build(&g, 65) == -EINVAL);
	CHECK(mptable_build(&g, 32) == 0 && boot_checksum(mem + phys, (uint16_t)(mem[phys + 4] | mem[phys + 5] << 8)) == 0);
}

int main(void)
{
	mem = calloc(1, MEM);
	g = (struct gmem){ .base = mem, .size = MEM };
	test_bzimage();
	test_elf();
	test_bootparams();
	test_high_memory();
	test_mptable();
	free(mem);
	TEST_DONE("boot");
}
