/* hvnode-vmm: the runtime context shared by the modules (struct vmm) and each module's
 * entry points. KVM API per Documentation/virt/kvm/api.rst. Threads: one per vCPU, one
 * event loop (the main thread: devices' queues, tap, console input), one API thread. */
#ifndef HVNODE_VMM_H
#define HVNODE_VMM_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "boot.h"
#include "config.h"
#include "virtq.h"

enum { EXIT_USAGE = 100, EXIT_SYSTEM = 111 };

#define VMM_MAX_DEVS 32		/* on one bus; also the counters */
#define VMM_MAX_VIRTIO CONFIG_MAX_VIRTIO

/* ---- bus: port I/O and MMIO dispatch from vCPU exits (vm.c) ---- */
struct bus_dev {
	uint64_t base, len;
	void (*read)(void *opaque, uint64_t off, uint8_t *data, unsigned len);
	void (*write)(void *opaque, uint64_t off, const uint8_t *data, unsigned len);
	void *opaque;
};

struct bus {
	struct bus_dev dev[VMM_MAX_DEVS];
	unsigned n;
};

/* ---- event loop (loop.c) ---- */
typedef void loop_fn(void *opaque, uint32_t events);

struct loop_src {
	int fd;
	loop_fn *fn;
	void *opaque;
	uint32_t gen;		/* bumped when the slot is freed: events fetched before are stale */
};

#define LOOP_MAX_SRCS 64
struct loop {
	int epfd;
	struct loop_src src[LOOP_MAX_SRCS];
	unsigned n;
};

/* ---- per-device counters, read by the API thread ---- */
struct counters {
	const char *kind;
	char name[16];
	atomic_uint_fast64_t requests, bytes, errors;
};

struct vcpu;
struct vmmio;
struct serial;
struct i8042;
struct pm;

struct vmm {
	const struct config *cfg;
	int kvm, vm;
	struct gmem mem;
	unsigned ncpus;
	struct kvm_cpuid2 *cpuid;	/* KVM_GET_SUPPORTED_CPUID, patched per vCPU */
	int run_size;
	struct boot_kernel kernel;
	struct bus pio, mmio;
	struct vcpu *vcpu[CONFIG_MAX_CPUS];
	struct loop loop;
	struct serial *serial;
	struct i8042 *i8042;
	struct counters *ctr[VMM_MAX_DEVS];
	unsigned nctr;
	struct pm *pm;
	unsigned nvirtio, ndisks;
	struct vmm_virtio {
		uint64_t base;				/* its 4 KiB virtio-mmio window */
		unsigned irq;				/* its GSI */
		struct vmmio *t;			/* its transport (virtio_mmio.c) */
	} virtio[VMM_MAX_VIRTIO];
	pthread_mutex_t lock;			/* pause state */
	pthread_cond_t cond;			/* paused, exit_code changed: parked threads wake */
	pthread_cond_t parked_cond;		/* parked, loop_parked changed: vm_pause wakes */
	bool paused, loop_parked, clock_saved;
	unsigned parked;			/* vCPUs in vm_pause_point */
	struct kvm_clock_data clock;		/* the guest clock while paused */
	int pause_fd;				/* eventfd: parks the event loop */
	atomic_int exit_code;			/* -1 while running */
	int exit_fd;				/* eventfd: wakes the loop to exit */
};

/* vm.c */
int vm_create(struct vmm *v);
int vm_irq_line(struct vmm *v, unsigned irq, int level);
int vm_bus_add(struct bus *b, const struct bus_dev *d);
void vm_bus_access(struct bus *b, uint64_t addr, uint8_t *data, unsigned len, bool write);
void vm_exit(struct vmm *v, int code);
void vm_pause_point(struct vmm *v, int vcpu_fd);
int vm_pause_init(struct vmm *v);
int vm_pause(struct vmm *v, bool pause);
bool vm_paused(struct vmm *v);
int vmm_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* vcpu.c */
int vcpu_create(struct vmm *v, unsigned idx);
int vcpu_start(struct vcpu *c);
void vcpu_kick(struct vcpu *c);

/* loop.c */
int loop_init(struct loop *l);
int loop_add(struct loop *l, int fd, uint32_t events, loop_fn *fn, void *opaque);
int loop_mod(struct loop *l, int fd, uint32_t events);
int loop_del(struct loop *l, int fd);
int loop_dispatch(struct loop *l, int timeout_ms);
int loop_run(struct vmm *v);

/* devices: one constructor each, wired in main.c */
int serial_create(struct vmm *v, int in_fd, int out_fd, int listen_fd);
int i8042_create(struct vmm *v);
int rtc_create(struct vmm *v);
int pm_create(struct vmm *v);
/* pm_power_button: presses the ACPI power button (PWRBTN_STS and the SCI); a guest with ACPI
 * then runs its clean shutdown (Linux: the power key, which systemd-logind turns into poweroff).
 * Returns whether the guest listens to it (PWRBTN_EN); false without ACPI. */
bool pm_power_button(struct vmm *v);
/* pm_power_button_pending: the guest has not taken the press yet (PWRBTN_STS still set). */
bool pm_power_button_pending(struct vmm *v);
void i8042_ctrl_alt_del(struct i8042 *k);
int vblk_create(struct vmm *v, const char *path, bool ro);
/* vnet_create: one NIC (net.c) on the tap CFG names, with CFG's MAC (or one derived from the tap's
 * name), MTU (0: the tap's) and offloads. vnet_attach: the same on FD, an open tap (or, in the
 * unit tests, a socket that keeps message boundaries) whose frames carry a 12-byte vnet header;
 * MTU 0 there means 1500. The NIC owns FD. */
int vnet_create(struct vmm *v, const struct config_nic *cfg);
int vnet_attach(struct vmm *v, int fd, const struct config_nic *cfg);
int vrng_create(struct vmm *v);
int api_create(struct vmm *v, const char *path);
int api_start(struct vmm *v);
int api_call(const char *path, const char *request);

/* seccomp.c, priv.c */
enum seccomp_kind { SECCOMP_VCPU, SECCOMP_LOOP, SECCOMP_API };
int seccomp_install(enum seccomp_kind kind);
int priv_drop(const char *user, bool explicit_user);

#endif
