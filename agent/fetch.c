/* hvnode-supervisor: VM images into the image cache, and VM disks from them
 * (agent/PROTOCOL.md "VMs", IMAGE and DISK).
 * - fetch_image downloads over http or https with libcurl, at most the declared size_bytes,
 *   hashing as it writes; only a file of exactly that size and sha256 is renamed to
 *   CACHE/SHA256. Anything else is deleted and reported: a partial or mismatching download is
 *   never used. An https URL under a configured manager's URL is verified with that manager's
 *   pin or CA; any other origin is not (the sha256 is what makes an image trusted). No proxy
 *   but hvnode.proxy (never the environment's),
 *   no redirects.
 * - disk_from_image copies a cached image into a VM disk, decompressing gzip (RFC 1952) or xz
 *   with busybox's gunzip/unxz (argv only, no shell) under RLIMIT_FSIZE, padded with zeros
 *   to whole 512-byte sectors. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

#include "http.h"
#include "supervisor.h"

#ifndef HVNODE_VERSION
#define HVNODE_VERSION "unknown"
#endif

enum { CONNECT_TIMEOUT_MS = 10000, LOW_SPEED_BYTES = 1024, LOW_SPEED_S = 30 };

struct fetch_sink {
	int fd;
	uint64_t got, max;
	int overflow, io_error;
	mbedtls_sha256_context sha;
};

static size_t fetch_write(char *data, size_t size, size_t nmemb, void *user)
{
	struct fetch_sink *sink = user;
	size_t n = size * nmemb, done = 0;

	if (n > sink->max - sink->got) {
		sink->overflow = 1;
		return 0;
	}
	while (done < n) {
		ssize_t w = write(sink->fd, data + done, n - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			sink->io_error = w < 0 ? errno : EIO;
			return 0;
		}
		done += (size_t)w;
	}
	mbedtls_sha256_update_ret(&sink->sha, (const unsigned char *)data, n);
	sink->got += n;
	return n;
}

/* 1 when URL lies under one of CFG's manager URLs ("https://host:port" + "/"). */
static int fetch_from_manager(const struct agent_config *cfg, const char *url)
{
	for (int i = 0; i < cfg->n_managers; i++) {
		size_t n = strlen(cfg->managers[i]);

		while (n && cfg->managers[i][n - 1] == '/')
			n--;
		if (n && strncmp(url, cfg->managers[i], n) == 0 && url[n] == '/')
			return 1;
	}
	return 0;
}

/* TLS for URL and the proxy (http_set_tls); NULL, or the option libcurl refused. */
static const char *fetch_set_tls(CURL *c, const struct agent_config *cfg, const char *url)
{
	static struct agent_config ca_only;

	if (strncmp(url, "https://", 8) != 0)
		return http_set_proxy(c, cfg);
	if (fetch_from_manager(cfg, url))
		return http_set_tls(c, cfg);
	/* Another origin: not the manager's pin or CA; the sha256 decides (PROTOCOL.md "VMs"). */
	ca_only = *cfg;
	ca_only.pin[0] = '\0';
	ca_only.ca[0] = '\0';
	return http_set_tls(c, &ca_only);
}

