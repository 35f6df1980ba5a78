/* Unit tests: agent/reply.c, the manager's replies (untrusted). */
#include <string.h>

#include "agent.h"
#include "check.h"

#define KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBd6cKfXl0mEYQZz2sW4YkqLq0OB6pQmX0eHk5o0R1Qp"

static int parse(const char *body, struct registration *r, char *err)
{
	return reply_parse_register(body, strlen(body), r, err, 200);
}

static void test_good_registration(void)
{
	struct registration r;
	char err[200];

	CHECK(parse("{\"node_id\":\"4f2c9a01\",\"credential\":\"c-1_x\",\"heartbeat_interval_s\":7,"
		    "\"ssh_authorized_keys\":[\"" KEY " op@desk\"]}", &r, err) == 0);
	CHECK(strcmp(r.node_id, "4f2c9a01") == 0);
	CHECK(strcmp(r.credential, "c-1_x") == 0);
	CHECK(r.interval_s == 7);
	CHECK(r.has_keys == 1);
	CHECK(strcmp(r.keys, KEY "\n") == 0); /* the comment is dropped */
	CHECK(parse("{\"node_id\":\"n\",\"credential\":\"c\"}", &r, err) == 0);
	CHECK(r.interval_s == HEARTBEAT_DEFAULT_S && r.has_keys == 0);
}

static void expect_bad(const char *body, const char *what)
{
	struct registration r;
	char err[200] = "";

	CHECK(parse(body, &r, err) == -1);
	CHECK(strstr(err, what) != NULL);
}

static void test_bad_registrations(void)
{
	expect_bad("", "not a JSON object");
	expect_bad("garbage", "not a JSON object");
	expect_bad("[1,2]", "not a JSON object");
	expect_bad("{\"node_id\":42,\"credential\":\"c\"}", "node_id");
	expect_bad("{\"node_id\":\"../etc\",\"credential\":\"c\"}", "node_id");
	expect_bad("{\"node_id\":\"..\",\"credential\":\"c\"}", "node_id");
	expect_bad("{\"node_id\":\"a/b\",\"credential\":\"c\"}", "node_id");
	expect_bad("{\"node_id\":\"n\",\"credential\":[\"x\"]}", "credential");
	expect_bad("{\"node_id\":\"n\",\"credential\":\"has space\"}", "credential");
	expect_bad("{\"node_id\":\"n\",\"credential\":\"line\\nbreak\"}", "credential");
	expect_bad("{\"node_id\":\"n\",\"credential\":\"c\",\"heartbeat_interval_s\":\"soon\"}",
		   "heartbeat_interval_s");
	expect_bad("{\"node_id\":\"n\",\"credential\":\"c\",\"heartbeat_interval_s\":0}",
		   "heartbeat_interval_s");
	expect_bad("{\"node_id\":\"n\",\"credential\":\"c\",\"heartbeat_interval_s\":2.5}",
		   "heartbeat_interval_s");
	expect_bad("{\"node_id\":\"n\",\"credential\":\"c\",\"heartbeat_interval_s\":1e300}",
		   "heartbeat_interval_s");
	expect_bad("{\"node_id\":\"n\",\"credential\":\"c\",\"ssh_authorized_keys\":\"x\"}",
		   "not a list");
	expect_bad("{\"node_id\":\"n\",\"credential\":\"c\",\"ssh_authorized_keys\":"
		   "[\"ssh-dss AAAAB3NzaC1kc3MAAACBAP\"]}", "ssh_authorized_keys[0]");
	expect_bad("{\"node_id\":\"n\",\"credential\":\"c\",\"ssh_authorized_keys\":"
		   "[\"" KEY "\\nssh-ed25519 AAAAinjected\"]}", "ssh_authorized_keys[0]");
}

static void test_long_values(void)
{
	static char body[RESPONSE_MAX];
	struct registration r;
	char err[200];
	size_t n;

	n = (size_t)snprintf(body, sizeof(body), "{\"node_id\":\"");
	memset(body + n, 'a', 65);
	strcpy(body + n + 65, "\",\"credential\":\"c\"}");
	CHECK(parse(body, &r, err) == -1); /* 65 characters: one too many */
	n = (size_t)snprintf(body, sizeof(body), "{\"node_id\":\"n\",\"credential\":\"");
	memset(body + n, 'c', 513);
	strcpy(body + n + 513, "\"}");
	CHECK(parse(body, &r, err) == -1);
	n = (size_t)snprintf(body, sizeof(body), "{\"node_id\":\"n\",\"credential\":\"c\","
						 "\"ssh_authorized_keys\":[");
	for (int i = 0; i < 33; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "%s\"" KEY "\"", i ? "," : "");
	strcpy(body + n, "]}");
	CHECK(parse(body, &r, err) == -1 && strstr(err, "more than 32"));
}

