/* hvnode-agent configuration: `name=value` words as on the kernel cmdline (/proc/cmdline), or
 * lines of a config file (same names, `#` starts a comment). Later sources override earlier
 * ones, one parameter at a time. Recognised names (agent/PROTOCOL.md, README "Kernel
 * cmdline"):
 *   hvnode.manager=https://host[:port][,https://...]  up to 8 managers, tried in turn
 *   hvnode.manager_pin=sha256//BASE64[;sha256//...]   SPKI pins, curl's format
 *   hvnode.manager_ca=/absolute/path                  CA bundle (PEM)
 *   hvnode.join_token=TOKEN                           1-256 of [A-Za-z0-9._~+/=-]
 *   hvnode.proxy=http://host:port                     an HTTP proxy for the manager and image
 *                                                     downloads; none without it (the
 *                                                     environment's *_proxy never count)
 *   BOOTIF=01-aa-bb-cc-dd-ee-ff                       PXE boot NIC (pxelinux IPAPPEND 2)
 * Other names are ignored (they belong to other parts of the node). A bad value is not taken:
 * the parameter keeps its earlier value and a line naming it is added to cfg->errors.
 * The trust settings (manager, pin, CA, token) are the cmdline's when it gives any of them:
 * config_lock_trust, after the cmdline, keeps every later source from changing them (README,
 * "Config partition"). Pure, but for config_load_node, which reads the node's files. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

/* Adds one line (FMT, printf-style, without its '\n') to cfg->ignored: a value not taken that
 * does not keep the node unconfigured. */
static void config_ignored(struct agent_config *cfg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void config_ignored(struct agent_config *cfg, const char *fmt, ...)
{
	size_t used = strlen(cfg->ignored);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cfg->ignored + used, sizeof(cfg->ignored) - used, fmt, ap);
	va_end(ap);
	used = strlen(cfg->ignored);
	if (used + 1 < sizeof(cfg->ignored)) {
		cfg->ignored[used] = '\n';
		cfg->ignored[used + 1] = '\0';
	}
}

static void config_error(struct agent_config *cfg, const char *source, const char *name,
			 const char *why)
{
	size_t used = strlen(cfg->errors);

	snprintf(cfg->errors + used, sizeof(cfg->errors) - used, "%s (%s): %s\n", name, source,
		 why);
}

static int is_base64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/* One URL of SCHEME ("https://"): a host of [A-Za-z0-9.-] or a bracketed IPv6 literal, an
 * optional port 1-65535, an optional path of safe characters. No userinfo, query or fragment. */
static int config_valid_url_of(const char *url, size_t len, const char *scheme)
{
	size_t slen = strlen(scheme);
	const char *p = url + slen, *end = url + len;

	if (len <= slen || len >= CONFIG_URL_MAX || strncmp(url, scheme, slen) != 0)
		return 0;
	if (*p == '[') {
		while (p < end && *p != ']') {
			if (!strchr("0123456789abcdefABCDEF:.", *p) && *p != '[')
				return 0;
			p++;
		}
		if (p == end)
			return 0;
		p++;
	} else {
		const char *host = p;

		while (p < end && (strchr("-.", *p) || (*p >= 'a' && *p <= 'z') ||
				   (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			p++;
		if (p == host)
			return 0;
	}
	if (p < end && *p == ':') {
		long port = 0;
		const char *digits = ++p;

		while (p < end && *p >= '0' && *p <= '9' && port <= 65535)
			port = port * 10 + (*p++ - '0');
		if (p == digits || port < 1 || port > 65535)
			return 0;
	}
	for (; p < end; p++)
		if (!strchr("/-._~%", *p) && !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
						(*p >= '0' && *p <= '9')))
			return 0;
	return 1;
}

static int config_valid_url(const char *url, size_t len)
{
	return config_valid_url_of(url, len, "https://");
}

static void config_set_managers(struct agent_config *cfg, const char *value, size_t len,
				const char *source)
{
	char urls[CONFIG_MAX_MANAGERS][CONFIG_URL_MAX];
	int n = 0;
	size_t start = 0;

	while (start <= len) {
		size_t end = start;

		while (end < len && value[end] != ',')
			end++;
		size_t ulen = end - start;

		while (ulen > 9 && value[start + ulen - 1] == '/')
			ulen--; /* "https://m:8443/" and "https://m:8443" are one manager */
		if (n == CONFIG_MAX_MANAGERS) {
			config_error(cfg, source, "hvnode.manager", "more than 8 managers");
			return;
		}
		if (!config_valid_url(value + start, ulen)) {
			config_error(cfg, source, "hvnode.manager",
				     "not a list of https://host[:port] URLs");
			return;
		}
		memcpy(urls[n], value + start, ulen);
		urls[n++][ulen] = '\0';
		start = end + 1;
	}
	memcpy(cfg->managers, urls, sizeof(urls));
	cfg->n_managers = n;
}

/* sha256//BASE64 where BASE64 encodes 32 bytes: 43 characters and one '='. */
static int config_valid_pins(const char *value, size_t len)
{
	size_t start = 0;

	if (len == 0 || len >= CONFIG_PIN_MAX)
		return 0;
	while (start < len) {
		const char *p = value + start;
		size_t i;

		if (len - start < 52 || strncmp(p, "sha256//", 8) != 0)
			return 0;
		for (i = 0; i < 43; i++)
			if (!is_base64_char(p[8 + i]))
				return 0;
		if (p[51] != '=' || (start + 52 < len && p[52] != ';'))
			return 0;
		start += 53;
	}
	return start == len + 1; /* start == len: a trailing ';' */
}

static int config_valid_token(const char *value, size_t len)
{
	if (len == 0 || len >= CONFIG_TOKEN_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!is_base64_char(value[i]) && !strchr("._~=-", value[i]))
			return 0;
	return 1;
}

/* An absolute path of printable characters with no "." or ".." component and no "//", so
 * that a prefix says where the file is. */
static int config_valid_path(const char *value, size_t len)
{
	if (len < 2 || len >= CONFIG_PATH_MAX || value[0] != '/')
		return 0;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)value[i] <= ' ' || value[i] == 0x7f)
			return 0;
		if (value[i] == '/') {
			size_t n = 1;

			while (i + n < len && value[i + n] != '/')
				n++;
			if (n == 1 || (n == 2 && value[i + 1] == '.') ||
			    (n == 3 && value[i + 1] == '.' && value[i + 2] == '.'))
				return 0;
		}
	}
	return 1;
}

