/* hvnode-vmm unit tests: pause and resume (vm.c) with two stand-in vCPU threads that pass
 * their pause point in a tight loop (as a vCPU does between KVM_RUN exits) and the real event
 * loop on its own thread (no KVM): vm_pause returns with both vCPUs and the loop parked; while
 * paused no vCPU runs, no loop callback runs and the process burns no CPU (parked threads
 * must not wake each other); resume lets all go on; an exit during a pause ends the loop. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "vmm.h"

static struct vmm v;
static atomic_uint spins[2], events;
static int efd;

static void *vcpu_stand_in(void *arg)
{
	atomic_uint *n = arg;

	for (;;) {
		vm_pause_point(&v, -1);
		atomic_fetch_add(n, 1);
	}
	return NULL;
}

static void *loop_thread(void *arg)
{
	(void)arg;
	while (atomic_load(&v.exit_code) < 0)
		loop_dispatch(&v.loop, 100);
	return NULL;
}

static void on_event(void *opaque, uint32_t ev)
{
	uint64_t n;

	(void)opaque;
	(void)ev;
	if (read(efd, &n, sizeof(n)) == sizeof(n))
		atomic_fetch_add(&events, 1);
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void wait_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

static void kick(void)
{
	uint64_t one = 1;

	CHECK(write(efd, &one, sizeof(one)) == sizeof(one));
}

int main(void)
{
	pthread_t cpu[2], loop;
	unsigned before[2], ev;
	double cpu0;

	v.vm = -1;
	v.ncpus = 2;
	atomic_store(&v.exit_code, -1);
	pthread_mutex_init(&v.lock, NULL);
	pthread_cond_init(&v.cond, NULL);
	pthread_cond_init(&v.parked_cond, NULL);
	v.exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CHECK(loop_init(&v.loop) == 0 && vm_pause_init(&v) == 0);
	CHECK(loop_add(&v.loop, efd, EPOLLIN, on_event, NULL) == 0);
	for (int i = 0; i < 2; i++)
		pthread_create(&cpu[i], NULL, vcpu_stand_in, &spins[i]);
	pthread_create(&loop, NULL, loop_thread, NULL);
	kick();
	while (atomic_load(&events) == 0 || atomic_load(&spins[0]) == 0 || atomic_load(&spins[1]) == 0)
		wait_ms(1);

	CHECK(vm_pause(&v, true) == 0);
	CHECK(v.parked == 2 && v.loop_parked);
	before[0] = atomic_load(&spins[0]), before[1] = atomic_load(&spins[1]);
	ev = atomic_load(&events);
	kick();					/* a device event while paused */
	cpu0 = cpu_seconds();
	wait_ms(300);
	/* nothing ran, and the parked threads slept: no broadcast storm among them */
	CHECK(atomic_load(&spins[0]) == before[0] && atomic_load(&spins[1]) == before[1]);
	CHECK(atomic_load(&events) == ev);
	CHECK(cpu_seconds() - cpu0 < 0.03);
	CHECK(vm_pause(&v, true) == 0);		/* pausing a paused VM: nothing changes */

	CHECK(vm_pause(&v, false) == 0);
	while (atomic_load(&events) == ev)
		wait_ms(1);				/* the event waiting since the pause is served */
	while (atomic_load(&spins[0]) == before[0] || atomic_load(&spins[1]) == before[1])
		wait_ms(1);
	CHECK(!v.loop_parked);

	/* an exit while paused ends the loop; the vCPUs stay parked until the process ends */
	CHECK(vm_pause(&v, true) == 0);
	vm_exit(&v, 0);
	pthread_join(loop, NULL);
	CHECK(atomic_load(&v.exit_code) == 0 && v.parked == 2);
	TEST_DONE("pause");
}
