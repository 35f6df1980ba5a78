/* hvnode: the libcurl helpers http.c shares with the supervisor's image downloads (fetch.c). */
#ifndef HVNODE_HTTP_H
#define HVNODE_HTTP_H

#include <curl/curl.h>

#include "agent.h"

/* Sets TLS verification on C per CFG: the pin, the CA bundle, or both (PROTOCOL.md "Transport"). */
void http_set_tls(CURL *c, const struct agent_config *cfg);
/* Plain words for a failed transfer; OVERFLOW is the byte cap that was exceeded, 0 if none. */
void http_explain(CURLcode rc, const struct agent_config *cfg, const char *detail,
		  size_t overflow, char *out, size_t outlen);

#endif
