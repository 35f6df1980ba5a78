/* hvnode-agent: entry point. Until registration lands (issue 4) it only reports its version
 * and the libraries it is built on (libcurl over mbedTLS, cJSON), proving the static musl
 * link of the pinned library pipeline:
 *   hvnode-agent --version   prints "hvnode-agent VERSION (libcurl/X mbedTLS/Y, cJSON Z)"
 * Anything else exits 100 (usage). */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#ifndef HVNODE_VERSION
#define HVNODE_VERSION "unknown"
#endif

enum { EXIT_USAGE = 100 };

int main(int argc, char **argv)
{
	if (argc == 1 || (argc == 2 && strcmp(argv[1], "--version") == 0)) {
		printf("hvnode-agent %s (%s, cJSON %s)\n", HVNODE_VERSION, curl_version(),
		       cJSON_Version());
		return 0;
	}
	fprintf(stderr, "hvnode-agent: usage: hvnode-agent [--version]\n");
	return EXIT_USAGE;
}
