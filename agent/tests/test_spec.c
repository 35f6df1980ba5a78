/* Unit tests: agent/spec.c, the desired VM list (untrusted) and the supervisor's report. */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "check.h"

#define SHA "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define KERNEL "\"kernel\":{\"url\":\"https://10.0.2.2:8443/images/k\",\"sha256\":\"" SHA \
	"\",\"size_bytes\":6706176}"
#define GOOD "\"name\":\"web-1\",\"uuid\":\"6F1A2B3C-4D5E-4F60-8172-93A4B5C6D7E8\"," \
	"\"state\":\"running\",\"vcpus\":2,\"memory_mib\":256," KERNEL

static const struct node_limits limits = { .cpus = 2, .memory_mib = 1232 };

/* Parses {GOOD} with the fields of {EXTRA} put over it (or EXTRA as it is when RAW); returns
 * spec_parse's result. */
static int parse(const char *extra, int raw, struct vm_spec *out, char *err, size_t errlen)
{
	char text[8192];
	cJSON *item, *over;
	int rc;

	snprintf(text, sizeof(text), "{%s}", extra);
	over = cJSON_Parse(text);
	item = raw ? cJSON_Parse(extra) : cJSON_Parse("{" GOOD "}");
	CHECK(raw || over);
	while (!raw && over && over->child) {
		cJSON *field = cJSON_DetachItemViaPointer(over, over->child);

		cJSON_DeleteItemFromObjectCaseSensitive(item, field->string);
		cJSON_AddItemToObject(item, field->string, field);
	}
	cJSON_Delete(over);
	rc = spec_parse(item, &limits, out, err, errlen);
	cJSON_Delete(item);
	return rc;
}

static void expect_bad(const char *extra, int raw, const char *field)
{
	static struct vm_spec spec;
	char err[VM_ERROR_MAX] = "";

	CHECK(parse(extra, raw, &spec, err, sizeof(err)) == -1);
	if (strncmp(err, field, strlen(field)) != 0) {
		fprintf(stderr, "  input %s: error \"%s\", expected it to start with \"%s\"\n", extra,
			err, field);
		CHECK(!"the error names the field");
	}
}

static void test_good_spec(void)
{
	static struct vm_spec a, b;
	char err[VM_ERROR_MAX];

	CHECK(parse("", 0, &a, err, sizeof(err)) == 0);
	CHECK(strcmp(a.name, "web-1") == 0);
	CHECK(strcmp(a.uuid, "6f1a2b3c-4d5e-4f60-8172-93a4b5c6d7e8") == 0); /* lower case */
	CHECK(a.running == 1 && a.vcpus == 2 && a.memory_mib == 256);
	CHECK(a.kernel.size_bytes == 6706176 && strcmp(a.kernel.sha256, SHA) == 0);
	CHECK(!a.has_initrd && a.n_disks == 0 && a.n_nics == 0);
	CHECK(strcmp(a.cmdline, "console=ttyS0") == 0); /* the default */
	CHECK(a.restart == RESTART_ON_FAILURE);
	CHECK(parse("\"initrd\":{\"url\":\"http://h/i\",\"sha256\":\"" SHA "\",\"size_bytes\":1},"
		    "\"cmdline\":\"console=ttyS0 quiet\",\"restart\":\"always\",\"disks\":["
		    "{\"image\":{\"url\":\"http://h/d.xz\",\"sha256\":\"" SHA "\",\"size_bytes\":512},"
		    "\"readonly\":true},{\"size_bytes\":1048576,\"persistent\":true}],"
		    "\"nics\":[{\"vlan\":4094,\"mac\":\"52:54:00:AB:cd:01\"},{}],\"future\":1",
		    0, &b, err, sizeof(err)) == 0);
	CHECK(b.has_initrd && b.initrd.size_bytes == 1 && b.restart == RESTART_ALWAYS);
	CHECK(b.n_disks == 2 && b.disks[0].has_image && b.disks[0].readonly &&
	      !b.disks[0].persistent);
	CHECK(!b.disks[1].has_image && b.disks[1].size_bytes == 1048576 && b.disks[1].persistent);
	CHECK(b.n_nics == 2 && b.nics[0].vlan == 4094 && b.nics[0].has_mac &&
	      b.nics[0].mac[3] == 0xab && b.nics[1].vlan == 0 && !b.nics[1].has_mac);
	/* state alone differs: the same spec; anything else: another */
	CHECK(parse("", 0, &b, err, sizeof(err)) == 0);
	b.running = 0;
	CHECK(spec_same_except_state(&a, &b));
	b.memory_mib = 128;
	CHECK(!spec_same_except_state(&a, &b));
}

