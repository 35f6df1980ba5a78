/* Unit tests: agent/facts.c, the facts JSON, over a fake /sys, /proc, /etc and /run tree
 * (tests/data/facts-root; argv[1] is tests/data). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "check.h"

static const cJSON *get(const cJSON *obj, const char *path)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && obj; k = strtok_r(NULL, ".", &save))
		obj = cJSON_IsArray(obj) ? cJSON_GetArrayItem(obj, atoi(k))
					 : cJSON_GetObjectItemCaseSensitive(obj, k);
	return obj;
}

static int is_str(const cJSON *root, const char *path, const char *want)
{
	const cJSON *v = get(root, path);

	return cJSON_IsString(v) && strcmp(v->valuestring, want) == 0;
}

static int is_num(const cJSON *root, const char *path, double want)
{
	const cJSON *v = get(root, path);

	return cJSON_IsNumber(v) && v->valuedouble == want;
}

static void test_registration_facts(const char *root)
{
	struct facts_env env = { .root = root, .bootif_mac = "" };
	struct kvm_state kvm = { .ready = 1, .api_version = 12 };
	cJSON *f = facts_collect(&env, &kvm, "ab12");

	CHECK(f != NULL);
	CHECK(is_num(f, "protocol", 1));
	CHECK(is_str(f, "system.uuid", "8a6b0f2e-1c3d-4e5f-9a8b-7c6d5e4f3a2b")); /* lower case */
	CHECK(is_str(f, "system.serial", "SN-0042"));                          /* trimmed */
	CHECK(is_str(f, "system.vendor", "QEMU"));
	CHECK(cJSON_IsNull(get(f, "system.product")));                         /* empty file */
	CHECK(is_str(f, "hostname", "hvnode-525400123456"));
	/* NICs sorted by name, lo left out: br0, eth0, eth1. */
	CHECK(cJSON_GetArraySize(get(f, "nics")) == 3);     /* not lo, not the VM tap hvtap0n0 */
	CHECK(is_str(f, "nics.0.name", "br0") && is_str(f, "nics.1.name", "eth0"));
	CHECK(is_str(f, "nics.1.mac", "52:54:00:12:34:56"));
	CHECK(is_str(f, "nics.1.link", "up") && is_num(f, "nics.1.speed_mbps", 1000));
	CHECK(cJSON_IsTrue(get(f, "nics.1.boot")));       /* /run/hvnode/network nic=eth0 */
	CHECK(is_str(f, "nics.1.bridge", "br0"));
	CHECK(cJSON_IsFalse(get(f, "nics.0.boot")) && cJSON_IsNull(get(f, "nics.0.speed_mbps")));
	CHECK(is_str(f, "nics.2.link", "down") && cJSON_IsNull(get(f, "nics.2.bridge")));
	CHECK(cJSON_IsArray(get(f, "nics.2.ipv4")) && cJSON_IsArray(get(f, "nics.2.ipv6")));
	CHECK(is_str(f, "cpu.model", "AMD EPYC Test CPU"));
	CHECK(is_num(f, "cpu.count", 2) && is_str(f, "cpu.virtualization", "svm"));
	CHECK(is_num(f, "memory_bytes", 1525768.0 * 1024));
	/* Disks sorted, loop devices left out: sda, vda. */
	CHECK(cJSON_GetArraySize(get(f, "disks")) == 2);
	CHECK(is_str(f, "disks.0.name", "sda") && is_num(f, "disks.0.size_bytes", 2097152.0 * 512));
	CHECK(is_str(f, "disks.0.model", "QEMU HARDDISK") && cJSON_IsTrue(get(f, "disks.0.rotational")));
	CHECK(cJSON_IsNull(get(f, "disks.0.serial")));
	CHECK(is_str(f, "disks.1.serial", "HVNODE-TEST") && cJSON_IsFalse(get(f, "disks.1.rotational")));
	CHECK(cJSON_IsTrue(get(f, "kvm.ready")) && is_num(f, "kvm.api_version", 12));
	CHECK(cJSON_IsNull(get(f, "kvm.error")));
	/* both CPUs run 0x0A201016: lower case, no leading zeros */
	CHECK(is_str(f, "cpu.microcode", "0xa201016") && cJSON_IsFalse(get(f, "cpu.microcode_mixed")));
	CHECK(is_str(f, "watchdog.state", "armed") && is_str(f, "watchdog.device", "/dev/watchdog0"));
	CHECK(is_str(f, "watchdog.identity", "i6300ESB timer") && is_num(f, "watchdog.timeout_s", 60));
	CHECK(is_str(f, "kernel", "6.1.0-hvnode"));
	CHECK(is_str(f, "image.version", "0.1.0+gtest") && is_str(f, "image.sha256", "ab12"));
	cJSON_Delete(f);
}

