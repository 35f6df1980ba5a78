/* hvnode-agent: its files (agent/PROTOCOL.md "Identity on the node", "Node state").
 *   RUN/identity, PERSIST/agent/identity  manager=, node_id=, credential=, interval_s= (0600)
 *   RUN/agent.state                       state=, manager=, node_id=, last_heartbeat=, last_error=
 *   RUN/ssh/root/authorized_keys          root's keys; the manager's lines end in "hvnode-manager"
 *   RUN/agent.backoff                     starts=, last_start_s=, failures=, not_before_s= (the
 *                                         backoff, kept across agent restarts; seconds of
 *                                         CLOCK_BOOTTIME, which /run shares the life of)
 * Every file is replaced atomically (temporary file, rename), and fsync'd where it must
 * survive a power cut (the config partition), so a reader never sees half a file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

/* fsync of PATH opened with FLAGS (O_RDONLY plus O_DIRECTORY or O_NOFOLLOW); 0 or -errno. */
static int state_fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	rc = fsync(fd) ? -errno : 0;
	close(fd);
	return rc;
}

/* fsync of the directory that holds PATH. */
static int state_fsync_dir(const char *path)
{
	char dir[CONFIG_PATH_MAX + 64];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	return state_fsync_path(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY);
}

/* After a rename, the file's inode again and then its directory: vfat writes the size and first
 * cluster of a renamed file into its new directory entry only at inode writeback, so without
 * the second fsync a power cut leaves an empty file (measured on the HVNODE partition). */
static int state_fsync_renamed(const char *path)
{
	int rc = state_fsync_path(path, O_RDONLY | O_NOFOLLOW);

	return rc ? rc : state_fsync_dir(path);
}

/* state_write_file: replaces PATH with LEN bytes of DATA, mode MODE; DURABLE adds fsync of the
 * file and its directory. Returns 0 or -errno; on error PATH is unchanged. */
int state_write_file(const char *path, const char *data, size_t len, unsigned mode, int durable)
{
	char tmp[CONFIG_PATH_MAX + 64];
	size_t done = 0;
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	while (done < len && rc == 0) {
		ssize_t n = write(fd, data + done, len - done);

		if (n < 0 && errno != EINTR)
			rc = -errno;
		else if (n > 0)
			done += (size_t)n;
	}
	if (rc == 0 && fchmod(fd, mode))
		rc = -errno;
	if (rc == 0 && durable && fsync(fd))
		rc = -errno;
	if (close(fd) && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path))
		rc = -errno;
	if (rc) {
		unlink(tmp);
		return rc;
	}
	return durable ? state_fsync_renamed(path) : 0;
}

/* Copies SRC into DST; -1 (DST unchanged) when it does not fit: a cut value is a bad value. */
static int state_copy(char *dst, size_t dstlen, const char *src)
{
	size_t n = strlen(src);

	if (n >= dstlen)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

/* Reads an identity file for MANAGER into ID; -1 (ID unchanged) when there is none, it is not
 * a regular file (the config partition is not the node's own: no symlink, FIFO or device is
 * followed), it is for another manager, or a value is bad. */
static int state_read_identity(const char *path, const char *manager, struct registration *id)
{
	static struct registration next;
	char line[CREDENTIAL_MAX + 64], url[CONFIG_URL_MAX] = "";
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), bad = 0;
	struct stat st;
	FILE *f;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || !(f = fdopen(fd, "r"))) {
		close(fd);
		return -1;
	}
	memset(&next, 0, sizeof(next));
	next.interval_s = HEARTBEAT_DEFAULT_S;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "manager=", 8))
			bad |= state_copy(url, sizeof(url), line + 8);
		else if (!strncmp(line, "node_id=", 8))
			bad |= state_copy(next.node_id, sizeof(next.node_id), line + 8);
		else if (!strncmp(line, "credential=", 11))
			bad |= state_copy(next.credential, sizeof(next.credential), line + 11);
		else if (!strncmp(line, "interval_s=", 11))
			next.interval_s = atoi(line + 11);
	}
	fclose(f);
	if (bad || strcmp(url, manager) || !reply_valid_node_id(next.node_id) ||
	    !reply_valid_credential(next.credential) || next.interval_s < 1 ||
	    next.interval_s > INTERVAL_MAX_S)
		return -1;
	*id = next;
	return 0;
}

/* state_load_identity: the identity for MANAGER, from /run, else from the config partition.
 * Returns 0 with ID filled, or -1 when there is none (or it is for another manager). */
