/* hvnode-supervisor: owns the node's VM lifecycle (agent/PROTOCOL.md "VMs"). Started by init
 * and restarted if it ever dies, like the agent.
 *
 *   hvnode-supervisor [--run-dir DIR] [--cmdline FILE] [--persist-dir DIR] [--pool DIR]
 *                     [--vmm PATH] [--cgroup-root DIR] [--uid-base N] [--busybox PATH] [--stop-timeout-s N]
 *   hvnode-supervisor --version
 *
 * Like the agent it takes the manager URLs, pin and CA from the cmdline, then from
 * PERSIST/hvnode.conf (PERSIST: /mnt/config when the config partition is mounted and named by
 * the cmdline; config_load_node has the rules), to verify
 * image downloads from a manager. It reads the desired list the agent writes to RUN/vms.desired ({"vms_generation", "vms"}),
 * checks each spec on its own (spec.c), and converges: for a running VM it downloads and
 * verifies the images into RUN/images (fetch.c, in a child process, so a slow download
 * blocks nobody), prepares the VM's disks in RUN/vms/NAME, and starts one hvnode-vmm:
 *   - under its own uid and gid, UID_BASE + slot (slot 0-63, one per VM; --user UID:GID),
 *   - in its own cgroup v2 group CGROUP_ROOT/hvnode-vms/NAME with memory.max = guest RAM +
 *     VMM_OVERHEAD_MIB, cpu.max = vcpus whole CPUs, pids.max = vcpus + 16,
 *   - with its files in RUN/vms/NAME (mode 0700, root's): disks (owned by the VM's uid, 0600),
 *     the API socket, console.log and vmm.log; the VMM opens them before it drops privileges,
 *   - with its NIC as a tap of the VM's uid on the VM bridge, on its VLAN, behind the bridge
 *     filters (vmnet.c); the tap goes when the VMM ends.
 * The serial console (the VMM's stdout) is read by the supervisor into console.log, rotated to
 * console.log.1 at CONSOLE_LOG_MAX bytes, so a VM's console takes at most twice that.
 * A stopped or removed VM is asked to shut down through the VMM API (its power button), then
 * killed after --stop-timeout-s (default 40 s); a removed VM's directory and cgroup go.
 * A VMM that ends is started again per the VM's restart policy, after min(60, 2^(n-1)) s.
 * After each change it writes RUN/vms.actual (what the agent reports) and RUN/vms.summary
 * (key=value counts for the status screen), atomically.
 * A restarted supervisor starts from a clean slate: VMMs left in its cgroups are killed and
 * their directories removed; the image cache is kept (every file in it was verified).
 * Exit codes: 0 --version, 100 usage, 111 system failure at start. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "supervisor.h"

#ifndef HVNODE_VERSION
#define HVNODE_VERSION "unknown"
#endif

enum {
	EXIT_USAGE = 100,
	EXIT_SYSTEM = 111,
	TICK_MS = 250,
	API_POLL_S = 2,
	API_TIMEOUT_MS = 1000,
	RESTART_MAX_DELAY_S = 60,
	RESTART_RESET_S = 60,        /* a VM that ran this long starts its backoff afresh */
	VMM_OVERHEAD_MIB = 64,       /* memory.max above guest RAM: the VMM, its threads, queues */
	CONSOLE_LOG_MAX = 1 << 20,   /* bytes per console log file */
	VMM_LOG_MAX = 256 << 10,
	TEXT_MAX = VMS_LIST_MAX + 4096,
	RUN_RESERVE = 16 << 20,      /* bytes of /run kept for the node's own state */
	DEVICES_MAX = 16,            /* device counters reported per VM */
};

enum vm_state { VM_FETCHING, VM_STARTING, VM_RUNNING, VM_STOPPING, VM_STOPPED, VM_FAILED };
static const char *const state_names[] = { "fetching", "starting", "running",
					   "stopping", "stopped", "failed" };

struct vm {
	int used;
	struct vm_spec spec;       /* what the VM is prepared and runs with */
	struct vm_spec want;       /* the latest valid spec from the desired list */
	int valid;                 /* WANT is valid; else ERROR says why */
	int present;               /* in the latest desired list */
	int slot;
	enum vm_state state;
	int prepared;              /* images cached and disks made for SPEC */
	int held;                  /* not started again until its spec or state changes */
	int stopping;              /* a stop was asked of the running VMM */
	int fetch_cancelled;       /* the fetcher was killed on purpose (spec change, stop) */
	pid_t vmm, fetcher;
	int fetch_err;             /* read end of the fetcher's error pipe */
	int console, console_in;   /* read end of the VMM's stdout; write end of its stdin */
	int log;                   /* console.log */
	off_t log_size;
	unsigned restarts, consecutive;
	int exit_code;             /* -1: never exited */
	double started_at;         /* CLOCK_BOOTTIME s, -1: never started */
	double next_start, stop_deadline, next_api;
	char error[VM_ERROR_MAX];
	cJSON *devices;
};

struct sup {
	char run[CONFIG_PATH_MAX], cmdline[CONFIG_PATH_MAX], vmm[CONFIG_PATH_MAX];
	char cgroup_root[CONFIG_PATH_MAX], busybox[CONFIG_PATH_MAX];
	unsigned uid_base, stop_timeout_s;
	struct agent_config cfg;
	struct node_limits limits;
	struct vm vms[VMS_MAX];
	cJSON *invalid;            /* reports of entries without a usable name */
	int has_generation;
	long long generation;
	struct stat desired_st;
	int incomplete;            /* the last list did not fit in the free slots */
	char persist[CONFIG_PATH_MAX]; /* the config partition, "" when none */
	char pool[CONFIG_PATH_MAX];    /* the storage pool, "" when none */
	char store[CONFIG_PATH_MAX];   /* where images and disks live: the pool, else RUN */
	char last_actual[64];      /* a digest of the last report written: its length and hash */
	char ebtables[CONFIG_PATH_MAX], bridge_cmd[CONFIG_PATH_MAX]; /* vmnet.c's programs */
};

static void sup_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sup_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "hvnode-supervisor: %s\n", line);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void vm_error(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vm_error(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vm->error, sizeof(vm->error), fmt, ap);
	va_end(ap);
}

/* Writes TEXT to PATH (creating it for a plain directory in host tests). */
static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), rc = 0;
	size_t n = strlen(text);

	if (fd < 0)
		return -errno;
	if (write(fd, text, n) != (ssize_t)n)
		rc = errno ? -errno : -EIO;
	close(fd);
	return rc;
}

