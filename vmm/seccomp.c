/* hvnode-vmm: seccomp filters, one per thread kind, written as classic BPF with the
 * linux/filter.h and linux/seccomp.h macros (Documentation/userspace-api/seccomp_filter.rst).
 * Each filter checks the architecture (AUDIT_ARCH_X86_64, no x32 numbers), allows a short
 * list of system calls, restricts ioctl to the requests that thread kind issues, and kills
 * the whole process (SECCOMP_RET_KILL_PROCESS) on anything else. Each thread installs its
 * own filter before it touches guest-controlled data; no_new_privs is set first.
 * The tables are data, reviewed here: keep them short and say why each entry is needed. The
 * API thread may send only the kick signal (tkill/tgkill with SIGUSR1). */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "vmm.h"

#define SC_MAX 128
#define X32_SYSCALL_BIT 0x40000000u

/* One allowed system call and why that thread kind needs it. */
struct sc_rule {
	int nr;
	const char *why;
};
#define SC_END { -1, NULL }

/* shared by every thread: locks, signals, exit, error messages */
static const struct sc_rule sc_common[] = {
	{ SYS_futex, "mutexes and condition variables (pause, device locks, a reset waiting)" },
	{ SYS_rt_sigreturn, "return from the kick signal's handler" },
	{ SYS_rt_sigprocmask, "libc masks signals around thread exit" },
	{ SYS_restart_syscall, "a futex wait interrupted by the kick signal" },
	{ SYS_exit, "thread exit" },
	{ SYS_write, "console output, eventfd signals, error lines on stderr" },
	{ SYS_writev, "stdio error lines" },
	{ SYS_clock_gettime, "PM timer, RTC, API deadlines (usually the vDSO)" },
	{ SYS_sched_yield, "libc spin-then-wait locks" },
	SC_END,
};
/* vCPU: KVM_RUN and the devices' register handlers (no epoll: they signal the loop) */
static const struct sc_rule sc_vcpu[] = {
	{ SYS_ioctl, "KVM_RUN and interrupt lines; requests below" },
	SC_END,
};
static const unsigned long io_vcpu[] = { KVM_RUN, KVM_IRQ_LINE, KVM_KVMCLOCK_CTRL, 0 };
/* event loop: queues (eventfds), disk I/O, tap, getrandom, console, process exit */
static const struct sc_rule sc_loop[] = {
	{ SYS_ioctl, "interrupt lines, restoring the console tty, tap offloads; requests below" },
	{ SYS_epoll_wait, "the event loop" },
	{ SYS_epoll_pwait, "the event loop (libc's epoll_wait)" },
	{ SYS_epoll_ctl, "watching the tap and console input as guest buffers come and go" },
	{ SYS_read, "eventfds, console input" },
	{ SYS_readv, "tap frames, into guest buffers or the NIC's merge buffer" },
	{ SYS_preadv, "virtio-blk reads" },
	{ SYS_pwritev, "virtio-blk writes" },
	{ SYS_pread64, "virtio-blk single-buffer reads" },
	{ SYS_pwrite64, "virtio-blk single-buffer writes" },
	{ SYS_fdatasync, "virtio-blk FLUSH" },
	{ SYS_fsync, "virtio-blk FLUSH on file systems without fdatasync" },
	{ SYS_fallocate, "virtio-blk DISCARD and WRITE_ZEROES (holes, zeroed ranges)" },
	{ SYS_getrandom, "virtio-rng" },
	{ SYS_accept4, "a console socket client" },
	{ SYS_close, "a console client that hung up" },
	{ SYS_lseek, "stdio at exit" },
	{ SYS_exit_group, "the VMM's exit with the guest's code" },
	SC_END,
};
static const unsigned long io_loop[] = { KVM_IRQ_LINE, TCSETS, TCSETSW, TUNSETOFFLOAD, 0 };
/* API: one client at a time, pausing vCPUs (the kick signal), the power button */
static const struct sc_rule sc_api[] = {
	{ SYS_ioctl, "the power button's interrupt line, the guest clock across a pause; requests below" },
	{ SYS_poll, "waiting for a client or its line, with the shutdown deadline" },
	{ SYS_ppoll, "the same, as libc may call it" },
	{ SYS_accept, "a client" },
	{ SYS_accept4, "a client (libc's accept)" },
	{ SYS_read, "a request line" },
	{ SYS_recvfrom, "a request line (libc's recv)" },
	{ SYS_sendto, "an answer line" },
	{ SYS_close, "a client that is done" },
	{ SYS_nanosleep, "libc's short waits" },
	{ SYS_clock_nanosleep, "libc's short waits" },
	SC_END,
};
static const unsigned long io_api[] = { KVM_IRQ_LINE, KVM_GET_CLOCK, KVM_SET_CLOCK, 0 };
/* The API kicks vCPUs out of KVM_RUN with SIGUSR1 (vcpu_kick); no other signal may be sent,
 * so a compromised API thread cannot kill or stop the VMM's other threads by signal. */
