/* hvtest-insmod: loads kernel modules, for the test guest running a distribution kernel
 * (110_vmm_guest): the node's busybox has no module tools, the node's kernel no modules.
 *   hvtest-insmod FILE.ko...   finit_module(2) each file in turn, no parameters
 * Exit status 0 when every module loaded (or was loaded already), 1 otherwise, naming each
 * failure on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC);

		if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)) {
			fprintf(stderr, "hvtest-insmod: %s: %s\n", argv[i], strerror(errno));
			rc = 1;
		}
		if (fd >= 0)
			close(fd);
	}
	return rc;
}