static int read_text(const char *path, char *buf, size_t size, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r;

	if (fd < 0)
		return -errno;
	while (n + 1 < size && (r = read(fd, buf + n, size - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	buf[n] = '\0';
	*len = n;
	return 0;
}

static void path_of(const struct sup *s, const struct vm *vm, const char *file, char *out,
		    size_t outlen)
{
	snprintf(out, outlen, "%s/vms/%s%s%s", s->run, vm->spec.name, file[0] ? "/" : "", file);
}

/* The MAC of NIC I of SPEC as text: the spec's, else the one derived from its uuid. */
static void nic_mac(const struct vm_spec *spec, int i, char out[18])
{
	unsigned char mac[6];

	if (spec->nics[i].has_mac)
		memcpy(mac, spec->nics[i].mac, 6);
	else
		vmnet_default_mac(spec->uuid, i, mac);
	vmnet_mac_text(mac, out);
}

/* NIC I of VM (its spec as prepared) as vmnet.c sees it; BRIDGE and the management VLAN come
 * from RUN/network. Returns 0, or -1 when the node has no VM bridge. */
static int vm_nic(const struct sup *s, const struct vm *vm, int i, struct vmnet_nic *n)
{
	char path[CONFIG_PATH_MAX + 16];
	int rc;

	memset(n, 0, sizeof(*n));
	snprintf(path, sizeof(path), "%s/network", s->run);
	rc = vmnet_read_config(path, n);
	vmnet_tap_name((unsigned)vm->slot, i, n->tap, sizeof(n->tap));
	n->vlan = vm->spec.nics[i].vlan;
	nic_mac(&vm->spec, i, n->mac_text);
	n->uid = s->uid_base + (unsigned)vm->slot;
	n->ebtables = s->ebtables;
	n->bridge_cmd = s->bridge_cmd;
	return rc;
}

/* Whether a running VM other than EXCEPT has a NIC on bridge VLAN VID. */
static int vlan_in_use(const struct sup *s, const struct vm *except, int vid)
{
	for (int j = 0; j < VMS_MAX; j++) {
		const struct vm *o = &s->vms[j];

		for (int k = 0; o != except && o->used && o->vmm > 0 && k < o->spec.n_nics; k++)
			if (vmnet_vid(o->spec.nics[k].vlan) == vid)
				return 1;
	}
	return 0;
}

/* Removes the taps and filters of VM's NICs (after its VMM ended), and a VLAN from the uplink
 * when no other running VM has a NIC on it. */
static void vm_detach_nics(const struct sup *s, const struct vm *vm)
{
	struct vmnet_nic n;

	for (int i = 0; i < vm->spec.n_nics; i++) {
		int bridged = vm_nic(s, vm, i, &n) == 0;

		vmnet_detach(&n); /* also without a bridge: the tap and its rules go */
		if (bridged && !vlan_in_use(s, vm, vmnet_vid(n.vlan)))
			vmnet_untrunk(&n);
	}
}

/* The VM's disk directory: POOL/vms/NAME with a pool, else its RUN/vms/NAME. */
static void disk_dir(const struct sup *s, const struct vm *vm, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/vms/%s", s->store, vm->spec.name);
}

static void disk_meta(const struct vm *vm, const struct vm_disk *d, char *out, size_t outlen);

/* The file name (without extension) of disk I: diskI for a non-persistent disk. A persistent
 * disk is named by what it is, so it keeps its data when the disks before it change:
 * p<FNV-1a of its meta>-<how many earlier disks of the spec have the same meta>. */
static void disk_name(const struct vm *vm, int i, char *out, size_t outlen)
{
	char meta[200], other[200];
	uint64_t h = 1469598103934665603ull;
	int n = 0;

	if (!vm->spec.disks[i].persistent) {
		snprintf(out, outlen, "disk%d", i);
		return;
	}
	disk_meta(vm, &vm->spec.disks[i], meta, sizeof(meta));
	for (const char *p = meta; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	for (int j = 0; j < i; j++) {
		disk_meta(vm, &vm->spec.disks[j], other, sizeof(other));
		n += vm->spec.disks[j].persistent && !strcmp(meta, other);
	}
	snprintf(out, outlen, "p%016llx-%d", (unsigned long long)h, n);
}

static void disk_path(const struct sup *s, const struct vm *vm, int i, const char *ext,
		      char *out, size_t outlen)
{
	char name[40];

	disk_name(vm, i, name, sizeof(name));
	snprintf(out, outlen, "%s/vms/%s/%.24s.%.4s", s->store, vm->spec.name, name, ext);
}

static void cgroup_of(const struct sup *s, const char *name, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/hvnode-vms/%s", s->cgroup_root, name);
}

/* Unlinks each file of DIR (one level) for which DROP(DIR's fd, name, ARG) is 1. */
static void remove_files(const char *dir, int (*drop)(int dfd, const char *name, const void *arg),
			 const void *arg)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && drop(dirfd(d), e->d_name, arg))
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
}

static int drop_any(int dfd, const char *name, const void *arg)
{
	(void)dfd, (void)name, (void)arg;
	return 1;
}

/* A copy cut short (NAME.tmp), or a disk without a .meta beside it (not persistent). */
static int drop_volatile(int dfd, const char *name, const void *arg)
{
	size_t n = strlen(name);
	char meta[300];
	struct stat st;

	(void)arg;
	if (n > 4 && !strcmp(name + n - 4, ".tmp"))
		return 1;
	if (n < 5 || n > 250 || strcmp(name + n - 4, ".img"))
		return 0;
	snprintf(meta, sizeof(meta), "%.*s.meta", (int)(n - 4), name);
	return fstatat(dfd, meta, &st, 0) < 0;
}

/* Removes DIR's files (one level) and DIR. */
static void remove_dir(const char *dir)
{
	remove_files(dir, drop_any, NULL);
	rmdir(dir);
}

/* Removes the disks in DIR that have no .meta beside them (the non-persistent ones), and
 * DIR itself when nothing is left. */
static void remove_volatile_disks(const char *dir)
{
	remove_files(dir, drop_volatile, NULL);
	rmdir(dir); /* fails while persistent disks remain */
}

/* Calls FN(path, name, ARG) for each entry of DIR named like a VM ([a-z0-9][a-z0-9-]{0,31}):
 * the VMs' directories under RUN/vms and POOL/vms, their cgroups under hvnode-vms. */
static void for_each_vm_dir(const char *dir, void (*fn)(const char *path, const char *name,
							void *arg), void *arg)
{
	char sub[CONFIG_PATH_MAX * 2 + 40];
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (spec_valid_name(e->d_name)) {
			snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
			fn(sub, e->d_name, arg);
		}
	if (d)
		closedir(d);
}

/* Ends every process left in the cgroup DIR and removes it (cgroup.kill, Linux 5.14). */
static void cgroup_remove(const char *dir)
{
	char path[CONFIG_PATH_MAX + 64], text[64];
	size_t len;

	snprintf(path, sizeof(path), "%s/cgroup.kill", dir);
	write_text(path, "1");
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	for (int i = 0; i < 50 && read_text(path, text, sizeof(text), &len) == 0 && len; i++)
		usleep(20000);
	if (rmdir(dir) < 0 && errno == ENOTEMPTY)
		remove_dir(dir); /* a plain directory standing in for cgroupfs (host tests) */
}

/* ---- the report ------------------------------------------------------------------------ */

static cJSON *vm_report(const struct vm *vm)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "name", vm->want.name);
	if (vm->want.uuid[0])
		cJSON_AddStringToObject(o, "uuid", vm->want.uuid);
	else
		cJSON_AddNullToObject(o, "uuid");
	cJSON_AddStringToObject(o, "state", state_names[vm->state]);
	cJSON_AddNumberToObject(o, "restarts", vm->restarts);
	if (vm->exit_code >= 0)
		cJSON_AddNumberToObject(o, "exit_code", vm->exit_code);
	else
		cJSON_AddNullToObject(o, "exit_code");
	if (vm->error[0])
		cJSON_AddStringToObject(o, "error", vm->error);
	else
		cJSON_AddNullToObject(o, "error");
	if (vm->started_at >= 0)
		cJSON_AddNumberToObject(o, "started_at", (double)(long)vm->started_at);
	else
		cJSON_AddNullToObject(o, "started_at");
	if (vm->devices && vm->vmm > 0)
		cJSON_AddItemToObject(o, "devices", cJSON_Duplicate(vm->devices, 1));
	else
		cJSON_AddArrayToObject(o, "devices");
	if (vm->valid) {
		cJSON *nics = cJSON_AddArrayToObject(o, "nics");

		for (int i = 0; nics && i < vm->want.n_nics; i++) {
			cJSON *nic = cJSON_CreateObject();
			char text[18], tap[16];

			nic_mac(&vm->want, i, text);
			vmnet_tap_name((unsigned)vm->slot, i, tap, sizeof(tap));
			cJSON_AddStringToObject(nic, "mac", text);
			cJSON_AddNumberToObject(nic, "vlan", vm->want.nics[i].vlan);
			cJSON_AddStringToObject(nic, "tap", tap);
			cJSON_AddItemToArray(nics, nic);
		}
	}
	return o;
}

