/* hvnode-agent: one HTTPS exchange with the manager (a POST of a JSON body, or a GET), through
 * libcurl over mbedTLS (agent/PROTOCOL.md "Transport"). TLS is always verified: against the
 * SPKI pin (CURLOPT_PINNEDPUBLICKEY, checked in the handshake before any request byte is
 * sent), the CA bundle (chain and host name), or both; there is no way to turn verification
 * off. Only https, no redirects, 10 s to connect, 30 s in all, at most RES->cap bytes of body. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http.h"

#ifndef HVNODE_VERSION
#define HVNODE_VERSION "unknown"
#endif

enum { CONNECT_TIMEOUT_MS = 10000, TOTAL_TIMEOUT_MS = 30000 };

struct http_sink {
	struct http_result *res;
	int overflow;
};

static size_t http_write(char *data, size_t size, size_t nmemb, void *user)
{
	struct http_sink *sink = user;
	size_t n = size * nmemb;

	if (n > sink->res->cap - sink->res->len) {
		sink->overflow = 1;
		return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
	}
	memcpy(sink->res->body + sink->res->len, data, n);
	sink->res->len += n;
	sink->res->body[sink->res->len] = '\0';
	return n;
}

int http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

/* The node's clock as "YYYY-MM-DD HH:MM:SS UTC" in BUF. */
static const char *http_now(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, len, "%lld s since 1970", (long long)t);
	return buf;
}

/* Plain words for the failures an operator meets; curl's own text otherwise. A certificate
 * outside its validity (mbedTLS's BADCERT_FUTURE, BADCERT_EXPIRED) is named as clock skew,
 * since a node without NTP runs on its RTC. */
void http_explain(CURLcode rc, const struct agent_config *cfg, const char *detail,
		  size_t overflow, char *out, size_t outlen)
{
	const char *what = detail[0] ? detail : curl_easy_strerror(rc); /* < CURL_ERROR_SIZE */
	char now[32];

	if (overflow)
		snprintf(out, outlen, "response larger than %zu bytes", overflow);
	else if (rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH)
		snprintf(out, outlen,
			 "manager's public key does not match hvnode.manager_pin (not trusted; "
			 "nothing sent)");
	else if (rc == CURLE_PEER_FAILED_VERIFICATION && strstr(what, "BADCERT_FUTURE"))
		snprintf(out, outlen, "clock skew: the manager's certificate is not valid yet at the "
			 "node's time %s (nothing sent; set hvnode.ntp= or correct the RTC)",
			 http_now(now, sizeof(now)));
	else if (rc == CURLE_PEER_FAILED_VERIFICATION && strstr(what, "BADCERT_EXPIRED"))
		snprintf(out, outlen, "the manager's certificate has expired at the node's time %s, "
			 "or the node's clock is ahead: clock skew (nothing sent)",
			 http_now(now, sizeof(now)));
	else if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
		snprintf(out, outlen, "manager not trusted by hvnode.manager_ca %.200s (nothing sent): %.250s",
			 cfg->ca, what);
	else if (rc == CURLE_COULDNT_CONNECT)
		snprintf(out, outlen, "connection refused or unreachable: %s", what);
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		snprintf(out, outlen, "timed out: %s", what);
	else
		snprintf(out, outlen, "%s", what);
}

const char *http_set_proxy(CURL *c, const struct agent_config *cfg)
{
	const char *failed = NULL;

	/* "" turns the environment's proxy variables off; libcurl reads them otherwise. */
	HTTP_SETOPT(c, failed, CURLOPT_PROXY, cfg->proxy);
	HTTP_SETOPT(c, failed, CURLOPT_NOPROXY, ""); /* and no_proxy never makes exceptions */
	return failed;
}

