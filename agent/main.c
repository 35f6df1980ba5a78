/* hvnode-agent: registers the node with its manager over pinned TLS, then heartbeats
 * (agent/PROTOCOL.md, /api/v1). Started by init and restarted if it ever dies; it never exits
 * on a manager fault or bad configuration: it says what is wrong on the console, in
 * RUN/agent.state for the status screen, and tries again.
 *
 *   hvnode-agent [-c FILE] [--cmdline FILE] [--run-dir DIR] [--persist-dir DIR]
 *                [--facts-root DIR]
 *   hvnode-agent --facts [...]     prints the registration facts (JSON) and exits
 * --facts-root reads /sys, /proc, /etc and /run facts under DIR instead of / (host tests).
 *   hvnode-agent --version
 * Settings come from the kernel cmdline (--cmdline, default /proc/cmdline), then
 * PERSIST/hvnode.conf (only when RUN/config-named says the cmdline named the partition), then
 * -c FILE, later ones winning per parameter, but for the manager settings, which are the
 * cmdline's whenever it gives any (agent/config.c, config_load_node).
 * RUN defaults to /run/hvnode; PERSIST to /mnt/config when the HVNODE config partition is
 * mounted there. Exit codes: 0 (--facts, --version), 100 usage, 111 system failure. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>

#include "agent.h"

#ifndef HVNODE_VERSION
#define HVNODE_VERSION "unknown"
#endif

/* AGENT_STABLE_S: an agent that started contacting managers less than this long after the
 * previous start did is in a restart loop, and waits a growing backoff first. */
enum { EXIT_USAGE = 100, EXIT_SYSTEM = 111, CONFIG_RETRY_S = 30, TEXT_MAX = 16384,
       AGENT_STABLE_S = 60 };

struct agent {
	struct agent_config cfg;
	struct agent_paths paths;
	struct facts_env env;
	struct kvm_state kvm;
	char image_sha256[65];
	const char *cmdline_path, *config_file;
	struct registration id;
	int id_manager;        /* the manager ID belongs to (index into cfg.managers), -1: none */
	int registered;
	int manager;           /* index into cfg.managers */
	unsigned failures;     /* consecutive failed attempts */
	unsigned attempt;      /* attempts since the last success */
	unsigned forgotten;    /* 401/404 answers to the credential since the last heartbeat ok */
	struct backoff_state backoff; /* as kept in RUN/agent.backoff */
	int heartbeat_logged;  /* "heartbeat ok" shown since the last failure */
	long last_heartbeat;
	char last_error[512];
	struct http_result res;
	char body[RESPONSE_MAX + 1];
	char facts_sent[65];   /* facts_sha256 of the facts the manager last accepted, "" none */
	char facts_now[65];    /* ... and of the facts in the exchange under way */
	char facts_logged[65]; /* ... and of the last change logged */
	int vms_fetched;       /* a VM list was fetched since the agent (re)registered */
	long long vms_generation; /* ... and this was its generation */
	int vms_announced;     /* a heartbeat reply carried vms_generation ... */
	long long vms_wanted;  /* ... and this was the last one (kept until fetched) */
};

static void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void agent_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "hvnode-agent: %s\n", line);
}

static void agent_sleep(unsigned seconds)
{
	struct timespec ts = { .tv_sec = seconds };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Seconds since the kernel started (CLOCK_BOOTTIME). */
static double agent_uptime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t agent_random(void)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)time(NULL) * 2654435761u;
	return r;
}

static void agent_status(struct agent *a, const char *state)
{
	state_write_status(&a->paths, state, a->cfg.n_managers ? a->cfg.managers[a->manager] : "",
			   a->registered ? a->id.node_id : "", a->last_heartbeat, a->last_error);
}

