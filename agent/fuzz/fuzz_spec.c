/* libFuzzer target: a VM list as the manager sends it (untrusted), through the agent's
 * envelope check and then, entry by entry, the supervisor's spec parser, as on a node; and the
 * same bytes as a supervisor report merged into a heartbeat. Must never crash, hang or read
 * past LEN. */
#include <stdint.h>
#include <string.h>

#include "agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const struct node_limits limits = { .cpus = 2, .memory_mib = 1232 };
	static struct vm_spec spec, prev;
	char err[VM_ERROR_MAX];
	long long generation;
	cJSON *vms, *item, *hb;

	if (len > VMS_LIST_MAX)
		return 0; /* the agent never reads more */
	if (vms_parse_list((const char *)data, len, &generation, &vms, err, sizeof(err)) == 0) {
		cJSON_ArrayForEach(item, vms) {
			if (spec_parse(item, &limits, &spec, err, sizeof(err)) == 0)
				spec_same_except_state(&spec, &prev);
			prev = spec;
		}
		cJSON_Delete(vms);
	}
	hb = cJSON_CreateObject();
	vms_merge_actual(hb, (const char *)data, len, err, sizeof(err));
	cJSON_Delete(hb);
	return 0;
}
