/* hvnode-vmm: VM settings from the command line and from a JSON config file (config.c). */
#ifndef HVNODE_CONFIG_H
#define HVNODE_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_DISKS 16
#define CONFIG_MAX_NICS 4
#define CONFIG_MAX_VIRTIO (CONFIG_MAX_DISKS + CONFIG_MAX_NICS + 1)	/* and the rng */
#define CONFIG_PATH_MAX 256
#define CONFIG_CMDLINE_MAX 4096
#define CONFIG_MAX_CPUS 64

enum config_console { CONSOLE_STDIO, CONSOLE_FILE, CONSOLE_SOCKET };

struct config_disk {
	char path[CONFIG_PATH_MAX];
	bool ro;
};

#define CONFIG_MIN_MTU 68	/* the IPv4 minimum (RFC 791) */
#define CONFIG_MAX_MTU 9000	/* jumbo frames */
struct config_nic {
	char tap[16];
	uint8_t mac[6];
	bool has_mac;
	unsigned mtu;		/* bytes, CONFIG_MIN_MTU-CONFIG_MAX_MTU; 0: the tap's */
	bool offload_off;	/* offer no checksum or segmentation offload, no MRG_RXBUF (--net's default) */
};

struct config {
	char kernel[CONFIG_PATH_MAX], initrd[CONFIG_PATH_MAX];
	char cmdline[CONFIG_CMDLINE_MAX];
	uint64_t mem;
	unsigned cpus;
	struct config_disk disk[CONFIG_MAX_DISKS];
	unsigned ndisks;
	struct config_nic nic[CONFIG_MAX_NICS];
	unsigned nnics;
	bool rng;
	bool acpi_off;		/* --acpi off: no ACPI tables; virtio-mmio devices on the cmdline */
	enum config_console console;
	char console_path[108];
	char api_socket[108];
	char name[64];
	char user[64];
	bool user_set;
	char config_file[CONFIG_PATH_MAX];
};

void config_defaults(struct config *c);
int config_set(struct config *c, const char *key, const char *val, char *err, size_t errlen);
int config_parse_args(struct config *c, int argc, char **argv, char *err, size_t errlen);
int config_parse_json(struct config *c, const char *text, size_t len, char *err, size_t errlen);
int config_finish(struct config *c, char *err, size_t errlen);
/* config_guest_acpi: whether the guest reads the ACPI tables' devices: not with --acpi off, nor
 * when the last acpi= among the words of its cmdline (split at whitespace, as Linux does) is
 * off or ht (ACPI tables only, no DSDT). */
bool config_guest_acpi(const struct config *c);

#endif
