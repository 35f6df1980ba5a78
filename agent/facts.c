/* hvnode-agent: the node's facts, as the JSON body of POST /api/v1/nodes and of a heartbeat
 * (agent/PROTOCOL.md). Read from sysfs and procfs under env->root ("" on the node; a fake
 * tree in the unit tests): /sys/class/dmi/id, /sys/class/net, /sys/block, /proc/cpuinfo,
 * /proc/meminfo, /proc/sys/kernel/osrelease, /etc/hvnode/release, /run/hvnode/network,
 * /run/hvnode/ntp.state, /run/hvnode/watchdog.state, /sys/devices/system/edac/mc and
 * /sys/bus/pci/devices (AER counts).
 * These files come from the kernel and the image and are trusted for content, not for
 * length: every value is cut at FACT_MAX bytes and made printable. */
#include <dirent.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

enum { FACT_MAX = 256 };

/* facts_read: first line of ROOT/REL (trailing blanks trimmed, unprintables as '?') into BUF;
 * 0, or -1 when unreadable or empty. */
static int facts_read(const struct facts_env *env, const char *rel, char *buf, size_t buflen)
{
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s%s", env->root, rel);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, (int)buflen, f))
		buf[0] = '\0';
	fclose(f);
	n = strcspn(buf, "\n");
	while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\t' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < ' ' || (unsigned char)*p > '~')
			*p = '?';
	return n ? 0 : -1;
}

/* Adds ROOT/REL's first line as string NAME, or null when absent or empty. */
static void facts_add_file(cJSON *obj, const char *name, const struct facts_env *env,
			   const char *rel)
{
	char buf[FACT_MAX];

	if (facts_read(env, rel, buf, sizeof(buf)) == 0)
		cJSON_AddStringToObject(obj, name, buf);
	else
		cJSON_AddNullToObject(obj, name);
}

static long long facts_read_number(const struct facts_env *env, const char *rel, long long dflt)
{
	char buf[64], *end;
	long long v;

	if (facts_read(env, rel, buf, sizeof(buf)))
		return dflt;
	v = strtoll(buf, &end, 10);
	return *end ? dflt : v;
}

/* The value of KEY in a "key=value" file (release, network), or "" when absent. */
static void facts_keyfile(const struct facts_env *env, const char *rel, const char *key,
			  char *out, size_t outlen)
{
	char path[512], line[FACT_MAX];
	size_t klen = strlen(key);
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s%s", env->root, rel);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == '=') {
			const char *v = line + klen + 1 + (line[klen + 1] == '"');

			snprintf(out, outlen, "%.*s", (int)strcspn(v, "\"\n"), v);
			break;
		}
	fclose(f);
}