#define SC_KICK_SIGNAL SIGUSR1

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

static void sc_allow_list(struct sc_prog *p, const struct sc_rule *r)
{
	for (; r->nr >= 0; r++) {
		if (r->nr == SYS_ioctl)
			continue;
		sc_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)r->nr, 0, 1));
		sc_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	}
}

/* sc_signal_arg: if nr is NR, allow it only when argument ARG (the signal) is the kick signal;
 * the accumulator holds nr before and after. */
static void sc_signal_arg(struct sc_prog *p, int nr, unsigned arg)
{
	sc_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 6));
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[arg]) + 4));
	sc_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2));
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[arg])));
	sc_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SC_KICK_SIGNAL, 1, 0));
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
}

/* sc_ioctl: if nr is ioctl, allow only the listed requests. The kernel takes the request as an
 * unsigned int (fs/ioctl.c), so only its low 32 bits count; musl passes it as an int, which
 * sign-extends requests with the top bit set (the _IOR ones, such as KVM_GET_CLOCK). */
static void sc_ioctl(struct sc_prog *p, const unsigned long *req)
{
	unsigned n = 0;

	while (req[n])
		n++;
	sc_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, (uint8_t)(2 * n + 2)));
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])));
	for (unsigned i = 0; i < n; i++) {
		sc_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)req[i], 0, 1));
		sc_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	}
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
}

static void sc_build(struct sc_prog *p, enum seccomp_kind kind, const struct sc_rule *list,
		     const unsigned long *ioctls)
{
	p->n = 0;
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
	sc_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
	sc_emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1));
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	if (kind == SECCOMP_API) {
		sc_signal_arg(p, SYS_tkill, 1);		/* tkill(tid, sig) */
		sc_signal_arg(p, SYS_tgkill, 2);	/* tgkill(tgid, tid, sig) */
	}
	sc_ioctl(p, ioctls);
	sc_allow_list(p, sc_common);
	sc_allow_list(p, list);
	sc_emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
}

/* seccomp_install: the filter of KIND for the calling thread (and no_new_privs); 0 or -errno.
 * Anything outside the thread kind's table kills the whole process (SIGSYS). */
int seccomp_install(enum seccomp_kind kind)
{
	static const struct sc_rule *lists[] = { sc_vcpu, sc_loop, sc_api };
	static const unsigned long *ioctls[] = { io_vcpu, io_loop, io_api };
	struct sc_prog p;
	struct sock_fprog prog;

	sc_build(&p, kind, lists[kind], ioctls[kind]);
	if (p.n > SC_MAX)
		return vmm_err(-E2BIG, "seccomp filter too long (%u)", p.n);
	prog = (struct sock_fprog){ .len = (unsigned short)p.n, .filter = p.f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return vmm_err(-errno, "unable to set no_new_privs: %s", strerror(errno));
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return vmm_err(-errno, "unable to install the seccomp filter: %s", strerror(errno));
	return 0;
}
