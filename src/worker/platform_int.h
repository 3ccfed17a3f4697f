/* Backend internals shared by platform.c, platform_sim.c and platform_gramine.c. */
#ifndef TN_WORKER_PLATFORM_INT_H
#define TN_WORKER_PLATFORM_INT_H

#include "chain/attest.h"
#include "worker/platform.h"

struct platform_secrets { /* guarded memory */
	uint8_t machine_secret[32];
	uint8_t attest_sk[64];
};

struct platform {
	uint8_t measurement[32];
	uint8_t attest_pk[32];
	struct platform_secrets *sec;
};

/* A zeroed platform with its guarded secrets, or NULL. */
struct platform *platform_alloc(void);
/* Loads dir/machine.secret into pl->sec, creating it (32 random bytes, mode 0600, written to a
 * temporary file, fsynced and renamed) if it does not exist. */
enum platform_result platform_machine_secret(struct platform *pl, const char *dir, char *err,
                                             size_t errlen);
/* Writes buf to dir/name (mode 0600) durably: a temporary file dir/.name.tmp, fsync, rename,
 * fsync of the directory; a crash leaves the old file or the new one, never a torn one.
 * PLATFORM_IO on any failure (the temporary file is removed). */
enum platform_result platform_write_new(const char *dir, const char *name, const uint8_t *buf,
                                        size_t n);
/* Reads exactly n bytes of path into buf. */
enum platform_result platform_read_exact(const char *path, uint8_t *buf, size_t n);

/* Fills the fields every backend's report shares. */
void platform_report_init(struct attest_report *r, const struct platform *pl, uint8_t backend,
                          const uint8_t report_data[32], uint64_t height);
/* Encodes r into out[0..cap): 0 with *len set, or -1 when it does not fit. */
int platform_report_encode(const struct attest_report *r, uint8_t *out, size_t cap, size_t *len);

#endif
