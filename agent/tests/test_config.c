/* Unit tests: agent/config.c, the cmdline and config file parser. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "check.h"

#define PIN "sha256//" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define PIN2 "sha256//" "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB="

static void test_full_cmdline(void)
{
	struct agent_config c;
	char why[256];

	config_init(&c);
	config_parse_text(&c, "BOOT_IMAGE=/vmlinuz console=ttyS0 hvnode.manager=https://10.0.2.2:8443/"
			      " hvnode.manager_pin=" PIN " hvnode.join_token=abc.DEF-123"
			      " BOOTIF=01-52-54-00-AB-cd-56 hvnode.ssh_key=x:y\n", "/proc/cmdline");
	CHECK(c.errors[0] == '\0');
	CHECK(c.n_managers == 1);
	CHECK(strcmp(c.managers[0], "https://10.0.2.2:8443") == 0); /* trailing '/' dropped */
	CHECK(strcmp(c.pin, PIN) == 0);
	CHECK(strcmp(c.token, "abc.DEF-123") == 0);
	CHECK(strcmp(c.bootif_mac, "52:54:00:ab:cd:56") == 0);
	CHECK(config_missing(&c, why, sizeof(why)) == 0);
}

static void test_several_managers_and_pins(void)
{
	struct agent_config c;

	config_init(&c);
	config_parse_text(&c, "hvnode.manager=https://a.example:1,https://[fd00::1]:8443,https://b "
			      "hvnode.manager_pin=" PIN ";" PIN2, "t");
	CHECK(c.errors[0] == '\0');
	CHECK(c.n_managers == 3);
	CHECK(strcmp(c.managers[1], "https://[fd00::1]:8443") == 0);
	CHECK(strcmp(c.managers[2], "https://b") == 0);
	CHECK(strcmp(c.pin, PIN ";" PIN2) == 0);
}

static void expect_error(const char *text, const char *param)
{
	struct agent_config c;

	config_init(&c);
	config_parse_text(&c, text, "/proc/cmdline");
	CHECK(strstr(c.errors, param) != NULL);
	CHECK(strstr(c.errors, "(/proc/cmdline)") != NULL);
}