static void sup_write_report(struct sup *s)
{
	unsigned total = 0, running = 0, failed = 0;
	char path[CONFIG_PATH_MAX + 32], summary[128], digest[64];
	cJSON *root = cJSON_CreateObject(), *list;
	unsigned long h = 5381;
	char *text;

	if (!root)
		return;
	if (s->has_generation)
		cJSON_AddNumberToObject(root, "vms_generation", (double)s->generation);
	else
		cJSON_AddNullToObject(root, "vms_generation");
	list = cJSON_AddArrayToObject(root, "vms");
	for (int i = 0; i < VMS_MAX; i++) {
		struct vm *vm = &s->vms[i];

		if (!vm->used)
			continue;
		cJSON_AddItemToArray(list, vm_report(vm));
		total++;
		running += vm->state == VM_RUNNING;
		failed += vm->state == VM_FAILED;
	}
	for (cJSON *e = s->invalid ? s->invalid->child : NULL; e; e = e->next) {
		cJSON_AddItemToArray(list, cJSON_Duplicate(e, 1));
		total++;
		failed++;
	}
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!text)
		return;
	for (const char *p = text; *p; p++)
		h = h * 33 + (unsigned char)*p;
	snprintf(digest, sizeof(digest), "%zu-%lx", strlen(text), h);
	if (strcmp(digest, s->last_actual) != 0) {
		snprintf(path, sizeof(path), "%s/vms.actual", s->run);
		if (state_write_file(path, text, strlen(text), 0600, 0) == 0)
			snprintf(s->last_actual, sizeof(s->last_actual), "%s", digest);
		snprintf(path, sizeof(path), "%s/vms.summary", s->run);
		snprintf(summary, sizeof(summary), "total=%u\nrunning=%u\nfailed=%u\n", total, running,
			 failed);
		state_write_file(path, summary, strlen(summary), 0644, 0);
	}
	free(text);
}

/* ---- the desired list ------------------------------------------------------------------ */

static struct vm *vm_find(struct sup *s, const char *name)
{
	for (int i = 0; i < VMS_MAX; i++)
		if (s->vms[i].used && strcmp(s->vms[i].want.name, name) == 0)
			return &s->vms[i];
	return NULL;
}

static struct vm *vm_new(struct sup *s, const char *name)
{
	for (int i = 0; i < VMS_MAX; i++) {
		struct vm *vm = &s->vms[i];

		if (vm->used)
			continue;
		memset(vm, 0, sizeof(*vm));
		vm->used = 1;
		vm->slot = i;
		vm->exit_code = -1;
		vm->started_at = -1;
		vm->fetch_err = vm->console = vm->console_in = vm->log = -1;
		snprintf(vm->want.name, sizeof(vm->want.name), "%s", name);
		vm->spec = vm->want;
		vm->state = VM_STOPPED;
		return vm;
	}
	return NULL; /* cannot happen: at most VMS_MAX entries are read */
}

static void sup_invalid(struct sup *s, int index, const char *err)
{
	cJSON *o = cJSON_CreateObject();
	char text[VM_ERROR_MAX];

	if (!o)
		return;
	snprintf(text, sizeof(text), "vms[%d].%s", index, err);
	cJSON_AddNullToObject(o, "name");
	cJSON_AddNullToObject(o, "uuid");
	cJSON_AddStringToObject(o, "state", "failed");
	cJSON_AddNumberToObject(o, "restarts", 0);
	cJSON_AddNullToObject(o, "exit_code");
	cJSON_AddStringToObject(o, "error", text);
	cJSON_AddNullToObject(o, "started_at");
	cJSON_AddArrayToObject(o, "devices");
	cJSON_AddItemToArray(s->invalid, o);
}

/* Applies one entry of the list to its VM. */
static void sup_apply_entry(struct sup *s, const cJSON *item, int index, const char *seen[])
{
	struct vm_spec spec;
	char err[VM_ERROR_MAX - 16];
	int ok = spec_parse(item, &s->limits, &spec, err, sizeof(err)) == 0;
	struct vm *vm;

	if (!spec.name[0]) {
		sup_invalid(s, index, err);
		return;
	}
	for (int i = 0; i < index; i++)
		if (seen[i] && strcmp(seen[i], spec.name) == 0) {
			snprintf(err, sizeof(err), "name: \"%s\" is used by vms[%d] already",
				 spec.name, i);
			sup_invalid(s, index, err);
			return;
		}
	vm = vm_find(s, spec.name);
	if (!vm && !(vm = vm_new(s, spec.name))) {
		/* Every slot is held, some by VMs still stopping: read the list again later. */
		s->incomplete = 1;
		return;
	}
	seen[index] = vm->want.name;
	vm->present = 1;
	if (!ok) {
		vm->valid = 0;
		vm_error(vm, "%s", err);
		snprintf(vm->want.uuid, sizeof(vm->want.uuid), "%s", spec.uuid);
		return;
	}
	if (!vm->valid || !spec_same_except_state(&vm->want, &spec) ||
	    (spec.running && !vm->want.running)) {
		vm->held = 0;          /* a new spec or a start: try again from scratch */
		vm->consecutive = 0;
		vm->error[0] = '\0';
	}
	vm->want = spec;
	vm->valid = 1;
}

static void drop_orphan(const char *path, const char *name, void *arg)
{
	if (vm_find(arg, name))
		return;
	sup_log("removing the disks of VM %s: no longer in the manager's list", name);
	remove_dir(path);
}

/* Disks in the pool of VMs the applied list no longer names (left from before a reboot). */
static void sup_drop_orphans(struct sup *s)
{
	char path[CONFIG_PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/vms", s->store);
	if (s->pool[0])
		for_each_vm_dir(path, drop_orphan, s);
}

static void sup_load_desired(struct sup *s)
{
	static char text[TEXT_MAX];
	const char *seen[VMS_MAX] = { 0 };
	char path[CONFIG_PATH_MAX + 32];
	cJSON *root, *list, *gen, *item;
	struct stat st;
	size_t len;
	int index = 0;

	snprintf(path, sizeof(path), "%s/vms.desired", s->run);
	if (stat(path, &st) < 0 || (st.st_ino == s->desired_st.st_ino &&
				    st.st_mtim.tv_sec == s->desired_st.st_mtim.tv_sec &&
				    st.st_mtim.tv_nsec == s->desired_st.st_mtim.tv_nsec &&
				    st.st_size == s->desired_st.st_size))
		return;
	s->desired_st = st;
	if (read_text(path, text, sizeof(text), &len) < 0)
		return;
	root = cJSON_ParseWithLength(text, len);
	gen = cJSON_GetObjectItemCaseSensitive(root, "vms_generation");
	list = cJSON_GetObjectItemCaseSensitive(root, "vms");
	if (!cJSON_IsNumber(gen) || !cJSON_IsArray(list) || cJSON_GetArraySize(list) > VMS_MAX) {
		sup_log("%s is not {vms_generation, vms}: ignored", path);
		cJSON_Delete(root);
		return;
	}
	for (int i = 0; i < VMS_MAX; i++)
		s->vms[i].present = 0;
	s->incomplete = 0;
	cJSON_Delete(s->invalid);
	s->invalid = cJSON_CreateArray();
	cJSON_ArrayForEach(item, list)
		sup_apply_entry(s, item, index++, seen);
	if (s->incomplete) {
		memset(&s->desired_st, 0, sizeof(s->desired_st)); /* again once a slot frees */
		sup_log("VM list generation %lld: more VMs than free slots; the rest waits",
			(long long)gen->valuedouble);
	} else {
		s->has_generation = 1;
		s->generation = (long long)gen->valuedouble;
		sup_drop_orphans(s);
	}
	sup_log("applying VM list generation %lld (%d entries)", (long long)gen->valuedouble, index);
	cJSON_Delete(root);
}

/* ---- the VMM's API ----------------------------------------------------------------------- */

/* One request to the VM's API socket; the answer line parsed, or NULL. The whole exchange
 * takes at most API_TIMEOUT_MS: a VMM (untrusted, it runs the guest) cannot stall the loop. */
static cJSON *api_call(const struct sup *s, const struct vm *vm, const char *request)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	double deadline = now_s() + API_TIMEOUT_MS / 1000.0;
	char line[4096];
	size_t n = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	cJSON *answer = NULL;

	if (fd < 0)
		return NULL;
	path_of(s, vm, "api.sock", addr.sun_path, sizeof(addr.sun_path));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
	    send(fd, request, strlen(request), MSG_NOSIGNAL) == (ssize_t)strlen(request)) {
		while (n + 1 < sizeof(line) && !memchr(line, '\n', n)) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			int left = (int)((deadline - now_s()) * 1000);
			ssize_t r;

			if (left <= 0 || poll(&p, 1, left) <= 0)
				break;
			r = recv(fd, line + n, sizeof(line) - 1 - n, 0);
			if (r <= 0)
				break;
			n += (size_t)r;
		}
		line[n] = '\0';
		if (memchr(line, '\n', n))
			answer = cJSON_Parse(line);
	}
	close(fd);
	return answer;
}