static void test_bad_specs(void)
{
	expect_bad("[]", 1, "must be an object");
	expect_bad("{\"name\":\"Web\"}", 1, "name:");
	expect_bad("{\"name\":\"-web\"}", 1, "name:");
	expect_bad("{\"name\":\"../etc\"}", 1, "name:");
	expect_bad("{\"name\":\"a23456789012345678901234567890123\"}", 1, "name:"); /* 33 */
	expect_bad("{\"name\":7}", 1, "name:");
	expect_bad("{\"name\":\"ok\",\"uuid\":\"6f1a2b3c-4d5e-4f60-8172-93a4b5c6d7e\"}", 1, "uuid:");
	expect_bad("{\"name\":\"ok\",\"uuid\":\"6f1a2b3c+4d5e-4f60-8172-93a4b5c6d7e8\"}", 1, "uuid:");
	expect_bad("\"state\":\"paused\"", 0, "state:");
	expect_bad("\"vcpus\":0", 0, "vcpus:");
	expect_bad("\"vcpus\":1.5", 0, "vcpus:");
	expect_bad("\"vcpus\":3", 0, "vcpus: 3 is more than the node's 2 CPUs");
	expect_bad("\"memory_mib\":31", 0, "memory_mib:");
	expect_bad("\"memory_mib\":1000", 0, "memory_mib: 1000 MiB is more than the node's 1232");
	expect_bad("\"memory_mib\":\"256\"", 0, "memory_mib:");
	expect_bad("\"kernel\":null", 0, "kernel:");
	expect_bad("\"kernel\":{\"url\":\"file:///etc/shadow\",\"sha256\":\"" SHA "\",\"size_bytes\":1}",
		   0, "kernel.url: must be an http:// or https:// URL");
	expect_bad("\"kernel\":{\"url\":\"ftp://h/k\",\"sha256\":\"" SHA "\",\"size_bytes\":1}", 0,
		   "kernel.url:");
	expect_bad("\"kernel\":{\"url\":\"http:///k\",\"sha256\":\"" SHA "\",\"size_bytes\":1}", 0,
		   "kernel.url: names no host");
	expect_bad("\"kernel\":{\"url\":\"http://h/a b\",\"sha256\":\"" SHA "\",\"size_bytes\":1}", 0,
		   "kernel.url:");
	expect_bad("\"kernel\":{\"url\":\"http://h/k\",\"size_bytes\":1}", 0, "kernel.sha256: missing");
	expect_bad("\"kernel\":{\"url\":\"http://h/k\",\"sha256\":\"abc\",\"size_bytes\":1}", 0,
		   "kernel.sha256:");
	expect_bad("\"kernel\":{\"url\":\"http://h/k\",\"sha256\":\"" SHA "\",\"size_bytes\":0}", 0,
		   "kernel.size_bytes:");
	expect_bad("\"kernel\":{\"url\":\"http://h/k\",\"sha256\":\"" SHA "\",\"size_bytes\":1e300}", 0,
		   "kernel.size_bytes:");
	expect_bad("\"cmdline\":\"a\\nb\"", 0, "cmdline:");
	expect_bad("\"cmdline\":\"\"", 0, "cmdline:");
	expect_bad("\"disks\":{}", 0, "disks: must be an array");
	expect_bad("\"disks\":[{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}]", 0, "disks: at most 16");
	expect_bad("\"disks\":[{}]", 0, "disks[0]: needs exactly one");
	expect_bad("\"disks\":[{\"size_bytes\":1048577}]", 0, "disks[0].size_bytes:");
	expect_bad("\"disks\":[{\"size_bytes\":1024}]", 0, "disks[0].size_bytes:");
	expect_bad("\"disks\":[{\"size_bytes\":1048576},{\"size_bytes\":1048576,\"readonly\":1}]", 0,
		   "disks[1].readonly:");
	expect_bad("\"disks\":[{\"image\":{\"url\":\"http://h/d\",\"size_bytes\":5}}]", 0,
		   "disks[0].image.sha256: missing");
	expect_bad("\"nics\":[{\"vlan\":4095}]", 0, "nics[0].vlan:");
	expect_bad("\"nics\":[{\"mac\":\"01:00:5e:00:00:01\"}]", 0, "nics[0].mac:"); /* multicast */
	expect_bad("\"nics\":[{\"mac\":\"00:00:00:00:00:00\"}]", 0, "nics[0].mac:");
	expect_bad("\"nics\":[{\"mac\":\"52:54:00:ab:cd:0g\"}]", 0, "nics[0].mac:");
	expect_bad("\"nics\":[{\"mac\":\"52:54:00:ab:cd: 1\"}]", 0, "nics[0].mac:");
	expect_bad("\"restart\":\"sometimes\"", 0, "restart:");
}

