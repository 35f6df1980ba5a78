/* hvnode: the libcurl helpers http.c shares with the supervisor's image downloads (fetch.c). */
#ifndef HVNODE_HTTP_H
#define HVNODE_HTTP_H

#include <curl/curl.h>

#include "agent.h"

/* HTTP_SETOPT(C, FAILED, OPTION, VALUE): curl_easy_setopt, checked. When libcurl refuses an
 * option, FAILED (a const char *, NULL before) names the first one refused; the caller must then
 * not perform the transfer: each option here is one that security or a limit depends on. */
#define HTTP_SETOPT(c, failed, opt, val)                                            \
	do {                                                                         \
		if (curl_easy_setopt((c), (opt), (val)) != CURLE_OK && !(failed))    \
			(failed) = #opt;                                             \
	} while (0)

/* Sets TLS verification on C per CFG: the pin, the CA bundle, or both (PROTOCOL.md "Transport"),
 * and the proxy: hvnode.proxy, or none at all (the environment's http_proxy, https_proxy and
 * all_proxy are never used). Returns NULL, or the name of the option libcurl refused. */
const char *http_set_tls(CURL *c, const struct agent_config *cfg);
/* The proxy part of http_set_tls alone, for plain http (image downloads). */
const char *http_set_proxy(CURL *c, const struct agent_config *cfg);
/* Plain words for a failed transfer; OVERFLOW is the byte cap that was exceeded, 0 if none. */
void http_explain(CURLcode rc, const struct agent_config *cfg, const char *detail,
		  size_t overflow, char *out, size_t outlen);

#endif
