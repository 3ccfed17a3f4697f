/*
 * Platform backends for the enclave (enclave/enclave.h "calls out"): the code that a real TEE
 * provides from inside the enclave, and the sim backend provides in software.
 *
 *   sim          measurement = BLAKE2b of the running binary (/proc/self/exe), so a modified
 *                binary has another measurement; sealing key derived from a per-machine secret
 *                file and the measurement (crypto/seal.h seal_sim_key); reports signed by a
 *                software attestation key the chain's policy must list. NOT hardware-protected:
 *                whoever reads the machine secret can unseal, and whoever holds the attestation
 *                key can vouch for anything. Every log line of this backend says so.
 *   gramine-sgx  the same binary run under Gramine: measurement and quotes through
 *                /dev/attestation, sealing key from /dev/attestation/keys/_sgx_mrenclave
 *                (docs/operator.md "Running on SGX").
 */
#ifndef TN_WORKER_PLATFORM_H
#define TN_WORKER_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enclave/enclave.h"

#define PLATFORM_MACHINE_SECRET_FILE "machine.secret"

enum platform_result {
	PLATFORM_OK = 0,
	PLATFORM_IO,          /* a file could not be read or written (detail in err) */
	PLATFORM_UNAVAILABLE, /* gramine-sgx: /dev/attestation is not there (not under Gramine) */
	PLATFORM_NOMEM,
};

const char *platform_strerror(enum platform_result r);

/* A backend's state; opaque, owned by the host. */
struct platform;

/* The sim backend for a worker whose data directory is dir: reads (or creates, 0600) the machine
 * secret dir/machine.secret, hashes the running binary, and keeps the attestation key pair
 * (attest_pk, attest_sk: copied into guarded memory; the caller wipes its copy). On success
 * *out is filled with the call table and *pl owns the state (platform_free). err gets a
 * one-line reason on failure. */
enum platform_result platform_sim_open(struct platform **pl, struct enclave_platform *out,
                                       const char *dir, const uint8_t attest_pk[32],
                                       const uint8_t attest_sk[64], char *err, size_t errlen);

/* The gramine-sgx backend: PLATFORM_UNAVAILABLE unless /dev/attestation exists. */
enum platform_result platform_gramine_open(struct platform **pl, struct enclave_platform *out,
                                           char *err, size_t errlen);

/* Wipes and frees. NULL is a no-op. */
void platform_free(struct platform *pl);

/* The measurement of the file at path as the sim backend computes it for a running binary:
 * hash_tagged("tenebra/v1/sim-measurement", file bytes). For genesis policies and tests. */
enum platform_result platform_sim_measure_file(uint8_t out[32], const char *path);

#endif
