/* hvnode-vmm: settings from the command line (--key value) and from a JSON file
 * (--config FILE, RFC 8259 restricted to one flat object whose values are strings,
 * non-negative integers, true/false or arrays of strings; keys are the option names
 * without dashes). Both paths end in config_set(), so they accept the same values.
 * Trusts nothing: every value is length-checked and parsed strictly; errors name the
 * option. Pure: no system calls (main reads the file). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

#define JSON_STR_MAX CONFIG_CMDLINE_MAX

static int config_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int config_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->mem = 256ull << 20;
	c->cpus = 1;
	c->console = CONSOLE_STDIO;
	strcpy(c->name, "vm");
	strcpy(c->user, "nobody");
}

static int config_copy(char *dst, size_t size, const char *val)
{
	size_t len = strlen(val);

	if (len == 0 || len >= size)
		return -EINVAL;
	memcpy(dst, val, len + 1);
	return 0;
}

static int config_number(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return *s ? -EINVAL : 0;
}

/* config_size: "256M", "1G", "65536K" or a plain number of MiB. */
static int config_size(const char *s, uint64_t *out)
{
	char num[24];
	size_t len = strlen(s);
	unsigned shift = 20;
	uint64_t v;

	if (len == 0 || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, len + 1);
	switch (num[len - 1]) {
	case 'K': case 'k': shift = 10; num[len - 1] = 0; break;
	case 'M': case 'm': shift = 20; num[len - 1] = 0; break;
	case 'G': case 'g': shift = 30; num[len - 1] = 0; break;
	}
	if (config_number(num, UINT64_MAX >> shift, &v) < 0)
		return -EINVAL;
	*out = v << shift;
	return 0;
}

static int config_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	int n = 0;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &v[0], &v[1], &v[2], &v[3], &v[4],
				       &v[5], &n) != 6 || n != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return (mac[0] & 1) ? -EINVAL : 0;	/* no multicast address for a NIC */
}

