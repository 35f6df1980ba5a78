/* hvnode-vmm unit tests: the seccomp filters (seccomp.c), each in a forked child that installs
 * one thread kind's filter and then makes one system call: an allowed call goes through (the
 * child ends with its own exit code), a forbidden one kills the child with SIGSYS. Covers a
 * call outside every table, epoll_ctl on a vCPU, ioctl requests outside the list or sign-extended
 * as musl passes them, and signals: the API thread may send the kick signal (SIGUSR1) only.
 * Children use raw syscall(2) after the filter is in, so no libc or sanitizer wrapper adds
 * calls of its own, and leave with SYS_exit, which every filter allows. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "vmm.h"

enum call { CALL_NONE, CALL_OPENAT, CALL_EPOLL_CTL, CALL_IOCTL_TTY, CALL_IOCTL_SIGNEXT, CALL_IOCTL_IRQ,
	    CALL_IOCTL_CLOCK, CALL_TKILL_KICK, CALL_TKILL_TERM, CALL_TGKILL_KICK, CALL_TGKILL_KILL, CALL_EXIT_GROUP };

static void on_kick(int sig)
{
	(void)sig;
}

/* child_call: CALL, with PID, TID and the epoll set EP found before the filter went in */
static void child_call(enum call call, long pid, long tid, int ep)
{
	switch (call) {
	case CALL_NONE: break;
	case CALL_OPENAT: syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY); break;
	case CALL_EPOLL_CTL: syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, 0, NULL); break;
	case CALL_IOCTL_TTY: syscall(SYS_ioctl, 0, TIOCGWINSZ, NULL); break;
	case CALL_IOCTL_SIGNEXT:	/* as musl's ioctl(int, int, ...) passes an _IOR request */
		syscall(SYS_ioctl, -1, (unsigned long)(long)(int)KVM_GET_CLOCK, NULL);
		break;
	case CALL_IOCTL_IRQ: syscall(SYS_ioctl, -1, KVM_IRQ_LINE, NULL); break;	/* EBADF, allowed */
	case CALL_IOCTL_CLOCK: syscall(SYS_ioctl, -1, KVM_GET_CLOCK, NULL); break;
	case CALL_TKILL_KICK: syscall(SYS_tkill, tid, SIGUSR1); break;
	case CALL_TKILL_TERM: syscall(SYS_tkill, tid, SIGTERM); break;
	case CALL_TGKILL_KICK: syscall(SYS_tgkill, pid, tid, SIGUSR1); break;
	case CALL_TGKILL_KILL: syscall(SYS_tgkill, pid, tid, SIGKILL); break;
	case CALL_EXIT_GROUP: syscall(SYS_exit_group, 7); break;
	}
}

/* run: the status of a child that installed KIND's filter and made CALL, then exited 3 */
static int run(enum seccomp_kind kind, enum call call)
{
	struct sigaction sa = { .sa_handler = on_kick };
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		long self = syscall(SYS_getpid), tid = syscall(SYS_gettid);
		int ep = epoll_create1(0);

		sigaction(SIGUSR1, &sa, NULL);
		if (seccomp_install(kind) < 0)
			syscall(SYS_exit, 100);
		child_call(call, self, tid, ep);
		syscall(SYS_exit, 3);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

static bool allowed(enum seccomp_kind kind, enum call call)
{
	int s = run(kind, call);

	return WIFEXITED(s) && WEXITSTATUS(s) == 3;
}

static bool killed(enum seccomp_kind kind, enum call call)
{
	int s = run(kind, call);

	return WIFSIGNALED(s) && WTERMSIG(s) == SIGSYS;
}

int main(void)
{
	for (int k = SECCOMP_VCPU; k <= SECCOMP_API; k++) {
		CHECK(allowed(k, CALL_NONE));
		CHECK(killed(k, CALL_OPENAT));		/* no table opens files */
		CHECK(killed(k, CALL_IOCTL_TTY));
		CHECK(allowed(k, CALL_IOCTL_IRQ));
	}
	/* vCPUs signal the loop through eventfds; they make no epoll call */
	CHECK(killed(SECCOMP_VCPU, CALL_EPOLL_CTL));
	CHECK(allowed(SECCOMP_LOOP, CALL_EPOLL_CTL));
	CHECK(killed(SECCOMP_VCPU, CALL_EXIT_GROUP));
	{
		int s = run(SECCOMP_LOOP, CALL_EXIT_GROUP);

		CHECK(WIFEXITED(s) && WEXITSTATUS(s) == 7);
	}
	/* the API thread saves and restores the guest clock across a pause */
	CHECK(allowed(SECCOMP_API, CALL_IOCTL_CLOCK));
	CHECK(allowed(SECCOMP_API, CALL_IOCTL_SIGNEXT));	/* the kernel reads 32 bits of it */
	CHECK(killed(SECCOMP_VCPU, CALL_IOCTL_CLOCK));
	/* the API thread kicks vCPUs with SIGUSR1 and can send no other signal */
	CHECK(allowed(SECCOMP_API, CALL_TKILL_KICK));
	CHECK(allowed(SECCOMP_API, CALL_TGKILL_KICK));
	CHECK(killed(SECCOMP_API, CALL_TKILL_TERM));
	CHECK(killed(SECCOMP_API, CALL_TGKILL_KILL));
	CHECK(killed(SECCOMP_VCPU, CALL_TKILL_KICK));
	CHECK(killed(SECCOMP_LOOP, CALL_TGKILL_KICK));
	TEST_DONE("seccomp");
}
