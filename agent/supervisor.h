/* hvnode-supervisor: declarations shared by its files (supervisor.c, fetch.c). */
#ifndef HVNODE_SUPERVISOR_H
#define HVNODE_SUPERVISOR_H

#include <stdint.h>

#include "agent.h"

/* fetch_image: IMG into CACHE_DIR/<sha256> unless a file of its size is there already.
 * WHAT names the image in errors ("kernel", "disks[0]"). Returns 0, or -1 with ERR. */
int fetch_image(const struct agent_config *cfg, const char *cache_dir, const struct vm_image *img,
		const char *what, char *err, size_t errlen);
/* disk_from_image: IMAGE (raw, gzip or xz) copied or decompressed to DST, at most MAX bytes,
 * through DST.tmp and a rename. Returns 0, or -1 with ERR. */
int disk_from_image(const char *busybox, const char *image, const char *dst, uint64_t max,
		    char *err, size_t errlen);

#endif