static cJSON *facts_system(const struct facts_env *env)
{
	cJSON *sys = cJSON_CreateObject();
	char uuid[FACT_MAX];

	if (facts_read(env, "/sys/class/dmi/id/product_uuid", uuid, sizeof(uuid)) == 0) {
		for (char *p = uuid; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		cJSON_AddStringToObject(sys, "uuid", uuid);
	} else {
		cJSON_AddNullToObject(sys, "uuid");
	}
	facts_add_file(sys, "serial", env, "/sys/class/dmi/id/product_serial");
	facts_add_file(sys, "vendor", env, "/sys/class/dmi/id/sys_vendor");
	facts_add_file(sys, "product", env, "/sys/class/dmi/id/product_name");
	return sys;
}

/* Adds the IPv4 and IPv6 addresses of interface NAME ("a.b.c.d/len") from getifaddrs. */
static void facts_addresses(cJSON *nic, const char *name, const struct ifaddrs *all)
{
	cJSON *v4 = cJSON_AddArrayToObject(nic, "ipv4"), *v6 = cJSON_AddArrayToObject(nic, "ipv6");

	for (const struct ifaddrs *a = all; a; a = a->ifa_next) {
		char addr[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 16];
		int family = a->ifa_addr ? a->ifa_addr->sa_family : -1, len = 0;
		const unsigned char *mask;
		const void *src;
		size_t mlen;

		if (strcmp(a->ifa_name, name) != 0 || (family != AF_INET && family != AF_INET6))
			continue;
		if (family == AF_INET) {
			src = &((const struct sockaddr_in *)(const void *)a->ifa_addr)->sin_addr;
			mask = a->ifa_netmask ? (const unsigned char *)&((const struct sockaddr_in *)(const void *)a->ifa_netmask)->sin_addr : NULL;
			mlen = 4;
		} else {
			src = &((const struct sockaddr_in6 *)(const void *)a->ifa_addr)->sin6_addr;
			mask = a->ifa_netmask ? (const unsigned char *)&((const struct sockaddr_in6 *)(const void *)a->ifa_netmask)->sin6_addr : NULL;
			mlen = 16;
		}
		for (size_t i = 0; mask && i < mlen; i++)
			len += __builtin_popcount(mask[i]);
		if (!inet_ntop(family, src, addr, sizeof(addr)))
			continue;
		snprintf(text, sizeof(text), "%s/%d", addr, len);
		cJSON_AddItemToArray(family == AF_INET ? v4 : v6, cJSON_CreateString(text));
	}
}

static cJSON *facts_nic(const struct facts_env *env, const char *name, const char *boot_nic,
			const struct ifaddrs *addrs)
{
	cJSON *nic = cJSON_CreateObject();
	char rel[300], mac[FACT_MAX], master[512];
	long long speed;
	ssize_t n;

	cJSON_AddStringToObject(nic, "name", name);
	snprintf(rel, sizeof(rel), "/sys/class/net/%s/address", name);
	if (facts_read(env, rel, mac, sizeof(mac)))
		mac[0] = '\0';
	cJSON_AddStringToObject(nic, "mac", mac);
	snprintf(rel, sizeof(rel), "/sys/class/net/%s/carrier", name);
	cJSON_AddStringToObject(nic, "link", facts_read_number(env, rel, 0) == 1 ? "up" : "down");
	snprintf(rel, sizeof(rel), "/sys/class/net/%s/speed", name);
	speed = facts_read_number(env, rel, -1);
	if (speed > 0)
		cJSON_AddNumberToObject(nic, "speed_mbps", (double)speed);
	else
		cJSON_AddNullToObject(nic, "speed_mbps");
	if (addrs || env->with_addresses)
		facts_addresses(nic, name, addrs);
	else {
		cJSON_AddArrayToObject(nic, "ipv4");
		cJSON_AddArrayToObject(nic, "ipv6");
	}
	cJSON_AddBoolToObject(nic, "boot", env->bootif_mac[0] ? strcmp(mac, env->bootif_mac) == 0
							  : strcmp(name, boot_nic) == 0);
	snprintf(rel, sizeof(rel), "%s/sys/class/net/%s/master", env->root, name);
	n = readlink(rel, master, sizeof(master) - 1);
	if (n > 0) {
		master[n] = '\0';
		cJSON_AddStringToObject(nic, "bridge", strrchr(master, '/') ? strrchr(master, '/') + 1
									  : master);
	} else {
		cJSON_AddNullToObject(nic, "bridge");
	}
	return nic;
}

static int facts_name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted entry names of ROOT/REL (without dot files), at most 256; caller frees each and the
 * array. Returns the count (0 when unreadable). */
static int facts_list(const struct facts_env *env, const char *rel, char ***names)
{
	char path[512];
	struct dirent *de;
	DIR *d;
	int n = 0;

	*names = calloc(256, sizeof(char *));
	snprintf(path, sizeof(path), "%s%s", env->root, rel);
	d = opendir(path);
	if (!d || !*names) {
		if (d)
			closedir(d);
		return 0;
	}
	while ((de = readdir(d)) && n < 256)
		if (de->d_name[0] != '.' && strlen(de->d_name) < 64)
			(*names)[n++] = strdup(de->d_name);
	closedir(d);
	qsort(*names, (size_t)n, sizeof(char *), facts_name_cmp);
	return n;
}

static void facts_list_free(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static cJSON *facts_nics(const struct facts_env *env)
{
	cJSON *arr = cJSON_CreateArray();
	struct ifaddrs *addrs = NULL;
	char boot_nic[64], **names;
	int n = facts_list(env, "/sys/class/net", &names);

	facts_keyfile(env, "/run/hvnode/network", "nic", boot_nic, sizeof(boot_nic));
	if (env->with_addresses && getifaddrs(&addrs))
		addrs = NULL;
	for (int i = 0; i < n; i++)
		/* VM taps are the VMs' (reported with each VM), not the node's. */
		if (names[i] && strcmp(names[i], "lo") != 0 && strncmp(names[i], "hvtap", 5) != 0)
			cJSON_AddItemToArray(arr, facts_nic(env, names[i], boot_nic, addrs));
	if (addrs)
		freeifaddrs(addrs);
	facts_list_free(names, n);
	return arr;
}

/* One "microcode : 0x..." value of /proc/cpuinfo (the revision the CPU runs, after the early
 * update) into UCODE as lower-case "0x" hex without leading zeros; a value that is not hex
 * is ignored. *MIXED is set when two CPUs differ (an update that did not reach every core). */
static void facts_microcode(const char *value, char *ucode, size_t len, int *mixed)
{
	char *end;
	unsigned long long rev;
	char text[24];

	while (*value == ' ' || *value == '\t')
		value++;
	if (value[0] != '0' || (value[1] != 'x' && value[1] != 'X') ||
	    !((value[2] >= '0' && value[2] <= '9') || (value[2] >= 'a' && value[2] <= 'f') ||
	      (value[2] >= 'A' && value[2] <= 'F')))
		return;
	rev = strtoull(value + 2, &end, 16);
	if (*end != '\n' && *end != '\0' && *end != ' ')
		return;
	snprintf(text, sizeof(text), "0x%llx", rev);
	if (!ucode[0])
		snprintf(ucode, len, "%s", text);
	else if (strcmp(ucode, text) != 0)
		*mixed = 1;
}

static cJSON *facts_cpu(const struct facts_env *env)
{
	cJSON *cpu = cJSON_CreateObject();
	char path[512], line[4096], model[FACT_MAX] = "", ucode[24] = "";
	const char *virt = NULL;
	int count = 0, ucode_mixed = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/proc/cpuinfo", env->root);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "processor", 9) == 0)
			count++;
		else if (!model[0] && strncmp(line, "model name", 10) == 0 && colon)
			snprintf(model, sizeof(model), "%.*s", (int)strcspn(colon + 2, "\n"),
				 colon + 2);
		else if (!virt && strncmp(line, "flags", 5) == 0)
			virt = strstr(line, " vmx") ? "vmx" : strstr(line, " svm") ? "svm" : NULL;
		else if (strncmp(line, "microcode", 9) == 0 && colon)
			facts_microcode(colon + 1, ucode, sizeof(ucode), &ucode_mixed);
	}
	if (f)
		fclose(f);
	if (model[0])
		cJSON_AddStringToObject(cpu, "model", model);
	else
		cJSON_AddNullToObject(cpu, "model");
	cJSON_AddNumberToObject(cpu, "count", count);
	if (virt)
		cJSON_AddStringToObject(cpu, "virtualization", virt);
	else
		cJSON_AddNullToObject(cpu, "virtualization");
	if (ucode[0] && !ucode_mixed)
		cJSON_AddStringToObject(cpu, "microcode", ucode);
	else
		cJSON_AddNullToObject(cpu, "microcode");
	cJSON_AddBoolToObject(cpu, "microcode_mixed", ucode_mixed);
	return cpu;
}

/* KEY from /proc/meminfo in bytes (the file gives kB), or -1. */
static long long facts_meminfo(const struct facts_env *env, const char *key)
{
	char path[512], line[256];
	long long kb = -1;
	size_t klen = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "%s/proc/meminfo", env->root);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			kb = strtoll(line + klen + 1, NULL, 10);
			break;
		}
	if (f)
		fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

