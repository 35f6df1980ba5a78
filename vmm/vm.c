/* hvnode-vmm: the VM: /dev/kvm, KVM_CREATE_VM, guest RAM (one anonymous mapping at guest
 * physical 0, below the virtio-mmio window; shared anonymous, so /proc/PID/status counts it
 * as RssShmem apart from the VMM's own RssAnon), in-kernel irqchip (KVM_CREATE_IRQCHIP: PIC +
 * IOAPIC + LAPICs), PIT (KVM_CREATE_PIT2), TSS and identity-map pages, the supported CPUID,
 * the port I/O and MMIO buses, pause and exit. KVM API: Documentation/virt/kvm/api.rst.
 * Trusts the kernel's answers; the guest reaches this file only through vm_bus_access(),
 * whose address and length it controls: both are checked against each device's range. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

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
	int ver;

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
	v->vm = ioctl(v->kvm, KVM_CREATE_VM, 0);
	if (v->vm < 0)
		return vmm_err(-errno, "/dev/kvm: unable to KVM_CREATE_VM: %s", strerror(errno));
	return 0;
}

static int vm_memory(struct vmm *v)
{
	struct kvm_userspace_memory_region r = { .slot = 0, .guest_phys_addr = 0 };
	void *p;

	p = mmap(NULL, v->cfg->mem, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return vmm_err(-errno, "unable to map %llu MiB of guest memory: %s",
			       (unsigned long long)(v->cfg->mem >> 20), strerror(errno));
	madvise(p, v->cfg->mem, MADV_DONTDUMP);
	v->mem.base = p;
	v->mem.size = v->cfg->mem;
	r.memory_size = v->cfg->mem;
	r.userspace_addr = (uintptr_t)p;
	if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return vmm_err(-errno, "/dev/kvm: unable to KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
	return 0;
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

/* vm_exit: asks the event loop (main thread) to end the process with code; first one wins. */
void vm_exit(struct vmm *v, int code)
{
	int expect = -1;
	uint64_t one = 1;

	atomic_compare_exchange_strong(&v->exit_code, &expect, code);
	if (write(v->exit_fd, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow with one write per request */
	}
}

/* vm_pause_point: a vCPU parks here while the VM is paused or exiting. */
void vm_pause_point(struct vmm *v)
{
	pthread_mutex_lock(&v->lock);
	while (v->paused || atomic_load(&v->exit_code) >= 0) {
		v->parked++;
		pthread_cond_broadcast(&v->cond);
		pthread_cond_wait(&v->cond, &v->lock);
		v->parked--;
	}
	pthread_mutex_unlock(&v->lock);
}

/* vm_pause: pauses (waits until every vCPU is parked) or resumes the vCPUs. */
int vm_pause(struct vmm *v, bool pause)
{
	pthread_mutex_lock(&v->lock);
	v->paused = pause;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	if (!pause)
		return 0;
	for (unsigned i = 0; i < v->ncpus; i++)
		vcpu_kick(v->vcpu[i]);
	pthread_mutex_lock(&v->lock);
	while (v->paused && v->parked < v->ncpus)
		pthread_cond_wait(&v->cond, &v->lock);
	pthread_mutex_unlock(&v->lock);
	return 0;
}
