/* hvnode-agent: the manager's replies (agent/PROTOCOL.md, /api/v1). Untrusted input: a body is
 * at most RESPONSE_MAX bytes, need not be NUL-terminated or UTF-8, and every field is checked
 * for type and range before it is copied out. Parsing is cJSON's (cJSON_ParseWithLength).
 * Pure: no system calls, so the fuzz target (agent/fuzz/fuzz_reply.c) drives it directly. */
#include <stdio.h>
#include <string.h>

#include "agent.h"

static int valid_chars(const char *s, size_t min, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr(extra, *s)))
			return 0;
	return 1;
}

/* node_id becomes a URL path segment and a file value: 1-64 of [A-Za-z0-9._-], not "." or "..". */
int reply_valid_node_id(const char *s)
{
	return valid_chars(s, 1, NODE_ID_MAX - 1, "._-") && strcmp(s, ".") && strcmp(s, "..");
}

/* credential goes into an HTTP header: 1-512 printable ASCII characters, no blanks. */
int reply_valid_credential(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > CREDENTIAL_MAX - 1)
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return 0;
	return 1;
}

/* An authorized_keys line we accept from a manager: TYPE BASE64 [comment], with a known type.
 * The comment is dropped (it is replaced by "hvnode-manager" when written). */
static int reply_key_line(const char *line, char *out, size_t outlen)
{
	static const char *const types[] = { "ssh-ed25519", "ecdsa-sha2-nistp256",
					     "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
					     "ssh-rsa" };
	const char *sp = strchr(line, ' ');
	size_t tlen, blen = 0;
	int known = 0;

	if (!sp)
		return 0;
	tlen = (size_t)(sp - line);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		known |= strlen(types[i]) == tlen && memcmp(types[i], line, tlen) == 0;
	while (sp[1 + blen] && sp[1 + blen] != ' ') {
		char c = sp[1 + blen];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || c == '='))
			return 0;
		blen++;
	}
	if (!known || blen < 16 || tlen + blen + 2 > outlen || tlen + blen + 2 > KEY_LINE_MAX)
		return 0;
	memcpy(out, line, tlen + 1 + blen);
	out[tlen + 1 + blen] = '\0';
	return 1;
}

static int reply_keys(const cJSON *arr, struct registration *out, char *err, size_t errlen)
{
	const cJSON *item;
	size_t used = 0;
	int n = 0;

	if (!cJSON_IsArray(arr)) {
		snprintf(err, errlen, "ssh_authorized_keys is not a list");
		return -1;
	}
	out->keys[0] = '\0';
	cJSON_ArrayForEach(item, arr) {
		char line[KEY_LINE_MAX];

		if (++n > KEYS_MAX) {
			snprintf(err, errlen, "more than %d ssh_authorized_keys", KEYS_MAX);
			return -1;
		}
		if (!cJSON_IsString(item) || !reply_key_line(item->valuestring, line, sizeof(line))) {
			snprintf(err, errlen, "ssh_authorized_keys[%d] is not an OpenSSH public key",
				 n - 1);
			return -1;
		}
		size_t len = strlen(line);

		if (used + len + 2 > sizeof(out->keys)) {
			snprintf(err, errlen, "ssh_authorized_keys too long");
			return -1;
		}
		memcpy(out->keys + used, line, len);
		used += len;
		out->keys[used++] = '\n';
		out->keys[used] = '\0';
	}
	out->has_keys = 1;
	return 0;
}

static int reply_interval(const cJSON *obj, struct registration *out, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "heartbeat_interval_s");

	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > INTERVAL_MAX_S ||
	    v->valuedouble != (double)(int)v->valuedouble) {
		snprintf(err, errlen, "heartbeat_interval_s is not a whole number of seconds 1-%d",
			 INTERVAL_MAX_S);
		return -1;
	}
	out->interval_s = (int)v->valuedouble;
	return 0;
}

static int reply_string(const cJSON *obj, const char *name, int (*valid)(const char *), char *dst,
			size_t dstlen, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsString(v) || !valid(v->valuestring) || strlen(v->valuestring) >= dstlen) {
		snprintf(err, errlen, "%s is missing or malformed", name);
		return -1;
	}
	strcpy(dst, v->valuestring);
	return 0;
}