/* The VMM's counters, rebuilt from known fields only (it is untrusted): at most DEVICES_MAX
 * devices of {device, kind} short strings and {requests, bytes, errors} numbers. */
static cJSON *api_devices(const cJSON *counters)
{
	static const char *const names[] = { "requests", "bytes", "errors" };
	cJSON *out = cJSON_CreateArray(), *d;
	int n = 0;

	cJSON_ArrayForEach(d, counters) {
		cJSON *o;

		if (!out || n++ >= DEVICES_MAX || !cJSON_IsObject(d) || !(o = cJSON_CreateObject()))
			break;
		for (int k = 0; k < 2; k++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, k ? "kind" : "device");
			int printable = cJSON_IsString(v) && strlen(v->valuestring) < 32;

			for (const char *p = printable ? v->valuestring : ""; *p; p++)
				printable &= *p > ' ' && *p <= '~' && *p != '"' && *p != '\\';
			if (printable)
				cJSON_AddStringToObject(o, k ? "kind" : "device", v->valuestring);
		}
		for (int k = 0; k < 3; k++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, names[k]);

			if (cJSON_IsNumber(v) && v->valuedouble >= 0)
				cJSON_AddNumberToObject(o, names[k], v->valuedouble);
		}
		cJSON_AddItemToArray(out, o);
	}
	return out;
}

static void vm_poll_api(struct sup *s, struct vm *vm, double now)
{
	cJSON *status, *counters, *state;

	if (now < vm->next_api)
		return;
	vm->next_api = now + API_POLL_S;
	status = api_call(s, vm, "status\n");
	state = cJSON_GetObjectItemCaseSensitive(status, "state");
	if (cJSON_IsString(state) && vm->state == VM_STARTING &&
	    (!strcmp(state->valuestring, "running") || !strcmp(state->valuestring, "paused"))) {
		vm->state = VM_RUNNING;
		vm->error[0] = '\0';
		sup_log("vm %s: running (pid %ld, uid %u)", vm->spec.name, (long)vm->vmm,
			s->uid_base + (unsigned)vm->slot);
	}
	cJSON_Delete(status);
	counters = api_call(s, vm, "counters\n");
	if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(counters, "counters"))) {
		cJSON_Delete(vm->devices);
		vm->devices = api_devices(cJSON_GetObjectItemCaseSensitive(counters, "counters"));
	}
	cJSON_Delete(counters);
}

/* ---- the console ------------------------------------------------------------------------- */

static void console_open_log(struct sup *s, struct vm *vm)
{
	char path[CONFIG_PATH_MAX + 64];
	struct stat st;

	path_of(s, vm, "console.log", path, sizeof(path));
	vm->log = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	vm->log_size = vm->log >= 0 && fstat(vm->log, &st) == 0 ? st.st_size : 0;
}

/* Moves what the VMM wrote on its console into console.log; rotates at CONSOLE_LOG_MAX. */
static void console_drain(struct sup *s, struct vm *vm)
{
	char buf[16384], from[CONFIG_PATH_MAX + 64], to[CONFIG_PATH_MAX + 64];
	ssize_t n;

	while (vm->console >= 0 && (n = read(vm->console, buf, sizeof(buf))) > 0) {
		if (vm->log >= 0 && vm->log_size + n > CONSOLE_LOG_MAX) {
			close(vm->log);
			path_of(s, vm, "console.log", from, sizeof(from));
			path_of(s, vm, "console.log.1", to, sizeof(to));
			rename(from, to);
			console_open_log(s, vm);
		}
		if (vm->log >= 0 && write(vm->log, buf, (size_t)n) == n)
			vm->log_size += n;
	}
}

static void vm_close_console(struct sup *s, struct vm *vm)
{
	console_drain(s, vm);
	if (vm->console >= 0)
		close(vm->console);
	if (vm->console_in >= 0)
		close(vm->console_in);
	if (vm->log >= 0)
		close(vm->log);
	vm->console = vm->console_in = vm->log = -1;
}

/* ---- preparing: images and disks, in a child ------------------------------------------- */

static uint64_t vm_disk_bytes(const struct vm_spec *spec)
{
	uint64_t total = 0;

	for (int i = 0; i < spec->n_disks; i++)
		total += spec->disks[i].has_image ? spec->disks[i].image.size_bytes
						  : spec->disks[i].size_bytes;
	return total;
}

/* Bytes of the regular files in DIR (the image cache). */
static uint64_t dir_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;
	uint64_t total = 0;

	while (d && (e = readdir(d)))
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			total += (uint64_t)st.st_size;
	if (d)
		closedir(d);
	return total;
}

struct disk_sum {
	const char *skip;          /* the VM whose disks are counted apart */
	uint64_t total;
};

static void add_disk_dir(const char *path, const char *name, void *arg)
{
	struct disk_sum *sum = arg;

	if (strcmp(name, sum->skip))
		sum->total += dir_bytes(path);
}

/* Bytes in the disk directories of every VM but VM (apparent sizes: a sparse disk may fill up,
 * persistent disks of stopped VMs included). */
