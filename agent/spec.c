/* hvnode: the desired VM list a manager sends (agent/PROTOCOL.md "VMs"). Everything here is
 * untrusted: the envelope is checked by the agent before it is handed on, each VM spec by the
 * VM supervisor, on its own, so one bad spec fails that VM alone. Errors name the field
 * ("memory_mib: 4096 MiB is more than the node's 1232 MiB less 256 MiB reserved"). Pure: no
 * system calls, so the unit tests and the fuzz target run it as it is. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"

static int spec_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int spec_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* spec_valid_name: 1 when S matches [a-z0-9][a-z0-9-]{0,31}. */
int spec_valid_name(const char *s)
{
	size_t n = 0;

	if (!s || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '-'))
			return 0;
	return n <= 32;
}

/* RFC 4122 text form: 8-4-4-4-12 hex digits; copied in lower case. */
static int spec_uuid(const char *s, char out[VM_UUID_MAX])
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (strlen(s) != sizeof(shape) - 1)
		return -1;
	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return -1;
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	out[sizeof(shape) - 1] = '\0';
	return 0;
}

/* json_integer: 0 when V is a JSON number holding exactly an integer in [MIN, MAX] (MIN >= 0,
 * MAX <= 2^53), stored in OUT; -1 otherwise (missing, another type, a fraction, out of range). */
int json_integer(const cJSON *v, double min, double max, unsigned long long *out)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != v->valuedouble || v->valuedouble < min ||
	    v->valuedouble > max || (double)(unsigned long long)v->valuedouble != v->valuedouble)
		return -1;
	*out = (unsigned long long)v->valuedouble;
	return 0;
}

/* A string of 1..MAX-1 printable ASCII characters (no spaces when NOSPACE). */
static int spec_text(const cJSON *v, size_t max, int nospace, char *out)
{
	size_t n;

	if (!cJSON_IsString(v) || !v->valuestring)
		return -1;
	n = strlen(v->valuestring);
	if (n == 0 || n >= max)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v->valuestring[i];

		if (c < ' ' || c > '~' || (nospace && c == ' '))
			return -1;
	}
	memcpy(out, v->valuestring, n + 1);
	return 0;
}

