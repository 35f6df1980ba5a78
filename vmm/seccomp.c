/* hvnode-vmm: seccomp filters, one per thread kind, written as classic BPF with the
 * linux/filter.h and linux/seccomp.h macros (Documentation/userspace-api/seccomp_filter.rst).
 * Each filter checks the architecture (AUDIT_ARCH_X86_64, no x32 numbers), allows a short
 * list of system calls, restricts ioctl to the requests that thread kind issues, and kills
 * the whole process (SECCOMP_RET_KILL_PROCESS) on anything else. Each thread installs its
 * own filter before it touches guest-controlled data; no_new_privs is set first.
 * The lists are data, reviewed here: keep them short and say why each entry is needed. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "vmm.h"

#define SC_MAX 96
#define X32_SYSCALL_BIT 0x40000000u

/* shared by every thread: locks, signals, exit, error messages */
static const int sc_common[] = {
	SYS_futex, SYS_rt_sigreturn, SYS_rt_sigprocmask, SYS_restart_syscall, SYS_exit,
	SYS_write, SYS_writev, SYS_clock_gettime, SYS_sched_yield, -1,
};
/* vCPU: KVM_RUN, serial output, re-arming console input (epoll_ctl) */
static const int sc_vcpu[] = { SYS_ioctl, SYS_epoll_ctl, -1 };
static const unsigned long io_vcpu[] = { KVM_RUN, KVM_IRQ_LINE, 0 };
/* event loop: queues (eventfds), disk I/O, tap, getrandom, console, process exit */
static const int sc_loop[] = {
	SYS_ioctl, SYS_epoll_wait, SYS_epoll_pwait, SYS_epoll_ctl, SYS_read, SYS_readv, SYS_preadv,
	SYS_pwritev, SYS_pread64, SYS_pwrite64, SYS_fdatasync, SYS_fsync, SYS_getrandom, SYS_accept4,
	SYS_close, SYS_lseek, SYS_exit_group, -1,
};
static const unsigned long io_loop[] = { KVM_IRQ_LINE, TCSETS, TCSETSW, 0 };
/* API: one client at a time, pausing vCPUs (tkill), ctrl-alt-del (KVM_IRQ_LINE) */
static const int sc_api[] = {
	SYS_ioctl, SYS_poll, SYS_ppoll, SYS_accept, SYS_accept4, SYS_read, SYS_recvfrom, SYS_sendto,
	SYS_close, SYS_tkill, SYS_tgkill, SYS_nanosleep, SYS_clock_nanosleep, -1,
};
static const unsigned long io_api[] = { KVM_IRQ_LINE, 0 };

struct sc_prog {
	struct sock_filter f[SC_MAX];
	unsigned n;
};

static void sc_emit(struct sc_prog *p, struct sock_filter s)
{
	if (p->n < SC_MAX)
		p->f[p->n] = s;
	p->n++;
}

static void sc_allow_list(struct sc_prog *p, const int *nr)
{
	for (; *nr >= 0; nr++) {
		if (*nr == SYS_ioctl)
			continue;
		sc_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)*nr, 0, 1));
		sc_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	}
}

/* sc_ioctl: if nr is ioctl, allow only the listed requests (high 32 bits must be 0). */
static void sc_ioctl(struct sc_prog *p, const unsigned long *req)
{
	unsigned n = 0;

	while (req[n])
		n++;
	sc_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, (uint8_t)(2 * n + 4)));
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						offsetof(struct seccomp_data, args[1]) + 4));
	sc_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, (uint8_t)(2 * n + 1)));
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])));
	for (unsigned i = 0; i < n; i++) {
		sc_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)req[i], 0, 1));
		sc_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	}
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
}

static void sc_build(struct sc_prog *p, const int *list, const unsigned long *ioctls)
{
	p->n = 0;
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
	sc_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
	sc_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1));
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	sc_ioctl(p, ioctls);
	sc_allow_list(p, sc_common);
	sc_allow_list(p, list);
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
}

int seccomp_install(enum seccomp_kind kind)
{
	static const int *lists[] = { sc_vcpu, sc_loop, sc_api };
	static const unsigned long *ioctls[] = { io_vcpu, io_loop, io_api };
	struct sc_prog p;
	struct sock_fprog prog;

	sc_build(&p, lists[kind], ioctls[kind]);
	if (p.n > SC_MAX)
		return vmm_err(-E2BIG, "seccomp filter too long (%u)", p.n);
	prog = (struct sock_fprog){ .len = (unsigned short)p.n, .filter = p.f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return vmm_err(-errno, "unable to set no_new_privs: %s", strerror(errno));
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return vmm_err(-errno, "unable to install the seccomp filter: %s", strerror(errno));
	return 0;
}