static int config_net(struct config *c, const char *val, char *err, size_t errlen)
{
	struct config_nic *n = &c->nic[c->nnics];
	char buf[64], *opt, *save = NULL;

	if (c->nnics >= CONFIG_MAX_NICS)
		return config_err(err, errlen, "--net: at most %d NICs", CONFIG_MAX_NICS);
	*n = (struct config_nic){ .offload_off = true };	/* offloads are asked for (offload=on) */
	if (config_copy(buf, sizeof(buf), val) < 0)
		return config_err(err, errlen, "--net: expected tap=NAME[,mac=XX:XX:XX:XX:XX:XX][,mtu=N][,offload=on|off]");
	for (opt = strtok_r(buf, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		if (strncmp(opt, "tap=", 4) == 0 && config_copy(n->tap, sizeof(n->tap), opt + 4) == 0)
			continue;
		if (strncmp(opt, "mac=", 4) == 0 && config_mac(opt + 4, n->mac) == 0) {
			n->has_mac = true;
			continue;
		}
		if (strncmp(opt, "mtu=", 4) == 0) {
			uint64_t mtu;

			if (config_number(opt + 4, CONFIG_MAX_MTU, &mtu) < 0 || mtu < CONFIG_MIN_MTU)
				return config_err(err, errlen, "--net: mtu must be %d-%d bytes, not '%s'",
						  CONFIG_MIN_MTU, CONFIG_MAX_MTU, opt + 4);
			n->mtu = (unsigned)mtu;
			continue;
		}
		if (strcmp(opt, "offload=off") == 0 || strcmp(opt, "offload=on") == 0) {
			n->offload_off = opt[9] == 'f';
			continue;
		}
		return config_err(err, errlen, "--net: bad option '%s'", opt);
	}
	if (!n->tap[0])
		return config_err(err, errlen, "--net: tap=NAME is required");
	for (unsigned i = 0; i < c->nnics; i++)
		if (strcmp(c->nic[i].tap, n->tap) == 0)
			return config_err(err, errlen, "--net: tap %s given twice", n->tap);
	c->nnics++;
	return 0;
}

static int config_disk(struct config *c, const char *val, char *err, size_t errlen)
{
	struct config_disk *d = &c->disk[c->ndisks];
	size_t len = strlen(val);

	if (c->ndisks >= CONFIG_MAX_DISKS)
		return config_err(err, errlen, "--disk: at most %d disks", CONFIG_MAX_DISKS);
	if (len > 3 && strcmp(val + len - 3, ",ro") == 0) {
		d->ro = true;
		len -= 3;
	}
	if (len == 0 || len >= sizeof(d->path) || memchr(val, ',', len))
		return config_err(err, errlen, "--disk: expected PATH[,ro], got '%s'", val);
	memcpy(d->path, val, len);
	d->path[len] = 0;
	c->ndisks++;
	return 0;
}

static int config_console(struct config *c, const char *val, char *err, size_t errlen)
{
	if (strcmp(val, "stdio") == 0) {
		c->console = CONSOLE_STDIO;
		return 0;
	}
	if (strncmp(val, "file:", 5) == 0 && config_copy(c->console_path, sizeof(c->console_path), val + 5) == 0) {
		c->console = CONSOLE_FILE;
		return 0;
	}
	if (strncmp(val, "socket:", 7) == 0 &&
	    config_copy(c->console_path, sizeof(c->console_path), val + 7) == 0) {
		c->console = CONSOLE_SOCKET;
		return 0;
	}
	return config_err(err, errlen, "--console: expected stdio, file:PATH or socket:PATH");
}

static int config_bool(bool *dst, const char *val)
{
	if (strcmp(val, "true") == 0 || strcmp(val, "1") == 0)
		*dst = true;
	else if (strcmp(val, "false") == 0 || strcmp(val, "0") == 0)
		*dst = false;
	else
		return -EINVAL;
	return 0;
}

static int config_set_str(struct config *c, const char *key, const char *val)
{
	if (strcmp(key, "kernel") == 0)
		return config_copy(c->kernel, sizeof(c->kernel), val);
	if (strcmp(key, "initrd") == 0)
		return config_copy(c->initrd, sizeof(c->initrd), val);
	if (strcmp(key, "cmdline") == 0)
		return strlen(val) < sizeof(c->cmdline) ? (strcpy(c->cmdline, val), 0) : -EINVAL;
	if (strcmp(key, "api-socket") == 0 || strcmp(key, "api_socket") == 0)
		return config_copy(c->api_socket, sizeof(c->api_socket), val);
	if (strcmp(key, "name") == 0)
		return config_copy(c->name, sizeof(c->name), val);
	if (strcmp(key, "user") == 0) {
		c->user_set = true;
		return config_copy(c->user, sizeof(c->user), val);
	}
	if (strcmp(key, "config") == 0)
		return config_copy(c->config_file, sizeof(c->config_file), val);
	return -ENOENT;
}

static int config_cpus(struct config *c, const char *val)
{
	uint64_t v;

	if (config_number(val, CONFIG_MAX_CPUS, &v) < 0 || v == 0)
		return -EINVAL;
	c->cpus = (unsigned)v;
	return 0;
}

/* config_set: one setting by option name (without dashes). 0 or -EINVAL with err filled. */
int config_set(struct config *c, const char *key, const char *val, char *err, size_t errlen)
{
	int ret;

	if (strcmp(key, "disk") == 0)
		return config_disk(c, val, err, errlen);
	if (strcmp(key, "net") == 0)
		return config_net(c, val, err, errlen);
	if (strcmp(key, "console") == 0)
		return config_console(c, val, err, errlen);
	if (strcmp(key, "mem") == 0)
		ret = config_size(val, &c->mem);
	else if (strcmp(key, "cpus") == 0)
		ret = config_cpus(c, val);
	else if (strcmp(key, "rng") == 0)
		ret = config_bool(&c->rng, val);
	else if (strcmp(key, "acpi") == 0)
		ret = strcmp(val, "on") == 0 ? (c->acpi_off = false, 0) :
		      strcmp(val, "off") == 0 ? (c->acpi_off = true, 0) : -EINVAL;
	else
		ret = config_set_str(c, key, val);
	if (ret == -ENOENT)
		return config_err(err, errlen, "unknown option '%s'", key);
	if (ret < 0)
		return config_err(err, errlen, "--%s: bad value '%.64s'", key, val);
	return 0;
}

/* config_parse_args: argv[1..] as "--key value" pairs; "--rng" alone means true. */
int config_parse_args(struct config *c, int argc, char **argv, char *err, size_t errlen)
{
	for (int i = 1; i < argc; i++) {
		const char *key = argv[i];
		int ret;

		if (strncmp(key, "--", 2) != 0 || !key[2])
			return config_err(err, errlen, "unexpected argument '%.64s'", key);
		key += 2;
		if (strcmp(key, "rng") == 0) {
			c->rng = true;
			continue;
		}
		if (i + 1 >= argc)
			return config_err(err, errlen, "--%.64s: missing value", key);
		ret = config_set(c, key, argv[++i], err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

bool config_guest_acpi(const struct config *c)
{
	const char *p = c->cmdline, *last = NULL;
	size_t n = 0;

	if (c->acpi_off)
		return false;
	while (*p) {
		size_t len;

		p += strspn(p, " \t\n");
		len = strcspn(p, " \t\n");
		if (len >= 5 && !strncmp(p, "acpi=", 5))
			last = p + 5, n = len - 5;
		p += len;
	}
	return !last || !((n == 3 && !strncmp(last, "off", 3)) || (n == 2 && !strncmp(last, "ht", 2)));
}

/* config_finish: checks what only makes sense once every option is known. */
int config_finish(struct config *c, char *err, size_t errlen)
{
	if (!c->kernel[0])
		return config_err(err, errlen, "--kernel is required");
	if (c->mem < (32ull << 20) || c->mem > (64ull << 30) || (c->mem & 0xfffff))
		return config_err(err, errlen, "--mem: between 32M and 64G in whole MiB");
	return 0;
}

/* ---- JSON subset ------------------------------------------------------------------------ */

struct json {
	const char *start, *p, *end;
	char *err;
	size_t errlen;
};

static void json_ws(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int json_fail(struct json *j, const char *what)
{
	return config_err(j->err, j->errlen, "--config: %s at byte %zu", what, (size_t)(j->p - j->start));
}

static int json_expect(struct json *j, char ch)
{
	json_ws(j);
	if (j->p >= j->end || *j->p != ch)
		return -EINVAL;
	j->p++;
	return 0;
}

static int json_hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char ch = p[i];
		unsigned d = ch >= '0' && ch <= '9' ? (unsigned)(ch - '0') :
			     ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10) :
			     ch >= 'A' && ch <= 'F' ? (unsigned)(ch - 'A' + 10) : 16;
		if (d == 16)
			return -EINVAL;
		*v = *v * 16 + d;
	}
	return 0;
}

/* json_escape: one escape after the backslash; only ASCII \u escapes (no NUL). */
static int json_escape(struct json *j, char *out)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *hit;
	unsigned v;

	if (j->p >= j->end)
		return -EINVAL;
	hit = *j->p ? strchr(from, *j->p) : NULL;
	if (hit) {
		*out = to[hit - from];
		j->p++;
		return 0;
	}
	if (*j->p != 'u' || j->end - j->p < 5 || json_hex4(j->p + 1, &v) < 0 || v == 0 || v > 0x7f)
		return -EINVAL;
	*out = (char)v;
	j->p += 5;
	return 0;
}

static int json_string(struct json *j, char *out, size_t size)
{
	size_t n = 0;

	if (json_expect(j, '"') < 0)
		return -EINVAL;
	while (j->p < j->end && *j->p != '"') {
		char ch = *j->p++;

		if ((unsigned char)ch < 0x20)
			return -EINVAL;
		if (ch == '\\' && json_escape(j, &ch) < 0)
			return -EINVAL;
		if (n + 1 >= size)
			return -E2BIG;
		out[n++] = ch;
	}
	if (j->p >= j->end)
		return -EINVAL;
	j->p++;
	out[n] = 0;
	return 0;
}

static int json_scalar(struct json *j, char *out, size_t size)
{
	size_t n = 0;

	json_ws(j);
	if (j->p < j->end && *j->p == '"')
		return json_string(j, out, size);
	while (j->p < j->end && n + 1 < size && ((*j->p >= '0' && *j->p <= '9') || (*j->p >= 'a' && *j->p <= 'z')))
		out[n++] = *j->p++;
	out[n] = 0;
	if (n == 0 || n + 1 >= size)
		return -EINVAL;
	if (out[0] >= 'a' && strcmp(out, "true") != 0 && strcmp(out, "false") != 0)
		return -EINVAL;
	if (out[0] == '0' && n > 1)
		return -EINVAL;	/* no leading zeros, as in JSON */
	return 0;
}

static int json_array(struct json *j, struct config *c, const char *key, char *buf)
{
	j->p++;
	json_ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return 0;
	}
	for (;;) {
		if (json_string(j, buf, JSON_STR_MAX) < 0)
			return json_fail(j, "expected a string in the array");
		if (config_set(c, key, buf, j->err, j->errlen) < 0)
			return -EINVAL;
		json_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (json_expect(j, ']') < 0)
			return json_fail(j, "expected ',' or ']'");
		return 0;
	}
}