static uint64_t other_disks_bytes(const struct sup *s, const struct vm *vm)
{
	struct disk_sum sum = { .skip = vm->spec.name };
	char path[CONFIG_PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/vms", s->store);
	for_each_vm_dir(path, add_disk_dir, &sum);
	return sum.total;
}

static uint64_t image_missing(const struct sup *s, const struct vm_image *img)
{
	char path[CONFIG_PATH_MAX + 80];
	struct stat st;

	snprintf(path, sizeof(path), "%s/images/%s", s->store, img->sha256);
	return stat(path, &st) == 0 ? 0 : img->size_bytes;
}

/* vm_nics_unsupported: 1 (with the VM's error set) when a NIC cannot be: the node has no VM
 * bridge, or its MAC is the node's own, another NIC's of this VM, or one of another VM on this
 * node; else 0. */
static int vm_nics_unsupported(const struct sup *s, struct vm *vm)
{
	struct vmnet_nic n;
	char other[18];

	for (int i = 0; i < vm->spec.n_nics; i++) {
		if (vm_nic(s, vm, i, &n)) {
			vm_error(vm, "nics: this node has no VM bridge (no Ethernet NIC at boot, or its "
				 "bridge filters could not be set; see the node's console)");
			return 1;
		}
		if (!strcasecmp(n.node_mac, n.mac_text)) {
			vm_error(vm, "nics[%d].mac: %s is the node's own MAC", i, n.mac_text);
			return 1;
		}
		for (int k = 0; k < i; k++) {
			nic_mac(&vm->spec, k, other);
			if (!strcmp(other, n.mac_text)) {
				vm_error(vm, "nics[%d].mac: %s is the MAC of nics[%d] too", i, n.mac_text, k);
				return 1;
			}
		}
		for (int j = 0; j < VMS_MAX; j++) {
			const struct vm *o = &s->vms[j];

			for (int k = 0; o != vm && o->used && o->prepared && k < o->spec.n_nics; k++) {
				nic_mac(&o->spec, k, other);
				if (!strcmp(other, n.mac_text)) {
					vm_error(vm, "nics[%d].mac: %s is the MAC of VM %s on this node", i,
						 n.mac_text, o->spec.name);
					return 1;
				}
			}
		}
	}
	return 0;
}

/* What the spec needs that this node cannot give; 0 when nothing. Without a storage pool the
 * image cache and every VM's disks share /run (tmpfs, a quarter of the node's memory): the
 * disks of VMs prepared or being prepared, the cache, and what this VM adds must fit in it,
 * less RUN_RESERVE for the node's own state. */
static int vm_unsupported(struct sup *s, struct vm *vm)
{
	char cache[CONFIG_PATH_MAX + 16];
	struct statvfs fs;
	uint64_t committed, need, room;

	for (int i = 0; i < vm->spec.n_disks && !s->pool[0]; i++)
		if (vm->spec.disks[i].persistent) {
			vm_error(vm, "disks[%d]: a persistent disk needs the storage pool (a filesystem "
				 "labelled HVNODE_POOL); this node has none", i);
			return 1;
		}
	if (vm_nics_unsupported(s, vm))
		return 1;
	if (statvfs(s->store, &fs) < 0)
		return 0;
	snprintf(cache, sizeof(cache), "%s/images", s->store);
	committed = dir_bytes(cache) + other_disks_bytes(s, vm);
	for (int i = 0; i < VMS_MAX; i++) /* being prepared: their files may not be there yet */
		if (s->vms[i].used && &s->vms[i] != vm && s->vms[i].fetcher > 0)
			committed += vm_disk_bytes(&s->vms[i].spec);
	need = vm_disk_bytes(&vm->spec) + image_missing(s, &vm->spec.kernel) +
	       (vm->spec.has_initrd ? image_missing(s, &vm->spec.initrd) : 0);
	for (int i = 0; i < vm->spec.n_disks; i++)
		if (vm->spec.disks[i].has_image)
			need += image_missing(s, &vm->spec.disks[i].image);
	/* Without the blocks only root may use (ext4's reserve): the VMMs write as their uids. */
	room = (uint64_t)(fs.f_blocks - (fs.f_bfree - fs.f_bavail)) * fs.f_frsize;
	room = room > RUN_RESERVE ? room - RUN_RESERVE : 0;
	if (committed + need > room) {
		vm_error(vm, "disks and images: %llu MiB do not fit in the %llu MiB %s (%llu MiB in use)",
			 (unsigned long long)(need >> 20), (unsigned long long)(room >> 20),
			 s->pool[0] ? "of the storage pool" : "of RAM for VM disks without a storage pool",
			 (unsigned long long)(committed >> 20));
		return 1;
	}
	return 0;
}

/* Bytes a decompressed disk may take: what the store has free, less RUN_RESERVE. */
static uint64_t disk_room(const struct sup *s)
{
	struct statvfs fs;
	uint64_t free_bytes;

	if (statvfs(s->store, &fs) < 0)
		return 0;
	free_bytes = (uint64_t)fs.f_bavail * fs.f_frsize;
	return free_bytes > RUN_RESERVE ? free_bytes - RUN_RESERVE : 0;
}

/* What a persistent disk was made from, kept beside it as NAME.meta: a disk is reused only for
 * the same VM (uuid) and the same source. */
static void disk_meta(const struct vm *vm, const struct vm_disk *d, char *out, size_t outlen)
{
	if (d->has_image)
		snprintf(out, outlen, "uuid=%s\nsource=image %s %llu\n", vm->spec.uuid, d->image.sha256,
			 (unsigned long long)d->image.size_bytes);
	else
		snprintf(out, outlen, "uuid=%s\nsource=blank %llu\n", vm->spec.uuid,
			 (unsigned long long)d->size_bytes);
}

/* Makes disk I of VM: a persistent disk that exists with the same meta is kept as it is. */
static int prepare_disk(struct sup *s, const struct vm *vm, int i, char *err, size_t errlen)
{
	const struct vm_disk *d = &vm->spec.disks[i];
	char disk[CONFIG_PATH_MAX + 96], meta_path[CONFIG_PATH_MAX + 96], image[CONFIG_PATH_MAX + 96];
	char meta[200], old[200] = "", why[VM_ERROR_MAX];
	uid_t uid = s->uid_base + (unsigned)vm->slot;
	size_t len = 0;
	struct stat st;
	int fd;

	disk_path(s, vm, i, "img", disk, sizeof(disk));
	disk_path(s, vm, i, "meta", meta_path, sizeof(meta_path));
	disk_meta(vm, d, meta, sizeof(meta));
	if (d->persistent && read_text(meta_path, old, sizeof(old), &len) == 0 && !strcmp(old, meta) &&
	    stat(disk, &st) == 0 && S_ISREG(st.st_mode))
		goto own; /* the same disk as before the restart or reboot: its data stays */
	unlink(meta_path);
	if (d->has_image) {
		snprintf(image, sizeof(image), "%s/images/%s", s->store, d->image.sha256);
		if (disk_from_image(s->busybox, image, disk, disk_room(s), why, sizeof(why)))
			return snprintf(err, errlen, "disks[%d].image: %.200s", i, why), -1;
	} else {
		fd = open(disk, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0 || ftruncate(fd, (off_t)d->size_bytes) < 0 || (s->pool[0] && fsync(fd) < 0))
			return snprintf(err, errlen, "disks[%d]: unable to create its file: %.64s", i,
					strerror(errno)), -1;
		close(fd);
	}
	if (d->persistent && state_write_file(meta_path, meta, strlen(meta), 0600, 1) < 0)
		return snprintf(err, errlen, "disks[%d]: unable to write its .meta", i), -1;
own:
	if (chown(disk, uid, uid) < 0 || chmod(disk, 0600) < 0)
		return snprintf(err, errlen, "disks[%d]: unable to give its file to uid %u: %.64s", i,
				(unsigned)uid, strerror(errno)), -1;
	return 0;
}

/* A file of the VM's disk directory that none of its spec's disks names (NAME.img, NAME.meta). */
static int drop_unclaimed(int dfd, const char *file, const void *arg)
{
	const struct vm *vm = arg;
	size_t n = strcspn(file, ".");
	char name[40];

	(void)dfd;
	for (int i = 0; i < vm->spec.n_disks; i++) {
		disk_name(vm, i, name, sizeof(name));
		if (strlen(name) == n && !strncmp(file, name, n) &&
		    (!strcmp(file + n, ".img") || !strcmp(file + n, ".meta")))
			return 0;
	}
	return file[0] != '.';
}

/* The child's work: images into the cache, then the VM's disks. Returns 0 or -1 with ERR. */
static int prepare(struct sup *s, const struct vm *vm, char *err, size_t errlen)
{
	const struct vm_spec *sp = &vm->spec;
	char cache[CONFIG_PATH_MAX + 16], path[CONFIG_PATH_MAX + 64], what[32];

	snprintf(cache, sizeof(cache), "%s/images", s->store);
	if (fetch_image(&s->cfg, cache, &sp->kernel, "kernel", err, errlen) ||
	    (sp->has_initrd && fetch_image(&s->cfg, cache, &sp->initrd, "initrd", err, errlen)))
		return -1;
	for (int i = 0; i < sp->n_disks; i++) {
		snprintf(what, sizeof(what), "disks[%d]", i);
		if (sp->disks[i].has_image &&
		    fetch_image(&s->cfg, cache, &sp->disks[i].image, what, err, errlen))
			return -1;
	}
	for (int i = 0; i < sp->n_disks; i++)
		if (prepare_disk(s, vm, i, err, errlen))
			return -1;
	disk_dir(s, vm, path, sizeof(path));
	remove_files(path, drop_unclaimed, vm); /* the disks the manager took out of the spec */
	return 0;
}

static void vm_start_fetch(struct sup *s, struct vm *vm)
{
	char dir[CONFIG_PATH_MAX + 48];
	int p[2];
	pid_t pid;

	for (int k = 0; k < 2; k++) {
		if (k == 0)
			path_of(s, vm, "", dir, sizeof(dir));
		else
			disk_dir(s, vm, dir, sizeof(dir));
		if ((mkdir(dir, 0700) < 0 && errno != EEXIST) || chmod(dir, 0700) < 0) {
			vm_error(vm, "unable to create %s: %s", dir, strerror(errno));
			vm->held = 1;
			vm->state = VM_FAILED;
			return;
		}
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		vm_error(vm, "unable to make a pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		char err[VM_ERROR_MAX];

		close(p[0]);
		setpgid(0, 0);
		signal(SIGTERM, SIG_DFL);
		/* Dies with the supervisor: a respawned one must not race it on the same files. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1)
			_exit(1);
		if (prepare(s, vm, err, sizeof(err)) == 0)
			_exit(0);
		if (write(p[1], err, strlen(err)) < 0)
			_exit(2);
		_exit(1);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		vm_error(vm, "unable to fork: %s", strerror(errno));
		return;
	}
	setpgid(pid, pid); /* also here: no race with the kill of its group */
	vm->fetcher = pid;
	vm->fetch_err = p[0];
	vm->fetch_cancelled = 0;
	vm->state = VM_FETCHING;
	sup_log("vm %s: fetching images and preparing %d disk(s)", vm->spec.name, vm->spec.n_disks);
}

/* A partial download (.part-SHA256-PID), of the fetcher whose "-PID" is ARG (any when NULL). */
static int drop_partial(int dfd, const char *name, const void *arg)
{
	const char *suffix = arg;
	size_t n = strlen(name), k = suffix ? strlen(suffix) : 0;

	(void)dfd;
	return !strncmp(name, ".part-", 6) && n > k && !strcmp(name + n - k, suffix ? suffix : "");
}

/* Deletes what a fetcher that did not succeed left: its partial downloads and the disks. */
static void fetch_cleanup(struct sup *s, struct vm *vm, pid_t pid)
{
	char path[CONFIG_PATH_MAX + 64], suffix[32];

	snprintf(path, sizeof(path), "%s/images", s->store);
	snprintf(suffix, sizeof(suffix), "-%ld", (long)pid);
	remove_files(path, drop_partial, suffix);
	disk_dir(s, vm, path, sizeof(path));
	remove_volatile_disks(path);
}

static void vm_fetch_ended(struct sup *s, struct vm *vm, pid_t pid, int status)
{
	char err[VM_ERROR_MAX] = "";
	ssize_t n = read(vm->fetch_err, err, sizeof(err) - 1);

	close(vm->fetch_err);
	vm->fetch_err = -1;
	vm->fetcher = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !vm->fetch_cancelled) {
		vm->prepared = 1;
		return;
	}
	fetch_cleanup(s, vm, pid);
	if (vm->fetch_cancelled) {
		vm->fetch_cancelled = 0;
		vm->state = VM_STOPPED; /* vm_converge takes it from here, with the new spec */
		return;
	}
	if (n > 0)
		err[n] = '\0';
	else
		snprintf(err, sizeof(err), "preparing the VM ended with status %d", status);
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < ' ' || (unsigned char)*p > '~')
			*p = '?';
	vm_error(vm, "%s", err);
	vm->held = 1;
	vm->state = VM_FAILED;
	sup_log("vm %s: %s", vm->spec.name, err);
}

/* ---- starting and stopping the VMM ------------------------------------------------------- */

static int vm_cgroup(struct sup *s, struct vm *vm)
{
	char dir[CONFIG_PATH_MAX + 48], path[CONFIG_PATH_MAX + 80], val[64];
	static const char *const files[] = { "memory.max", "cpu.max", "pids.max" };
	unsigned long long mem = ((unsigned long long)vm->spec.memory_mib + VMM_OVERHEAD_MIB) << 20;
	int rc;

	cgroup_of(s, vm->spec.name, dir, sizeof(dir));
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return vm_error(vm, "cgroup %s: %s", dir, strerror(errno)), -1;
	for (int i = 0; i < 3; i++) {
		if (i == 0)
			snprintf(val, sizeof(val), "%llu", mem);
		else if (i == 1)
			snprintf(val, sizeof(val), "%u 100000", vm->spec.vcpus * 100000u);
		else
			snprintf(val, sizeof(val), "%u", vm->spec.vcpus + 16);
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if ((rc = write_text(path, val)) < 0)
			return vm_error(vm, "cgroup %s = %s: %s", path, val, strerror(-rc)), -1;
	}
	return 0;
}

/* Closes every descriptor from FIRST up (close_range, Linux 5.9; a loop otherwise). */
static void close_from(int first)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)first, ~0u, 0u) == 0)
		return;
