/* hvnode-vmm: control API on a Unix stream socket (--api-socket PATH). One request per line,
 * one JSON object per answer line; protocol in README.md: status, pause, resume, shutdown
 * (the ACPI power button when the guest listens to it, and ctrl-alt-del through the i8042 10 s
 * later only if the guest has not taken the press; ctrl-alt-del at once otherwise; a forced stop
 * 30 s after the first request), shutdown force, counters.
 * Runs on its own thread under the API seccomp filter, one client at a time.
 * Trusts the socket's file permissions for who may connect (root-owned, mode 0600); a request
 * is bounded to 256 bytes and anything unknown is answered with an error. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm.h"

#define API_LINE 256
#define API_SHUTDOWN_S 30
#define API_CAD_AFTER_S 10

struct api {
	struct vmm *vmm;
	int listen_fd, client;
	pthread_t thread;
	char buf[API_LINE];
	size_t len;
	int64_t cad_ms;		/* ctrl-alt-del after the power button, 0: none */
	int64_t deadline_ms;	/* forced stop after a graceful shutdown request, 0: none */
};

static struct api api;

static int64_t api_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void api_counters(struct vmm *v, char *out, size_t size)
{
	size_t n = (size_t)snprintf(out, size, "{\"counters\":[");

	for (unsigned i = 0; i < v->nctr && n < size; i++) {
		struct counters *c = v->ctr[i];

		n += (size_t)snprintf(out + n, size - n,
				      "%s{\"device\":\"%s\",\"kind\":\"%s\",\"requests\":%llu,\"bytes\":%llu,"
				      "\"errors\":%llu}", i ? "," : "", c->name, c->kind,
				      (unsigned long long)atomic_load(&c->requests),
				      (unsigned long long)atomic_load(&c->bytes),
				      (unsigned long long)atomic_load(&c->errors));
	}
	if (n < size)
		snprintf(out + n, size - n, "]}");
}

static void api_status(struct vmm *v, char *out, size_t size)
{
	snprintf(out, size, "{\"name\":\"%s\",\"state\":\"%s\",\"vcpus\":%u,\"mem_mib\":%llu}", v->cfg->name,
		 vm_paused(v) ? "paused" : "running", v->ncpus, (unsigned long long)(v->cfg->mem >> 20));
}

static void api_command(struct api *a, const char *cmd, char *out, size_t size)
{
	struct vmm *v = a->vmm;

	if (strcmp(cmd, "status") == 0) {
		api_status(v, out, size);
	} else if (strcmp(cmd, "counters") == 0) {
		api_counters(v, out, size);
	} else if (strcmp(cmd, "pause") == 0 || strcmp(cmd, "resume") == 0) {
		vm_pause(v, cmd[0] == 'p');
		snprintf(out, size, "{\"ok\":true,\"state\":\"%s\"}", cmd[0] == 'p' ? "paused" : "running");
	} else if (strcmp(cmd, "shutdown") == 0) {
		vm_pause(v, false);	/* a paused guest could not shut down */
		if (!a->deadline_ms)	/* a repeated request does not put the forced stop off */
			a->deadline_ms = api_now_ms() + API_SHUTDOWN_S * 1000;
		if (pm_power_button(v)) {
			if (!a->cad_ms)
				a->cad_ms = api_now_ms() + API_CAD_AFTER_S * 1000;
			snprintf(out, size, "{\"ok\":true,\"action\":\"power-button\",\"ctrl_alt_del_after_s\":%d,"
				 "\"force_after_s\":%d}", API_CAD_AFTER_S, API_SHUTDOWN_S);
		} else {
			i8042_ctrl_alt_del(v->i8042);
			snprintf(out, size, "{\"ok\":true,\"action\":\"ctrl-alt-del\",\"force_after_s\":%d}",
				 API_SHUTDOWN_S);
		}
	} else if (strcmp(cmd, "shutdown force") == 0) {
		snprintf(out, size, "{\"ok\":true,\"action\":\"force\"}");
		vm_exit(v, 0);
	} else {
		snprintf(out, size, "{\"error\":\"unknown request\"}");
	}
}

static void api_reply(struct api *a, const char *line)
{
	char out[2048];
	size_t n;

	api_command(a, line, out, sizeof(out) - 1);
	n = strlen(out);
	out[n++] = '\n';
	if (write(a->client, out, n) < 0) {
		close(a->client);
		a->client = -1;
	}
}