static int json_member(struct json *j, struct config *c, char *buf)
{
	char key[32];

	if (json_string(j, key, sizeof(key)) < 0)
		return json_fail(j, "expected a key string");
	if (json_expect(j, ':') < 0)
		return json_fail(j, "expected ':'");
	json_ws(j);
	if (strcmp(key, "config") == 0)
		return json_fail(j, "'config' cannot nest");
	if (j->p < j->end && *j->p == '[')
		return json_array(j, c, key, buf);
	if (json_scalar(j, buf, JSON_STR_MAX) < 0)
		return json_fail(j, "expected a string, number, true, false or array");
	return config_set(c, key, buf, j->err, j->errlen);
}

static int json_object(struct json *j, struct config *c, char *buf)
{
	if (json_expect(j, '{') < 0)
		return json_fail(j, "expected '{'");
	json_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return 0;
	}
	for (;;) {
		int ret = json_member(j, c, buf);

		if (ret < 0)
			return ret;
		json_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (json_expect(j, '}') < 0)
			return json_fail(j, "expected ',' or '}'");
		return 0;
	}
}

int config_parse_json(struct config *c, const char *text, size_t len, char *err, size_t errlen)
{
	static char buf[JSON_STR_MAX];
	struct json j = { .start = text, .p = text, .end = text + len, .err = err, .errlen = errlen };
	int ret;

	ret = json_object(&j, c, buf);
	if (ret < 0)
		return ret;
	json_ws(&j);
	if (j.p != j.end)
		return json_fail(&j, "trailing data");
	return 0;
}