#endif
	for (int fd = first; fd < 4096; fd++)
		close(fd);
}

static void vm_spawn(struct sup *s, struct vm *vm, double now)
{
	char kernel[CONFIG_PATH_MAX + 96], initrd[CONFIG_PATH_MAX + 96], api[CONFIG_PATH_MAX + 64];
	char disks[VM_DISKS_MAX][CONFIG_PATH_MAX + 96], cpus[16], mem[24], user[32];
	char procs[CONFIG_PATH_MAX + 80], vmmlog[CONFIG_PATH_MAX + 64], net[VM_NICS_MAX][48];
	char *argv[64], *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	unsigned uid = s->uid_base + (unsigned)vm->slot;
	int out[2], in[2], errfd, argc = 0;
	struct stat st;
	pid_t pid;

	if (vm_cgroup(s, vm)) {
		vm->held = 1;
		vm->state = VM_FAILED;
		return;
	}
	for (int i = 0; i < vm->spec.n_nics; i++) {
		struct vmnet_nic n;
		char err[VM_ERROR_MAX - 32];

		vm_nic(s, vm, i, &n);
		vmnet_detach(&n); /* what an earlier VMM of this slot left */
		if (vmnet_attach(&n, err, sizeof(err))) {
			vm_error(vm, "nics[%d]: %s", i, err);
			sup_log("vm %s: %s", vm->spec.name, vm->error);
			vm_detach_nics(s, vm);
			vm->held = 1;
			vm->state = VM_FAILED;
			return;
		}
		snprintf(net[i], sizeof(net[i]), "tap=%s,mac=%s", n.tap, n.mac_text);
	}
	snprintf(kernel, sizeof(kernel), "%s/images/%s", s->store, vm->spec.kernel.sha256);
	snprintf(initrd, sizeof(initrd), "%s/images/%s", s->store, vm->spec.initrd.sha256);
	path_of(s, vm, "api.sock", api, sizeof(api));
	path_of(s, vm, "vmm.log", vmmlog, sizeof(vmmlog));
	snprintf(cpus, sizeof(cpus), "%u", vm->spec.vcpus);
	snprintf(mem, sizeof(mem), "%uM", vm->spec.memory_mib);
	snprintf(user, sizeof(user), "%u:%u", uid, uid);
	cgroup_of(s, vm->spec.name, procs, sizeof(procs) - 16);
	strcat(procs, "/cgroup.procs");
	argv[argc++] = "hvnode-vmm";
	argv[argc++] = "--name", argv[argc++] = vm->spec.name;
	argv[argc++] = "--kernel", argv[argc++] = kernel;
	if (vm->spec.has_initrd)
		argv[argc++] = "--initrd", argv[argc++] = initrd;
	argv[argc++] = "--cpus", argv[argc++] = cpus;
	argv[argc++] = "--mem", argv[argc++] = mem;
	argv[argc++] = "--cmdline", argv[argc++] = vm->spec.cmdline;
	for (int i = 0; i < vm->spec.n_disks; i++) {
		disk_path(s, vm, i, "img", disks[i], sizeof(disks[i]) - 4);
		if (vm->spec.disks[i].readonly)
			strcat(disks[i], ",ro");
		argv[argc++] = "--disk", argv[argc++] = disks[i];
	}
	for (int i = 0; i < vm->spec.n_nics; i++)
		argv[argc++] = "--net", argv[argc++] = net[i];
	argv[argc++] = "--rng";
	argv[argc++] = "--api-socket", argv[argc++] = api;
	argv[argc++] = "--console", argv[argc++] = "stdio";
	argv[argc++] = "--user", argv[argc++] = user;
	argv[argc] = NULL;
	unlink(api);
	if (stat(vmmlog, &st) == 0 && st.st_size > VMM_LOG_MAX)
		unlink(vmmlog);
	errfd = open(vmmlog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (errfd < 0 || pipe2(out, O_CLOEXEC) < 0) {
		vm_error(vm, "unable to open %s: %s", vmmlog, strerror(errno));
		if (errfd >= 0)
			close(errfd);
		vm_detach_nics(s, vm);
		return;
	}
	if (pipe2(in, O_CLOEXEC) < 0) {
		close(out[0]), close(out[1]), close(errfd);
		vm_error(vm, "unable to make a pipe: %s", strerror(errno));
		vm_detach_nics(s, vm);
		return;
	}
	pid = fork();
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		setsid();
		if (write_text(procs, "0") < 0) {
			dprintf(errfd, "hvnode-supervisor: unable to join %s: %s\n", procs,
				strerror(errno));
			_exit(111);
		}
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(errfd, 2) < 0)
			_exit(111);
		close_from(3); /* nothing of the supervisor's reaches the VMM */
		execve(s->vmm, argv, envp);
		dprintf(2, "hvnode-supervisor: unable to run %s: %s\n", s->vmm, strerror(errno));
		_exit(111);
	}
	close(in[0]);
	close(out[1]);
	close(errfd);
	if (pid < 0) {
		close(in[1]), close(out[0]);
		vm_error(vm, "unable to fork: %s", strerror(errno));
		vm_detach_nics(s, vm);
		return;
	}
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	vm->console = out[0];
	vm->console_in = in[1];
	console_open_log(s, vm);
	vm->vmm = pid;
	vm->state = VM_STARTING;
	vm->started_at = now;
	vm->next_api = now + 0.5;
	vm->stopping = 0;
	sup_log("vm %s: started hvnode-vmm (pid %ld, uid %u, %u vCPU, %u MiB)", vm->spec.name,
		(long)pid, uid, vm->spec.vcpus, vm->spec.memory_mib);
}