/* Loads the settings; 0 when the agent can register, else 1 with the reason logged once. */
static int agent_load_config(struct agent *a, char *shown, size_t shownlen)
{
	static char text[TEXT_MAX];
	static char ignored_shown[CONFIG_ERRORS_MAX];
	char why[CONFIG_ERRORS_MAX + 64];
	int rc;

	config_load_node(&a->cfg, a->cmdline_path, a->paths.run_dir, a->paths.persist_dir);
	if (a->config_file && (rc = config_read_file(a->config_file, text, sizeof(text))) != 0)
		snprintf(a->cfg.errors + strlen(a->cfg.errors),
			 sizeof(a->cfg.errors) - strlen(a->cfg.errors), "-c %s: %s\n",
			 a->config_file, strerror(-rc));
	else if (a->config_file)
		config_parse_text(&a->cfg, text, a->config_file);
	a->env.bootif_mac = a->cfg.bootif_mac;
	if (strcmp(ignored_shown, a->cfg.ignored) != 0) {
		for (const char *line = a->cfg.ignored; *line; line = config_next_line(line))
			agent_log("%.*s", (int)strcspn(line, "\n"), line);
		snprintf(ignored_shown, sizeof(ignored_shown), "%s", a->cfg.ignored);
	}
	if (a->cfg.errors[0])
		snprintf(why, sizeof(why), "invalid %s", a->cfg.errors);
	else if (!config_missing(&a->cfg, why, sizeof(why)))
		return 0;
	why[strcspn(why, "\n")] = '\0'; /* the first problem; all are logged below */
	snprintf(a->last_error, sizeof(a->last_error), "%.500s", why);
	if (strcmp(shown, why) != 0) {
		for (const char *line = a->cfg.errors; *line; line = config_next_line(line))
			agent_log("invalid %.*s; the node stays unconfigured",
				  (int)strcspn(line, "\n"), line);
		if (!a->cfg.errors[0])
			agent_log("not configured: %s", why);
		snprintf(shown, shownlen, "%s", why);
	}
	return 1;
}

/* Waits DELAY s before the next attempt, and keeps that (and the failure count) in
 * RUN/agent.backoff, so a restarted agent waits it out too. */
static void agent_backoff_sleep(struct agent *a, unsigned delay)
{
	int rc;

	a->backoff.failures = a->failures;
	a->backoff.not_before_s = (long)agent_uptime() + (long)delay;
	if ((rc = state_save_backoff(&a->paths, &a->backoff)) != 0)
		agent_log("unable to keep the backoff in %s: %s", a->paths.run_dir, strerror(-rc));
	agent_sleep(delay);
}

/* A success: no backoff for the next attempt, nor for a restarted agent. */
static void agent_backoff_clear(struct agent *a)
{
	a->failures = a->attempt = 0;
	if (a->backoff.failures || a->backoff.not_before_s) {
		a->backoff.failures = 0;
		a->backoff.not_before_s = 0;
		state_save_backoff(&a->paths, &a->backoff);
	}
}

static void agent_fail(struct agent *a, const char *doing, const char *state)
{
	unsigned delay = backoff_delay_s(++a->failures, agent_random());

	agent_log("%s %s (attempt %u, next in %u s): %s", doing, a->cfg.managers[a->manager],
		  ++a->attempt, delay, a->last_error);
	a->heartbeat_logged = 0;
	agent_status(a, state);
	agent_backoff_sleep(a, delay);
}

/* At start: the backoff a previous agent left in RUN/agent.backoff is honoured, and a start
 * within AGENT_STABLE_S of the previous one (init respawns a crashed agent at once) waits a
 * backoff growing with the starts in a row, so a crash loop cannot register every second. */
static void agent_restart_backoff(struct agent *a)
{
	struct backoff_state *b = &a->backoff;
	long now = (long)agent_uptime();
	int kept = state_load_backoff(&a->paths, b) == 0;
	unsigned wait = 0;

	b->starts = kept && now - b->last_start_s < AGENT_STABLE_S ? b->starts + 1 : 0;
	a->failures = b->failures;
	if (b->starts)
		wait = backoff_delay_s(b->starts, agent_random());
	if (b->not_before_s > now && (unsigned long)(b->not_before_s - now) > wait)
		wait = (unsigned)(b->not_before_s - now);
	b->last_start_s = now + (long)wait; /* when this agent starts contacting managers */
	state_save_backoff(&a->paths, b);
	if (!wait)
		return;
	if (b->starts)
		agent_log("started %u time(s) in a row within %d s: waiting %u s before contacting "
			  "a manager", b->starts + 1, AGENT_STABLE_S, wait);
	else
		agent_log("waiting %u s before contacting a manager (the backoff of the previous "
			  "agent)", wait);
	agent_sleep(wait);
}