const char *http_set_tls(CURL *c, const struct agent_config *cfg)
{
	const char *failed = NULL, *proxy_failed;

	if (cfg->pin[0])
		HTTP_SETOPT(c, failed, CURLOPT_PINNEDPUBLICKEY, cfg->pin);
	if (cfg->ca[0]) {
		HTTP_SETOPT(c, failed, CURLOPT_CAINFO, cfg->ca);
		HTTP_SETOPT(c, failed, CURLOPT_SSL_VERIFYPEER, 1L);
		HTTP_SETOPT(c, failed, CURLOPT_SSL_VERIFYHOST, 2L);
	} else {
		/* Pin only: the pinned key replaces the chain; a self-signed manager is fine. */
		HTTP_SETOPT(c, failed, CURLOPT_SSL_VERIFYPEER, 0L);
		HTTP_SETOPT(c, failed, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	HTTP_SETOPT(c, failed, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	proxy_failed = http_set_proxy(c, cfg);
	return failed ? failed : proxy_failed;
}

/* http_exchange: a POST of JSON, or a GET when JSON is NULL, to URL with
 * "Authorization: Bearer BEARER". RES->body must hold RES->cap + 1 bytes (set both first).
 * Returns 0 when an HTTP answer came (RES->status, body, Retry-After), -1 when none did
 * (RES->error says why). The caller has checked that cfg carries a pin or a CA. */
int http_exchange(const struct agent_config *cfg, const char *url, const char *bearer,
		  const char *json, struct http_result *res)
{
	struct http_sink sink = { .res = res };
	char auth[CREDENTIAL_MAX + 32], detail[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	const char *failed = NULL, *tls_failed;
	curl_off_t retry_after = 0;
	CURLcode rc;
	CURL *c;

	res->status = 0;
	res->len = 0;
	res->body[0] = '\0';
	res->error[0] = '\0';
	res->retry_after_s = -1;
	if (!cfg->pin[0] && !cfg->ca[0]) {
		snprintf(res->error, sizeof(res->error), "no pin and no CA: refusing to connect");
		return -1;
	}
	c = curl_easy_init();
	if (!c) {
		snprintf(res->error, sizeof(res->error), "unable to start libcurl");
		return -1;
	}
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
	if (json)
		headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Accept: application/json");
	headers = curl_slist_append(headers, auth);
	HTTP_SETOPT(c, failed, CURLOPT_URL, url);
	HTTP_SETOPT(c, failed, CURLOPT_PROTOCOLS_STR, "https");
	HTTP_SETOPT(c, failed, CURLOPT_FOLLOWLOCATION, 0L);
	HTTP_SETOPT(c, failed, CURLOPT_NOSIGNAL, 1L);
	HTTP_SETOPT(c, failed, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	HTTP_SETOPT(c, failed, CURLOPT_TIMEOUT_MS, (long)TOTAL_TIMEOUT_MS);
	HTTP_SETOPT(c, failed, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)res->cap);
	HTTP_SETOPT(c, failed, CURLOPT_USERAGENT, "hvnode-agent/" HVNODE_VERSION);
	HTTP_SETOPT(c, failed, CURLOPT_HTTPHEADER, headers);
	if (json)
		HTTP_SETOPT(c, failed, CURLOPT_POSTFIELDS, json);
	else
		HTTP_SETOPT(c, failed, CURLOPT_HTTPGET, 1L);
	HTTP_SETOPT(c, failed, CURLOPT_WRITEFUNCTION, http_write);
	HTTP_SETOPT(c, failed, CURLOPT_WRITEDATA, &sink);
	HTTP_SETOPT(c, failed, CURLOPT_ERRORBUFFER, detail);
	tls_failed = http_set_tls(c, cfg);
	if (!failed)
		failed = tls_failed;
	if (failed) {
		snprintf(res->error, sizeof(res->error),
			 "libcurl refused %s: not connecting (this libcurl build cannot do what "
			 "hvnode needs)", failed);
		curl_slist_free_all(headers);
		curl_easy_cleanup(c);
		return -1;
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
		if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
		    retry_after > 0)
			res->retry_after_s = retry_after > INTERVAL_MAX_S ? INTERVAL_MAX_S
									   : (long)retry_after;
	} else {
		if (rc == CURLE_FILESIZE_EXCEEDED)
			sink.overflow = 1;
		http_explain(rc, cfg, detail, sink.overflow ? res->cap : 0, res->error,
			     sizeof(res->error));
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	return rc == CURLE_OK ? 0 : -1;
}