static void vm_request_stop(struct sup *s, struct vm *vm, double now)
{
	cJSON *answer = vm->state == VM_RUNNING ? api_call(s, vm, "shutdown\n") : NULL;
	cJSON *ok = cJSON_GetObjectItemCaseSensitive(answer, "ok");

	vm->stopping = 1;
	vm->state = VM_STOPPING;
	if (cJSON_IsTrue(ok)) {
		vm->stop_deadline = now + s->stop_timeout_s;
		sup_log("vm %s: asked the guest to shut down (forced after %u s)", vm->spec.name,
			s->stop_timeout_s);
	} else {
		vm->stop_deadline = now;
		sup_log("vm %s: the VMM API did not take the shutdown request: stopping it",
			vm->spec.name);
	}
	cJSON_Delete(answer);
}

static void vm_vmm_ended(struct vm *vm, int status, double now)
{
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	int restart = 0;
	unsigned delay;

	vm->vmm = 0;
	vm->exit_code = code;
	cJSON_Delete(vm->devices);
	vm->devices = NULL;
	if (vm->stopping) {
		vm->stopping = 0;
		vm->state = VM_STOPPED;
		sup_log("vm %s: stopped (exit code %d)", vm->spec.name, code);
		return;
	}
	if (now - vm->started_at >= RESTART_RESET_S)
		vm->consecutive = 0;
	if (vm->spec.restart == RESTART_ALWAYS)
		restart = 1;
	else if (vm->spec.restart == RESTART_ON_FAILURE)
		restart = code != 0;
	if (!restart) {
		vm->held = 1;
		vm->state = code == 0 ? VM_STOPPED : VM_FAILED;
		if (code)
			vm_error(vm, "the VMM exited with code %d (restart: %s)", code,
				 vm->spec.restart == RESTART_NEVER ? "never" : "on-failure");
		sup_log("vm %s: the VMM exited with code %d; not restarted", vm->spec.name, code);
		return;
	}
	vm->restarts++;
	vm->consecutive++;
	delay = vm->consecutive >= 7 ? RESTART_MAX_DELAY_S : 1u << (vm->consecutive - 1);
	if (delay > RESTART_MAX_DELAY_S)
		delay = RESTART_MAX_DELAY_S;
	vm->next_start = now + delay;
	vm->state = VM_STARTING;
	vm_error(vm, "the VMM exited with code %d; restart %u in %u s", code, vm->restarts, delay);
	sup_log("vm %s: %s", vm->spec.name, vm->error);
}

static void vm_remove(struct sup *s, struct vm *vm)
{
	char path[CONFIG_PATH_MAX + 48];

	vm_detach_nics(s, vm);
	cgroup_of(s, vm->spec.name, path, sizeof(path));
	cgroup_remove(path);
	path_of(s, vm, "", path, sizeof(path));
	remove_dir(path);
	disk_dir(s, vm, path, sizeof(path));
	remove_dir(path); /* persistent disks too: the VM left the manager's list */
	sup_log("vm %s: removed", vm->want.name);
	cJSON_Delete(vm->devices);
	memset(vm, 0, sizeof(*vm));
	if (s->incomplete)
		memset(&s->desired_st, 0, sizeof(s->desired_st));
}

/* One step towards the desired state for VM. */
static void vm_converge(struct sup *s, struct vm *vm, double now)
{
	int run = vm->present && vm->valid && vm->want.running;
	int changed = vm->valid && !spec_same_except_state(&vm->spec, &vm->want);

	if (vm->vmm > 0) {
		if ((!run || changed) && !vm->stopping)
			vm_request_stop(s, vm, now);
		if (vm->stopping && now >= vm->stop_deadline) {
			kill(vm->vmm, SIGKILL);
			vm->stop_deadline = now + 5;
		}
		if (vm->state == VM_STARTING || vm->state == VM_RUNNING)
			vm_poll_api(s, vm, now);
		return;
	}
	if (vm->fetcher > 0) {
		if ((!run || changed) && !vm->fetch_cancelled) {
			vm->fetch_cancelled = 1;
			kill(-vm->fetcher, SIGKILL); /* its group: a decompressor too */
		}
		return;
	}
	if (!vm->present) {
		vm_remove(s, vm);
		return;
	}
	if (!vm->valid) {
		vm->state = VM_FAILED;
		return;
	}
	if (changed || !vm->spec.name[0]) {
		vm->spec = vm->want; /* prepare() remakes the disks; a persistent one of the same
				      * source is kept */
		vm->prepared = 0;
	}
	vm->spec.running = vm->want.running;
	if (!vm->want.running) {
		vm->state = VM_STOPPED;
		return;
	}
	if (vm->held)
		return;
	if (!vm->prepared) {
		if (vm_unsupported(s, vm)) {
			vm->held = 1;
			vm->state = VM_FAILED;
			sup_log("vm %s: %s", vm->spec.name, vm->error);
			return;
		}
		vm_start_fetch(s, vm);
		return;
	}
	vm->state = VM_STARTING;
	if (now >= vm->next_start)
		vm_spawn(s, vm, now);
}

static void sup_reap(struct sup *s, double now)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (int i = 0; i < VMS_MAX; i++) {
			struct vm *vm = &s->vms[i];

			if (!vm->used)
				continue;
			if (vm->vmm == pid) {
				vm_close_console(s, vm);
				vm_vmm_ended(vm, status, now);
				vm_detach_nics(s, vm);
			} else if (vm->fetcher == pid) {
				vm_fetch_ended(s, vm, pid, status);
			}
		}
}

/* ---- start ------------------------------------------------------------------------------- */

static void sup_limits(struct sup *s)
{
	char text[8192], *p;
	size_t len;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	s->limits.cpus = cpus > 0 ? (unsigned)cpus : 1;
	if (read_text("/proc/meminfo", text, sizeof(text), &len) == 0 &&
	    (p = strstr(text, "MemTotal:")))
		s->limits.memory_mib = strtoull(p + 9, NULL, 10) >> 10;
}

static void end_left_vm(const char *path, const char *name, void *arg)
{
	(void)arg;
	sup_log("ending VM %s left by an earlier supervisor", name);
	cgroup_remove(path);
}

static void remove_vm_dir(const char *path, const char *name, void *arg)
{
	(void)name, (void)arg;
	remove_dir(path);
}

static void remove_vm_volatile(const char *path, const char *name, void *arg)
{
	(void)name, (void)arg;
	remove_volatile_disks(path);
}

/* A clean slate: VMMs a previous supervisor left are ended, their directories removed; in
 * the pool only persistent disks stay (until their VM leaves the manager's list). */
