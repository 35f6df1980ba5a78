/* hvnode-vmm unit tests: command line and JSON config parsing (config.c). */
#include <string.h>

#include "config.h"
#include "test.h"

static struct config c;
static char err[256];

static int args(int argc, const char **argv)
{
	config_defaults(&c);
	return config_parse_args(&c, argc, (char **)argv, err, sizeof(err));
}

static int json(const char *text)
{
	config_defaults(&c);
	return config_parse_json(&c, text, strlen(text), err, sizeof(err));
}

static void test_args(void)
{
	const char *ok[] = { "vmm", "--kernel", "/k", "--mem", "512M", "--cpus", "2", "--disk", "/a,ro",
			     "--disk", "/b", "--net", "tap=tap0,mac=02:00:00:00:00:01", "--rng",
			     "--console", "file:/log", "--user", "1000:1000" };
	const char *bad_mem[] = { "vmm", "--mem", "12X" };
	const char *bad_cpus[] = { "vmm", "--cpus", "0" };
	const char *bad_net[] = { "vmm", "--net", "tap=t,mac=01:00:00:00:00:01" };	/* multicast */
	const char *missing[] = { "vmm", "--kernel" };
	const char *unknown[] = { "vmm", "--frobnicate", "1" };

	CHECK(args(18, ok) == 0 && config_finish(&c, err, sizeof(err)) == 0);
	CHECK(c.mem == 512ull << 20 && c.cpus == 2 && c.ndisks == 2 && c.disk[0].ro && !c.disk[1].ro);
	CHECK(c.nnics == 1 && strcmp(c.nic[0].tap, "tap0") == 0 && c.nic[0].has_mac && c.nic[0].mac[5] == 1 &&
	      c.rng);
	CHECK(c.console == CONSOLE_FILE && strcmp(c.console_path, "/log") == 0 && c.user_set);
	CHECK(args(3, bad_mem) < 0 && strstr(err, "--mem"));
	CHECK(args(3, bad_cpus) < 0 && strstr(err, "--cpus"));
	CHECK(args(3, bad_net) < 0 && strstr(err, "--net"));
	CHECK(args(2, missing) < 0 && strstr(err, "missing value"));
	CHECK(args(3, unknown) < 0 && strstr(err, "frobnicate"));
	config_defaults(&c);
	CHECK(config_finish(&c, err, sizeof(err)) < 0 && strstr(err, "--kernel"));
	c.kernel[0] = 'k';
	c.mem = 65ull << 30;
	CHECK(config_finish(&c, err, sizeof(err)) < 0 && strstr(err, "--mem"));
	CHECK(config_set(&c, "mem", "99999999999999999999G", err, sizeof(err)) < 0);
	/* Up to 4 NICs on distinct taps, up to 16 disks. */
	config_defaults(&c);
	CHECK(config_set(&c, "net", "tap=a", err, sizeof(err)) == 0);
	CHECK(config_set(&c, "net", "tap=a,mac=02:00:00:00:00:02", err, sizeof(err)) < 0 && strstr(err, "twice"));
	CHECK(config_set(&c, "net", "tap=b,mac=02:00:00:00:00:02", err, sizeof(err)) == 0);
	/* MTU 68-9000 and offloads on or off; a bad value names itself */
	CHECK(config_set(&c, "net", "tap=c,mtu=9001", err, sizeof(err)) < 0 && strstr(err, "'9001'"));
	CHECK(config_set(&c, "net", "tap=c,mtu=67", err, sizeof(err)) < 0 && strstr(err, "68-9000"));
	CHECK(config_set(&c, "net", "tap=c,mtu=", err, sizeof(err)) < 0);
	CHECK(config_set(&c, "net", "tap=c,mtu=-1500", err, sizeof(err)) < 0);
	CHECK(config_set(&c, "net", "tap=c,mtu=1500x", err, sizeof(err)) < 0);
	CHECK(config_set(&c, "net", "tap=c,offload=maybe", err, sizeof(err)) < 0 && strstr(err, "offload=maybe"));
	CHECK(config_set(&c, "net", "tap=c,mtu=9000,offload=on", err, sizeof(err)) == 0);
	CHECK(config_set(&c, "net", "tap=d,offload=off,mtu=68", err, sizeof(err)) == 0);
	CHECK(c.nic[2].mtu == 9000 && !c.nic[2].offload_off && c.nic[3].mtu == 68 && c.nic[3].offload_off &&
	      c.nic[0].mtu == 0 && c.nic[0].offload_off);
	CHECK(config_set(&c, "net", "tap=e", err, sizeof(err)) < 0 && strstr(err, "at most 4 NICs"));
	CHECK(c.nnics == 4 && !c.nic[0].has_mac && c.nic[1].has_mac && c.nic[1].mac[5] == 2 &&
	      strcmp(c.nic[3].tap, "d") == 0);
	for (unsigned i = 0; i < CONFIG_MAX_DISKS; i++)
		CHECK(config_set(&c, "disk", "/d", err, sizeof(err)) == 0);
	CHECK(config_set(&c, "disk", "/d", err, sizeof(err)) < 0 && strstr(err, "at most 16 disks"));
	config_defaults(&c);
	CHECK(!c.acpi_off);					/* ACPI by default */
	CHECK(config_set(&c, "acpi", "off", err, sizeof(err)) == 0 && c.acpi_off);
	CHECK(config_set(&c, "acpi", "on", err, sizeof(err)) == 0 && !c.acpi_off);
	CHECK(config_set(&c, "acpi", "maybe", err, sizeof(err)) < 0 && strstr(err, "--acpi"));
	/* The guest's cmdline decides too: the last acpi= word wins. */
	config_defaults(&c);
	CHECK(config_guest_acpi(&c));
	strcpy(c.cmdline, "console=ttyS0 acpi=off");
	CHECK(!config_guest_acpi(&c));
	strcpy(c.cmdline, "acpi=ht\tquiet");
	CHECK(!config_guest_acpi(&c));
	strcpy(c.cmdline, "acpi=off acpi=force");
	CHECK(config_guest_acpi(&c));
	strcpy(c.cmdline, "noacpi=off acpi=offx xacpi=off");
	CHECK(config_guest_acpi(&c));
	strcpy(c.cmdline, "acpi=force\nacpi=off");
	CHECK(!config_guest_acpi(&c));
	c.cmdline[0] = 0;
	c.acpi_off = true;
	CHECK(!config_guest_acpi(&c));
}