static const cJSON *spec_get(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* A boolean field, FALSE when missing. */
static int spec_bool(const cJSON *obj, const char *key, int *out)
{
	const cJSON *v = spec_get(obj, key);

	if (!v) {
		*out = 0;
		return 0;
	}
	if (!cJSON_IsBool(v))
		return -1;
	*out = cJSON_IsTrue(v);
	return 0;
}

/* IMAGE: {"url", "sha256", "size_bytes"}; WHAT names it in errors ("kernel", "disks[1].image"). */
static int spec_image(const cJSON *v, const char *what, struct vm_image *out, char *err,
		      size_t errlen)
{
	unsigned long long size;
	char sha[65];

	if (!cJSON_IsObject(v))
		return spec_err(err, errlen, "%s: must be an object {url, sha256, size_bytes}", what);
	if (spec_text(spec_get(v, "url"), sizeof(out->url), 1, out->url))
		return spec_err(err, errlen, "%s.url: must be 1-%d printable characters without spaces",
				what, VM_URL_MAX - 1);
	if (strncmp(out->url, "http://", 7) && strncmp(out->url, "https://", 8))
		return spec_err(err, errlen, "%s.url: must be an http:// or https:// URL", what);
	if (strlen(out->url) <= (out->url[4] == 's' ? 8u : 7u) ||
	    strchr("/?#", out->url[out->url[4] == 's' ? 8 : 7]))
		return spec_err(err, errlen, "%s.url: names no host", what);
	if (!spec_get(v, "sha256"))
		return spec_err(err, errlen, "%s.sha256: missing", what);
	if (spec_text(spec_get(v, "sha256"), sizeof(sha), 1, sha) || strlen(sha) != 64)
		return spec_err(err, errlen, "%s.sha256: must be 64 hex digits", what);
	for (int i = 0; i < 64; i++) {
		if (!isxdigit((unsigned char)sha[i]))
			return spec_err(err, errlen, "%s.sha256: must be 64 hex digits", what);
		out->sha256[i] = (char)tolower((unsigned char)sha[i]);
	}
	out->sha256[64] = '\0';
	if (json_integer(spec_get(v, "size_bytes"), 1, (double)VM_IMAGE_MAX_BYTES, &size))
		return spec_err(err, errlen, "%s.size_bytes: must be an integer from 1 to %llu", what,
				VM_IMAGE_MAX_BYTES);
	out->size_bytes = size;
	return 0;
}

static int spec_disk(const cJSON *v, int i, struct vm_disk *d, char *err, size_t errlen)
{
	const cJSON *image = cJSON_IsObject(v) ? spec_get(v, "image") : NULL;
	const cJSON *size = cJSON_IsObject(v) ? spec_get(v, "size_bytes") : NULL;
	unsigned long long n;
	char what[32];

	if (!cJSON_IsObject(v))
		return spec_err(err, errlen, "disks[%d]: must be an object", i);
	if ((image && size) || (!image && !size))
		return spec_err(err, errlen, "disks[%d]: needs exactly one of image and size_bytes", i);
	snprintf(what, sizeof(what), "disks[%d].image", i);
	if (image) {
		d->has_image = 1;
		if (spec_image(image, what, &d->image, err, errlen))
			return -1;
	} else if (json_integer(size, 1 << 20, (double)VM_IMAGE_MAX_BYTES, &n) || n % 512) {
		return spec_err(err, errlen, "disks[%d].size_bytes: must be a multiple of 512 from "
				"1 MiB to %llu bytes", i, VM_IMAGE_MAX_BYTES);
	} else {
		d->size_bytes = n;
	}
	if (spec_bool(v, "readonly", &d->readonly))
		return spec_err(err, errlen, "disks[%d].readonly: must be true or false", i);
	if (spec_bool(v, "persistent", &d->persistent))
		return spec_err(err, errlen, "disks[%d].persistent: must be true or false", i);
	return 0;
}

/* "52:54:00:12:34:56": six hex pairs, unicast (bit 0 of the first octet clear), not zero. */
static int spec_mac(const char *s, unsigned char mac[6])
{
	unsigned v[6];
	char end;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
				      &v[4], &v[5], &end) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[i * 3]) || !isxdigit((unsigned char)s[i * 3 + 1]))
			return -1;
		mac[i] = (unsigned char)v[i];
	}
	if (mac[0] & 1 || !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return -1;
	return 0;
}

static int spec_nic(const cJSON *v, int i, struct vm_nic *n, char *err, size_t errlen)
{
	const cJSON *mac = cJSON_IsObject(v) ? spec_get(v, "mac") : NULL;
	unsigned long long vlan = 0;

	if (!cJSON_IsObject(v))
		return spec_err(err, errlen, "nics[%d]: must be an object", i);
	if (spec_get(v, "vlan") && json_integer(spec_get(v, "vlan"), 0, 4094, &vlan))
		return spec_err(err, errlen, "nics[%d].vlan: must be an integer from 0 to 4094", i);
	n->vlan = (int)vlan;
	if (mac && !cJSON_IsNull(mac)) {
		if (!cJSON_IsString(mac) || spec_mac(mac->valuestring, n->mac))
			return spec_err(err, errlen, "nics[%d].mac: must be a unicast MAC "
					"like 52:54:00:12:34:56", i);
		n->has_mac = 1;
	}
	return 0;
}

static int spec_list(const cJSON *v, const char *what, int max, char *err, size_t errlen)
{
	if (!cJSON_IsArray(v))
		return spec_err(err, errlen, "%s: must be an array", what);
	if (cJSON_GetArraySize(v) > max)
		return spec_err(err, errlen, "%s: at most %d entries", what, max);
	return 0;
}