static cJSON *facts_disks(const struct facts_env *env)
{
	cJSON *arr = cJSON_CreateArray();
	char **names;
	int n = facts_list(env, "/sys/block", &names);

	for (int i = 0; i < n; i++) {
		const char *name = names[i];
		char rel[320], buf[FACT_MAX];
		cJSON *disk;

		if (!name || !strncmp(name, "loop", 4) || !strncmp(name, "ram", 3) ||
		    !strncmp(name, "zram", 4))
			continue;
		disk = cJSON_CreateObject();
		cJSON_AddStringToObject(disk, "name", name);
		snprintf(rel, sizeof(rel), "/sys/block/%s/size", name);
		cJSON_AddNumberToObject(disk, "size_bytes",
					(double)(facts_read_number(env, rel, 0) * 512));
		snprintf(rel, sizeof(rel), "/sys/block/%s/device/model", name);
		facts_add_file(disk, "model", env, rel);
		/* virtio-blk has "serial" on the disk, SCSI and NVMe on the device. */
		snprintf(rel, sizeof(rel), "/sys/block/%s/serial", name);
		if (facts_read(env, rel, buf, sizeof(buf)) == 0) {
			cJSON_AddStringToObject(disk, "serial", buf);
		} else {
			snprintf(rel, sizeof(rel), "/sys/block/%s/device/serial", name);
			facts_add_file(disk, "serial", env, rel);
		}
		snprintf(rel, sizeof(rel), "/sys/block/%s/queue/rotational", name);
		cJSON_AddBoolToObject(disk, "rotational", facts_read_number(env, rel, 0) == 1);
		cJSON_AddItemToArray(arr, disk);
	}
	facts_list_free(names, n);
	return arr;
}