static void test_bad_values_name_the_parameter(void)
{
	expect_error("hvnode.manager=http://plain:80", "hvnode.manager");
	expect_error("hvnode.manager=https://", "hvnode.manager");
	expect_error("hvnode.manager=https://a:0", "hvnode.manager");
	expect_error("hvnode.manager=https://a:65536", "hvnode.manager");
	expect_error("hvnode.manager=https://user@host", "hvnode.manager");
	expect_error("hvnode.manager=https://a,", "hvnode.manager");
	expect_error("hvnode.manager=https://a?x=1", "hvnode.manager");
	expect_error("hvnode.manager=", "hvnode.manager");
	expect_error("hvnode.manager=https://1,https://2,https://3,https://4,https://5,https://6,"
		     "https://7,https://8,https://9", "hvnode.manager");
	expect_error("hvnode.manager_pin=sha256//short=", "hvnode.manager_pin");
	expect_error("hvnode.manager_pin=md5//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		     "hvnode.manager_pin");
	expect_error("hvnode.manager_pin=" PIN ";", "hvnode.manager_pin");
	expect_error("hvnode.manager_pin=" PIN "x", "hvnode.manager_pin");
	expect_error("hvnode.manager_ca=relative/ca.pem", "hvnode.manager_ca");
	expect_error("hvnode.join_token=", "hvnode.join_token");
	expect_error("hvnode.join_token=bad\"quote", "hvnode.join_token");
	expect_error("BOOTIF=52-54-00-12-34-56", "BOOTIF");
	expect_error("BOOTIF=01-52-54-00-12-34-5g", "BOOTIF");
}

static void test_bad_value_keeps_earlier_one(void)
{
	struct agent_config c;

	config_init(&c);
	config_parse_text(&c, "hvnode.manager=https://good", "a");
	config_parse_text(&c, "hvnode.manager=ftp://bad", "b");
	CHECK(c.n_managers == 1 && strcmp(c.managers[0], "https://good") == 0);
	CHECK(strstr(c.errors, "hvnode.manager (b)") != NULL);
}

static void test_file_overrides_and_comments(void)
{
	struct agent_config c;

	config_init(&c);
	config_parse_text(&c, "hvnode.manager=https://cmdline hvnode.join_token=one", "cmdline");
	config_parse_text(&c, "# hvnode.conf\n  hvnode.join_token=two # trailing comment\n"
			      "hvnode.manager_ca=/mnt/config/ca.pem\r\n\n", "file");
	CHECK(c.errors[0] == '\0');
	CHECK(strcmp(c.token, "two") == 0);
	CHECK(strcmp(c.managers[0], "https://cmdline") == 0);
	CHECK(strcmp(c.ca, "/mnt/config/ca.pem") == 0);
}

static void test_missing(void)
{
	struct agent_config c;
	char why[256];

	config_init(&c);
	CHECK(config_missing(&c, why, sizeof(why)) == 1 && strstr(why, "hvnode.manager="));
	config_parse_text(&c, "hvnode.manager=https://m", "t");
	CHECK(config_missing(&c, why, sizeof(why)) == 1 && strstr(why, "hvnode.manager_pin="));
	config_parse_text(&c, "hvnode.manager_ca=/ca.pem", "t");
	CHECK(config_missing(&c, why, sizeof(why)) == 1 && strstr(why, "hvnode.join_token="));
	config_parse_text(&c, "hvnode.join_token=t", "t");
	CHECK(config_missing(&c, why, sizeof(why)) == 0);
}

static void test_error_buffer_never_overflows(void)
{
	struct agent_config c;
	char text[8192] = "";

	config_init(&c);
	for (int i = 0; i < 200; i++)
		strcat(text, "hvnode.manager=x ");
	config_parse_text(&c, text, "t");
	CHECK(strlen(c.errors) < sizeof(c.errors));
	CHECK(c.n_managers == 0);
}

/* A config partition's file may not change the cmdline's manager settings: not the manager, the
 * token, nor a pin in place of the cmdline's CA. */
static void test_cmdline_locks_trust_settings(void)
{
	struct agent_config c;

	config_init(&c);
	config_parse_text(&c, "hvnode.manager=https://m.example hvnode.manager_ca=/etc/ca.pem "
			      "hvnode.join_token=good", "/proc/cmdline");
	config_lock_trust(&c);
	config_parse_text(&c, "hvnode.manager=https://evil.example\nhvnode.manager_pin=" PIN
			      "\nhvnode.join_token=evil\nhvnode.manager_ca=/mnt/config/ca.pem\n",
			  "/mnt/config/hvnode.conf");
	CHECK(strcmp(c.managers[0], "https://m.example") == 0 && c.n_managers == 1);
	CHECK(c.pin[0] == '\0');
	CHECK(strcmp(c.ca, "/etc/ca.pem") == 0);
	CHECK(strcmp(c.token, "good") == 0);
	CHECK(c.errors[0] == '\0'); /* ignored, not invalid: registration goes on */
	CHECK(strstr(c.ignored, "hvnode.manager (/mnt/config/hvnode.conf): ignored"));
	CHECK(strstr(c.ignored, "hvnode.manager_pin (/mnt/config/hvnode.conf): ignored"));
	CHECK(strstr(c.ignored, "hvnode.join_token (/mnt/config/hvnode.conf): ignored"));
	CHECK(strstr(c.ignored, "hvnode.manager_ca (/mnt/config/hvnode.conf): ignored"));

	/* A cmdline with none of them locks nothing: the named partition may give them all. */
	config_init(&c);
	config_parse_text(&c, "console=ttyS0 BOOTIF=01-52-54-00-ab-cd-56", "/proc/cmdline");
	config_lock_trust(&c);
	config_parse_text(&c, "hvnode.manager=https://m.example hvnode.join_token=t", "f");
	CHECK(c.n_managers == 1 && strcmp(c.token, "t") == 0 && c.ignored[0] == '\0');
}

/* A CA on a partition the cmdline does not name is not used; "..", "." and "//" never pass. */
static void test_ca_paths(void)
{
	struct agent_config c;

	config_init(&c);
	config_parse_text(&c, "hvnode.manager_ca=/run/../mnt/config/ca.pem hvnode.manager_ca=/mnt//x "
			      "hvnode.manager_ca=/a/./b hvnode.manager_ca=/a/.. hvnode.manager_ca=/a/..b", "t");
	CHECK(strcmp(c.ca, "/a/..b") == 0);
	CHECK(strstr(c.errors, "hvnode.manager_ca (t): not an absolute file path") != NULL);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* Writes TEXT to DIR/NAME. */
static void write_in(const char *dir, const char *name, const char *text)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	write_file(path, text);
}

/* hvnode.conf counts only when RUN/config-named exists (S40config: the cmdline named it). */
static void test_load_node_reads_conf_only_when_named(void)
{
	char dir[] = "/tmp/hvnode-test-config.XXXXXX", cmdline[128], named[128], absent[128];
	char persist[128], cmd[160];
	struct agent_config c;

	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(persist, sizeof(persist), "%s/p", dir);
	snprintf(cmdline, sizeof(cmdline), "%s/cmdline", dir);
	snprintf(named, sizeof(named), "%s/config-named", dir);
	snprintf(absent, sizeof(absent), "%s/absent", dir);
	CHECK(mkdir(persist, 0700) == 0);
	write_file(cmdline, "console=ttyS0\n");
	write_in(persist, "hvnode.conf", "hvnode.manager=https://m.example\nhvnode.join_token=t\n");

	CHECK(config_load_node(&c, cmdline, dir, persist) == 0);
	CHECK(c.n_managers == 0 && c.token[0] == '\0'); /* not named: the file is not read */

	write_file(named, "");
	CHECK(config_load_node(&c, cmdline, dir, persist) == 0);
	CHECK(c.n_managers == 1 && strcmp(c.token, "t") == 0);
	CHECK(config_load_node(&c, cmdline, dir, "") == 0); /* no partition mounted */
	CHECK(c.n_managers == 0);

	/* Not named: a CA path on the partition is dropped, whatever the source. */
	unlink(named);
	write_file(cmdline, "hvnode.manager=https://m hvnode.manager_ca=/mnt/config/ca.pem hvnode.join_token=t\n");
	CHECK(config_load_node(&c, cmdline, dir, "/mnt/config") == 0);
	CHECK(c.ca[0] == '\0' && strstr(c.ignored, "/mnt/config/ca.pem is on a config partition the cmdline does not name"));
	CHECK(config_load_node(&c, cmdline, dir, "") == 0 && strcmp(c.ca, "/mnt/config/ca.pem") == 0);
	write_file(named, "");
	write_file(cmdline, "console=ttyS0\n");

	/* A bad line in the file is ignored (named), and does not block: errors stays empty. */
	write_in(persist, "hvnode.conf", "hvnode.manager=https://m.example\nhvnode.proxy=socks5://x\nhvnode.join_token=t\n");
	CHECK(config_load_node(&c, cmdline, dir, persist) == 0);
	CHECK(c.errors[0] == '\0' && c.n_managers == 1 && strcmp(c.token, "t") == 0);
	CHECK(strstr(c.ignored, "invalid hvnode.proxy (") && strstr(c.ignored, "; ignored"));
	/* On the cmdline a bad value still blocks. */
	write_file(cmdline, "hvnode.proxy=socks5://x\n");
	CHECK(config_load_node(&c, cmdline, dir, persist) == 0 && c.errors[0] != '\0');

	CHECK(config_load_node(&c, absent, dir, persist) < 0);
	CHECK(c.n_managers == 1); /* the named file still counts */

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}

static void test_proxy(void)
{
	struct agent_config c;

	config_init(&c);
	config_parse_text(&c, "hvnode.proxy=http://proxy.example:3128", "t");
	CHECK(strcmp(c.proxy, "http://proxy.example:3128") == 0 && c.errors[0] == '\0');
	config_parse_text(&c, "hvnode.proxy=https://p:1 hvnode.proxy=http://u:pw@p:1 "
			      "hvnode.proxy=socks5://p:1 hvnode.proxy=http:// hvnode.proxy=http://p "
			      "hvnode.proxy=http://p:1/x hvnode.proxy=http://[::1] hvnode.proxy=http://:1",
			  "t");
	CHECK(strcmp(c.proxy, "http://proxy.example:3128") == 0); /* each bad one refused */
	CHECK(strstr(c.errors, "hvnode.proxy (t): not an http://host:port URL") != NULL);
	config_parse_text(&c, "hvnode.proxy=http://[fd00::1]:8080", "t");
	CHECK(strcmp(c.proxy, "http://[fd00::1]:8080") == 0);
	config_init(&c);
	CHECK(c.proxy[0] == '\0'); /* unset: no proxy at all */
}

int main(void)
{
	test_full_cmdline();
	test_several_managers_and_pins();
	test_bad_values_name_the_parameter();
	test_bad_value_keeps_earlier_one();
	test_file_overrides_and_comments();
	test_missing();
	test_error_buffer_never_overflows();
	test_cmdline_locks_trust_settings();
	test_load_node_reads_conf_only_when_named();
	test_proxy();
	test_ca_paths();
	return check_done("config");
}
