/* hvnode-vmm: entry point. Parses the settings, opens every host resource (/dev/kvm, kernel,
 * initrd, disks, tap, console, API socket), builds the VM and its devices in the order
 * written below (that order fixes the virtio-mmio addresses and IRQs), drops privileges,
 * starts the vCPU and API threads, then runs the event loop under its own seccomp filter.
 *   hvnode-vmm --version     prints "hvnode-vmm VERSION", exit 0
 *   hvnode-vmm --check-kvm   opens /dev/kvm, checks KVM_GET_API_VERSION == 12 and that
 *                            KVM_CREATE_VM succeeds; exit 0 ok, 111 on failure
 *   hvnode-vmm --api-call PATH REQUEST   one request to a running VMM's API, prints the answer
 *   hvnode-vmm --kernel ... (see README.md)
 * Exit codes: 0 the guest rebooted or was stopped through the API; 100 bad arguments
 * (message names the argument); 111 host failure (names the resource and the errno text).
 * Trusts the command line and config file only as far as config.c validates them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "vmm.h"

#ifndef HVNODE_VERSION
#define HVNODE_VERSION "unknown"
#endif

#define CONFIG_FILE_MAX (64 * 1024)

static int check_kvm(void)
{
	int kvm, vm, version, ret = EXIT_SYSTEM;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		fprintf(stderr, "hvnode-vmm: unable to open /dev/kvm: %s\n", strerror(errno));
		return EXIT_SYSTEM;
	}
	version = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		fprintf(stderr, "hvnode-vmm: /dev/kvm: KVM_GET_API_VERSION returned %d, want %d\n",
			version, KVM_API_VERSION);
		goto out;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		fprintf(stderr, "hvnode-vmm: /dev/kvm: unable to KVM_CREATE_VM: %s\n", strerror(errno));
		goto out;
	}
	close(vm);
	printf("kvm: api version %d, KVM_CREATE_VM ok\n", version);
	ret = 0;
out:
	close(kvm);
	return ret;
}

/* map_file: maps a whole file read-only; *len gets its size. */
static int map_file(const char *what, const char *path, const uint8_t **data, uint64_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;
	void *p;

	if (fd < 0)
		return vmm_err(-errno, "unable to open %s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		ret = vmm_err(errno ? -errno : -EINVAL, "unable to use %s %s: %s", what, path,
			      errno ? strerror(errno) : "empty file");
		goto out;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		ret = vmm_err(-errno, "unable to read %s %s: %s", what, path, strerror(errno));
		goto out;
	}
	*data = p;
	*len = (uint64_t)st.st_size;
out:
	close(fd);
	return ret;
}

static int read_config_file(struct config *c, const char *path)
{
	static char text[CONFIG_FILE_MAX];
	char err[256];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return vmm_err(-errno, "unable to open %s: %s", path, strerror(errno));
	n = read(fd, text, sizeof(text));
	close(fd);
	if (n < 0)
		return vmm_err(-errno, "unable to read %s: %s", path, strerror(errno));
	if (n == sizeof(text))
		return vmm_err(-EINVAL, "--config: %s is larger than %d bytes", path, CONFIG_FILE_MAX);
	if (config_parse_json(c, text, (size_t)n, err, sizeof(err)) < 0)
		return vmm_err(-EINVAL, "%s", err);
	return 0;
}

/* parse_settings: config file first (when given), then the command line on top. */
static int parse_settings(struct config *c, int argc, char **argv)
{
	char err[256];
	int ret;

	config_defaults(c);
	for (int i = 1; i + 1 < argc; i++) {
		if (strcmp(argv[i], "--config") == 0) {
			ret = read_config_file(c, argv[i + 1]);
			if (ret < 0)
				return ret;
		}
	}
	if (config_parse_args(c, argc, argv, err, sizeof(err)) < 0 || config_finish(c, err, sizeof(err)) < 0)
		return vmm_err(-EINVAL, "%s", err);
	return 0;
}