cJSON *facts_kvm_json(const struct kvm_state *kvm)
{
	cJSON *obj = cJSON_CreateObject();

	cJSON_AddBoolToObject(obj, "ready", kvm->ready);
	if (kvm->api_version >= 0)
		cJSON_AddNumberToObject(obj, "api_version", kvm->api_version);
	else
		cJSON_AddNullToObject(obj, "api_version");
	if (kvm->error[0])
		cJSON_AddStringToObject(obj, "error", kvm->error);
	else
		cJSON_AddNullToObject(obj, "error");
	return obj;
}

/* The storage pool (an ext4 filesystem labelled HVNODE_POOL mounted on POOL_DIR by the node's
 * start scripts): {"path", "size_bytes", "free_bytes"}, or null when none is mounted. */
#define POOL_DIR "/var/lib/hvnode/pool"
static cJSON *facts_pool(const struct facts_env *env)
{
	char path[FACT_MAX];
	struct statvfs fs;
	cJSON *obj;

	snprintf(path, sizeof(path), "%s%s", env->root, POOL_DIR);
	if (!state_mounted(env->root, POOL_DIR) || statvfs(path, &fs) < 0 ||
	    !(obj = cJSON_CreateObject()))
		return cJSON_CreateNull();
	cJSON_AddStringToObject(obj, "path", POOL_DIR);
	cJSON_AddNumberToObject(obj, "size_bytes", (double)fs.f_blocks * (double)fs.f_frsize);
	cJSON_AddNumberToObject(obj, "free_bytes", (double)fs.f_bavail * (double)fs.f_frsize);
	return obj;
}

/* The hardware watchdog hvnode-watchdog feeds, from RUN/watchdog.state: {"state", "device",
 * "identity", "timeout_s"}; state is "armed", "off" (hvnode.watchdog=off) or "none" (no device),
 * and null before hvnode-watchdog has written the file. */
static cJSON *facts_watchdog(const struct facts_env *env)
{
	static const char state[] = "/run/hvnode/watchdog.state";
	cJSON *w = cJSON_CreateObject();
	char buf[FACT_MAX], *end;
	long timeout;

	if (!w)
		return NULL;
	facts_keyfile(env, state, "state", buf, sizeof(buf));
	if (!strcmp(buf, "armed") || !strcmp(buf, "off") || !strcmp(buf, "none"))
		cJSON_AddStringToObject(w, "state", buf);
	else
		cJSON_AddNullToObject(w, "state");
	facts_keyfile(env, state, "device", buf, sizeof(buf));
	if (!strncmp(buf, "/dev/watchdog", 13))
		cJSON_AddStringToObject(w, "device", buf);
	else
		cJSON_AddNullToObject(w, "device");
	facts_keyfile(env, state, "identity", buf, sizeof(buf));
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < ' ' || (unsigned char)*p > '~')
			*p = '?';
	if (buf[0])
		cJSON_AddStringToObject(w, "identity", buf);
	else
		cJSON_AddNullToObject(w, "identity");
	facts_keyfile(env, state, "timeout_s", buf, sizeof(buf));
	timeout = strtol(buf, &end, 10);
	if (buf[0] && !*end && timeout > 0 && timeout <= 86400)
		cJSON_AddNumberToObject(w, "timeout_s", (double)timeout);
	else
		cJSON_AddNullToObject(w, "timeout_s");
	return w;
}

/* facts_collect: the registration body. IMAGE_SHA256 is "" when unknown (null in JSON).
 * Returns a new cJSON object (caller deletes) or NULL when out of memory. */
