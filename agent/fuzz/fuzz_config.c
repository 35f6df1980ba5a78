/* libFuzzer target: the cmdline / config file parser (agent/config.c) on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct agent_config cfg;
	char *text = malloc(len + 1), why[256];

	if (!text)
		return 0;
	memcpy(text, data, len);
	text[len] = '\0';
	config_init(&cfg);
	config_parse_text(&cfg, text, "fuzz");
	config_missing(&cfg, why, sizeof(why));
	free(text);
	return 0;
}
