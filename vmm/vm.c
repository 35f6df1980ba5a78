/* hvnode-vmm: the VM: /dev/kvm, KVM_CREATE_VM, guest RAM (one anonymous mapping at guest
 * physical 0, up to 3 GiB below the MMIO hole and the rest from 4 GiB; shared anonymous, so /proc/PID/status counts it
 * as RssShmem apart from the VMM's own RssAnon), in-kernel irqchip (KVM_CREATE_IRQCHIP: PIC +
 * IOAPIC + LAPICs), PIT (KVM_CREATE_PIT2), TSS and identity-map pages, the supported CPUID,
 * the port I/O and MMIO buses, pause (vCPUs and the event loop parked, the guest clock
 * stopped) and exit. KVM API: Documentation/virt/kvm/api.rst.
 * Trusts the kernel's answers; the guest reaches this file only through vm_bus_access(),
 * whose address and length it controls: both are checked against each device's range. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot.h"
#include "vmm.h"

#define VM_TSS_ADDR 0xfffbd000ul
#define VM_IDMAP_ADDR 0xfffbc000ull
#define VM_CPUID_MAX 256

/* vmm_err: prints "hvnode-vmm: MESSAGE" and returns err (a negative errno). */
int vmm_err(int err, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "hvnode-vmm: %s\n", buf);
	return err;
}

