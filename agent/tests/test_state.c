/* Unit tests: agent/state.c, identity, status and authorized_keys files, in a temporary dir. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "check.h"

static void slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, len - 1, f) : 0;

	buf[n] = '\0';
	if (f)
		fclose(f);
}

static void test_identity(const char *dir)
{
	struct agent_paths p;
	struct registration id, got;
	char path[600];
	struct stat st;

	snprintf(p.run_dir, sizeof(p.run_dir), "%s/run", dir);
	snprintf(p.persist_dir, sizeof(p.persist_dir), "%s/persist", dir);
	mkdir(p.run_dir, 0755);
	mkdir(p.persist_dir, 0755);
	memset(&id, 0, sizeof(id));
	strcpy(id.node_id, "4f2c");
	strcpy(id.credential, "secret");
	id.interval_s = 9;
	CHECK(state_load_identity(&p, "https://m", &got) == -1);
	CHECK(state_save_identity(&p, "https://m", &id) == 0);
	snprintf(path, sizeof(path), "%s/agent/identity", p.persist_dir);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(state_load_identity(&p, "https://m", &got) == 0);
	CHECK(strcmp(got.node_id, "4f2c") == 0 && strcmp(got.credential, "secret") == 0);
	CHECK(got.interval_s == 9);
	CHECK(state_load_identity(&p, "https://other", &got) == -1); /* another manager's */
	/* After a reboot /run is empty: the config partition's copy is used. */
	snprintf(path, sizeof(path), "%s/identity", p.run_dir);
	unlink(path);
	CHECK(state_load_identity(&p, "https://m", &got) == 0 && strcmp(got.node_id, "4f2c") == 0);
	/* A damaged identity is not used. */
	snprintf(path, sizeof(path), "%s/agent/identity", p.persist_dir);
	CHECK(state_write_file(path, "manager=https://m\nnode_id=../x\ncredential=c\n", 44, 0600,
			       1) == 0);
	CHECK(state_load_identity(&p, "https://m", &got) == -1);
	/* A failed load leaves what the caller held alone (another manager's file, a bad file). */
	CHECK(strcmp(got.node_id, "4f2c") == 0 && strcmp(got.credential, "secret") == 0);
	CHECK(state_save_identity(&p, "https://m", &id) == 0);
	memset(&got, 0, sizeof(got));
	CHECK(state_load_identity(&p, "https://other", &got) == -1 && got.node_id[0] == '\0');
	/* On a disk the node did not write, a symlink or a FIFO is not followed or waited on. */
	snprintf(path, sizeof(path), "%s/identity", p.run_dir);
	unlink(path);
	CHECK(state_write_file(path, "x", 1, 0600, 0) == 0 && unlink(path) == 0);
	snprintf(path, sizeof(path), "%s/agent/identity", p.persist_dir);
	char target[700];
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	CHECK(rename(path, target) == 0 && symlink(target, path) == 0);
	CHECK(state_load_identity(&p, "https://m", &got) == -1);
	CHECK(unlink(path) == 0 && mkfifo(path, 0600) == 0);
	CHECK(state_load_identity(&p, "https://m", &got) == -1); /* returns: no open() blocks */
	CHECK(unlink(path) == 0 && rename(target, path) == 0);
	CHECK(state_load_identity(&p, "https://m", &got) == 0 && strcmp(got.node_id, "4f2c") == 0);
}

static void test_status_and_keys(const char *dir)
{
	struct agent_paths p = { .persist_dir = "" };
	char path[600], text[4096];

	snprintf(p.run_dir, sizeof(p.run_dir), "%s/run", dir);
	CHECK(state_write_status(&p, "registering", "https://m", "", -1, "HTTP 500: boom") == 0);
	snprintf(path, sizeof(path), "%s/agent.state", p.run_dir);
	slurp(path, text, sizeof(text));
	CHECK(strcmp(text, "state=registering\nmanager=https://m\nnode_id=\nlast_heartbeat=\n"
			   "last_error=HTTP 500: boom\n") == 0);
	snprintf(path, sizeof(path), "%s/ssh", p.run_dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/ssh/root", p.run_dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/ssh/root/authorized_keys", p.run_dir);
	CHECK(state_write_file(path, "ssh-ed25519 AAAA hvnode-cmdline\n", 32, 0600, 0) == 0);
	CHECK(state_apply_keys(&p, "ssh-ed25519 BBBB\nssh-rsa CCCC\n") == 0);
	slurp(path, text, sizeof(text));
	CHECK(strcmp(text, "ssh-ed25519 AAAA hvnode-cmdline\nssh-ed25519 BBBB hvnode-manager\n"
			   "ssh-rsa CCCC hvnode-manager\n") == 0);
	CHECK(state_apply_keys(&p, "ssh-ed25519 DDDD\n") == 0); /* replaces the manager's keys */
	slurp(path, text, sizeof(text));
	CHECK(strcmp(text, "ssh-ed25519 AAAA hvnode-cmdline\nssh-ed25519 DDDD hvnode-manager\n") == 0);
}

static void test_write_fails_cleanly(const char *dir)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/no-such-dir/file", dir);
	CHECK(state_write_file(path, "x", 1, 0600, 1) < 0);
}

/* RUN/agent.backoff round-trips; a missing or mangled file means no backoff. */
static void test_backoff(const char *dir)
{
	struct agent_paths p = { .persist_dir = "" };
	struct backoff_state b = { 3, 1234, 5, 1300 }, got;
	char path[600];
	FILE *f;

	snprintf(p.run_dir, sizeof(p.run_dir), "%s/backoff", dir);
	mkdir(p.run_dir, 0755);
	CHECK(state_load_backoff(&p, &got) == -ENOENT && got.starts == 0 && got.not_before_s == 0);
	CHECK(state_save_backoff(&p, &b) == 0);
	CHECK(state_load_backoff(&p, &got) == 0);
	CHECK(got.starts == 3 && got.last_start_s == 1234 && got.failures == 5 &&
	      got.not_before_s == 1300);
	snprintf(path, sizeof(path), "%s/agent.backoff", p.run_dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("starts=2\nfailures=-1\n", f);
		fclose(f);
	}
	CHECK(state_load_backoff(&p, &got) == -EINVAL && got.starts == 0 && got.failures == 0);
}

int main(void)
{
	char dir[] = "/tmp/hvnode-agent-test.XXXXXX";
	char cmd[64];

	if (!mkdtemp(dir))
		return 1;
	test_identity(dir);
	test_status_and_keys(dir);
	test_write_fails_cleanly(dir);
	test_backoff(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	return check_done("state");
}