static void test_not_nul_terminated(void)
{
	const char body[] = { '{', '"', 'n', 'o', 'd', 'e', '_', 'i', 'd', '"' };
	struct registration r;
	char err[200];

	CHECK(reply_parse_register(body, sizeof(body), &r, err, sizeof(err)) == -1);
}

static void test_heartbeat_updates(void)
{
	struct registration r;
	char err[200];
	const char *ok = "{\"heartbeat_interval_s\":12,\"ssh_authorized_keys\":[\"" KEY "\"]}";
	const char *bad = "{\"heartbeat_interval_s\":-5,\"ssh_authorized_keys\":\"not-a-list\"}";

	memset(&r, 0, sizeof(r));
	strcpy(r.node_id, "n");
	r.interval_s = 30;
	CHECK(reply_parse_heartbeat("{}", 2, &r, err, sizeof(err)) == 0);
	CHECK(r.interval_s == 30 && r.has_keys == 0);
	CHECK(reply_parse_heartbeat(ok, strlen(ok), &r, err, sizeof(err)) == 0);
	CHECK(r.interval_s == 12 && r.has_keys == 1);
	CHECK(reply_parse_heartbeat(bad, strlen(bad), &r, err, sizeof(err)) == -1);
	CHECK(r.interval_s == 12); /* nothing changes on a bad reply */
	CHECK(strcmp(r.node_id, "n") == 0);
}

static int hb(const char *body, struct registration *r, char *err)
{
	return reply_parse_heartbeat(body, strlen(body), r, err, 200);
}

static void test_heartbeat_generation(void)
{
	struct registration r = { .interval_s = 5 };
	char err[200];

	CHECK(hb("{}", &r, err) == 0 && !r.has_generation);
	CHECK(hb("{\"vms_generation\":12}", &r, err) == 0);
	CHECK(r.has_generation && r.vms_generation == 12);
	CHECK(hb("{\"vms_generation\":null}", &r, err) == 0);
	CHECK(!r.has_generation);
	CHECK(hb("{\"vms_generation\":-1}", &r, err) == -1);
	CHECK(strstr(err, "vms_generation") != NULL);
	CHECK(hb("{\"vms_generation\":1.5}", &r, err) == -1);
	CHECK(hb("{\"vms_generation\":\"7\"}", &r, err) == -1);
	CHECK(hb("{\"vms_generation\":9007199254740992}", &r, err) == -1);
}

/* "facts_wanted": true asks for the facts; missing, null or false does not; anything else is
 * a bad reply. */
static void test_heartbeat_facts_wanted(void)
{
	struct registration r = { .interval_s = 5 };
	char err[200];

	CHECK(hb("{\"facts_wanted\":true}", &r, err) == 0 && r.facts_wanted);
	CHECK(hb("{}", &r, err) == 0 && !r.facts_wanted);
	CHECK(hb("{\"facts_wanted\":false}", &r, err) == 0 && !r.facts_wanted);
	CHECK(hb("{\"facts_wanted\":null}", &r, err) == 0 && !r.facts_wanted);
	CHECK(hb("{\"facts_wanted\":1}", &r, err) == -1 && strstr(err, "facts_wanted") != NULL);
}

static void test_reason(void)
{
	char buf[16];
	const char *body = "{\"error\":\"no\\u0007pe, too long for the buffer\"}";

	reply_reason(body, strlen(body), buf, sizeof(buf));
	CHECK(strcmp(buf, "no?pe, too long") == 0);
	reply_reason("{\"reason\":\"pending approval\"}", 29, buf, sizeof(buf));
	CHECK(strcmp(buf, "pending approva") == 0);
	reply_reason("junk", 4, buf, sizeof(buf));
	CHECK(buf[0] == '\0');
}

int main(void)
{
	test_good_registration();
	test_bad_registrations();
	test_long_values();
	test_not_nul_terminated();
	test_heartbeat_updates();
	test_heartbeat_generation();
	test_heartbeat_facts_wanted();
	test_reason();
	return check_done("reply");
}
