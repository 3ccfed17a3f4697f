/* Enclave internals shared by enclave.c (lifecycle, registration), enclave_lc.c (light client). */
#ifndef TN_ENCLAVE_ENCLAVE_INT_H
#define TN_ENCLAVE_ENCLAVE_INT_H

#include "chain/feed.h"
#include "enclave/enclave.h"

#define ENCLAVE_REGISTRATION_TAG "tenebra/v1/worker-registration"

/* Keys that never leave the enclave except sealed; in guarded memory (sodium_malloc). */
struct enclave_secrets {
	uint8_t identity_sk[64]; /* Ed25519 (seed ‖ pk) */
	uint8_t hpke_sk[32];     /* X25519 */
};

/* What the light client trusts: the last verified header and the set that signs the next one. */
struct enclave_lc {
	uint64_t height; /* 0 = genesis: nothing verified yet */
	uint8_t hash[32];
	uint64_t time_ms;
	struct valset next_set;
	uint8_t next_set_hash[32];
};

struct enclave {
	struct enclave_platform plat;
	struct enclave_config cfg;
	bool started;
	bool failed; /* an internal failure midway through a change: only a restart helps */
	uint8_t chain_id[32];
	uint8_t measurement[32];
	struct enclave_secrets *sec;
	uint8_t identity[32];
	uint8_t hpke_pk[32];
	struct enclave_lc lc;
	uint64_t msgs_dispatched;
};

/* Formats one log line and hands it to the platform. */
void enclave_log(struct enclave *e, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The light-client state at genesis: height 0, the genesis set signs height 1. */
void enclave_lc_genesis(struct enclave_lc *lc, const struct valset *genesis_set,
                        uint64_t genesis_time_ms);
/* Checks feed f against lc and, if it passes, writes the new trusted state into *next (lc
 * untouched). Returns ENCLAVE_OK or ENCLAVE_BLOCK_* with a reason in err. */
enum enclave_result enclave_lc_verify(const struct enclave_lc *lc, const uint8_t chain_id[32],
                                      const struct block_feed *f, struct enclave_lc *next,
                                      char *err, size_t errlen);

#endif