int fetch_image(const struct agent_config *cfg, const char *cache_dir, const struct vm_image *img,
		const char *what, char *err, size_t errlen)
{
	char path[CONFIG_PATH_MAX + 80], tmp[CONFIG_PATH_MAX + 96], detail[CURL_ERROR_SIZE] = "";
	char why[512], got_hex[65];
	struct fetch_sink sink = { .max = img->size_bytes };
	unsigned char digest[32];
	long status = 0;
	struct stat st;
	const char *failed = NULL, *tls_failed;
	CURLcode rc;
	CURL *c;
	int ok = 0;

	if (!strncmp(img->url, "https://", 8) && fetch_from_manager(cfg, img->url) && !cfg->pin[0] &&
	    !cfg->ca[0]) {
		snprintf(err, errlen, "%s image: no hvnode.manager_pin or manager_ca to verify the "
			 "manager with: refusing to download", what);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", cache_dir, img->sha256);
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == img->size_bytes)
		return 0; /* verified when it was stored */
	snprintf(tmp, sizeof(tmp), "%s/.part-%s-%ld", cache_dir, img->sha256, (long)getpid());
	sink.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (sink.fd < 0) {
		snprintf(err, errlen, "%s image: unable to create %s: %s", what, tmp, strerror(errno));
		return -1;
	}
	c = curl_easy_init();
	if (!c) {
		close(sink.fd);
		unlink(tmp);
		snprintf(err, errlen, "%s image: unable to start libcurl", what);
		return -1;
	}
	mbedtls_sha256_init(&sink.sha);
	mbedtls_sha256_starts_ret(&sink.sha, 0);
	HTTP_SETOPT(c, failed, CURLOPT_URL, img->url);
	HTTP_SETOPT(c, failed, CURLOPT_PROTOCOLS_STR, "http,https");
	HTTP_SETOPT(c, failed, CURLOPT_FOLLOWLOCATION, 0L);
	HTTP_SETOPT(c, failed, CURLOPT_NOSIGNAL, 1L);
	HTTP_SETOPT(c, failed, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	HTTP_SETOPT(c, failed, CURLOPT_LOW_SPEED_LIMIT, (long)LOW_SPEED_BYTES);
	HTTP_SETOPT(c, failed, CURLOPT_LOW_SPEED_TIME, (long)LOW_SPEED_S);
	HTTP_SETOPT(c, failed, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)img->size_bytes);
	HTTP_SETOPT(c, failed, CURLOPT_USERAGENT, "hvnode-supervisor/" HVNODE_VERSION);
	HTTP_SETOPT(c, failed, CURLOPT_WRITEFUNCTION, fetch_write);
	HTTP_SETOPT(c, failed, CURLOPT_WRITEDATA, &sink);
	HTTP_SETOPT(c, failed, CURLOPT_ERRORBUFFER, detail);
	tls_failed = fetch_set_tls(c, cfg, img->url);
	if (!failed)
		failed = tls_failed;
	if (failed) {
		curl_easy_cleanup(c);
		mbedtls_sha256_free(&sink.sha);
		close(sink.fd);
		unlink(tmp);
		snprintf(err, errlen, "%s image: libcurl refused %s: not downloading", what, failed);
		return -1;
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	mbedtls_sha256_finish_ret(&sink.sha, digest);
	mbedtls_sha256_free(&sink.sha);
	digest_hex(digest, got_hex);
	if (sink.overflow || rc == CURLE_FILESIZE_EXCEEDED)
		snprintf(err, errlen, "%s image: %s serves more than the declared %llu bytes", what,
			 img->url, (unsigned long long)img->size_bytes);
	else if (sink.io_error)
		snprintf(err, errlen, "%s image: unable to write the download: %s", what,
			 strerror(sink.io_error));
	else if (rc != CURLE_OK) {
		http_explain(rc, cfg, detail, 0, why, sizeof(why));
		snprintf(err, errlen, "%s image: download from %s failed: %s", what, img->url, why);
	} else if (status != 200)
		snprintf(err, errlen, "%s image: %s answered HTTP %ld", what, img->url, status);
	else if (sink.got != img->size_bytes)
		snprintf(err, errlen, "%s image: got %llu bytes, declared size_bytes %llu", what,
			 (unsigned long long)sink.got, (unsigned long long)img->size_bytes);
	else if (strcmp(got_hex, img->sha256) != 0)
		snprintf(err, errlen, "%s image: sha256 mismatch (got %s, declared %s)", what, got_hex,
			 img->sha256);
	else if (fsync(sink.fd) < 0 || rename(tmp, path) < 0)
		snprintf(err, errlen, "%s image: unable to store %s: %s", what, path, strerror(errno));
	else
		ok = 1;
	close(sink.fd);
	if (!ok)
		unlink(tmp);
	return ok ? 0 : -1;
}

/* Copies SRC to DST (both open), at most MAX bytes. */
static int disk_copy(int src, int dst, uint64_t max)
{
	static char buf[1 << 20];
	uint64_t total = 0;

	for (;;) {
		ssize_t n = read(src, buf, sizeof(buf)), done = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		if ((total += (uint64_t)n) > max)
			return -EFBIG;
		while (done < n) {
			ssize_t w = write(dst, buf + done, (size_t)(n - done));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -errno;
			done += w;
		}
	}
}

/* Runs BUSYBOX APPLET -c with SRC as stdin and DST as stdout, output capped at MAX bytes. */
static int disk_decompress(const char *busybox, const char *applet, int src, int dst,
			   uint64_t max, char *err, size_t errlen)
{
	char *argv[] = { (char *)applet, "-c", NULL };
	char *envp[] = { NULL };
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return snprintf(err, errlen, "unable to fork: %s", strerror(errno)), -1;
	if (pid == 0) {
		struct rlimit lim = { max, max };

		signal(SIGXFSZ, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with the fetcher */
		if (dup2(src, 0) < 0 || dup2(dst, 1) < 0 || setrlimit(RLIMIT_FSIZE, &lim) < 0)
			_exit(127);
		execve(busybox, argv, envp);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return snprintf(err, errlen, "waitpid: %s", strerror(errno)), -1;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ)
		return snprintf(err, errlen, "decompresses to more than %llu bytes",
				(unsigned long long)max), -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return snprintf(err, errlen, "%s failed (exit status %d): not a valid %s stream",
				applet, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
				applet[0] == 'g' ? "gzip" : "xz"), -1;
	return 0;
}

/* A virtio-blk disk is whole 512-byte sectors: an image of another size is padded with zeros. */
static int disk_pad(int fd, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return snprintf(err, errlen, "fstat: %s", strerror(errno)), -1;
	if (st.st_size == 0)
		return snprintf(err, errlen, "the image is empty"), -1;
	if (st.st_size % 512 && ftruncate(fd, (st.st_size / 512 + 1) * 512) < 0)
		return snprintf(err, errlen, "unable to pad to 512-byte sectors: %s", strerror(errno)), -1;
	return 0;
}

int disk_from_image(const char *busybox, const char *image, const char *dst, uint64_t max,
		    char *err, size_t errlen)
{
	static const unsigned char gz[] = { 0x1f, 0x8b }, xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0 };
	char tmp[CONFIG_PATH_MAX + 16], why[256] = "";
	unsigned char magic[6] = { 0 };
	int src, out, rc;
	ssize_t n;

	snprintf(tmp, sizeof(tmp), "%s.tmp", dst);
	src = open(image, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return snprintf(err, errlen, "unable to open %s: %s", image, strerror(errno)), -1;
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0) {
		snprintf(err, errlen, "unable to create %s: %s", tmp, strerror(errno));
		close(src);
		return -1;
	}
	n = pread(src, magic, sizeof(magic), 0);
	if (n >= 2 && !memcmp(magic, gz, sizeof(gz)))
		rc = disk_decompress(busybox, "gunzip", src, out, max, why, sizeof(why));
	else if (n >= 6 && !memcmp(magic, xz, sizeof(xz)))
		rc = disk_decompress(busybox, "unxz", src, out, max, why, sizeof(why));
	else if ((rc = disk_copy(src, out, max)) < 0)
		snprintf(why, sizeof(why), "%s", rc == -EFBIG ? "larger than the space allowed"
							      : strerror(-rc));
	close(src);
	if (rc == 0 && disk_pad(out, why, sizeof(why)) < 0)
		rc = -1;
	if (rc == 0 && (fsync(out) < 0 || rename(tmp, dst) < 0))
		snprintf(why, sizeof(why), "unable to store %s: %s", dst, strerror(errno)), rc = -1;
	close(out);
	if (rc) {
		unlink(tmp);
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	return 0;
}
