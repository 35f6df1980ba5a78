/* hvnode-agent unit tests: a minimal check macro. Each failed CHECK prints the file, line and
 * expression; main returns the failure count through check_done(). */
#ifndef HVNODE_AGENT_CHECK_H
#define HVNODE_AGENT_CHECK_H
#include <stdio.h>

static int check_failures, check_count;
#define CHECK(expr)                                                                  \
	do {                                                                         \
		check_count++;                                                       \
		if (!(expr)) {                                                       \
			check_failures++;                                            \
			fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #expr); \
		}                                                                    \
	} while (0)

static inline int check_done(const char *name)
{
	printf("[agent-test] %s: %d checks, %d failed\n", name, check_count, check_failures);
	return check_failures ? 1 : 0;
}
#endif