static void test_json(void)
{
	CHECK(json("{\"kernel\": \"/k\", \"cpus\": 4, \"mem\": \"1G\", \"rng\": true,\n"
		   " \"disk\": [\"/a\", \"/b,ro\"], \"cmdline\": \"console=ttyS0 a=\\\"b\\\"\\u0041\"}") == 0);
	CHECK(strcmp(c.kernel, "/k") == 0 && c.cpus == 4 && c.mem == 1ull << 30 && c.rng && c.ndisks == 2);
	CHECK(strcmp(c.cmdline, "console=ttyS0 a=\"b\"A") == 0);
	CHECK(json("{}") == 0);
	CHECK(json("") < 0);
	CHECK(json("{\"kernel\": \"/k\"") < 0);			/* unterminated */
	CHECK(json("{\"kernel\": \"/k\"} x") < 0);		/* trailing data */
	CHECK(json("{\"nope\": 1}") < 0 && strstr(err, "nope"));
	CHECK(json("{\"cpus\": 01}") < 0);			/* leading zero */
	CHECK(json("{\"cpus\": -1}") < 0);
	CHECK(json("{\"kernel\": \"a\\u0000b\"}") < 0);	/* NUL escape */
	CHECK(json("{\"kernel\": \"a\nb\"}") < 0);		/* raw control character */
	CHECK(json("{\"disk\": [1]}") < 0);
	CHECK(json("{\"kernel\": {\"x\": 1}}") < 0);		/* no nesting */
	CHECK(json("{\"config\": \"/other\"}") < 0);
	CHECK(json("{\"rng\": nul}") < 0);
	CHECK(json("{\"kernel\": \"\\") < 0);			/* escape at the end */
}

int main(void)
{
	test_args();
	test_json();
	TEST_DONE("config");
}
