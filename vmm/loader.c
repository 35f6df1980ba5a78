/* hvnode-vmm: kernel loader. Follows the Linux x86 boot protocol (Documentation/x86/boot.rst,
 * protocol 2.12 or later, 64-bit entry: the protected-mode payload goes to 1 MiB and is
 * entered at its start + 0x200 in long mode; the real-mode setup code is never run) and the
 * ELF-64 format for an uncompressed vmlinux (PT_LOAD segments at p_paddr, entry e_entry).
 * Trusts nothing in the image: every header field, offset and size is checked against the
 * file length and guest memory before anything is copied. Pure: writes only through gmem. */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "boot.h"

#define HDR_OFF 0x1f1
#define XLF_KERNEL_64_BIT (1 << 0)
#define LOADED_HIGH_BIT (1 << 0)
#define ELF_MAX_PHDRS 64

static int loader_fail(struct boot_kernel *k, int err, const char *why)
{
	k->err = why;
	return err;
}

static bool loader_is_bzimage(const uint8_t *img, uint64_t len)
{
	return len >= 0x206 && img[0x1fe] == 0x55 && img[0x1ff] == 0xaa &&
	       memcmp(img + 0x202, "HdrS", 4) == 0;
}

static int loader_bz_header(const uint8_t *img, uint64_t len, struct boot_kernel *k)
{
	uint64_t end;

	if (len < HDR_OFF + sizeof(k->hdr))
		return loader_fail(k, -ENOEXEC, "bzImage truncated in its setup header");
	memcpy(&k->hdr, img + HDR_OFF, sizeof(k->hdr));
	end = 0x202 + (uint64_t)img[0x201];	/* the header ends where its jump lands */
	if (end < HDR_OFF + sizeof(k->hdr))
		memset((uint8_t *)&k->hdr + (end - HDR_OFF), 0, HDR_OFF + sizeof(k->hdr) - end);
	if (k->hdr.version < 0x020c)
		return loader_fail(k, -ENOEXEC, "boot protocol older than 2.12");
	if (!(k->hdr.xloadflags & XLF_KERNEL_64_BIT))
		return loader_fail(k, -ENOEXEC, "kernel has no 64-bit entry point (XLF_KERNEL_64)");
	if (!(k->hdr.loadflags & LOADED_HIGH_BIT))
		return loader_fail(k, -ENOEXEC, "kernel does not load high (LOADED_HIGH)");
	return 0;
}

static int loader_bzimage(const struct gmem *g, const uint8_t *img, uint64_t len, struct boot_kernel *k)
{
	uint64_t setup, payload, need;
	uint8_t *dst;
	int ret;

	ret = loader_bz_header(img, len, k);
	if (ret < 0)
		return ret;
	setup = ((uint64_t)(k->hdr.setup_sects ? k->hdr.setup_sects : 4) + 1) * 512;
	if (setup >= len)
		return loader_fail(k, -ENOEXEC, "bzImage truncated: no payload after the setup sectors");
	payload = len - setup;
	need = payload > k->hdr.init_size ? payload : k->hdr.init_size;
	dst = gmem_ptr(g, BOOT_KERNEL, need);
	if (!dst)
		return loader_fail(k, -ENOMEM, "kernel does not fit in guest memory");
	memcpy(dst, img + setup, payload);
	k->bzimage = true;
	k->entry = BOOT_KERNEL + 0x200;
	k->end = BOOT_KERNEL + need;
	return 0;
}

static int loader_elf_header(const uint8_t *img, uint64_t len, Elf64_Ehdr *eh, struct boot_kernel *k)
{
	if (len < sizeof(*eh))
		return loader_fail(k, -ENOEXEC, "ELF truncated in its header");
	memcpy(eh, img, sizeof(*eh));
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64 || eh->e_type != ET_EXEC)
		return loader_fail(k, -ENOEXEC, "not an x86-64 little-endian ELF executable");
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 || eh->e_phnum > ELF_MAX_PHDRS)
		return loader_fail(k, -ENOEXEC, "ELF program header table malformed");
	if (eh->e_phoff > len || (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff)
		return loader_fail(k, -ENOEXEC, "ELF truncated in its program headers");
	return 0;
}

