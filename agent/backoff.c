/* hvnode-agent: capped exponential backoff with full jitter (AWS Architecture Blog,
 * "Exponential Backoff And Jitter"): after FAILURES consecutive failures the wait is uniform in
 * [0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2^(FAILURES-1))] seconds, and at least 1 s.
 * RANDOM is a uniformly random 32-bit value supplied by the caller. Pure. */
#include "agent.h"

enum { BACKOFF_BASE_S = 1, BACKOFF_CAP_S = 60 };

unsigned backoff_delay_s(unsigned failures, uint32_t random)
{
	unsigned ceiling = BACKOFF_CAP_S;
	unsigned delay;

	if (failures == 0)
		return 0;
	if (failures <= 6)
		ceiling = BACKOFF_BASE_S << (failures - 1);
	if (ceiling > BACKOFF_CAP_S)
		ceiling = BACKOFF_CAP_S;
	delay = random % (ceiling + 1);
	return delay ? delay : 1;
}
