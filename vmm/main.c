/* hvnode-vmm: entry point. Until the VMM proper lands (issue 3) it can only report its
 * version and probe the host's KVM (KVM API, Documentation/virt/kvm/api.rst):
 *   hvnode-vmm --version     prints "hvnode-vmm VERSION", exit 0
 *   hvnode-vmm --check-kvm   opens /dev/kvm, checks KVM_GET_API_VERSION == 12 and that
 *                            KVM_CREATE_VM succeeds; exit 0 ok, 111 on failure (names the
 *                            resource and the errno text)
 * Anything else exits 100 (usage). Trusts nothing from the command line beyond these words. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifndef HVNODE_VERSION
#define HVNODE_VERSION "unknown"
#endif

enum { EXIT_USAGE = 100, EXIT_SYSTEM = 111 };

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

int main(int argc, char **argv)
{
	if (argc == 1 || (argc == 2 && strcmp(argv[1], "--version") == 0)) {
		printf("hvnode-vmm %s\n", HVNODE_VERSION);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--check-kvm") == 0)
		return check_kvm();
	fprintf(stderr, "hvnode-vmm: usage: hvnode-vmm --version | --check-kvm\n");
	return EXIT_USAGE;
}
