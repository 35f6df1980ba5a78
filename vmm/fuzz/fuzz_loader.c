/* hvnode-vmm fuzz target: the bzImage/ELF loader (loader.c), initrd placement and the
 * boot_params builder (bootparams.c) on arbitrary kernel images, into 32 MiB of memory. */
#include <stdlib.h>

#include "boot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *mem;
	static struct boot_kernel k;
	struct gmem g;
	uint64_t addr;

	if (!mem)
		mem = calloc(1, BOOT_MIN_MEM);
	g = (struct gmem){ .base = mem, .size = BOOT_MIN_MEM };
	if (loader_load(&g, data, size, &k) < 0)
		return 0;
	if (loader_place_initrd(&g, &k, 4096, &addr) == 0)
		bootparams_build(&g, &k, "console=ttyS0", addr, 4096, 0);
	return 0;
}
