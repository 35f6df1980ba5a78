/* hvnode-agent: placeholder entry point until the agent lands (issue 4).
 * Prints its version and exits 0; any argument other than --version exits 100 (usage). */
#include <stdio.h>
#include <string.h>

#ifndef HVNODE_VERSION
#define HVNODE_VERSION "unknown"
#endif

int main(int argc, char **argv)
{
	if (argc == 1 || (argc == 2 && strcmp(argv[1], "--version") == 0)) {
		printf("hvnode-agent %s\n", HVNODE_VERSION);
		return 0;
	}
	fprintf(stderr, "hvnode-agent: usage: hvnode-agent [--version]\n");
	return 100;
}
