/* hvnode-agent, hvnode-supervisor: sha256 in lower-case hex (FIPS 180-4), through mbedTLS. */
#include <stdio.h>

#include <mbedtls/sha256.h>

#include "agent.h"

/* digest_hex: the 32 bytes of DIGEST as 64 lower-case hex digits and a NUL in OUT. */
void digest_hex(const unsigned char digest[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

/* digest_sha256_hex: OUT = hex sha256 of LEN bytes at DATA. Returns 0, or -1 (OUT "") when
 * mbedTLS fails. */
int digest_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char digest[32];

	out[0] = '\0';
	if (mbedtls_sha256_ret(data, len, digest, 0))
		return -1;
	digest_hex(digest, out);
	return 0;
}
