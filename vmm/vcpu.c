/* hvnode-vmm: vCPUs. One thread per vCPU runs KVM_RUN and dispatches port I/O and MMIO exits
 * to the buses. CPUID comes from KVM_GET_SUPPORTED_CPUID with the topology fixed per vCPU
 * (APIC id = index; leaves 0x1, 0x4, 0xb, 0x1f, 0x80000008, 0x8000001e) and the KVM leaves
 * kept, so the guest uses kvm-clock, which also tells it the TSC frequency. The bootstrap
 * vCPU enters the kernel in 64-bit mode per the Linux x86 64-bit boot protocol: paging on
 * with the identity map, CS = 0x10, DS = ES = SS = 0x18, RSI = boot_params; the others wait
 * for INIT/SIPI in the in-kernel LAPIC. The guest runs hostile code from its first
 * instruction: the thread installs its seccomp filter before the first KVM_RUN, and exit
 * data (port, address, size, count) is checked before use. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm.h"

#define X86_CR0_PE 0x1ull
#define X86_CR0_ET 0x10ull
#define X86_CR0_PG 0x80000000ull
#define X86_CR4_PAE 0x20ull
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull
#define MSR_IA32_MISC_ENABLE 0x1a0
#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

struct vcpu {
	struct vmm *vmm;
	unsigned idx;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
};

static unsigned vcpu_bits(unsigned n)
{
	unsigned b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

static void vcpu_topology_leaf(struct kvm_cpuid_entry2 *e, unsigned id, unsigned n)
{
	unsigned level = e->index;

	e->edx = id;
	if (level == 0) {
		e->eax = 0;
		e->ebx = 1;
		e->ecx = 1u << 8;		/* SMT level, one thread per core */
	} else if (level == 1) {
		e->eax = vcpu_bits(n);
		e->ebx = n;
		e->ecx = (2u << 8) | 1;		/* core level: every vCPU is a core */
	} else {
		e->eax = e->ebx = 0;
		e->ecx = level;
	}
}

static void vcpu_cpuid_entry(struct kvm_cpuid_entry2 *e, unsigned id, unsigned n)
{
	switch (e->function) {
	case 0x1:
		e->ebx = (e->ebx & 0xffff) | (id << 24) | ((n > 255 ? 255 : n) << 16);
		e->ecx |= 1u << 31;			/* hypervisor present */
		e->edx |= n > 1 ? 1u << 28 : 0;		/* HTT: ebx[23:16] is valid */
		break;
	case 0x4:
		if (e->eax & 0x1f)
			e->eax = (e->eax & 0x3fff) | ((n - 1) << 26) |
				 (((e->eax >> 5 & 7) == 3 ? n - 1 : 0) << 14);
		break;
	case 0xb:
	case 0x1f:
		vcpu_topology_leaf(e, id, n);
		break;
	case 0x80000008:
		e->ecx = (vcpu_bits(n) << 12) | (n - 1);
		break;
	case 0x8000001e:
		e->eax = id;
		e->ebx = id & 0xff;
		e->ecx = 0;
		break;
	}
}

static int vcpu_cpuid(struct vcpu *c)
{
	const struct kvm_cpuid2 *src = c->vmm->cpuid;
	size_t size = sizeof(*src) + src->nent * sizeof(src->entries[0]);
	struct kvm_cpuid2 *cp = malloc(size);
	int ret = 0;

	if (!cp)
		return vmm_err(-ENOMEM, "unable to allocate CPUID: %s", strerror(ENOMEM));
	memcpy(cp, src, size);
	for (unsigned i = 0; i < cp->nent; i++)
		vcpu_cpuid_entry(&cp->entries[i], c->idx, c->vmm->ncpus);
	if (ioctl(c->fd, KVM_SET_CPUID2, cp) < 0)
		ret = vmm_err(-errno, "vcpu %u: unable to KVM_SET_CPUID2: %s", c->idx, strerror(errno));
	free(cp);
	return ret;
}