cJSON *facts_collect(const struct facts_env *env, const struct kvm_state *kvm,
		     const char *image_sha256)
{
	cJSON *root = cJSON_CreateObject(), *image;
	char buf[FACT_MAX];

	if (!root)
		return NULL;
	cJSON_AddNumberToObject(root, "protocol", 1);
	cJSON_AddItemToObject(root, "system", facts_system(env));
	facts_add_file(root, "hostname", env, "/proc/sys/kernel/hostname");
	cJSON_AddItemToObject(root, "nics", facts_nics(env));
	cJSON_AddItemToObject(root, "cpu", facts_cpu(env));
	cJSON_AddNumberToObject(root, "memory_bytes", (double)facts_meminfo(env, "MemTotal"));
	cJSON_AddItemToObject(root, "disks", facts_disks(env));
	cJSON_AddItemToObject(root, "storage_pool", facts_pool(env));
	cJSON_AddItemToObject(root, "kvm", facts_kvm_json(kvm));
	cJSON_AddItemToObject(root, "watchdog", facts_watchdog(env));
	facts_add_file(root, "kernel", env, "/proc/sys/kernel/osrelease");
	image = cJSON_AddObjectToObject(root, "image");
	facts_keyfile(env, "/etc/hvnode/release", "HVNODE_VERSION", buf, sizeof(buf));
	if (buf[0])
		cJSON_AddStringToObject(image, "version", buf);
	else
		cJSON_AddNullToObject(image, "version");
	if (image_sha256[0])
		cJSON_AddStringToObject(image, "sha256", image_sha256);
	else
		cJSON_AddNullToObject(image, "sha256");
	return root;
}

/* The node's clock for the heartbeat (PROTOCOL.md "Heartbeat"): {"unix_s", "synced",
 * "servers", "source"}, the sync state from RUN/ntp.state (hvnode-ntpd); without that file
 * (no ntpd) not synced, no servers, source null. */
static cJSON *facts_time(const struct facts_env *env)
{
	static const char state[] = "/run/hvnode/ntp.state";
	cJSON *t = cJSON_CreateObject(), *servers;
	char buf[FACT_MAX], *save = NULL;

	if (!t)
		return NULL;
	cJSON_AddNumberToObject(t, "unix_s", (double)time(NULL));
	facts_keyfile(env, state, "synced", buf, sizeof(buf));
	cJSON_AddBoolToObject(t, "synced", strcmp(buf, "1") == 0);
	servers = cJSON_AddArrayToObject(t, "servers");
	facts_keyfile(env, state, "servers", buf, sizeof(buf));
	for (char *w = strtok_r(buf, " ", &save); w && servers; w = strtok_r(NULL, " ", &save))
		cJSON_AddItemToArray(servers, cJSON_CreateString(w));
	facts_keyfile(env, state, "source", buf, sizeof(buf));
	if (!strcmp(buf, "cmdline") || !strcmp(buf, "dhcp"))
		cJSON_AddStringToObject(t, "source", buf);
	else
		cJSON_AddNullToObject(t, "source");
	return t;
}

/* Sums the corrected (ce_count) and uncorrected (ue_count) error counts over every memory
 * controller EDAC registered (/sys/devices/system/edac/mc/mcN), in one pass; returns how many
 * controllers had both files. With none (no EDAC driver for this machine's memory controller)
 * errors are not counted, which the manager must tell apart from zero. */
static int facts_edac_counts(const struct facts_env *env, long long *ce, long long *ue)
{
	char **names, rel[320];
	int n = facts_list(env, "/sys/devices/system/edac/mc", &names), found = 0;

	*ce = *ue = 0;
	for (int i = 0; i < n; i++) {
		long long c, u;

		if (!names[i] || strncmp(names[i], "mc", 2) != 0 || !names[i][2])
			continue;
		snprintf(rel, sizeof(rel), "/sys/devices/system/edac/mc/%s/ce_count", names[i]);
		c = facts_read_number(env, rel, -1);
		snprintf(rel, sizeof(rel), "/sys/devices/system/edac/mc/%s/ue_count", names[i]);
		u = facts_read_number(env, rel, -1);
		if (c >= 0 && u >= 0) {
			*ce += c;
			*ue += u;
			found++;
		}
	}
	facts_list_free(names, n);
	return found;
}

/* The TOTAL_ERR_* line of one PCIe AER statistics file (/sys/bus/pci/devices/D/aer_dev_*), or 0. */
static long long facts_aer_total(const struct facts_env *env, const char *dev, const char *file)
{
	char path[512], line[128];
	long long total = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/%s/%s", env->root, dev, file);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "TOTAL_ERR_", 10) == 0) {
			const char *v = strchr(line, ' ');
			char *end;
			long long n = v ? strtoll(v + 1, &end, 10) : -1;

			if (n > 0)
				total = n;
			break;
		}
	if (f)
		fclose(f);
	return total;
}

