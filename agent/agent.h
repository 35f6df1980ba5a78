/* hvnode-agent: declarations shared by its files. The agent registers the node with a manager
 * over pinned TLS and heartbeats (protocol: agent/PROTOCOL.md, /api/v1). Everything a manager
 * sends is untrusted input; the kernel cmdline and config files are trusted to come from the
 * operator but are still validated, each bad value reported by its parameter name. */
#ifndef HVNODE_AGENT_H
#define HVNODE_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

enum {
	CONFIG_MAX_MANAGERS = 8,
	CONFIG_URL_MAX = 256,      /* bytes, with the NUL */
	CONFIG_PIN_MAX = 512,      /* curl's "sha256//A;sha256//B" list */
	CONFIG_PATH_MAX = 256,
	CONFIG_TOKEN_MAX = 257,    /* 256 characters */
	CONFIG_ERRORS_MAX = 1024,
	NODE_ID_MAX = 65,          /* 64 characters [A-Za-z0-9._-] */
	CREDENTIAL_MAX = 513,      /* 512 printable characters */
	KEYS_MAX = 32,             /* ssh_authorized_keys entries */
	KEY_LINE_MAX = 8192,
	RESPONSE_MAX = 65536,      /* bytes of a manager's response body we accept */
	HEARTBEAT_DEFAULT_S = 30,
	INTERVAL_MAX_S = 3600,
};

/* config.c: the agent's settings (kernel cmdline, then config partition, then -c FILE). */
struct agent_config {
	char managers[CONFIG_MAX_MANAGERS][CONFIG_URL_MAX];
	int n_managers;
	char pin[CONFIG_PIN_MAX];      /* "" when unset */
	char ca[CONFIG_PATH_MAX];      /* "" when unset */
	char token[CONFIG_TOKEN_MAX];  /* "" when unset */
	char proxy[CONFIG_URL_MAX];    /* hvnode.proxy, "" when unset (no proxy at all) */
	char bootif_mac[18];           /* "aa:bb:cc:dd:ee:ff" from BOOTIF=, "" when unset */
	char errors[CONFIG_ERRORS_MAX]; /* one line per rejected value; "" when none */
	int trust_locked;              /* set by config_lock_trust */
	char ignored[CONFIG_ERRORS_MAX]; /* one line per value a lock kept out; "" when none */
};
void config_init(struct agent_config *cfg);
void config_parse_text(struct agent_config *cfg, const char *text, const char *source);
int config_missing(const struct agent_config *cfg, char *why, size_t whylen);
void config_lock_trust(struct agent_config *cfg);
const char *config_next_line(const char *line);
int config_read_file(const char *path, char *buf, size_t size);
int config_load_node(struct agent_config *cfg, const char *cmdline_path, const char *run_dir,
		     const char *persist_dir);

/* reply.c: manager replies (untrusted). */
struct registration {
	char node_id[NODE_ID_MAX];
	char credential[CREDENTIAL_MAX];
	int interval_s;
	int has_keys;                  /* the reply carried ssh_authorized_keys */
	char keys[RESPONSE_MAX];       /* validated key lines, each ending in '\n' */
	int has_generation;            /* the heartbeat reply carried vms_generation */
	long long vms_generation;
	int facts_wanted;              /* the heartbeat reply asked for the facts */
};
int reply_parse_register(const char *body, size_t len, struct registration *out, char *err,
			 size_t errlen);
int reply_parse_heartbeat(const char *body, size_t len, struct registration *out, char *err,
			  size_t errlen);
void reply_reason(const char *body, size_t len, char *buf, size_t buflen);
int reply_valid_node_id(const char *s);
int reply_valid_credential(const char *s);

/* facts.c: what the node is, as the JSON body of a registration. */
struct facts_env {
	const char *root;              /* prefix for /sys, /proc, /etc, /run ("" on the node) */
	const char *bootif_mac;        /* from BOOTIF=, "" when unset */
	int with_addresses;            /* ask the kernel for interface addresses (getifaddrs) */
};
struct kvm_state {
	int ready;
	int api_version;
	char error[128];
};
cJSON *facts_collect(const struct facts_env *env, const struct kvm_state *kvm,
		     const char *image_sha256);
cJSON *facts_heartbeat(const struct facts_env *env, const struct kvm_state *kvm);
char *facts_stable_text(const cJSON *facts);
cJSON *facts_kvm_json(const struct kvm_state *kvm);

/* digest.c: sha256 as lower-case hex. */
void digest_hex(const unsigned char digest[32], char out[65]);
int digest_sha256_hex(const void *data, size_t len, char out[65]);

/* probe.c: questions only the running system answers. */
void probe_kvm(struct kvm_state *kvm);
int probe_image_sha256(char out[65]);