static int load_kernel(struct vmm *v, uint64_t *initrd_addr, uint64_t *initrd_size)
{
	const struct config *c = v->cfg;
	const uint8_t *img, *rd;
	uint64_t len, rdlen;
	int ret;

	ret = map_file("kernel", c->kernel, &img, &len);
	if (ret < 0)
		return ret;
	ret = loader_load(&v->mem, img, len, &v->kernel);
	munmap((void *)img, len);
	if (ret < 0)
		return vmm_err(-EINVAL, "--kernel %s: %s", c->kernel, v->kernel.err);
	*initrd_addr = *initrd_size = 0;
	if (!c->initrd[0])
		return 0;
	ret = map_file("initrd", c->initrd, &rd, &rdlen);
	if (ret < 0)
		return ret;
	ret = loader_place_initrd(&v->mem, &v->kernel, rdlen, initrd_addr);
	if (ret == 0)
		memcpy(v->mem.base + *initrd_addr, rd, rdlen);
	munmap((void *)rd, rdlen);
	if (ret < 0)
		return vmm_err(-EINVAL, "--initrd %s: does not fit in guest memory", c->initrd);
	*initrd_size = rdlen;
	return 0;
}

/* boot_setup: boot_params, page tables, the MP table (always: guests without ACPI find their
 * CPUs there) and the ACPI tables. Without ACPI (--acpi off, or acpi=off on the guest's
 * cmdline) the virtio-mmio devices go on the cmdline instead (virtio_mmio.device=4K@ADDR:IRQ,
 * Linux's VIRTIO_MMIO_CMDLINE_DEVICES). */
static int boot_setup(struct vmm *v, uint64_t initrd_addr, uint64_t initrd_size)
{
	static char cmdline[CONFIG_CMDLINE_MAX + VMM_MAX_VIRTIO * 48];
	static struct acpi_config acpi;
	bool with_acpi = config_guest_acpi(v->cfg);
	uint64_t rsdp = 0;
	size_t n;
	int ret;

	n = (size_t)snprintf(cmdline, sizeof(cmdline), "%s", v->cfg->cmdline);
	for (unsigned i = 0; !with_acpi && i < v->nvirtio && n < sizeof(cmdline); i++)
		n += (size_t)snprintf(cmdline + n, sizeof(cmdline) - n, " virtio_mmio.device=4K@0x%llx:%u",
				      (unsigned long long)v->virtio[i].base, v->virtio[i].irq);
	if (with_acpi) {
		acpi.ncpus = v->ncpus;
		acpi.nvirtio = v->nvirtio;
		for (unsigned i = 0; i < v->nvirtio; i++) {
			acpi.virtio[i].base = v->virtio[i].base;
			acpi.virtio[i].len = 0x1000;
			acpi.virtio[i].gsi = v->virtio[i].irq;
		}
		ret = acpi_build(&v->mem, &acpi, &rsdp);
		if (ret < 0)
			return vmm_err(ret, "unable to build the ACPI tables");
	}
	ret = bootparams_build(&v->mem, &v->kernel, cmdline, initrd_addr, initrd_size, rsdp);
	if (ret == -E2BIG)
		return vmm_err(-EINVAL, "--cmdline: longer than the kernel's limit of %u bytes",
			       v->kernel.hdr.cmdline_size);
	if (ret == 0)
		ret = bootparams_paging(&v->mem);
	if (ret == 0)
		ret = mptable_build(&v->mem, v->ncpus);
	if (ret < 0)
		return vmm_err(ret, "unable to lay out boot data in guest memory");
	return 0;
}

static int console_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return vmm_err(-errno, "unable to create the console socket: %s", strerror(errno));
	strcpy(sa.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 || listen(fd, 1) < 0)
		return vmm_err(-errno, "unable to listen on %s: %s", path, strerror(errno));
	return fd;
}

static struct termios saved_tty;

static void console_restore(void)
{
	tcsetattr(0, TCSANOW, &saved_tty);
}