/* A bad field after a good name still reports the name (the VM fails under its own name). */
static void test_name_kept_on_error(void)
{
	static struct vm_spec spec;
	char err[VM_ERROR_MAX];

	CHECK(parse("\"vcpus\":99", 0, &spec, err, sizeof(err)) == -1);
	CHECK(strcmp(spec.name, "web-1") == 0);
	CHECK(parse("{\"name\":\"Bad\"}", 1, &spec, err, sizeof(err)) == -1);
	CHECK(spec.name[0] == '\0');
}

static void test_list(void)
{
	const char *good = "{\"vms_generation\":7,\"vms\":[{\"name\":\"a\"},3]}";
	char err[200];
	long long gen = -1;
	cJSON *vms;

	CHECK(vms_parse_list(good, strlen(good), &gen, &vms, err, sizeof(err)) == 0);
	CHECK(gen == 7 && cJSON_GetArraySize(vms) == 2);
	cJSON_Delete(vms);
	CHECK(vms_parse_list("[]", 2, &gen, &vms, err, sizeof(err)) == -1 && !vms);
	CHECK(vms_parse_list("{\"vms\":[]}", 10, &gen, &vms, err, sizeof(err)) == -1);
	CHECK(strstr(err, "vms_generation") != NULL);
	CHECK(vms_parse_list("{\"vms_generation\":-1,\"vms\":[]}", 29, &gen, &vms, err, 200) == -1);
	CHECK(vms_parse_list("{\"vms_generation\":9007199254740992,\"vms\":[]}", 43, &gen, &vms,
			     err, 200) == -1);
	CHECK(vms_parse_list("{\"vms_generation\":1,\"vms\":{}}", 28, &gen, &vms, err, 200) == -1);
	{
		char many[4096] = "{\"vms_generation\":1,\"vms\":[";

		for (int i = 0; i <= VMS_MAX; i++)
			strcat(many, i ? ",{}" : "{}");
		strcat(many, "]}");
		CHECK(vms_parse_list(many, strlen(many), &gen, &vms, err, sizeof(err)) == -1);
		CHECK(strstr(err, "at most 64") != NULL);
	}
}

static void test_merge_actual(void)
{
	const char *report = "{\"vms_generation\":3,\"vms\":[{\"name\":\"a\",\"state\":\"running\"}]}";
	cJSON *hb = cJSON_CreateObject();
	char err[200], *out;

	cJSON_AddArrayToObject(hb, "vms");
	CHECK(vms_merge_actual(hb, report, strlen(report), err, sizeof(err)) == 0);
	out = cJSON_PrintUnformatted(hb);
	CHECK(strcmp(out, "{\"vms\":[{\"name\":\"a\",\"state\":\"running\"}],\"vms_generation\":3}") == 0);
	cJSON_free(out);
	CHECK(vms_merge_actual(hb, "{\"vms\":3}", 9, err, sizeof(err)) == -1);
	out = cJSON_PrintUnformatted(hb);
	CHECK(strcmp(out, "{\"vms\":[],\"vms_generation\":null}") == 0);
	cJSON_free(out);
	CHECK(vms_merge_actual(hb, NULL, 0, err, sizeof(err)) == -1);
	CHECK(strstr(err, "no report") != NULL);
	cJSON_Delete(hb);
}

int main(void)
{
	test_good_spec();
	test_bad_specs();
	test_name_kept_on_error();
	test_list();
	test_merge_actual();
	return check_done("spec");
}