int state_load_identity(const struct agent_paths *paths, const char *manager,
			struct registration *id)
{
	char path[CONFIG_PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/identity", paths->run_dir);
	if (state_read_identity(path, manager, id) == 0)
		return 0;
	if (!paths->persist_dir[0])
		return -1;
	snprintf(path, sizeof(path), "%s/agent/identity", paths->persist_dir);
	return state_read_identity(path, manager, id);
}

/* state_save_identity: writes the identity to /run and, when there is one, durably to the
 * config partition. Returns 0, or the first -errno (the /run copy is written regardless). */
int state_save_identity(const struct agent_paths *paths, const char *manager,
			const struct registration *id)
{
	char text[CONFIG_URL_MAX + CREDENTIAL_MAX + NODE_ID_MAX + 64];
	char path[CONFIG_PATH_MAX + 32];
	int len, rc;

	len = snprintf(text, sizeof(text), "manager=%s\nnode_id=%s\ncredential=%s\ninterval_s=%d\n",
		       manager, id->node_id, id->credential, id->interval_s);
	snprintf(path, sizeof(path), "%s/identity", paths->run_dir);
	rc = state_write_file(path, text, (size_t)len, 0600, 0);
	if (paths->persist_dir[0]) {
		snprintf(path, sizeof(path), "%s/agent", paths->persist_dir);
		if (mkdir(path, 0700) == 0)
			state_fsync_dir(path); /* the new directory's entry in PERSIST */
		else if (errno != EEXIST && rc == 0)
			rc = -errno;
		snprintf(path, sizeof(path), "%s/agent/identity", paths->persist_dir);
		int prc = state_write_file(path, text, (size_t)len, 0600, 1);

		if (rc == 0)
			rc = prc;
	}
	return rc;
}

/* state_write_status: RUN/agent.state for the console status screen. LAST_HEARTBEAT is in
 * seconds since boot, -1 for never. */
int state_write_status(const struct agent_paths *paths, const char *state, const char *manager,
		       const char *node_id, long last_heartbeat, const char *last_error)
{
	char text[2048], path[CONFIG_PATH_MAX + 32], hb[32] = "";
	int len;

	if (last_heartbeat >= 0)
		snprintf(hb, sizeof(hb), "%ld", last_heartbeat);
	len = snprintf(text, sizeof(text),
		       "state=%s\nmanager=%s\nnode_id=%s\nlast_heartbeat=%s\nlast_error=%.900s\n",
		       state, manager, node_id, hb, last_error);
	if (len < 0 || (size_t)len >= sizeof(text))
		len = (int)sizeof(text) - 1;
	snprintf(path, sizeof(path), "%s/agent.state", paths->run_dir);
	return state_write_file(path, text, (size_t)len, 0644, 0);
}

/* state_apply_keys: root's authorized_keys = its lines not from a manager + KEYS (validated
 * "TYPE BASE64" lines, each ending in '\n'), tagged "hvnode-manager". Returns 0 or -errno. */
int state_apply_keys(const struct agent_paths *paths, const char *keys)
{
	char path[CONFIG_PATH_MAX + 64], line[KEY_LINE_MAX + 32];
	static char text[RESPONSE_MAX * 2];
	size_t used = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/ssh", paths->run_dir);
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/ssh/root", paths->run_dir);
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/ssh/root/authorized_keys", paths->run_dir);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);

		if (n && line[n - 1] == '\n' && n > 15 && !strcmp(line + n - 16, " hvnode-manager\n"))
			continue;
		if (used + n < sizeof(text) / 2) {
			memcpy(text + used, line, n);
			used += n;
		}
	}
	if (f)
		fclose(f);
	for (const char *k = keys; *k;) {
		size_t n = strcspn(k, "\n");

		if (used + n + 17 >= sizeof(text))
			break;
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%.*s hvnode-manager\n",
					 (int)n, k);
		k += n + (k[n] == '\n');
	}
	return state_write_file(path, text, used, 0600, 0);
}

/* state_mounted: 1 when DIR is a mount point in ROOT/proc/mounts (ROOT "" on the node; a fake
 * root in the facts tests): the config partition, the storage pool. */
int state_mounted(const char *root, const char *dir)
{
	char line[512], mnt[256];
	FILE *f;
	int found = 0;

	snprintf(line, sizeof(line), "%s/proc/mounts", root);
	f = fopen(line, "re");

	while (f && !found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %255s", mnt) == 1 && strcmp(mnt, dir) == 0;
	if (f)
		fclose(f);
	return found;
}

/* state_load_backoff: RUN/agent.backoff into B. 0 when it was there; -ENOENT (B zeroed) when
 * not; -EINVAL (B zeroed) when a line does not parse: the agent then starts afresh. */
int state_load_backoff(const struct agent_paths *paths, struct backoff_state *b)
{
	char path[CONFIG_PATH_MAX + 32], line[64];
	FILE *f;
	int rc = 0;

	memset(b, 0, sizeof(*b));
	snprintf(path, sizeof(path), "%s/agent.backoff", paths->run_dir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		unsigned long long v;
		char name[16], end;

		if (sscanf(line, "%15[a-z_]=%llu%c", name, &v, &end) != 3 || end != '\n' ||
		    v > 1000000000ull)
			rc = -EINVAL;
		else if (!strcmp(name, "starts"))
			b->starts = (unsigned)v;
		else if (!strcmp(name, "last_start_s"))
			b->last_start_s = (long)v;
		else if (!strcmp(name, "failures"))
			b->failures = (unsigned)v;
		else if (!strcmp(name, "not_before_s"))
			b->not_before_s = (long)v;
		else
			rc = -EINVAL;
	}
	fclose(f);
	if (rc)
		memset(b, 0, sizeof(*b));
	return rc;
}

/* state_save_backoff: B into RUN/agent.backoff (0600, atomic, not fsync'd: /run is RAM). */
int state_save_backoff(const struct agent_paths *paths, const struct backoff_state *b)
{
	char path[CONFIG_PATH_MAX + 32], text[160];
	int n;

	snprintf(path, sizeof(path), "%s/agent.backoff", paths->run_dir);
	n = snprintf(text, sizeof(text), "starts=%u\nlast_start_s=%ld\nfailures=%u\nnot_before_s=%ld\n",
		     b->starts, b->last_start_s, b->failures, b->not_before_s);
	return state_write_file(path, text, (size_t)n, 0600, 0);
}