static int sup_prepare_dirs(struct sup *s)
{
	static const char *const subdirs[] = { "", "/images", "/vms" };
	const char *const tops[] = { s->run, s->store };
	char path[CONFIG_PATH_MAX + 64];

	for (int t = 0; t < 2; t++)
		for (int i = 0; i < 3; i++) {
			snprintf(path, sizeof(path), "%s%s", tops[t], subdirs[i]);
			if (mkdir(path, i ? 0700 : 0755) < 0 && errno != EEXIST) {
				sup_log("unable to create %s: %s", path, strerror(errno));
				return -1;
			}
		}
	snprintf(path, sizeof(path), "%s/hvnode-vms", s->cgroup_root);
	for_each_vm_dir(path, end_left_vm, NULL);
	snprintf(path, sizeof(path), "%s/vms", s->run);
	for_each_vm_dir(path, remove_vm_dir, NULL);
	snprintf(path, sizeof(path), "%s/vms", s->store);
	if (s->pool[0])
		for_each_vm_dir(path, remove_vm_volatile, NULL);
	snprintf(path, sizeof(path), "%s/images", s->store);
	remove_files(path, drop_partial, NULL);
	snprintf(path, sizeof(path), "%s/network", s->run);
	if (access(path, F_OK) == 0 && access("/sys/class/net", F_OK) == 0) {
		int taps = vmnet_reset(s->ebtables, "/sys/class/net");

		if (taps)
			sup_log("removed %d VM taps left by an earlier supervisor", taps);
	}
	/* Controllers for the VM groups: in the root's subtree, then in hvnode-vms'. */
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", s->cgroup_root);
	if (write_text(path, "+cpu +memory +pids") < 0)
		sup_log("unable to enable the cpu, memory and pids controllers in %s: %s", path,
			strerror(errno));
	snprintf(path, sizeof(path), "%s/hvnode-vms", s->cgroup_root);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		sup_log("unable to create %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/hvnode-vms/cgroup.subtree_control", s->cgroup_root);
	if (write_text(path, "+cpu +memory +pids") < 0)
		sup_log("unable to enable the cpu, memory and pids controllers in %s: %s", path,
			strerror(errno));
	return 0;
}

static void sup_load_config(struct sup *s)
{
	/* The agent's sources and rules (config_load_node). */
	config_load_node(&s->cfg, s->cmdline, s->run, s->persist);
}

static volatile sig_atomic_t sup_term;
static void sup_on_term(int sig)
{
	(void)sig;
	sup_term = 1;
}

/* On SIGTERM (the node shuts down): every guest is asked to shut down, and the VMMs still
 * running after --stop-timeout-s are killed, so disks in the pool are left as the guests
 * wrote them. */
static void sup_shutdown(struct sup *s)
{
	double deadline = now_s() + s->stop_timeout_s;
	int left;

	sup_log("terminating: asking every guest to shut down (%u s at most)", s->stop_timeout_s);
	for (int i = 0; i < VMS_MAX; i++) {
		struct vm *vm = &s->vms[i];

		if (vm->used && vm->fetcher > 0)
			kill(-vm->fetcher, SIGKILL);
		if (vm->used && vm->vmm > 0 && !vm->stopping)
			vm_request_stop(s, vm, now_s());
	}
	do {
		left = 0;
		for (int i = 0; i < VMS_MAX; i++)
			if (s->vms[i].used) {
				console_drain(s, &s->vms[i]);
				left += s->vms[i].vmm > 0;
				if (s->vms[i].vmm > 0 && (now_s() >= deadline ||
							  now_s() >= s->vms[i].stop_deadline))
					kill(s->vms[i].vmm, SIGKILL);
			}
		if (left)
			poll(NULL, 0, TICK_MS);
		sup_reap(s, now_s());
	} while (left);
	sup_write_report(s);
}

static int sup_run(struct sup *s)
{
	struct pollfd fds[VMS_MAX];

	if (sup_prepare_dirs(s))
		return EXIT_SYSTEM;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		sup_log("unable to initialise libcurl");
		return EXIT_SYSTEM;
	}
	sup_limits(s);
	sup_load_config(s);
	s->invalid = cJSON_CreateArray();
	sup_log("ready: %u CPUs, %llu MiB; VMs run as uid %u-%u; disks and images in %s%s",
		s->limits.cpus, (unsigned long long)s->limits.memory_mib, s->uid_base,
		s->uid_base + VMS_MAX - 1, s->store, s->pool[0] ? " (storage pool)" : " (RAM)");
	sup_write_report(s);
	while (!sup_term) {
		double now = now_s();
		int n = 0;

		sup_load_desired(s);
		for (int i = 0; i < VMS_MAX; i++)
			if (s->vms[i].used)
				vm_converge(s, &s->vms[i], now);
		sup_write_report(s);
		for (int i = 0; i < VMS_MAX; i++)
			if (s->vms[i].used && s->vms[i].console >= 0)
				fds[n++] = (struct pollfd){ .fd = s->vms[i].console, .events = POLLIN };
		poll(fds, (nfds_t)n, TICK_MS);
		for (int i = 0; i < VMS_MAX; i++)
			if (s->vms[i].used)
				console_drain(s, &s->vms[i]);
		sup_reap(s, now_s());
	}
	sup_shutdown(s);
	return 0;
}

/* A decimal number in [MIN, MAX]. */
static int parse_number(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return *s < '0' || *s > '9' || *end || errno || *out < min || *out > max ? -1 : 0;
}

static int usage(const char *why, const char *arg)
{
	fprintf(stderr, "hvnode-supervisor: %s: %s\nusage: hvnode-supervisor [--run-dir DIR] "
			"[--cmdline FILE] [--persist-dir DIR] [--pool DIR] [--vmm PATH] [--cgroup-root DIR] [--uid-base N] "
			"[--busybox PATH] [--stop-timeout-s N] | --version\n", why, arg);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static struct sup sup;
	struct sup *s = &sup;

	/* 0, 1 and 2 open, so no pipe made later takes one of them. */
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, sup_on_term);
	setvbuf(stderr, NULL, _IOLBF, 0);
	snprintf(s->run, sizeof(s->run), "/run/hvnode");
	snprintf(s->cmdline, sizeof(s->cmdline), "/proc/cmdline");
	snprintf(s->vmm, sizeof(s->vmm), "/usr/sbin/hvnode-vmm");
	snprintf(s->cgroup_root, sizeof(s->cgroup_root), "/sys/fs/cgroup");
	snprintf(s->busybox, sizeof(s->busybox), "/bin/busybox");
	s->uid_base = 20000;
	s->stop_timeout_s = 40;
	snprintf(s->ebtables, sizeof(s->ebtables), "/usr/sbin/ebtables");
	snprintf(s->bridge_cmd, sizeof(s->bridge_cmd), "/usr/sbin/bridge");
	if (state_mounted("", "/mnt/config"))
		snprintf(s->persist, sizeof(s->persist), "/mnt/config");
	if (state_mounted("", "/var/lib/hvnode/pool"))
		snprintf(s->pool, sizeof(s->pool), "/var/lib/hvnode/pool");
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		char *dst = NULL;
		unsigned long n;

		if (!strcmp(arg, "--version")) {
			printf("hvnode-supervisor %s (%s, cJSON %s)\n", HVNODE_VERSION, curl_version(),
			       cJSON_Version());
			return 0;
		}
		if (!val)
			return usage(strncmp(arg, "--", 2) ? "unknown argument" : "option needs a value",
				     arg);
		if (!strcmp(arg, "--run-dir"))
			dst = s->run;
		else if (!strcmp(arg, "--cmdline"))
			dst = s->cmdline;
		else if (!strcmp(arg, "--vmm"))
			dst = s->vmm;
		else if (!strcmp(arg, "--cgroup-root"))
			dst = s->cgroup_root;
		else if (!strcmp(arg, "--busybox"))
			dst = s->busybox;
		else if (!strcmp(arg, "--persist-dir"))
			dst = s->persist;
		else if (!strcmp(arg, "--pool"))
			dst = s->pool;
		if (dst) {
			if (strlen(val) >= CONFIG_PATH_MAX || !val[0])
				return usage("path empty or too long", arg);
			snprintf(dst, CONFIG_PATH_MAX, "%s", val);
		} else if (!strcmp(arg, "--uid-base")) {
			if (parse_number(val, 1000, 4000000000ul, &n))
				return usage("--uid-base: expected a number from 1000 to 4000000000", val);
			s->uid_base = (unsigned)n;
		} else if (!strcmp(arg, "--stop-timeout-s")) {
			if (parse_number(val, 1, 3600, &n))
				return usage("--stop-timeout-s: expected 1 to 3600 (seconds)", val);
			s->stop_timeout_s = (unsigned)n;
		} else {
			return usage("unknown option", arg);
		}
		i++;
	}
	memcpy(s->store, s->pool[0] ? s->pool : s->run, sizeof(s->store));
	return sup_run(s);
}
