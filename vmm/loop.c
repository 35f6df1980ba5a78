/* hvnode-vmm: the event loop, run by the main thread after setup: one epoll set for the
 * queues' ioeventfds, the tap, console input and the exit eventfd. Callbacks do their work
 * without blocking on the guest; the vCPU threads never wait for this loop.
 * Trusts its callbacks; knows nothing about the guest. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "vmm.h"

int loop_init(struct loop *l)
{
	l->n = 0;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return vmm_err(-errno, "unable to create an epoll set: %s", strerror(errno));
	return 0;
}

int loop_add(struct loop *l, int fd, uint32_t events, loop_fn *fn, void *opaque)
{
	struct epoll_event ev = { .events = events, .data.u32 = l->n };

	if (l->n >= LOOP_MAX_SRCS)
		return vmm_err(-ENOSPC, "event loop full");
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return vmm_err(-errno, "unable to watch fd %d: %s", fd, strerror(errno));
	l->src[l->n++] = (struct loop_src){ .fd = fd, .fn = fn, .opaque = opaque };
	return 0;
}

/* loop_mod: changes the events watched on fd (0 to stop watching for now). */
int loop_mod(struct loop *l, int fd, uint32_t events)
{
	for (unsigned i = 0; i < l->n; i++) {
		struct epoll_event ev = { .events = events, .data.u32 = i };

		if (l->src[i].fd == fd)
			return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
	}
	return -ENOENT;
}

/* loop_run: dispatches events until vm_exit(); returns the exit code. */
int loop_run(struct vmm *v)
{
	struct epoll_event ev[16];
	int n;

	while (atomic_load(&v->exit_code) < 0) {
		n = epoll_wait(v->loop.epfd, ev, 16, -1);
		if (n < 0 && errno != EINTR)
			return vmm_err(EXIT_SYSTEM, "epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n && atomic_load(&v->exit_code) < 0; i++) {
			struct loop_src *s = &v->loop.src[ev[i].data.u32];

			s->fn(s->opaque, ev[i].events);
		}
	}
	return atomic_load(&v->exit_code);
}