static int vm_open(struct vmm *v)
{
	int ver, max;

	v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (v->kvm < 0)
		return vmm_err(-errno, "unable to open /dev/kvm: %s", strerror(errno));
	ver = ioctl(v->kvm, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION)
		return vmm_err(-ENOTSUP, "/dev/kvm: API version %d, want %d", ver, KVM_API_VERSION);
	if (ioctl(v->kvm, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) <= 0 ||
	    ioctl(v->kvm, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) <= 0 ||
	    ioctl(v->kvm, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0)
		return vmm_err(-ENOTSUP, "/dev/kvm: irqfd, ioeventfd or immediate_exit missing");
	v->run_size = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (v->run_size <= 0)
		return vmm_err(-errno, "/dev/kvm: unable to KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	max = ioctl(v->kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = ioctl(v->kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max > 0 && v->ncpus > (unsigned)max)
		return vmm_err(-EINVAL, "--cpus %u: this host's KVM runs at most %d vCPUs in a VM", v->ncpus, max);
	v->vm = ioctl(v->kvm, KVM_CREATE_VM, 0);
	if (v->vm < 0)
		return vmm_err(-errno, "/dev/kvm: unable to KVM_CREATE_VM: %s", strerror(errno));
	return 0;
}

static int vm_memslot(struct vmm *v, uint32_t slot, uint64_t gpa, uint64_t size)
{
	struct kvm_userspace_memory_region r = { .slot = slot, .guest_phys_addr = gpa, .memory_size = size,
						 .userspace_addr = (uintptr_t)(v->mem.base + gpa) };

	if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return vmm_err(-errno, "/dev/kvm: unable to KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
	return 0;
}

/* vm_memory: guest RAM, one mapping whose offsets are guest physical addresses: up to 3 GiB
 * from 0 (KVM slot 0), the rest from 4 GiB (slot 1). The hole between is mapped too, so the
 * offsets line up, but with no access and no KVM slot: it costs address space only.
 * The mapping starts on a 2 MiB boundary and asks for transparent huge pages
 * (MADV_HUGEPAGE; the node sets shmem_enabled to "advise"), so a 2 MiB-aligned range of guest
 * physical memory can be one huge page in the host and one large page in the EPT/NPT. Without
 * THP the advice fails and memory stays in 4 KiB pages. */
#define VM_HUGE_PAGE (2ULL << 20)
static int vm_memory(struct vmm *v)
{
	uint64_t ram = v->cfg->mem, low = ram < BOOT_LOW_MEM_END ? ram : BOOT_LOW_MEM_END;
	uint64_t span = ram > low ? BOOT_HIGH_MEM + (ram - low) : low;
	uintptr_t start, aligned;
	void *p;
	int ret;

	p = mmap(NULL, span + VM_HUGE_PAGE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return vmm_err(-errno, "unable to map %llu MiB of guest memory: %s",
			       (unsigned long long)(ram >> 20), strerror(errno));
	/* Keep the 2 MiB-aligned SPAN inside the mapping; give back the slack on either side. */
	start = (uintptr_t)p;
	aligned = (start + VM_HUGE_PAGE - 1) & ~(uintptr_t)(VM_HUGE_PAGE - 1);
	if (aligned > start)
		munmap(p, aligned - start);
	if (start + VM_HUGE_PAGE > aligned)
		munmap((void *)(aligned + span), start + VM_HUGE_PAGE - aligned);
	p = (void *)aligned;
	madvise(p, span, MADV_DONTDUMP);
	madvise(p, span, MADV_HUGEPAGE);
	v->mem = (struct gmem){ .base = p, .size = span };
	if (ram > low) {
		v->mem.hole = low;
		v->mem.hole_end = BOOT_HIGH_MEM;
		if (mprotect(v->mem.base + low, BOOT_HIGH_MEM - low, PROT_NONE) < 0)
			return vmm_err(-errno, "unable to protect the guest's MMIO hole: %s", strerror(errno));
	}
	ret = vm_memslot(v, 0, 0, low);
	if (ret == 0 && ram > low)
		ret = vm_memslot(v, 1, BOOT_HIGH_MEM, ram - low);
	return ret;
}

static int vm_platform(struct vmm *v)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t idmap = VM_IDMAP_ADDR;

	if (ioctl(v->vm, KVM_SET_TSS_ADDR, VM_TSS_ADDR) < 0)
		return vmm_err(-errno, "/dev/kvm: unable to KVM_SET_TSS_ADDR: %s", strerror(errno));
	if (ioctl(v->vm, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		return vmm_err(-errno, "/dev/kvm: unable to KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
	if (ioctl(v->vm, KVM_CREATE_IRQCHIP, 0) < 0)
		return vmm_err(-errno, "/dev/kvm: unable to KVM_CREATE_IRQCHIP: %s", strerror(errno));
	if (ioctl(v->vm, KVM_CREATE_PIT2, &pit) < 0)
		return vmm_err(-errno, "/dev/kvm: unable to KVM_CREATE_PIT2: %s", strerror(errno));
	return 0;
}

static int vm_cpuid(struct vmm *v)
{
	v->cpuid = calloc(1, sizeof(*v->cpuid) + VM_CPUID_MAX * sizeof(struct kvm_cpuid_entry2));
	if (!v->cpuid)
		return vmm_err(-ENOMEM, "unable to allocate the CPUID table: %s", strerror(ENOMEM));
	v->cpuid->nent = VM_CPUID_MAX;
	if (ioctl(v->kvm, KVM_GET_SUPPORTED_CPUID, v->cpuid) < 0)
		return vmm_err(-errno, "/dev/kvm: unable to KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
	return 0;
}

static void vm_sig_kick(int sig)
{
	(void)sig;
}

static int vm_signals(struct vmm *v)
{
	struct sigaction sa = { .sa_handler = vm_sig_kick };

	signal(SIGPIPE, SIG_IGN);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return vmm_err(-errno, "unable to set the SIGUSR1 handler: %s", strerror(errno));
	v->exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->exit_fd < 0)
		return vmm_err(-errno, "unable to create an eventfd: %s", strerror(errno));
	return 0;
}

/* vm_create: everything about the VM that exists before vCPUs and devices. */
int vm_create(struct vmm *v)
{
	int ret;

	atomic_store(&v->exit_code, -1);
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->cond, NULL);
	pthread_cond_init(&v->parked_cond, NULL);
	ret = vm_signals(v);
	if (ret == 0)
		ret = vm_open(v);
	if (ret == 0)
		ret = vm_memory(v);
	if (ret == 0)
		ret = vm_platform(v);
	if (ret == 0)
		ret = vm_cpuid(v);
	return ret;
}

int vm_irq_line(struct vmm *v, unsigned irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };

	return ioctl(v->vm, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

int vm_bus_add(struct bus *b, const struct bus_dev *d)
{
	if (b->n >= VMM_MAX_DEVS)
		return -ENOSPC;
	b->dev[b->n++] = *d;
	return 0;
}

/* vm_bus_access: an access by the guest; unclaimed reads return all ones. */
void vm_bus_access(struct bus *b, uint64_t addr, uint8_t *data, unsigned len, bool write)
{
	for (unsigned i = 0; i < b->n; i++) {
		struct bus_dev *d = &b->dev[i];

		if (addr < d->base || addr - d->base >= d->len || len > d->len - (addr - d->base))
			continue;
		if (write)
			d->write(d->opaque, addr - d->base, data, len);
		else
			d->read(d->opaque, addr - d->base, data, len);
		return;
	}
	if (!write)
		memset(data, 0xff, len);
}

/* vm_exit: asks the event loop (main thread) to end the process with code; first one wins.
 * Wakes a loop or vCPUs parked by a pause, and a vm_pause waiting for them. */
void vm_exit(struct vmm *v, int code)
{
	int expect = -1;
	uint64_t one = 1;

	atomic_compare_exchange_strong(&v->exit_code, &expect, code);
	pthread_mutex_lock(&v->lock);
	pthread_cond_broadcast(&v->cond);
	pthread_cond_broadcast(&v->parked_cond);
	pthread_mutex_unlock(&v->lock);
	if (write(v->exit_fd, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow with one write per request */
	}
}

static bool vm_holding(struct vmm *v)
{
	return v->paused || atomic_load(&v->exit_code) >= 0;
}

/* vm_pause_point: a vCPU parks here while the VM is paused or exiting. VCPU_FD gets
 * KVM_KVMCLOCK_CTRL once per pause, so the guest knows it was stopped (its soft-lockup
 * watchdog does not fire); an error (the guest has no kvm-clock) does not matter. The vCPU
 * waits on v->cond alone, which only vm_pause and vm_exit signal: parked vCPUs do not wake
 * each other. */
void vm_pause_point(struct vmm *v, int vcpu_fd)
{
	bool parked = false;

	pthread_mutex_lock(&v->lock);
	while (vm_holding(v)) {
		if (!parked) {
			parked = true;
			v->parked++;
			if (v->paused && ioctl(vcpu_fd, KVM_KVMCLOCK_CTRL, 0) < 0) {
				/* no kvm-clock in this guest */
			}
			pthread_cond_broadcast(&v->parked_cond);
		}
		pthread_cond_wait(&v->cond, &v->lock);
	}
	if (parked)
		v->parked--;
	pthread_mutex_unlock(&v->lock);
}

/* vm_loop_pause_point: the event loop parks here while the VM is paused: no device touches
 * guest memory, no queue or tap is served and no interrupt is raised until the resume. */
static void vm_loop_paused(void *opaque, uint32_t events)
{
	struct vmm *v = opaque;
	uint64_t n;

	(void)events;
	if (read(v->pause_fd, &n, sizeof(n)) < 0) {
		/* spurious wake: the state below decides */
	}
	pthread_mutex_lock(&v->lock);
	while (v->paused && atomic_load(&v->exit_code) < 0) {
		v->loop_parked = true;
		pthread_cond_broadcast(&v->parked_cond);
		pthread_cond_wait(&v->cond, &v->lock);
	}
	v->loop_parked = false;
	pthread_mutex_unlock(&v->lock);
}

/* vm_pause_init: the loop's pause eventfd (after loop_init). */
int vm_pause_init(struct vmm *v)
{
	v->pause_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->pause_fd < 0)
		return vmm_err(-errno, "unable to create an eventfd: %s", strerror(errno));
	return loop_add(&v->loop, v->pause_fd, EPOLLIN, vm_loop_paused, v);
}

/* vm_paused: the VM is paused (for the API's status). */
bool vm_paused(struct vmm *v)
{
	bool paused;

	pthread_mutex_lock(&v->lock);
	paused = v->paused;
	pthread_mutex_unlock(&v->lock);
	return paused;
}

/* vm_pause: pauses the VM (returns once every vCPU and the event loop are parked, and the
 * guest's clock is saved: KVM_GET_CLOCK) or resumes it (the clock goes on from the saved
 * value, KVM_SET_CLOCK, so the guest sees no jump for the time it was paused, as after
 * QEMU's stop/cont; its wall clock is behind by that much until NTP steps it). Called by the
 * API thread; a no-op when already in that state. */
int vm_pause(struct vmm *v, bool pause)
{
	uint64_t one = 1;
	int ret = 0;

	pthread_mutex_lock(&v->lock);
	if (v->paused == pause) {
		pthread_mutex_unlock(&v->lock);
		return 0;
	}
	if (!pause && v->clock_saved) {
		if (ioctl(v->vm, KVM_SET_CLOCK, &v->clock) < 0)
			ret = -errno;
		v->clock_saved = false;
	}
	v->paused = pause;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	if (!pause)
		return ret;
	for (unsigned i = 0; i < v->ncpus; i++)
		vcpu_kick(v->vcpu[i]);
	if (write(v->pause_fd, &one, sizeof(one)) < 0)
		ret = -errno;
	pthread_mutex_lock(&v->lock);
	while (v->paused && (v->parked < v->ncpus || !v->loop_parked) && atomic_load(&v->exit_code) < 0)
		pthread_cond_wait(&v->parked_cond, &v->lock);
	v->clock = (struct kvm_clock_data){ 0 };
	if (v->paused && ioctl(v->vm, KVM_GET_CLOCK, &v->clock) == 0) {
		v->clock.flags = 0;	/* KVM_SET_CLOCK takes the clock alone */
		v->clock_saved = true;
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}