static int spec_body(const cJSON *item, const struct node_limits *lim, struct vm_spec *out,
		     char *err, size_t errlen)
{
	const cJSON *v;
	unsigned long long n;
	uint64_t usable = lim->memory_mib > NODE_RESERVED_MIB ? lim->memory_mib - NODE_RESERVED_MIB : 0;
	unsigned max_cpus = lim->cpus < VM_VCPUS_MAX ? lim->cpus : VM_VCPUS_MAX;
	int i = 0;

	v = spec_get(item, "uuid");
	if (!cJSON_IsString(v) || spec_uuid(v->valuestring, out->uuid))
		return spec_err(err, errlen, "uuid: must be an RFC 4122 UUID (8-4-4-4-12 hex digits)");
	v = spec_get(item, "state");
	if (!cJSON_IsString(v) || (strcmp(v->valuestring, "running") && strcmp(v->valuestring, "stopped")))
		return spec_err(err, errlen, "state: must be \"running\" or \"stopped\"");
	out->running = !strcmp(v->valuestring, "running");
	if (json_integer(spec_get(item, "vcpus"), 1, VM_VCPUS_MAX, &n))
		return spec_err(err, errlen, "vcpus: must be an integer from 1 to %d", VM_VCPUS_MAX);
	if (n > max_cpus)
		return spec_err(err, errlen, "vcpus: %llu is more than the node's %u CPUs", n, lim->cpus);
	out->vcpus = (unsigned)n;
	if (json_integer(spec_get(item, "memory_mib"), VM_MEMORY_MIN_MIB, VM_MEMORY_MAX_MIB, &n))
		return spec_err(err, errlen, "memory_mib: must be an integer from %d to %d (MiB)",
				VM_MEMORY_MIN_MIB, VM_MEMORY_MAX_MIB);
	if (n > usable)
		return spec_err(err, errlen, "memory_mib: %llu MiB is more than the node's %llu MiB "
				"less %d MiB reserved", n, (unsigned long long)lim->memory_mib,
				NODE_RESERVED_MIB);
	out->memory_mib = (unsigned)n;
	if (!spec_get(item, "kernel"))
		return spec_err(err, errlen, "kernel: missing");
	if (spec_image(spec_get(item, "kernel"), "kernel", &out->kernel, err, errlen))
		return -1;
	v = spec_get(item, "initrd");
	if (v && !cJSON_IsNull(v)) {
		out->has_initrd = 1;
		if (spec_image(v, "initrd", &out->initrd, err, errlen))
			return -1;
	}
	v = spec_get(item, "cmdline");
	if (!v || cJSON_IsNull(v))
		snprintf(out->cmdline, sizeof(out->cmdline), "console=ttyS0");
	else if (spec_text(v, sizeof(out->cmdline), 0, out->cmdline))
		return spec_err(err, errlen, "cmdline: must be 1-%d printable ASCII characters",
				VM_CMDLINE_MAX - 1);
	v = spec_get(item, "disks");
	if (v && !cJSON_IsNull(v)) {
		const cJSON *d;

		if (spec_list(v, "disks", VM_DISKS_MAX, err, errlen))
			return -1;
		cJSON_ArrayForEach(d, v)
			if (spec_disk(d, i, &out->disks[i], err, errlen))
				return -1;
			else
				i++;
		out->n_disks = i;
	}
	v = spec_get(item, "nics");
	if (v && !cJSON_IsNull(v)) {
		const cJSON *nic;

		i = 0;
		if (spec_list(v, "nics", VM_NICS_MAX, err, errlen))
			return -1;
		cJSON_ArrayForEach(nic, v)
			if (spec_nic(nic, i, &out->nics[i], err, errlen))
				return -1;
			else
				i++;
		out->n_nics = i;
	}
	v = spec_get(item, "restart");
	if (!v || cJSON_IsNull(v))
		out->restart = RESTART_ON_FAILURE;
	else if (cJSON_IsString(v) && !strcmp(v->valuestring, "always"))
		out->restart = RESTART_ALWAYS;
	else if (cJSON_IsString(v) && !strcmp(v->valuestring, "on-failure"))
		out->restart = RESTART_ON_FAILURE;
	else if (cJSON_IsString(v) && !strcmp(v->valuestring, "never"))
		out->restart = RESTART_NEVER;
	else
		return spec_err(err, errlen, "restart: must be \"always\", \"on-failure\" or \"never\"");
	return 0;
}

/* spec_parse: one entry of the "vms" array against the node's LIMITS. Returns 0 with OUT
 * filled, or -1 with ERR naming the first bad field. OUT is zeroed first; OUT->name is set
 * whenever the name itself is valid, so the caller can report the failure under that name. */
