/* hvnode-vmm fuzz target: the JSON config parser (config.c) and the checks after it. */
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c;
	char err[256];

	config_defaults(&c);
	if (config_parse_json(&c, (const char *)data, size, err, sizeof(err)) == 0)
		config_finish(&c, err, sizeof(err));
	return 0;
}
