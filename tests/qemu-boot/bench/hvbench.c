/* hvbench: measurement helper for tests/qemu-boot/bench/vmm.sh (not part of the image).
 *   hvbench MARKER GUEST_MIB -- COMMAND [ARGS...]
 * Runs COMMAND with its stdout on a pipe (the guest console), and prints one line:
 *   init_ms=T rss_kib=R exit=E
 * T: milliseconds from exec to the first console line containing MARKER; R: the sum of Rss in
 * /proc/PID/smaps over every mapping except the guest RAM one (the mapping of GUEST_MIB MiB),
 * sampled when the marker shows; E: the command's exit status. Console text goes to stderr.
 * With HVBENCH_KILL=1 in the environment the command is sent SIGTERM once the marker shows
 * (for a reference VMM whose guest does not make it exit).
 * Kernels without /proc/PID/smaps (CONFIG_PROC_PAGE_MONITOR off, as in the hvnode node):
 * R is RssAnon + RssFile from /proc/PID/status; hvnode-vmm maps guest RAM shared, so the
 * guest's pages are in RssShmem and not counted. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long rss_beyond(pid_t pid, long guest_kib)
{
	char path[64], line[256];
	long size = 0, rss, total = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Size: %ld kB", &rss) == 1)
			size = rss;
		else if (sscanf(line, "Rss: %ld kB", &rss) == 1 && size != guest_kib)
			total += rss;
	}
	fclose(f);
	return total;
}

static long status_field(pid_t pid, const char *key)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0)
			v = atol(line + strlen(key));
	fclose(f);
	return v;
}

static long rss_sample(pid_t pid, long guest_kib)
{
	long rss = rss_beyond(pid, guest_kib), anon, file;

	if (rss >= 0)
		return rss;
	anon = status_field(pid, "RssAnon:");
	file = status_field(pid, "RssFile:");
	return anon < 0 || file < 0 ? -1 : anon + file;
}

int main(int argc, char **argv)
{
	int p[2], status;
	char buf[4096], line[8192];
	size_t len = 0;
	double t0, t_marker = -1;
	long rss = -1;
	ssize_t n;
	pid_t pid;

	if (argc < 5 || strcmp(argv[3], "--") != 0) {
		fprintf(stderr, "usage: hvbench MARKER GUEST_MIB -- COMMAND [ARGS...]\n");
		return 100;
	}
	if (pipe(p) < 0)
		return 111;
	t0 = now_ms();
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execvp(argv[4], argv + 4);
		_exit(127);
	}
	close(p[1]);
	while ((n = read(p[0], buf, sizeof(buf))) > 0) {
		fwrite(buf, 1, (size_t)n, stderr);
		for (ssize_t i = 0; i < n; i++) {
			line[len < sizeof(line) - 1 ? len++ : len] = buf[i];
			if (buf[i] != '\n')
				continue;
			line[len] = 0;
			if (t_marker < 0 && strstr(line, argv[1])) {
				t_marker = now_ms() - t0;
				rss = rss_sample(pid, atol(argv[2]) * 1024);
				if (getenv("HVBENCH_KILL"))
					kill(pid, SIGTERM);
			}
			len = 0;
		}
	}
	waitpid(pid, &status, 0);
	printf("init_ms=%.0f rss_kib=%ld exit=%d\n", t_marker, rss, WIFEXITED(status) ? WEXITSTATUS(status) : 128);
	return 0;
}