/* The failure text of an exchange: transport error, or status and the manager's reason. */
static void agent_describe(struct agent *a, int rc)
{
	char reason[200];

	if (rc) {
		snprintf(a->last_error, sizeof(a->last_error), "%s", a->res.error);
		return;
	}
	reply_reason(a->res.body, a->res.len, reason, sizeof(reason));
	snprintf(a->last_error, sizeof(a->last_error), "HTTP %ld%s%s", a->res.status,
		 reason[0] ? ": " : "", reason);
}

static void agent_registered(struct agent *a)
{
	const char *url = a->cfg.managers[a->manager];
	int rc;

	a->registered = 1;
	a->id_manager = a->manager;
	memcpy(a->facts_sent, a->facts_now, sizeof(a->facts_sent));
	a->vms_fetched = a->vms_announced = 0; /* a new record: its VM list is fetched afresh */
	agent_backoff_clear(a);
	a->last_error[0] = '\0';
	agent_log("registered as node %s with %s (heartbeat every %d s; %.1f s after boot)",
		  a->id.node_id, url, a->id.interval_s, agent_uptime());
	rc = state_save_identity(&a->paths, url, &a->id);
	if (rc)
		agent_log("unable to keep the identity in %s: %s", a->paths.persist_dir[0]
			  ? a->paths.persist_dir : a->paths.run_dir, strerror(-rc));
	if (a->id.has_keys && (rc = state_apply_keys(&a->paths, a->id.keys)) != 0)
		agent_log("unable to install the manager's SSH keys: %s", strerror(-rc));
	agent_status(a, "registered");
}

/* Posts JSON (deleted here) to ENDPOINT with BEARER; WHAT names the body for an error.
 * Returns http_post_json's result, with a->res filled. */
static int agent_post(struct agent *a, const char *endpoint, const char *bearer, cJSON *json,
		      const char *what)
{
	char *body = json ? cJSON_PrintUnformatted(json) : NULL;
	int rc = -1;

	cJSON_Delete(json);
	a->res.body = a->body;
	a->res.cap = RESPONSE_MAX;
	if (body)
		rc = http_exchange(&a->cfg, endpoint, bearer, body, &a->res);
	else
		snprintf(a->res.error, sizeof(a->res.error), "out of memory building the %s", what);
	free(body);
	return rc;
}

/* The node's facts now (facts_collect), with A->facts_now = their facts_sha256
 * (facts_stable_text); "" when out of memory, which makes the facts go out with every heartbeat
 * rather than never. NULL when out of memory. */
static cJSON *agent_collect_facts(struct agent *a)
{
	cJSON *facts = facts_collect(&a->env, &a->kvm, a->image_sha256);
	char *text = facts ? facts_stable_text(facts) : NULL;

	a->facts_now[0] = '\0';
	if (text)
		digest_sha256_hex(text, strlen(text), a->facts_now);
	free(text);
	return facts;
}

/* The registration body: the facts, plus "identity" (PROTOCOL.md "Register") when the agent
 * holds a node_id and credential from this manager, which proves the node is the one the
 * manager knows. An identity from another manager is never sent. */