/* BOOTIF=01-aa-bb-cc-dd-ee-ff (ARP type 1, Ethernet) into "aa:bb:cc:dd:ee:ff". */
static int config_parse_bootif(const char *value, size_t len, char out[18])
{
	if (len != 20 || strncmp(value, "01-", 3) != 0)
		return 0;
	for (size_t i = 0; i < 17; i++) {
		char c = value[3 + i];

		if (i % 3 == 2) {
			if (c != '-')
				return 0;
			out[i] = ':';
		} else if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) {
			out[i] = c;
		} else if (c >= 'A' && c <= 'F') {
			out[i] = (char)(c - 'A' + 'a');
		} else {
			return 0;
		}
	}
	out[17] = '\0';
	return 1;
}

static void config_copy(char *dst, const char *value, size_t len)
{
	memcpy(dst, value, len);
	dst[len] = '\0';
}

static void config_set(struct agent_config *cfg, const char *name, size_t nlen, const char *value,
		       size_t vlen, const char *source)
{
#define IS(lit) (nlen == sizeof(lit) - 1 && memcmp(name, lit, nlen) == 0)
	if (cfg->trust_locked && (IS("hvnode.manager") || IS("hvnode.manager_pin") ||
				  IS("hvnode.manager_ca") || IS("hvnode.join_token"))) {
		config_ignored(cfg, "%.*s (%s): ignored: the cmdline gives the manager settings, and "
			       "no other source may change them", (int)nlen, name, source);
	} else if (IS("hvnode.manager")) {
		config_set_managers(cfg, value, vlen, source);
	} else if (IS("hvnode.manager_pin")) {
		if (config_valid_pins(value, vlen))
			config_copy(cfg->pin, value, vlen);
		else
			config_error(cfg, source, "hvnode.manager_pin",
				     "not sha256//BASE64 of a 32-byte SPKI hash");
	} else if (IS("hvnode.manager_ca")) {
		if (config_valid_path(value, vlen))
			config_copy(cfg->ca, value, vlen);
		else
			config_error(cfg, source, "hvnode.manager_ca", "not an absolute file path");
	} else if (IS("hvnode.join_token")) {
		if (config_valid_token(value, vlen))
			config_copy(cfg->token, value, vlen);
		else
			config_error(cfg, source, "hvnode.join_token",
				     "not 1-256 characters of [A-Za-z0-9._~+/=-]");
	} else if (IS("hvnode.proxy")) {
		const char *colon = vlen ? memrchr(value, ':', vlen) : NULL;
		size_t digits = colon ? vlen - (size_t)(colon + 1 - value) : 0;

		if (config_valid_url_of(value, vlen, "http://") && colon && colon > value + 7 &&
		    digits > 0 && strspn(colon + 1, "0123456789") >= digits)
			config_copy(cfg->proxy, value, vlen);
		else
			config_error(cfg, source, "hvnode.proxy", "not an http://host:port URL");
	} else if (IS("BOOTIF")) {
		if (!config_parse_bootif(value, vlen, cfg->bootif_mac))
			config_error(cfg, source, "BOOTIF", "not 01-aa-bb-cc-dd-ee-ff");
	}
#undef IS
}