/* console_stdin: stdin as console input when it can be polled (tty, pipe or socket). */
static int console_stdin(void)
{
	struct stat st;
	struct termios t;

	if (fstat(0, &st) < 0 || !(isatty(0) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return -1;
	if (isatty(0) && tcgetattr(0, &saved_tty) == 0) {
		t = saved_tty;
		t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		t.c_iflag &= ~(tcflag_t)(ICRNL);
		tcsetattr(0, TCSANOW, &t);
		atexit(console_restore);
	}
	return 0;
}

static int console_setup(struct vmm *v)
{
	const struct config *c = v->cfg;
	int fd;

	if (c->console == CONSOLE_STDIO)
		return serial_create(v, console_stdin(), 1, -1);
	if (c->console == CONSOLE_SOCKET) {
		fd = console_listen(c->console_path);
		return fd < 0 ? fd : serial_create(v, -1, -1, fd);
	}
	fd = open(c->console_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return vmm_err(-errno, "unable to open console file %s: %s", c->console_path, strerror(errno));
	return serial_create(v, -1, fd, -1);
}

/* devices: the order here is the order of the virtio-mmio slots (address and IRQ). */
static int devices_setup(struct vmm *v)
{
	const struct config *c = v->cfg;
	int ret = console_setup(v);

	if (ret == 0)
		ret = i8042_create(v);
	if (ret == 0)
		ret = rtc_create(v);
	if (ret == 0 && config_guest_acpi(c))
		ret = pm_create(v);
	for (unsigned i = 0; ret == 0 && i < c->ndisks; i++)
		ret = vblk_create(v, c->disk[i].path, c->disk[i].ro);
	for (unsigned i = 0; ret == 0 && i < c->nnics; i++)
		ret = vnet_create(v, &c->nic[i]);
	if (ret == 0 && c->rng)
		ret = vrng_create(v);
	if (ret == 0 && c->api_socket[0])
		ret = api_create(v, c->api_socket);
	return ret;
}

static void exit_requested(void *opaque, uint32_t events)
{
	struct vmm *v = opaque;
	uint64_t n;

	(void)events;
	if (read(v->exit_fd, &n, sizeof(n)) < 0) {
		/* nothing pending: loop_run checks exit_code itself */
	}
}

static int vmm_build(struct vmm *v)
{
	uint64_t initrd_addr, initrd_size;
	int ret;

	ret = vm_create(v);
	if (ret == 0)
		ret = loop_init(&v->loop);
	if (ret == 0)
		ret = loop_add(&v->loop, v->exit_fd, EPOLLIN, exit_requested, v);
	if (ret == 0)
		ret = vm_pause_init(v);
	if (ret == 0)
		ret = load_kernel(v, &initrd_addr, &initrd_size);
	if (ret == 0)
		ret = devices_setup(v);
	if (ret == 0)
		ret = boot_setup(v, initrd_addr, initrd_size);
	for (unsigned i = 0; ret == 0 && i < v->ncpus; i++)
		ret = vcpu_create(v, i);
	return ret;
}

static int vmm_start(struct vmm *v)
{
	int ret = priv_drop(v->cfg->user, v->cfg->user_set);

	if (ret == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		ret = vmm_err(-errno, "unable to set no_new_privs: %s", strerror(errno));
	for (unsigned i = 0; ret == 0 && i < v->ncpus; i++)
		ret = vcpu_start(v->vcpu[i]);
	if (ret == 0)
		ret = api_start(v);
	if (ret == 0)
		ret = seccomp_install(SECCOMP_LOOP);
	return ret;
}

static int vmm_run(int argc, char **argv)
{
	static struct config cfg;
	static struct vmm v;
	int ret;

	ret = parse_settings(&cfg, argc, argv);
	if (ret < 0)
		return ret == -EINVAL ? EXIT_USAGE : EXIT_SYSTEM;
	v.cfg = &cfg;
	v.ncpus = cfg.cpus;
	ret = vmm_build(&v);
	if (ret == 0)
		ret = vmm_start(&v);
	if (ret < 0)
		return ret == -EINVAL ? EXIT_USAGE : EXIT_SYSTEM;
	fflush(stdout);
	return loop_run(&v);
}

int main(int argc, char **argv)
{
	if (argc == 1 || (argc == 2 && strcmp(argv[1], "--version") == 0)) {
		printf("hvnode-vmm %s\n", HVNODE_VERSION);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--check-kvm") == 0)
		return check_kvm();
	if (argc == 4 && strcmp(argv[1], "--api-call") == 0)
		return api_call(argv[2], argv[3]) < 0 ? EXIT_SYSTEM : 0;
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: hvnode-vmm --kernel FILE [--initrd FILE] [--cmdline TEXT] [--mem 256M] [--cpus N]\n"
		       "  [--disk PATH[,ro]]... [--net tap=NAME[,mac=MAC][,mtu=N][,offload=on|off]]... [--rng]\n"
		       "  [--console stdio|file:PATH|socket:PATH]\n"
		       "  [--api-socket PATH] [--name NAME] [--user NAME|UID[:GID]] [--acpi on|off] [--config FILE]\n");
		return 0;
	}
	return vmm_run(argc, argv);
}
