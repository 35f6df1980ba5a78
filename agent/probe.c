/* hvnode-agent: facts only the running node can answer. KVM readiness per the KVM API
 * (Documentation/virt/kvm/api.rst: KVM_GET_API_VERSION must return 12), and the sha256 of
 * the root squashfs the node booted (the block device mounted on /), with mbedTLS's SHA-256. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>
#include <mbedtls/sha256.h>

#include "agent.h"

/* probe_kvm: opens /dev/kvm and asks its API version; KVM->error says why when not ready. */
void probe_kvm(struct kvm_state *kvm)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	memset(kvm, 0, sizeof(*kvm));
	kvm->api_version = -1;
	if (fd < 0) {
		snprintf(kvm->error, sizeof(kvm->error), "unable to open /dev/kvm: %s",
			 strerror(errno));
		return;
	}
	kvm->api_version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (kvm->api_version == KVM_API_VERSION)
		kvm->ready = 1;
	else
		snprintf(kvm->error, sizeof(kvm->error), "KVM_GET_API_VERSION returned %d, not %d",
			 kvm->api_version, KVM_API_VERSION);
	close(fd);
}

/* The device of the squashfs mounted on / (from /proc/mounts), or -1 when / is not one. */
static int probe_root_device(char *dev, size_t devlen)
{
	char line[512], d[256], mnt[256], type[64];
	FILE *f = fopen("/proc/mounts", "re");
	int rc = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%255s %255s %63s", d, mnt, type) == 3 && !strcmp(mnt, "/") &&
		    !strcmp(type, "squashfs") && !strncmp(d, "/dev/", 5)) {
			snprintf(dev, devlen, "%s", d);
			rc = 0;
		}
	if (f)
		fclose(f);
	return rc;
}

/* probe_image_sha256: OUT = hex sha256 of the root squashfs, or "" with -1 when / is not a
 * squashfs or its device is unreadable. Reads the whole image (about 1 MiB). */
int probe_image_sha256(char out[65])
{
	unsigned char buf[65536], digest[32];
	mbedtls_sha256_context ctx;
	char dev[256];
	ssize_t n;
	int fd, rc = -1;

	out[0] = '\0';
	if (probe_root_device(dev, sizeof(dev)))
		return -1;
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	mbedtls_sha256_init(&ctx);
	mbedtls_sha256_starts_ret(&ctx, 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		mbedtls_sha256_update_ret(&ctx, buf, (size_t)n);
	if (n == 0 && mbedtls_sha256_finish_ret(&ctx, digest) == 0) {
		digest_hex(digest, out);
		rc = 0;
	}
	mbedtls_sha256_free(&ctx);
	close(fd);
	return rc;
}