void config_init(struct agent_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}

/* config_parse_text: applies every name=value word of TEXT (NUL-terminated; words separated
 * by blanks or newlines; `#` to the end of the line is a comment). SOURCE names where TEXT came
 * from, for error lines ("/proc/cmdline", a file path). */
void config_parse_text(struct agent_config *cfg, const char *text, const char *source)
{
	const char *p = text;

	while (*p) {
		if (*p == '#') {
			while (*p && *p != '\n')
				p++;
			continue;
		}
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			p++;
			continue;
		}
		const char *word = p;

		while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			p++;
		const char *eq = memchr(word, '=', (size_t)(p - word));

		if (eq)
			config_set(cfg, word, (size_t)(eq - word), eq + 1, (size_t)(p - eq - 1),
				   source);
	}
}

/* config_next_line: the line after LINE in a buffer of '\n'-ended lines; the final NUL when
 * LINE is the last one, ended or not (a full buffer cuts its last line short). */
const char *config_next_line(const char *line)
{
	size_t len = strcspn(line, "\n");

	return line + len + (line[len] == '\n');
}

/* config_lock_trust: when the settings so far (the cmdline's) give any of hvnode.manager,
 * manager_pin, manager_ca or join_token, later config_parse_text calls leave all four as they
 * are and add a line to cfg->ignored instead. A pin from a disk must never replace the
 * cmdline's CA, nor a manager or token from a disk the cmdline's. */
void config_lock_trust(struct agent_config *cfg)
{
	if (cfg->n_managers || cfg->pin[0] || cfg->ca[0] || cfg->token[0])
		cfg->trust_locked = 1;
}

/* config_missing: 0 when the agent can register; else 1 with WHY naming what is missing. */
int config_missing(const struct agent_config *cfg, char *why, size_t whylen)
{
	if (cfg->n_managers == 0)
		snprintf(why, whylen, "no manager (hvnode.manager=)");
	else if (!cfg->pin[0] && !cfg->ca[0])
		snprintf(why, whylen,
			 "no way to verify the manager (hvnode.manager_pin= or hvnode.manager_ca=)");
	else if (!cfg->token[0])
		snprintf(why, whylen, "no join token (hvnode.join_token=)");
	else
		return 0;
	return 1;
}

/* config_read_file: up to SIZE-1 bytes of PATH into BUF, NUL-terminated; 0, or -errno when
 * PATH cannot be opened. */
int config_read_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	return 0;
}

/* config_load_node: the node's settings, in the agent's order: CMDLINE_PATH (the kernel
 * cmdline), then PERSIST_DIR/hvnode.conf, but only when S40config found the config partition
 * named by the cmdline (RUN_DIR/config-named exists; README, "Config partition") and with the
 * cmdline's trust settings locked. The file's bad values go to cfg->ignored, not cfg->errors.
 * PERSIST_DIR "" means no config partition. Returns 0, or -errno when the cmdline is
 * unreadable (CFG then holds what the file gave, if anything). */
int config_load_node(struct agent_config *cfg, const char *cmdline_path, const char *run_dir,
		     const char *persist_dir)
{
	static char text[16384];
	char path[CONFIG_PATH_MAX + 32];
	int rc;

	config_init(cfg);
	rc = config_read_file(cmdline_path, text, sizeof(text));
	if (rc == 0)
		config_parse_text(cfg, text, cmdline_path);
	config_lock_trust(cfg);
	snprintf(path, sizeof(path), "%s/config-named", run_dir);
	if (persist_dir[0] && access(path, F_OK) == 0) {
		size_t had = strlen(cfg->errors);

		snprintf(path, sizeof(path), "%s/hvnode.conf", persist_dir);
		if (config_read_file(path, text, sizeof(text)) == 0)
			config_parse_text(cfg, text, path);
		/* A bad line of the file is ignored, named once; it never blocks a node whose
		 * cmdline (or the rest of the file) is complete. Bad cmdline values still do. */
		for (const char *line = cfg->errors + had; *line; line = config_next_line(line))
			config_ignored(cfg, "invalid %.*s; ignored", (int)strcspn(line, "\n"), line);
		cfg->errors[had] = '\0';
	} else if (persist_dir[0] && cfg->ca[0] && !strncmp(cfg->ca, persist_dir, strlen(persist_dir)) &&
		   cfg->ca[strlen(persist_dir)] == '/') {
		/* A CA file on a partition the cmdline does not name is anyone's. */
		config_ignored(cfg, "hvnode.manager_ca (%s): ignored: %s is on a config partition the "
			       "cmdline does not name (hvnode.config=)", cmdline_path, cfg->ca);
		cfg->ca[0] = '\0';
	}
	return rc;
}
