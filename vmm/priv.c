/* hvnode-vmm: privilege drop, after /dev/kvm, the tap, disks, console and API socket are
 * open: setgroups(0), setgid, setuid to the --user account (default nobody). NAME is looked
 * up in /etc/passwd by reading the file (no NSS in a static binary); UID[:GID] is taken as
 * numbers. Trusts /etc/passwd (root-owned in the image); refuses uid or gid 0 as a target.
 * Running as non-root without an explicit --user keeps the current ids. */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm.h"

static int priv_numeric(const char *s, uid_t *uid, gid_t *gid)
{
	char *end;
	unsigned long u, g;

	if (*s < '0' || *s > '9')
		return -ENOENT;
	u = strtoul(s, &end, 10);
	g = u;
	if (*end == ':' && end[1] >= '0' && end[1] <= '9')
		g = strtoul(end + 1, &end, 10);
	if (*end || u > 0xfffffffeul || g > 0xfffffffeul)
		return -EINVAL;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

/* priv_passwd: NAME:x:UID:GID:... from /etc/passwd. */
static int priv_passwd(const char *name, uid_t *uid, gid_t *gid)
{
	FILE *f = fopen("/etc/passwd", "re");
	char line[512];
	size_t len = strlen(name);
	int ret = -ENOENT;
	unsigned long u, g;

	if (!f)
		return vmm_err(-errno, "unable to open /etc/passwd: %s", strerror(errno));
	while (ret == -ENOENT && fgets(line, sizeof(line), f)) {
		char *p = line + len;

		if (strncmp(line, name, len) != 0 || *p != ':' || !(p = strchr(p + 1, ':')))
			continue;
		if (sscanf(p + 1, "%lu:%lu:", &u, &g) != 2 || u > 0xfffffffeul || g > 0xfffffffeul)
			ret = -EINVAL;
		else
			*uid = (uid_t)u, *gid = (gid_t)g, ret = 0;
	}
	fclose(f);
	if (ret < 0)
		return vmm_err(-EINVAL, "--user: no usable account '%s' in /etc/passwd", name);
	return 0;
}

int priv_drop(const char *user, bool explicit_user)
{
	uid_t uid;
	gid_t gid;
	int ret;

	if (geteuid() != 0 && !explicit_user)
		return 0;
	ret = priv_numeric(user, &uid, &gid);
	if (ret == -ENOENT)
		ret = priv_passwd(user, &uid, &gid);
	else if (ret < 0)
		return vmm_err(-EINVAL, "--user: bad value '%s'", user);
	if (ret < 0)
		return ret;
	if (uid == 0 || gid == 0)
		return vmm_err(-EINVAL, "--user: refusing to run as uid or gid 0");
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		return vmm_err(-errno, "unable to switch to user %s (%u:%u): %s", user, (unsigned)uid,
			       (unsigned)gid, strerror(errno));
	if (setuid(0) == 0)
		return vmm_err(-EPERM, "uid 0 still reachable after dropping privileges");
	return 0;
}