/* http.c: one HTTPS exchange with libcurl, TLS verified per the config. */
struct http_result {
	long status;                   /* HTTP status, 0 when no response came */
	char *body;                    /* CAP + 1 bytes, set by the caller; NUL-terminated */
	size_t cap;                    /* bytes of body accepted; more is an error */
	size_t len;
	long retry_after_s;            /* Retry-After in seconds, -1 when absent */
	char error[512];               /* why no response came */
};
int http_global_init(void);
int http_exchange(const struct agent_config *cfg, const char *url, const char *bearer,
		  const char *json, struct http_result *res);

/* state.c: files under the run and persist directories. */
struct agent_paths {
	char run_dir[CONFIG_PATH_MAX];      /* /run/hvnode */
	char persist_dir[CONFIG_PATH_MAX];  /* /mnt/config when mounted, else "" */
};
int state_write_file(const char *path, const char *data, size_t len, unsigned mode, int durable);
int state_load_identity(const struct agent_paths *paths, const char *manager,
			struct registration *id);
int state_save_identity(const struct agent_paths *paths, const char *manager,
			const struct registration *id);
int state_write_status(const struct agent_paths *paths, const char *state, const char *manager,
		       const char *node_id, long last_heartbeat, const char *last_error);
int state_apply_keys(const struct agent_paths *paths, const char *keys);
int state_mounted(const char *root, const char *dir);
struct backoff_state {
	unsigned starts;     /* agent starts in a row, each within AGENT_STABLE_S of the last */
	long last_start_s;   /* CLOCK_BOOTTIME s when the last start began contacting managers */
	unsigned failures;   /* consecutive failed attempts (backoff_delay_s's FAILURES) */
	long not_before_s;   /* CLOCK_BOOTTIME s before which no attempt is made */
};
int state_load_backoff(const struct agent_paths *paths, struct backoff_state *b);
int state_save_backoff(const struct agent_paths *paths, const struct backoff_state *b);

/* spec.c: the desired VM list (agent/PROTOCOL.md "VMs"), untrusted: the agent checks the
 * envelope, the supervisor each VM spec on its own. */
enum {
	VMS_MAX = 64,              /* VMs in one list */
	VMS_LIST_MAX = 1048576,    /* bytes of a GET .../vms answer we accept */
	VM_NAME_MAX = 33,          /* [a-z0-9][a-z0-9-]{0,31} */
	VM_UUID_MAX = 37,
	VM_URL_MAX = 1025,         /* 1024 characters */
	VM_CMDLINE_MAX = 4096,     /* hvnode-vmm's limit, with the NUL */
	VM_DISKS_MAX = 16,         /* hvnode-vmm's limits */
	VM_NICS_MAX = 4,
	VM_VCPUS_MAX = 64,
	VM_MEMORY_MIN_MIB = 32,
	VM_MEMORY_MAX_MIB = 65536,
	NODE_RESERVED_MIB = 256,   /* node memory no VM may claim */
	VM_ERROR_MAX = 256,
};
#define VM_IMAGE_MAX_BYTES (1ull << 40)
#define VMS_GENERATION_MAX 9007199254740991ll /* 2^53 - 1 */

enum vm_restart { RESTART_ON_FAILURE, RESTART_ALWAYS, RESTART_NEVER };

struct vm_image {
	char url[VM_URL_MAX];
	char sha256[65];           /* lower-case hex */
	uint64_t size_bytes;
};
struct vm_disk {
	int has_image;             /* 1: copy of IMAGE; 0: blank SIZE_BYTES */
	struct vm_image image;
	uint64_t size_bytes;
	int readonly, persistent;
};
struct vm_nic {
	int vlan;                  /* 0: untagged, 1-4094 */
	int has_mac;
	unsigned char mac[6];
};
/* One VM spec, fully zeroed before parsing so two specs compare with memcmp. */
struct vm_spec {
	char name[VM_NAME_MAX];
	char uuid[VM_UUID_MAX];    /* lower case */
	int running;               /* state: running (1) or stopped (0) */
	unsigned vcpus, memory_mib;
	struct vm_image kernel, initrd;
	int has_initrd;
	char cmdline[VM_CMDLINE_MAX];
	struct vm_disk disks[VM_DISKS_MAX];
	int n_disks;
	struct vm_nic nics[VM_NICS_MAX];
	int n_nics;
	enum vm_restart restart;
};
struct node_limits {
	unsigned cpus;             /* online CPUs */
	uint64_t memory_mib;       /* MemTotal in MiB */
};
int json_integer(const cJSON *v, double min, double max, unsigned long long *out);
int spec_valid_name(const char *s);
int spec_parse(const cJSON *item, const struct node_limits *lim, struct vm_spec *out, char *err,
	       size_t errlen);
int spec_same_except_state(const struct vm_spec *a, const struct vm_spec *b);
int vms_parse_list(const char *body, size_t len, long long *generation, cJSON **vms, char *err,
		   size_t errlen);
int vms_merge_actual(cJSON *heartbeat, const char *text, size_t len, char *err, size_t errlen);

/* backoff.c */
unsigned backoff_delay_s(unsigned failures, uint32_t random);

#endif
