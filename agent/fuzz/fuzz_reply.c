/* libFuzzer target: a manager's reply (untrusted) through every parser that reads one:
 * registration, heartbeat and the reason extractor. Must never crash, hang or read past LEN. */
#include <stdint.h>
#include <string.h>

#include "agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct registration reg;
	char err[200], reason[200];

	if (len > RESPONSE_MAX)
		return 0; /* the agent never reads more */
	reply_parse_register((const char *)data, len, &reg, err, sizeof(err));
	memset(&reg, 0, sizeof(reg));
	reg.interval_s = HEARTBEAT_DEFAULT_S;
	reply_parse_heartbeat((const char *)data, len, &reg, err, sizeof(err));
	reply_reason((const char *)data, len, reason, sizeof(reason));
	return 0;
}