static cJSON *agent_register_body(struct agent *a)
{
	cJSON *body = agent_collect_facts(a), *identity;

	if (body && a->facts_now[0])
		cJSON_AddStringToObject(body, "facts_sha256", a->facts_now);
	if (!body || a->id_manager != a->manager)
		return body;
	identity = cJSON_AddObjectToObject(body, "identity");
	if (!identity || !cJSON_AddStringToObject(identity, "node_id", a->id.node_id) ||
	    !cJSON_AddStringToObject(identity, "credential", a->id.credential)) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

static void agent_register(struct agent *a)
{
	static struct registration next; /* a bad reply leaves the identity held in a->id alone */
	const char *url = a->cfg.managers[a->manager];
	char endpoint[CONFIG_URL_MAX + 32], err[200];
	int rc;

	snprintf(endpoint, sizeof(endpoint), "%s/api/v1/nodes", url);
	rc = agent_post(a, endpoint, a->cfg.token, agent_register_body(a), "facts");
	if (rc == 0 && (a->res.status == 201 || a->res.status == 200)) {
		if (reply_parse_register(a->res.body, a->res.len, &next, err, sizeof(err)) == 0) {
			a->id = next;
			agent_registered(a);
			return;
		}
		snprintf(a->last_error, sizeof(a->last_error), "bad registration reply: %s", err);
	} else if (rc == 0 && a->res.status == 202) {
		unsigned delay = a->res.retry_after_s > 0 ? (unsigned)a->res.retry_after_s
							  : backoff_delay_s(++a->failures, agent_random());

		agent_describe(a, rc);
		agent_log("registration with %s pending approval (attempt %u, next in %u s): %s", url,
			  ++a->attempt, delay, a->last_error);
		agent_status(a, "pending");
		/* Held by a manager that did not issue the identity (the agent moved on after a
		 * failure): the next attempt goes back to the one that did, which knows it. */
		if (a->id_manager >= 0 && a->id_manager != a->manager) {
			agent_log("registering with %s next, which issued node %s's identity",
				  a->cfg.managers[a->id_manager], a->id.node_id);
			a->manager = a->id_manager;
		}
		agent_backoff_sleep(a, delay);
		return;
	} else {
		agent_describe(a, rc);
	}
	agent_fail(a, "registering with", "registering");
	a->manager = (a->manager + 1) % a->cfg.n_managers; /* the next manager, in turn */
}

/* After an exchange with the node's credential (RC from http_exchange): a 401 or 404 means the
 * manager forgot the node or the credential, so the agent registers again (PROTOCOL.md
 * "Heartbeat"), after a backoff that grows while such answers follow registrations without a
 * heartbeat ok in between (a stale replica answering 201 to register and 404 to heartbeat).
 * The identity is kept until a registration replaces it. Returns 1 then, else 0. */
static int agent_forgotten(struct agent *a, int rc)
{
	unsigned delay;

	if (rc || (a->res.status != 401 && a->res.status != 404))
		return 0;
	delay = backoff_delay_s(++a->forgotten, agent_random());
	agent_log("%s no longer knows node %s (HTTP %ld): registering again in %u s",
		  a->cfg.managers[a->manager], a->id.node_id, a->res.status, delay);
	a->registered = 0;
	a->failures = a->attempt = 0;
	a->heartbeat_logged = 0;
	agent_status(a, "registering");
	agent_backoff_sleep(a, delay);
	return 1;
}

/* The heartbeat body: facts_heartbeat, the supervisor's report (RUN/vms.actual), the
 * facts_sha256 of the node's facts now, and the facts themselves when that differs from the
 * last the manager accepted (PROTOCOL.md "Heartbeat"): an address, a link, a disk changed. */
static cJSON *agent_heartbeat_body(struct agent *a)
{
	static char text[VMS_LIST_MAX + 1];
	cJSON *body = facts_heartbeat(&a->env, &a->kvm);
	cJSON *facts = agent_collect_facts(a);
	char path[CONFIG_PATH_MAX + 16], err[128];
	size_t n = 0;
	FILE *f;

	if (body && a->facts_now[0])
		cJSON_AddStringToObject(body, "facts_sha256", a->facts_now);
	if (body && facts && strcmp(a->facts_now, a->facts_sent)) {
		if (a->facts_sent[0] && strcmp(a->facts_now, a->facts_logged))
			agent_log("the node's facts changed since the manager last got them: sending "
				  "them with the heartbeat");
		memcpy(a->facts_logged, a->facts_now, sizeof(a->facts_logged));
		if (cJSON_AddItemToObject(body, "facts", facts))
			facts = NULL;
	}
	cJSON_Delete(facts);

	snprintf(path, sizeof(path), "%s/vms.actual", a->paths.run_dir);
	f = fopen(path, "re");
	if (f) {
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
	}
	if (body && vms_merge_actual(body, text, n, err, sizeof(err)) && n)
		agent_log("%s", err);
	return body;
}

/* Fetches the desired VM list (PROTOCOL.md "VMs") and hands it to the supervisor through
 * RUN/vms.desired. Returns 0 when the list was applied; else the next heartbeat tries again. */
static int agent_fetch_vms(struct agent *a, long long announced)
{
	static char body[VMS_LIST_MAX + 1];
	char endpoint[CONFIG_URL_MAX + NODE_ID_MAX + 32], path[CONFIG_PATH_MAX + 16], err[200];
	struct http_result *res = &a->res;
	long long generation;
	cJSON *vms, *desired;
	char *text;
	int rc;

	snprintf(endpoint, sizeof(endpoint), "%s/api/v1/nodes/%s/vms", a->cfg.managers[a->manager],
		 a->id.node_id);
	res->body = body;
	res->cap = VMS_LIST_MAX;
	rc = http_exchange(&a->cfg, endpoint, a->id.credential, NULL, res);
	if (agent_forgotten(a, rc))
		return -1;
	if (rc || res->status != 200) {
		agent_describe(a, rc);
		agent_log("fetching the VM list (generation %lld) failed: %s", announced, a->last_error);
		return -1;
	}
	if (vms_parse_list(res->body, res->len, &generation, &vms, err, sizeof(err))) {
		snprintf(a->last_error, sizeof(a->last_error), "bad VM list: %s", err);
		agent_log("ignored a %s", a->last_error);
		return -1;
	}
	desired = cJSON_CreateObject();
	if (desired) {
		cJSON_AddNumberToObject(desired, "vms_generation", (double)generation);
		cJSON_AddItemToObject(desired, "vms", vms);
		vms = NULL;
	}
	text = desired ? cJSON_PrintUnformatted(desired) : NULL;
	cJSON_Delete(desired);
	cJSON_Delete(vms);
	snprintf(path, sizeof(path), "%s/vms.desired", a->paths.run_dir);
	rc = text ? state_write_file(path, text, strlen(text), 0600, 0) : -ENOMEM;
	free(text);
	if (rc) {
		agent_log("unable to write %s: %s", path, strerror(-rc));
		return -1;
	}
	agent_log("VM list generation %lld handed to the supervisor", generation);
	a->vms_fetched = 1;
	a->vms_generation = generation;
	return 0;
}

static void agent_heartbeat(struct agent *a)
{
	const char *url = a->cfg.managers[a->manager];
	char endpoint[CONFIG_URL_MAX + NODE_ID_MAX + 32], err[200];
	int rc;

	probe_kvm(&a->kvm);
	snprintf(endpoint, sizeof(endpoint), "%s/api/v1/nodes/%s/heartbeat", url, a->id.node_id);
	rc = agent_post(a, endpoint, a->id.credential, agent_heartbeat_body(a), "heartbeat");
	if (agent_forgotten(a, rc))
		return;
	if (rc || a->res.status != 200) {
		agent_describe(a, rc);
		agent_fail(a, "heartbeat to", "registered");
		return;
	}
	agent_backoff_clear(a);
	a->forgotten = 0;
	memcpy(a->facts_sent, a->facts_now, sizeof(a->facts_sent));
	a->last_heartbeat = (long)agent_uptime();
	a->last_error[0] = '\0';
	if (reply_parse_heartbeat(a->res.body, a->res.len, &a->id, err, sizeof(err))) {
		snprintf(a->last_error, sizeof(a->last_error), "ignored a bad heartbeat reply: %s", err);
		agent_log("%s", a->last_error);
	} else {
		if (a->id.has_keys && (rc = state_apply_keys(&a->paths, a->id.keys)) != 0)
			agent_log("unable to install the manager's SSH keys: %s", strerror(-rc));
		if (a->id.facts_wanted) {
			agent_log("the manager asked for the node's facts: sending them with the next "
				  "heartbeat");
			a->facts_sent[0] = '\0';
		}
	}
	if (a->id.has_generation) {
		a->vms_announced = 1;
		a->vms_wanted = a->id.vms_generation;
	}
	if (a->vms_announced && (!a->vms_fetched || a->vms_generation != a->vms_wanted) &&
	    agent_fetch_vms(a, a->vms_wanted) && !a->registered)
		return;
	if (!a->heartbeat_logged)
		agent_log("heartbeat ok (node %s, every %d s)", a->id.node_id, a->id.interval_s);
	a->heartbeat_logged = 1;
	agent_status(a, "registered");
	agent_sleep((unsigned)a->id.interval_s);
}

/* Resumes with an identity kept for one of the configured managers, if any. */
static void agent_resume(struct agent *a)
{
	for (int i = 0; i < a->cfg.n_managers; i++)
		if (state_load_identity(&a->paths, a->cfg.managers[i], &a->id) == 0) {
			a->manager = a->id_manager = i;
			a->registered = 1;
			agent_log("resuming as node %s with %s", a->id.node_id, a->cfg.managers[i]);
			return;
		}
}

static int agent_run(struct agent *a)
{
	char shown[CONFIG_ERRORS_MAX + 64] = "";

	if (mkdir(a->paths.run_dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "hvnode-agent: unable to create %s: %s\n", a->paths.run_dir,
			strerror(errno));
		return EXIT_SYSTEM;
	}
	if (http_global_init()) {
		fprintf(stderr, "hvnode-agent: unable to initialise libcurl\n");
		return EXIT_SYSTEM;
	}
	while (agent_load_config(a, shown, sizeof(shown))) {
		agent_status(a, "unconfigured");
		agent_sleep(CONFIG_RETRY_S);
	}
	probe_kvm(&a->kvm);
	if (probe_image_sha256(a->image_sha256))
		agent_log("root is not a squashfs image: image sha256 unknown");
	agent_log("managers: %d, first %s; verifying TLS by %s", a->cfg.n_managers,
		  a->cfg.managers[0], a->cfg.pin[0] && a->cfg.ca[0] ? "pin and CA"
				       : a->cfg.pin[0]                 ? "pin"
								       : "CA");
	agent_restart_backoff(a);
	agent_resume(a);
	for (;;) {
		if (!a->registered) {
			if (a->attempt == 0)
				agent_status(a, "registering");
			agent_register(a);
		} else {
			agent_heartbeat(a);
		}
	}
}

static int usage(const char *why, const char *arg)
{
	fprintf(stderr, "hvnode-agent: %s: %s\nusage: hvnode-agent [-c FILE] [--cmdline FILE] "
			"[--run-dir DIR] [--persist-dir DIR] [--facts-root DIR] [--facts] | --version\n", why, arg);
	return EXIT_USAGE;
}

static int agent_print_facts(struct agent *a)
{
	static char text[TEXT_MAX];
	cJSON *facts;
	char *out;

	config_init(&a->cfg);
	if (config_read_file(a->cmdline_path, text, sizeof(text)) == 0)
		config_parse_text(&a->cfg, text, a->cmdline_path);
	a->env.bootif_mac = a->cfg.bootif_mac;
	probe_kvm(&a->kvm);
	probe_image_sha256(a->image_sha256);
	facts = facts_collect(&a->env, &a->kvm, a->image_sha256);
	out = facts ? cJSON_Print(facts) : NULL;
	cJSON_Delete(facts);
	if (!out)
		return EXIT_SYSTEM;
	printf("%s\n", out);
	free(out);
	return 0;
}

int main(int argc, char **argv)
{
	struct agent *a = calloc(1, sizeof(*a));
	int facts = 0;

	if (!a)
		return EXIT_SYSTEM;
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stderr, NULL, _IOLBF, 0);
	a->cmdline_path = "/proc/cmdline";
	a->last_heartbeat = -1;
	a->id_manager = -1;
	a->env.root = "";
	a->env.with_addresses = 1;
	snprintf(a->paths.run_dir, sizeof(a->paths.run_dir), "/run/hvnode");
	if (state_mounted("", "/mnt/config"))
		snprintf(a->paths.persist_dir, sizeof(a->paths.persist_dir), "/mnt/config");
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(arg, "--version")) {
			printf("hvnode-agent %s (%s, cJSON %s)\n", HVNODE_VERSION, curl_version(),
			       cJSON_Version());
			return 0;
		} else if (!strcmp(arg, "--facts")) {
			facts = 1;
		} else if (strcmp(arg, "-c") && strcmp(arg, "--cmdline") && strcmp(arg, "--run-dir") &&
			   strcmp(arg, "--persist-dir") && strcmp(arg, "--facts-root")) {
			return usage("unknown option", arg);
		} else if (!val) {
			return usage("option needs a value", arg);
		} else if (!strcmp(arg, "-c")) {
			a->config_file = argv[++i];
		} else if (!strcmp(arg, "--cmdline")) {
			a->cmdline_path = argv[++i];
		} else if (!strcmp(arg, "--facts-root")) {
			a->env.root = argv[++i];
		} else if (!strcmp(arg, "--run-dir") && strlen(val) < CONFIG_PATH_MAX) {
			snprintf(a->paths.run_dir, sizeof(a->paths.run_dir), "%s", argv[++i]);
		} else if (!strcmp(arg, "--persist-dir") && strlen(val) < CONFIG_PATH_MAX) {
			snprintf(a->paths.persist_dir, sizeof(a->paths.persist_dir), "%s", argv[++i]);
		} else {
			return usage("directory path too long", arg);
		}
	}
	return facts ? agent_print_facts(a) : agent_run(a);
}
