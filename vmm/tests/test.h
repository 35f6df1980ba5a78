/* hvnode-vmm unit tests: a minimal harness. CHECK(cond) records a failure with its line;
 * each test file's main() calls TEST_DONE("group") which prints one line and sets the exit
 * status. Built with the host compiler, ASan and UBSan (any sanitizer report aborts). */
#ifndef HVNODE_TEST_H
#define HVNODE_TEST_H
#include <stdio.h>
#include <stdlib.h>

static int test_checks, test_failures;

#define CHECK(cond)                                                                   \
	do {                                                                          \
		test_checks++;                                                        \
		if (!(cond)) {                                                        \
			test_failures++;                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                     \
	} while (0)

#define TEST_DONE(group)                                                              \
	do {                                                                          \
		printf("%-10s %s: %d checks, %d failed\n", group,                  \
		       test_failures ? "FAIL" : "ok", test_checks, test_failures);    \
		return test_failures ? 1 : 0;                                         \
	} while (0)

#endif