static int loader_segment(const struct gmem *g, const uint8_t *img, uint64_t len, const Elf64_Phdr *ph,
			  struct boot_kernel *k, bool *entry_found)
{
	uint8_t *dst;

	if (ph->p_filesz > ph->p_memsz)
		return loader_fail(k, -ENOEXEC, "ELF segment larger in the file than in memory");
	if (ph->p_offset > len || ph->p_filesz > len - ph->p_offset)
		return loader_fail(k, -ENOEXEC, "ELF truncated in a segment");
	if (ph->p_paddr < BOOT_KERNEL)
		return loader_fail(k, -ENOEXEC, "ELF segment below 1 MiB");
	dst = gmem_ptr(g, ph->p_paddr, ph->p_memsz);
	if (!dst)
		return loader_fail(k, -ENOMEM, "ELF segment outside guest memory");
	memcpy(dst, img + ph->p_offset, ph->p_filesz);
	memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
	if (ph->p_paddr + ph->p_memsz > k->end)
		k->end = ph->p_paddr + ph->p_memsz;
	/* e_entry is physical in vmlinux; accept a virtual one by translating it. */
	if (*entry_found)
		return 0;
	if (k->entry >= ph->p_paddr && k->entry - ph->p_paddr < ph->p_memsz) {
		*entry_found = true;
	} else if (k->entry >= ph->p_vaddr && k->entry - ph->p_vaddr < ph->p_memsz) {
		k->entry = k->entry - ph->p_vaddr + ph->p_paddr;
		*entry_found = true;
	}
	return 0;
}

static void loader_elf_hdr(struct boot_kernel *k)
{
	memset(&k->hdr, 0, sizeof(k->hdr));
	k->hdr.boot_flag = 0xaa55;
	memcpy(&k->hdr.header, "HdrS", 4);
	k->hdr.version = 0x020f;
	k->hdr.initrd_addr_max = 0x7fffffff;
	k->hdr.cmdline_size = 2047;
	k->hdr.kernel_alignment = 0x1000000;
}

static int loader_elf(const struct gmem *g, const uint8_t *img, uint64_t len, struct boot_kernel *k)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	bool loaded = false, entry_found = false;
	int ret;

	ret = loader_elf_header(img, len, &eh, k);
	if (ret < 0)
		return ret;
	k->entry = eh.e_entry;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		memcpy(&ph, img + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		ret = loader_segment(g, img, len, &ph, k, &entry_found);
		if (ret < 0)
			return ret;
		loaded = true;
	}
	if (!loaded)
		return loader_fail(k, -ENOEXEC, "ELF has no PT_LOAD segment");
	if (!entry_found)
		return loader_fail(k, -ENOEXEC, "ELF entry point outside its loaded segments");
	loader_elf_hdr(k);
	return 0;
}

/* loader_load: 0 with k filled, or -ENOEXEC (malformed) / -ENOMEM (does not fit) and k->err. */
int loader_load(const struct gmem *g, const uint8_t *img, uint64_t len, struct boot_kernel *k)
{
	memset(k, 0, sizeof(*k));
	if (loader_is_bzimage(img, len))
		return loader_bzimage(g, img, len, k);
	if (len >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0)
		return loader_elf(g, img, len, k);
	return loader_fail(k, -ENOEXEC, "neither a bzImage (no HdrS magic) nor an ELF file");
}

/* loader_place_initrd: the highest 4 KiB aligned address where size bytes fit below both
 * initrd_addr_max and the end of guest memory below 4 GiB, above the kernel. */
int loader_place_initrd(const struct gmem *g, const struct boot_kernel *k, uint64_t size, uint64_t *addr)
{
	uint64_t top = (uint64_t)k->hdr.initrd_addr_max + 1;

	if (top > gmem_low_end(g))
		top = gmem_low_end(g);
	if (size > top)
		return -ENOMEM;
	*addr = (top - size) & ~0xfffull;
	if (*addr < k->end)
		return -ENOMEM;
	return 0;
}