static cJSON *reply_object(const char *body, size_t len, char *err, size_t errlen)
{
	cJSON *root = len ? cJSON_ParseWithLength(body, len) : NULL;

	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		snprintf(err, errlen, "reply is not a JSON object");
		return NULL;
	}
	return root;
}

/* reply_parse_register: the body of a 200/201 answer to POST /api/v1/nodes. Returns 0 with OUT
 * filled (interval HEARTBEAT_DEFAULT_S when absent), or -1 with ERR saying what was wrong. */
int reply_parse_register(const char *body, size_t len, struct registration *out, char *err,
			 size_t errlen)
{
	cJSON *root = reply_object(body, len, err, errlen);
	const cJSON *keys;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->interval_s = HEARTBEAT_DEFAULT_S;
	if (!root)
		return -1;
	if (reply_string(root, "node_id", reply_valid_node_id, out->node_id, sizeof(out->node_id),
			 err, errlen) ||
	    reply_string(root, "credential", reply_valid_credential, out->credential,
			 sizeof(out->credential), err, errlen) ||
	    reply_interval(root, out, err, errlen))
		goto out;
	keys = cJSON_GetObjectItemCaseSensitive(root, "ssh_authorized_keys");
	if (keys && !cJSON_IsNull(keys) && reply_keys(keys, out, err, errlen))
		goto out;
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/* "vms_generation": an integer 0..2^53-1 held exactly; missing or null means no change. */
static int reply_generation(const cJSON *root, struct registration *next, char *err,
			    size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "vms_generation");
	unsigned long long gen;

	next->has_generation = 0;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (json_integer(v, 0, (double)VMS_GENERATION_MAX, &gen)) {
		snprintf(err, errlen, "vms_generation: must be an integer from 0 to %lld",
			 VMS_GENERATION_MAX);
		return -1;
	}
	next->has_generation = 1;
	next->vms_generation = (long long)gen;
	return 0;
}

/* reply_parse_heartbeat: the body of a 200 answer to a heartbeat. Updates OUT's interval and
 * keys only when the reply carries them and they are valid, and sets OUT->has_generation and
 * vms_generation from "vms_generation"; nothing changes on error (-1). */
int reply_parse_heartbeat(const char *body, size_t len, struct registration *out, char *err,
			  size_t errlen)
{
	cJSON *root = reply_object(body, len, err, errlen);
	struct registration next;
	const cJSON *keys, *wanted;
	int rc = -1;

	if (!root)
		return -1;
	next = *out;
	next.has_keys = 0;
	if (reply_interval(root, &next, err, errlen))
		goto out;
	keys = cJSON_GetObjectItemCaseSensitive(root, "ssh_authorized_keys");
	if (keys && !cJSON_IsNull(keys) && reply_keys(keys, &next, err, errlen))
		goto out;
	if (reply_generation(root, &next, err, errlen))
		goto out;
	wanted = cJSON_GetObjectItemCaseSensitive(root, "facts_wanted");
	if (wanted && !cJSON_IsNull(wanted) && !cJSON_IsBool(wanted)) {
		snprintf(err, errlen, "facts_wanted: must be true or false");
		goto out;
	}
	next.facts_wanted = cJSON_IsTrue(wanted);
	*out = next;
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/* reply_reason: the manager's "error" or "reason" string, made safe to print (printable ASCII,
 * at most BUFLEN-1 bytes); "" when the body has none. */
void reply_reason(const char *body, size_t len, char *buf, size_t buflen)
{
	cJSON *root = len ? cJSON_ParseWithLength(body, len) : NULL;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "error");
	size_t n = 0;

	if (!cJSON_IsString(v))
		v = cJSON_GetObjectItemCaseSensitive(root, "reason");
	if (cJSON_IsString(v))
		for (const char *s = v->valuestring; *s && n + 1 < buflen; s++)
			buf[n++] = (*s >= ' ' && *s <= '~') ? *s : '?';
	if (buflen)
		buf[n] = '\0';
	cJSON_Delete(root);
}