static void test_bootif_wins(const char *root)
{
	struct facts_env env = { .root = root, .bootif_mac = "52:54:00:65:43:21" };
	struct kvm_state kvm = { .api_version = -1, .error = "unable to open /dev/kvm: No such file" };
	cJSON *f = facts_collect(&env, &kvm, "");

	CHECK(cJSON_IsFalse(get(f, "nics.1.boot")) && cJSON_IsTrue(get(f, "nics.2.boot")));
	CHECK(cJSON_IsFalse(get(f, "kvm.ready")) && cJSON_IsNull(get(f, "kvm.api_version")));
	CHECK(is_str(f, "kvm.error", "unable to open /dev/kvm: No such file"));
	CHECK(cJSON_IsNull(get(f, "image.sha256")));
	cJSON_Delete(f);
}

/* write_file DIR/REL (its directories made) with TEXT. */
static void write_file(const char *dir, const char *rel, const char *text)
{
	char path[512], cmd[1100];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	CHECK(system(cmd) == 0);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* Microcode that differs between CPUs is reported as mixed, with no revision; values that are
 * not hex are ignored; watchdog state from a file with bad values is null, not trusted. */
static void test_odd_values(void)
{
	char dir[] = "/tmp/hvnode-facts-XXXXXX", cmd[600];
	struct facts_env env = { .root = dir, .bootif_mac = "" };
	struct kvm_state kvm = { .api_version = -1 };
	cJSON *f;

	CHECK(mkdtemp(dir) != NULL);
	write_file(dir, "proc/cpuinfo", "processor : 0\nmicrocode : 0x10\n\nprocessor : 1\n"
					"microcode : 0x11\n");
	write_file(dir, "run/hvnode/watchdog.state",
		   "device=/etc/passwd\nidentity=\ntimeout_s=9999999999\nstate=bogus\n");
	f = facts_collect(&env, &kvm, "");
	CHECK(cJSON_IsNull(get(f, "cpu.microcode")) && cJSON_IsTrue(get(f, "cpu.microcode_mixed")));
	CHECK(cJSON_IsNull(get(f, "watchdog.state")) && cJSON_IsNull(get(f, "watchdog.device")));
	CHECK(cJSON_IsNull(get(f, "watchdog.identity")) && cJSON_IsNull(get(f, "watchdog.timeout_s")));
	cJSON_Delete(f);
	write_file(dir, "proc/cpuinfo", "processor : 0\nmicrocode : 0xzz\nmicrocode : 16\n"
					"microcode : 0x2a trailing\n");
	f = facts_collect(&env, &kvm, "");
	CHECK(is_str(f, "cpu.microcode", "0x2a") && cJSON_IsFalse(get(f, "cpu.microcode_mixed")));
	cJSON_Delete(f);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}

static void test_missing_tree(void)
{
	struct facts_env env = { .root = "/nonexistent-hvnode-root", .bootif_mac = "" };
	struct kvm_state kvm = { .api_version = -1 };
	cJSON *f = facts_collect(&env, &kvm, "");

	CHECK(f != NULL);
	CHECK(cJSON_IsNull(get(f, "system.uuid")) && cJSON_GetArraySize(get(f, "nics")) == 0);
	CHECK(is_num(f, "memory_bytes", -1) && is_num(f, "cpu.count", 0));
	CHECK(cJSON_IsNull(get(f, "cpu.microcode")) && cJSON_IsNull(get(f, "watchdog.state")));
	cJSON_Delete(f);
}

static void test_heartbeat(const char *root)
{
	struct facts_env env = { .root = root, .bootif_mac = "" };
	struct kvm_state kvm = { .ready = 1, .api_version = 12 };
	cJSON *h = facts_heartbeat(&env, &kvm);

	CHECK(is_num(h, "uptime_s", 12));
	CHECK(is_num(h, "load.0", 0.5) && is_num(h, "load.2", 0.1));
	CHECK(is_num(h, "memory_free_bytes", 1200000.0 * 1024));
	CHECK(is_num(h, "memory_available_bytes", 1300000.0 * 1024));
	CHECK(cJSON_IsArray(get(h, "vms")) && cJSON_GetArraySize(get(h, "vms")) == 0);
	/* the pool is in the fake /proc/mounts, its directory under the fake root */
	CHECK(cJSON_IsString(get(h, "storage_pool.path")) &&
	      strcmp(get(h, "storage_pool.path")->valuestring, "/var/lib/hvnode/pool") == 0);
	CHECK(cJSON_IsNumber(get(h, "storage_pool.size_bytes")) &&
	      get(h, "storage_pool.size_bytes")->valuedouble > 0);
	CHECK(cJSON_IsNumber(get(h, "storage_pool.free_bytes")));
	/* the clock: RUN/ntp.state as hvnode-ntpd and its event hook write it */
	CHECK(cJSON_IsNumber(get(h, "time.unix_s")) && get(h, "time.unix_s")->valuedouble > 1.7e9);
	CHECK(cJSON_IsTrue(get(h, "time.synced")) && is_str(h, "time.source", "dhcp"));
	CHECK(is_str(h, "time.servers.0", "10.0.2.2") && is_str(h, "time.servers.1", "ntp.example") &&
	      cJSON_GetArraySize(get(h, "time.servers")) == 2);
	/* EDAC: mc0 3 + mc1 4 corrected, 1 uncorrected (the power directory is no controller);
	 * AER: 5 + 2 correctable, 1 nonfatal, 0 fatal over the two devices */
	CHECK(is_num(h, "errors.memory.controllers", 2));
	CHECK(is_num(h, "errors.memory.corrected", 7) && is_num(h, "errors.memory.uncorrected", 1));
	CHECK(is_num(h, "errors.pcie.correctable", 7) && is_num(h, "errors.pcie.nonfatal", 1) &&
	      is_num(h, "errors.pcie.fatal", 0));
	cJSON_Delete(h);
	env.root = "/nonexistent-hvnode-root";
	h = facts_heartbeat(&env, &kvm);
	CHECK(cJSON_IsNull(get(h, "storage_pool")));
	CHECK(cJSON_IsFalse(get(h, "time.synced")) && cJSON_IsNull(get(h, "time.source")) &&
	      cJSON_GetArraySize(get(h, "time.servers")) == 0);
	/* no EDAC driver: not counted (null), which is not the same as none */
	CHECK(is_num(h, "errors.memory.controllers", 0) && cJSON_IsNull(get(h, "errors.memory.corrected")));
	CHECK(is_num(h, "errors.pcie.correctable", 0));
	cJSON_Delete(h);
}

/* The stable text leaves out the pool's free bytes, and only them: a change anywhere else
 * changes the text (and so the heartbeat's facts_sha256). */
static void test_stable_text(const char *root)
{
	struct facts_env env = { .root = root, .bootif_mac = "" };
	struct kvm_state kvm = { .ready = 1, .api_version = 12 };
	cJSON *f = facts_collect(&env, &kvm, "ab12"), *pool;
	char *a = f ? facts_stable_text(f) : NULL, *b = NULL, *c = NULL;

	pool = f ? cJSON_GetObjectItemCaseSensitive(f, "storage_pool") : NULL;
	CHECK(a && !strstr(a, "free_bytes") && strstr(a, "\"hostname\""));
	if (cJSON_IsObject(pool)) {
		cJSON_ReplaceItemInObjectCaseSensitive(pool, "free_bytes", cJSON_CreateNumber(1));
		b = facts_stable_text(f);
		CHECK(b && a && strcmp(a, b) == 0);
	} else {
		CHECK(!"the test facts have a storage pool");
	}
	CHECK(cJSON_GetObjectItemCaseSensitive(pool, "free_bytes") != NULL); /* FACTS untouched */
	cJSON_ReplaceItemInObjectCaseSensitive(f, "hostname", cJSON_CreateString("other"));
	c = facts_stable_text(f);
	CHECK(c && a && strcmp(a, c) != 0);
	free(a);
	free(b);
	free(c);
	cJSON_Delete(f);
}

int main(int argc, char **argv)
{
	char root[512];

	snprintf(root, sizeof(root), "%s/facts-root", argc > 1 ? argv[1] : "tests/data");
	test_registration_facts(root);
	test_bootif_wins(root);
	test_missing_tree();
	test_odd_values();
	test_heartbeat(root);
	test_stable_text(root);
	return check_done("facts");
}