static int vcpu_lapic(struct vcpu *c)
{
	struct kvm_lapic_state s;
	uint32_t v;

	if (ioctl(c->fd, KVM_GET_LAPIC, &s) < 0)
		return vmm_err(-errno, "vcpu %u: unable to KVM_GET_LAPIC: %s", c->idx, strerror(errno));
	memcpy(&v, s.regs + APIC_LVT0, 4);
	v = (v & ~0x700u) | (APIC_MODE_EXTINT << 8);
	memcpy(s.regs + APIC_LVT0, &v, 4);
	memcpy(&v, s.regs + APIC_LVT1, 4);
	v = (v & ~0x700u) | (APIC_MODE_NMI << 8);
	memcpy(s.regs + APIC_LVT1, &v, 4);
	if (ioctl(c->fd, KVM_SET_LAPIC, &s) < 0)
		return vmm_err(-errno, "vcpu %u: unable to KVM_SET_LAPIC: %s", c->idx, strerror(errno));
	return 0;
}

static int vcpu_msrs(struct vcpu *c)
{
	union {
		struct kvm_msrs hdr;
		uint8_t raw[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	} m = { .raw = { 0 } };
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	m.hdr.nmsrs = 1;
	m.hdr.entries[0] = (struct kvm_msr_entry){ .index = MSR_IA32_MISC_ENABLE, .data = 1 };

	if (ioctl(c->fd, KVM_SET_MSRS, &m) < 0)
		return vmm_err(-errno, "vcpu %u: unable to KVM_SET_MSRS: %s", c->idx, strerror(errno));
	if (ioctl(c->fd, KVM_SET_FPU, &fpu) < 0)
		return vmm_err(-errno, "vcpu %u: unable to KVM_SET_FPU: %s", c->idx, strerror(errno));
	return 0;
}

static void vcpu_segment(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code)
{
	*s = (struct kvm_segment){ .base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
				   .present = 1, .s = 1, .g = 1, .l = code, .db = !code };
}

static int vcpu_long_mode(struct vcpu *c)
{
	struct kvm_sregs s;

	if (ioctl(c->fd, KVM_GET_SREGS, &s) < 0)
		return vmm_err(-errno, "vcpu %u: unable to KVM_GET_SREGS: %s", c->idx, strerror(errno));
	vcpu_segment(&s.cs, BOOT_SEL_CODE, 11, true);
	vcpu_segment(&s.ds, BOOT_SEL_DATA, 3, false);
	s.es = s.fs = s.gs = s.ss = s.ds;
	s.tr = (struct kvm_segment){ .selector = BOOT_SEL_TSS, .limit = 0x67, .type = 11, .present = 1 };
	s.gdt.base = BOOT_GDT;
	s.gdt.limit = 5 * 8 - 1;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.cr3 = BOOT_PML4;
	s.cr4 |= X86_CR4_PAE;
	s.cr0 |= X86_CR0_PE | X86_CR0_PG | X86_CR0_ET;
	s.efer |= EFER_LME | EFER_LMA;
	if (ioctl(c->fd, KVM_SET_SREGS, &s) < 0)
		return vmm_err(-errno, "vcpu %u: unable to KVM_SET_SREGS: %s", c->idx, strerror(errno));
	return 0;
}

static int vcpu_boot_regs(struct vcpu *c)
{
	struct kvm_regs r = { .rip = c->vmm->kernel.entry, .rsi = BOOT_ZERO_PAGE, .rsp = BOOT_STACK,
			      .rbp = BOOT_STACK, .rflags = 2 };
	int ret = vcpu_long_mode(c);

	if (ret < 0)
		return ret;
	if (ioctl(c->fd, KVM_SET_REGS, &r) < 0)
		return vmm_err(-errno, "vcpu %u: unable to KVM_SET_REGS: %s", c->idx, strerror(errno));
	return 0;
}

int vcpu_create(struct vmm *v, unsigned idx)
{
	struct vcpu *c = calloc(1, sizeof(*c));
	int ret;

	if (!c)
		return vmm_err(-ENOMEM, "unable to allocate a vCPU: %s", strerror(ENOMEM));
	c->vmm = v;
	c->idx = idx;
	v->vcpu[idx] = c;
	c->fd = ioctl(v->vm, KVM_CREATE_VCPU, idx);
	if (c->fd < 0)
		return vmm_err(-errno, "/dev/kvm: unable to KVM_CREATE_VCPU %u: %s", idx, strerror(errno));
	c->run = mmap(NULL, (size_t)v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->run == MAP_FAILED)
		return vmm_err(-errno, "vcpu %u: unable to map kvm_run: %s", idx, strerror(errno));
	ret = vcpu_cpuid(c);
	if (ret == 0)
		ret = vcpu_lapic(c);
	if (ret == 0)
		ret = vcpu_msrs(c);
	if (ret == 0 && idx == 0)
		ret = vcpu_boot_regs(c);
	return ret;
}

static void vcpu_io(struct vcpu *c)
{
	struct kvm_run *r = c->run;
	uint64_t total = (uint64_t)r->io.size * r->io.count;
	uint8_t *data = (uint8_t *)r + r->io.data_offset;

	if (r->io.size == 0 || r->io.size > 4 || r->io.data_offset > (uint64_t)c->vmm->run_size ||
	    total > (uint64_t)c->vmm->run_size - r->io.data_offset)
		return;
	for (uint32_t i = 0; i < r->io.count; i++, data += r->io.size)
		vm_bus_access(&c->vmm->pio, r->io.port, data, r->io.size, r->io.direction == KVM_EXIT_IO_OUT);
}

static void vcpu_mmio(struct vcpu *c)
{
	struct kvm_run *r = c->run;

	if (r->mmio.len == 0 || r->mmio.len > sizeof(r->mmio.data))
		return;
	vm_bus_access(&c->vmm->mmio, r->mmio.phys_addr, r->mmio.data, r->mmio.len, r->mmio.is_write);
}

/* vcpu_exit: handles one exit; returns false when the VM is over. */
static bool vcpu_exit(struct vcpu *c)
{
	struct kvm_run *r = c->run;

	switch (r->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_io(c);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_mmio(c);
		return true;
	case KVM_EXIT_SHUTDOWN:
	case KVM_EXIT_SYSTEM_EVENT:
	case KVM_EXIT_HLT:
		vm_exit(c->vmm, 0);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vmm_err(0, "vcpu %u: KVM_RUN failed entry, reason 0x%llx", c->idx,
			(unsigned long long)r->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		vmm_err(0, "vcpu %u: KVM internal error, suberror %u", c->idx, r->internal.suberror);
		break;
	default:
		vmm_err(0, "vcpu %u: unexpected exit reason %u", c->idx, r->exit_reason);
		break;
	}
	vm_exit(c->vmm, EXIT_SYSTEM);
	return false;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *c = arg;

	if (seccomp_install(SECCOMP_VCPU) < 0) {
		vm_exit(c->vmm, EXIT_SYSTEM);
		vm_pause_point(c->vmm, c->fd);
	}
	for (;;) {
		vm_pause_point(c->vmm, c->fd);
		if (ioctl(c->fd, KVM_RUN, 0) < 0) {
			c->run->immediate_exit = 0;
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vmm_err(0, "vcpu %u: unable to KVM_RUN: %s", c->idx, strerror(errno));
			vm_exit(c->vmm, EXIT_SYSTEM);
			continue;
		}
		if (!vcpu_exit(c))
			continue;
	}
	return NULL;
}

int vcpu_start(struct vcpu *c)
{
	int ret = pthread_create(&c->thread, NULL, vcpu_thread, c);

	if (ret)
		return vmm_err(-ret, "unable to start vcpu %u: %s", c->idx, strerror(ret));
	c->started = true;
	return 0;
}

/* vcpu_kick: makes the vCPU leave KVM_RUN soon (now, or at its next entry). */
void vcpu_kick(struct vcpu *c)
{
	if (!c || !c->started)
		return;
	__atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(c->thread, SIGUSR1);
}
