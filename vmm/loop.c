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

/* loop_add: watches FD for EVENTS (0: not yet); FN(OPAQUE, events) runs on each event. A free
 * slot (loop_del) is reused. -ENOSPC when LOOP_MAX_SRCS sources are watched. */
int loop_add(struct loop *l, int fd, uint32_t events, loop_fn *fn, void *opaque)
{
	unsigned i = 0;
	struct epoll_event ev = { .events = events };

	while (i < l->n && l->src[i].fn)
		i++;
	if (i >= LOOP_MAX_SRCS)
		return vmm_err(-ENOSPC, "event loop full");
	ev.data.u64 = i | (uint64_t)l->src[i].gen << 32;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return vmm_err(-errno, "unable to watch fd %d: %s", fd, strerror(errno));
	l->src[i] = (struct loop_src){ .fd = fd, .fn = fn, .opaque = opaque, .gen = l->src[i].gen };
	if (i == l->n)
		l->n++;
	return 0;
}

/* loop_del: stops watching FD: a hung-up or failed fd stays reported by epoll even with no
 * events asked for (EPOLLHUP, EPOLLERR), so it must leave the set. Its slot is freed (and its
 * generation bumped: an event already fetched for it is dropped, even if the slot is reused
 * in the same batch). The caller closes FD, or loop_adds it again. */
int loop_del(struct loop *l, int fd)
{
	for (unsigned i = 0; i < l->n; i++) {
		if (l->src[i].fn && l->src[i].fd == fd) {
			l->src[i] = (struct loop_src){ .fd = -1, .gen = l->src[i].gen + 1 };
			return epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
		}
	}
	return -ENOENT;
}

/* loop_mod: changes the events watched on fd (0 to stop watching for now). */
int loop_mod(struct loop *l, int fd, uint32_t events)
{
	for (unsigned i = 0; i < l->n; i++) {
		struct epoll_event ev = { .events = events, .data.u64 = i | (uint64_t)l->src[i].gen << 32 };

		if (l->src[i].fn && l->src[i].fd == fd)
			return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
	}
	return -ENOENT;
}

/* loop_dispatch: waits up to TIMEOUT_MS (-1: no limit) for events and runs their callbacks.
 * Returns the number of events, or a negative errno from epoll_wait. */
int loop_dispatch(struct loop *l, int timeout_ms)
{
	struct epoll_event ev[16];
	int n = epoll_wait(l->epfd, ev, 16, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct loop_src *s = &l->src[(uint32_t)ev[i].data.u64];

		if (s->fn && s->gen == ev[i].data.u64 >> 32)	/* not removed earlier in this batch */
			s->fn(s->opaque, ev[i].events);
	}
	return n;
}

/* loop_run: dispatches events until vm_exit(); returns the exit code. */
int loop_run(struct vmm *v)
{
	int ret;

	while (atomic_load(&v->exit_code) < 0) {
		ret = loop_dispatch(&v->loop, -1);
		if (ret < 0)
			return vmm_err(EXIT_SYSTEM, "epoll_wait: %s", strerror(-ret));
	}
	return atomic_load(&v->exit_code);
}