/* api_input: reads from the client and answers every complete line. */
static void api_input(struct api *a)
{
	ssize_t n = read(a->client, a->buf + a->len, sizeof(a->buf) - 1 - a->len);
	char *nl;

	if (n <= 0) {
		close(a->client);
		a->client = -1;
		return;
	}
	a->len += (size_t)n;
	a->buf[a->len] = 0;
	while (a->client >= 0 && (nl = strchr(a->buf, '\n'))) {
		*nl = 0;
		if (nl > a->buf && nl[-1] == '\r')
			nl[-1] = 0;
		api_reply(a, a->buf);
		a->len -= (size_t)(nl + 1 - a->buf);
		memmove(a->buf, nl + 1, a->len + 1);
	}
	if (a->len == sizeof(a->buf) - 1)
		a->len = 0;	/* an over-long line: dropped */
}

static int api_timeout(const struct api *a)
{
	int64_t left, next = a->cad_ms && (!a->deadline_ms || a->cad_ms < a->deadline_ms) ?
			     a->cad_ms : a->deadline_ms;

	if (!next)
		return -1;
	left = next - api_now_ms();
	return left > 0 ? (int)left : 0;
}

static void *api_thread(void *arg)
{
	struct api *a = arg;

	if (seccomp_install(SECCOMP_API) < 0) {
		vm_exit(a->vmm, EXIT_SYSTEM);
		return NULL;
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = a->listen_fd, .events = POLLIN }, { .fd = a->client, .events = POLLIN } };
		int n = poll(p, a->client >= 0 ? 2 : 1, api_timeout(a));
		int64_t now = api_now_ms();

		if (a->cad_ms && now >= a->cad_ms) {
			/* A guest that took the press is shutting down: no ctrl-alt-del into that. */
			if (pm_power_button_pending(a->vmm))
				i8042_ctrl_alt_del(a->vmm->i8042);
			a->cad_ms = 0;
		}
		if (a->deadline_ms && now >= a->deadline_ms) {
			vm_exit(a->vmm, 0);	/* the guest ignored the shutdown request */
			a->deadline_ms = 0;
		}
		if (n > 0 && a->client >= 0 && p[1].revents)
			api_input(a);
		if (n > 0 && (p[0].revents & POLLIN)) {
			int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0 && a->client >= 0)
				close(fd);	/* busy: one client at a time */
			else if (fd >= 0)
				a->client = fd, a->len = 0;
		}
	}
	return NULL;
}

/* api_create: binds and listens while still privileged; the thread starts in api_start(). */
int api_create(struct vmm *v, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	api.vmm = v;
	api.client = -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return vmm_err(-EINVAL, "--api-socket: path too long");
	strcpy(sa.sun_path, path);
	api.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (api.listen_fd < 0)
		return vmm_err(-errno, "unable to create the API socket: %s", strerror(errno));
	unlink(path);
	if (bind(api.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 ||
	    listen(api.listen_fd, 4) < 0)
		return vmm_err(-errno, "unable to listen on %s: %s", path, strerror(errno));
	return 0;
}

int api_start(struct vmm *v)
{
	int ret;

	if (api.vmm != v)
		return 0;
	ret = pthread_create(&api.thread, NULL, api_thread, &api);
	if (ret)
		return vmm_err(-ret, "unable to start the API thread: %s", strerror(ret));
	return 0;
}

/* api_call: client side for scripts (hvnode-vmm --api-call PATH REQUEST): sends one request
 * line, prints the answer line. Returns 0, or -errno with the error printed. */
int api_call(const char *path, const char *request)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[4096];
	size_t len = 0;
	ssize_t n;
	int fd, ret = 0;

	if (strlen(path) >= sizeof(sa.sun_path) || strlen(request) >= API_LINE)
		return vmm_err(-EINVAL, "--api-call: path or request too long");
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = vmm_err(-errno, "unable to connect to %s: %s", path, strerror(errno));
		goto out;
	}
	snprintf(buf, sizeof(buf), "%s\n", request);
	if (write(fd, buf, strlen(buf)) < 0) {
		ret = vmm_err(-errno, "unable to write to %s: %s", path, strerror(errno));
		goto out;
	}
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0) {
		len += (size_t)n;
		if (memchr(buf, '\n', len))
			break;
	}
	fwrite(buf, 1, len, stdout);
out:
	if (fd >= 0)
		close(fd);
	return ret;
}
