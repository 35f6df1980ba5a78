/* hvtest-tcp: one bulk TCP transfer for the boot tests, static with musl, run in a node and in
 * its nested guests (busybox nc here cannot listen).
 *   hvtest-tcp listen PORT send|recv MIB      accept one client on PORT (any IPv4 address)
 *   hvtest-tcp connect ADDR PORT send|recv MIB connect to ADDR:PORT (retrying up to 60 s)
 * The sending side writes MIB MiB of a fixed pattern and shuts down its side; the receiving side
 * reads until end of stream and fails unless MIB MiB arrived. Prints one line:
 * "hvtest-tcp: sent|received N bytes in MS ms, M Mbit/s". Exit 0 on success, 1 on an error
 * (named on stderr), 2 on bad arguments; a listener waits for its client as long as it takes,
 * then the transfer, like the whole of a connecting run, is bounded by a 120 s alarm. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int die(const char *what)
{
	fprintf(stderr, "hvtest-tcp: %s: %s\n", what, strerror(errno));
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: hvtest-tcp listen PORT send|recv MIB | connect ADDR PORT send|recv MIB\n");
	return 2;
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int transfer(int fd, int send_side, long long want)
{
	static char buf[1 << 16];
	long long done = 0, t0 = now_ms(), ms;
	ssize_t n;

	memset(buf, 'h', sizeof(buf));
	if (send_side) {
		while (done < want) {
			size_t chunk = want - done < (long long)sizeof(buf) ? (size_t)(want - done) : sizeof(buf);

			n = write(fd, buf, chunk);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return die("write");
			done += n;
		}
		shutdown(fd, SHUT_WR);
		while ((n = read(fd, buf, sizeof(buf))) > 0) {	/* the peer's end of stream */
		}
	} else {
		while ((n = read(fd, buf, sizeof(buf))) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return die("read");
			done += n;
		}
		if (done != want) {
			fprintf(stderr, "hvtest-tcp: received %lld bytes, expected %lld\n", done, want);
			return 1;
		}
	}
	ms = now_ms() - t0;
	printf("hvtest-tcp: %s %lld bytes in %lld ms, %lld Mbit/s\n", send_side ? "sent" : "received", done, ms,
	       ms ? done * 8 / 1000 / ms : 0);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int listen_side, send_side, fd, one = 1;
	long long mib;

	if (argc == 5 && strcmp(argv[1], "listen") == 0)
		listen_side = 1;
	else if (argc == 6 && strcmp(argv[1], "connect") == 0)
		listen_side = 0;
	else
		return usage();
	if (!listen_side && inet_pton(AF_INET, argv[2], &a.sin_addr) != 1)
		return usage();
	a.sin_port = htons((unsigned short)atoi(argv[listen_side ? 2 : 3]));
	send_side = strcmp(argv[argc - 2], "send") == 0;
	if (!send_side && strcmp(argv[argc - 2], "recv") != 0)
		return usage();
	mib = atoll(argv[argc - 1]);
	if (mib <= 0 || mib > 4096 || a.sin_port == 0)
		return usage();
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return die("socket");
	if (listen_side) {
		int c;

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0)
			return die("listen");
		c = accept(fd, NULL, NULL);
		if (c < 0)
			return die("accept");
		alarm(120);
		close(fd);
		fd = c;
	} else {
		alarm(120);
		for (int i = 0; connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0; i++) {
			if (i == 60)
				return die("connect");
			close(fd);
			sleep(1);
			fd = socket(AF_INET, SOCK_STREAM, 0);
			if (fd < 0)
				return die("socket");
		}
	}
	return transfer(fd, send_side, mib << 20);
}