/* Hardware errors since boot (PROTOCOL.md "Heartbeat"): memory errors as EDAC counts them
 * (corrected, uncorrected; null without an EDAC memory-controller driver) and PCIe errors as
 * AER counts them on every device that reports them (correctable, nonfatal, fatal). */
static cJSON *facts_errors(const struct facts_env *env)
{
	cJSON *e = cJSON_CreateObject(), *mem, *pcie;
	long long ce, ue, cor = 0, nonfatal = 0, fatal = 0;
	char **names;
	int mcs, n;

	if (!e)
		return NULL;
	mem = cJSON_AddObjectToObject(e, "memory");
	mcs = facts_edac_counts(env, &ce, &ue);
	cJSON_AddNumberToObject(mem, "controllers", mcs);
	if (mcs) {
		cJSON_AddNumberToObject(mem, "corrected", (double)ce);
		cJSON_AddNumberToObject(mem, "uncorrected", (double)ue);
	} else {
		cJSON_AddNullToObject(mem, "corrected");
		cJSON_AddNullToObject(mem, "uncorrected");
	}
	n = facts_list(env, "/sys/bus/pci/devices", &names);
	for (int i = 0; i < n; i++) {
		if (!names[i])
			continue;
		cor += facts_aer_total(env, names[i], "aer_dev_correctable");
		nonfatal += facts_aer_total(env, names[i], "aer_dev_nonfatal");
		fatal += facts_aer_total(env, names[i], "aer_dev_fatal");
	}
	facts_list_free(names, n);
	pcie = cJSON_AddObjectToObject(e, "pcie");
	cJSON_AddNumberToObject(pcie, "correctable", (double)cor);
	cJSON_AddNumberToObject(pcie, "nonfatal", (double)nonfatal);
	cJSON_AddNumberToObject(pcie, "fatal", (double)fatal);
	return e;
}

/* facts_heartbeat: the heartbeat body (uptime, load, memory, storage pool, KVM, clock, hardware
 * errors, VMs). */
cJSON *facts_heartbeat(const struct facts_env *env, const struct kvm_state *kvm)
{
	cJSON *root = cJSON_CreateObject(), *load;
	char buf[FACT_MAX];
	double l[3] = { 0, 0, 0 }, up = 0;

	if (!root)
		return NULL;
	if (facts_read(env, "/proc/uptime", buf, sizeof(buf)) == 0)
		up = strtod(buf, NULL);
	cJSON_AddNumberToObject(root, "uptime_s", (double)(long long)up);
	if (facts_read(env, "/proc/loadavg", buf, sizeof(buf)) == 0)
		sscanf(buf, "%lf %lf %lf", &l[0], &l[1], &l[2]);
	load = cJSON_AddArrayToObject(root, "load");
	for (int i = 0; i < 3; i++)
		cJSON_AddItemToArray(load, cJSON_CreateNumber(l[i]));
	cJSON_AddNumberToObject(root, "memory_free_bytes", (double)facts_meminfo(env, "MemFree"));
	cJSON_AddNumberToObject(root, "memory_available_bytes",
				(double)facts_meminfo(env, "MemAvailable"));
	cJSON_AddItemToObject(root, "storage_pool", facts_pool(env));
	cJSON_AddItemToObject(root, "kvm", facts_kvm_json(kvm));
	cJSON_AddItemToObject(root, "time", facts_time(env));
	cJSON_AddItemToObject(root, "errors", facts_errors(env));
	cJSON_AddArrayToObject(root, "vms");
	return root;
}

/* facts_stable_text: FACTS (as facts_collect made them) as unformatted JSON without the values
 * that change by themselves (storage_pool.free_bytes, which every heartbeat carries anyway),
 * so two texts differ only when the node changed: an address, a link, a disk, the hostname,
 * the image. The sha256 of this text is the heartbeat's facts_sha256 (PROTOCOL.md
 * "Heartbeat"). Returns a malloc'd string, or NULL when out of memory. */
char *facts_stable_text(const cJSON *facts)
{
	cJSON *copy = cJSON_Duplicate(facts, 1), *pool;
	char *text;

	if (!copy)
		return NULL;
	pool = cJSON_GetObjectItemCaseSensitive(copy, "storage_pool");
	if (cJSON_IsObject(pool))
		cJSON_DeleteItemFromObjectCaseSensitive(pool, "free_bytes");
	text = cJSON_PrintUnformatted(copy);
	cJSON_Delete(copy);
	return text;
}