int spec_parse(const cJSON *item, const struct node_limits *lim, struct vm_spec *out, char *err,
	       size_t errlen)
{
	const cJSON *name = cJSON_IsObject(item) ? spec_get(item, "name") : NULL;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(item))
		return spec_err(err, errlen, "must be an object");
	if (!cJSON_IsString(name) || !spec_valid_name(name->valuestring))
		return spec_err(err, errlen, "name: must match [a-z0-9][a-z0-9-]{0,31}");
	memcpy(out->name, name->valuestring, strlen(name->valuestring) + 1);
	return spec_body(item, lim, out, err, errlen);
}

/* spec_same_except_state: 1 when A and B (both from spec_parse) differ at most in state. */
int spec_same_except_state(const struct vm_spec *a, const struct vm_spec *b)
{
	struct vm_spec x = *a;

	x.running = b->running;
	return memcmp(&x, b, sizeof(x)) == 0;
}

/* vms_parse_list: the body of a 200 answer to GET /api/v1/nodes/{id}/vms:
 * {"vms_generation": 0..2^53-1, "vms": [at most VMS_MAX entries]}. Returns 0 with GENERATION
 * and VMS (a detached copy of the array, the caller deletes it), or -1 with ERR. The entries
 * themselves are not checked here (spec_parse does, one by one). */
int vms_parse_list(const char *body, size_t len, long long *generation, cJSON **vms, char *err,
		   size_t errlen)
{
	cJSON *root = len && len <= VMS_LIST_MAX ? cJSON_ParseWithLength(body, len) : NULL;
	unsigned long long gen;
	int rc = -1;

	*vms = NULL;
	if (!cJSON_IsObject(root)) {
		spec_err(err, errlen, len > VMS_LIST_MAX ? "larger than %d bytes"
							 : "not a JSON object", VMS_LIST_MAX);
		goto out;
	}
	if (json_integer(spec_get(root, "vms_generation"), 0, (double)VMS_GENERATION_MAX, &gen)) {
		spec_err(err, errlen, "vms_generation: must be an integer from 0 to %lld",
			 VMS_GENERATION_MAX);
		goto out;
	}
	if (spec_list(spec_get(root, "vms"), "vms", VMS_MAX, err, errlen))
		goto out;
	*generation = (long long)gen;
	*vms = cJSON_DetachItemFromObjectCaseSensitive(root, "vms");
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/* vms_merge_actual: puts the supervisor's report (TEXT: {"vms_generation": G|null, "vms": [..]})
 * into HEARTBEAT as its "vms" and "vms_generation". A report that is missing or malformed
 * leaves "vms": [] and "vms_generation": null, and returns -1 with ERR. */
int vms_merge_actual(cJSON *heartbeat, const char *text, size_t len, char *err, size_t errlen)
{
	cJSON *root = text && len ? cJSON_ParseWithLength(text, len) : NULL;
	cJSON *gen = cJSON_GetObjectItemCaseSensitive(root, "vms_generation");
	cJSON *vms = cJSON_GetObjectItemCaseSensitive(root, "vms");
	unsigned long long g;
	int ok = cJSON_IsObject(root) && cJSON_IsArray(vms) &&
		 (cJSON_IsNull(gen) || json_integer(gen, 0, (double)VMS_GENERATION_MAX, &g) == 0);

	cJSON_DeleteItemFromObjectCaseSensitive(heartbeat, "vms");
	cJSON_DeleteItemFromObjectCaseSensitive(heartbeat, "vms_generation");
	if (ok) {
		cJSON_AddItemToObject(heartbeat, "vms",
				      cJSON_DetachItemFromObjectCaseSensitive(root, "vms"));
		cJSON_AddItemToObject(heartbeat, "vms_generation",
				      cJSON_DetachItemFromObjectCaseSensitive(root, "vms_generation"));
	} else {
		cJSON_AddArrayToObject(heartbeat, "vms");
		cJSON_AddNullToObject(heartbeat, "vms_generation");
		if (text && len)
			spec_err(err, errlen, "the supervisor's report is not {vms_generation, vms}");
		else
			spec_err(err, errlen, "no report from the supervisor");
	}
	cJSON_Delete(root);
	return ok ? 0 : -1;
}
