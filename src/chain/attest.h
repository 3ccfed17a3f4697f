/*
 * Attestation reports and the chain's attestation policy (DESIGN.md §1, §9; byte layouts and the
 * honest limits of each backend in docs/protocol/attestation.md).
 *
 * A worker proves what it runs with a report binding three things: the backend that produced it,
 * the measurement of the code (sim: the hash of the running binary; gramine-sgx: MRENCLAVE) and
 * 32 bytes of report data (registry.h: the hash of the registration info). The enclave has no
 * trusted clock, so freshness is counted in blocks: a report names the chain height the enclave
 * had verified when it made it, and the chain accepts it for policy.max_report_age blocks.
 *
 *   sim          the report is signed by a software attestation key (Ed25519) whose public key the
 *                policy lists. It proves only that the holder of that key vouched for the
 *                measurement: NOT hardware-protected. Confidence level ATTEST_LEVEL_SIM.
 *   gramine-sgx  the report carries the raw SGX DCAP quote (v3, ECDSA P-256). The chain checks its
 *                structure, that it is not a debug enclave, that MRENCLAVE equals the measurement
 *                and that its REPORTDATA binds the report data and height. It does NOT verify
 *                the quote signature chain up to Intel (that needs PCK certificates and TCB
 *                collateral the chain does not have), so a forged quote passes: such reports get
 *                ATTEST_LEVEL_SGX_UNVERIFIED and a policy accepts them only if it says so.
 *
 * Confidence levels count down as in Phala: 1 is the strongest. 1..5 are reserved for quotes whose
 * collateral is verified (Phala's TCB-status levels); a policy accepts a report whose level is at
 * most max_confidence_level.
 */
#ifndef TN_CHAIN_ATTEST_H
#define TN_CHAIN_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/codec.h"

#define ATTEST_VERSION              1
#define ATTEST_SIM_TAG              "tenebra/v1/sim-attestation"
#define ATTEST_DEV_SIM_KEY_TAG      "tenebra/v1/dev-sim-attestation-key"
#define ATTEST_QUOTE_MAX            16384 /* bytes of a DCAP quote */
#define ATTEST_REPORT_MAX           (1 + 1 + 32 + 32 + 8 + 3 + ATTEST_QUOTE_MAX)
#define ATTEST_LEVEL_SGX_UNVERIFIED 6
#define ATTEST_LEVEL_SIM            128
#define ATTEST_MAX_MEASUREMENTS     32
#define ATTEST_MAX_SIM_KEYS         8
#define ATTEST_POLICY_VERSION       1
#define ATTEST_POLICY_MAX           (3 + 2 + 2 + 8 + 1 + (ATTEST_MAX_MEASUREMENTS + ATTEST_MAX_SIM_KEYS) * 32)

/* Backends; the numbers are part of the protocol. */
enum attest_backend {
	ATTEST_BACKEND_SIM = 1,
	ATTEST_BACKEND_GRAMINE_SGX = 2,
};
#define ATTEST_BACKEND_MAX 2

/* Outcome of attest_verify, in the order the checks run. */
enum attest_result {
	ATTEST_OK = 0,
	ATTEST_BACKEND_NOT_ALLOWED,     /* the policy does not accept this backend */
	ATTEST_MEASUREMENT_NOT_ALLOWED, /* the measurement is not in the policy's list */
	ATTEST_REPORT_DATA_MISMATCH,    /* report data is not the expected hash */
	ATTEST_FROM_FUTURE,             /* report height is above the current height */
	ATTEST_STALE,                   /* report is more than max_report_age blocks old */
	ATTEST_UNKNOWN_SIM_KEY,         /* sim: the signer is not a policy attestation key */
	ATTEST_BAD_SIGNATURE,           /* sim: the signature does not verify */
	ATTEST_BAD_QUOTE,               /* sgx: not a well-formed v3 ECDSA quote from Intel's QE */
	ATTEST_QUOTE_MISMATCH,          /* sgx: MRENCLAVE or REPORTDATA differ from the report */
	ATTEST_DEBUG_ENCLAVE,           /* sgx: the enclave runs in debug mode (memory readable) */
	ATTEST_LOW_CONFIDENCE,          /* level above the policy's max_confidence_level */
};

/* A static English message for r; never NULL. */
const char *attest_strerror(enum attest_result r);
/* "sim", "gramine-sgx", or NULL for another value. */
const char *attest_backend_name(uint8_t backend);
/* The backend named s ("sim", "gramine-sgx"), or 0 when s names none. */
uint8_t attest_backend_from_name(const char *s);

/* A decoded report. quote is borrowed from the bytes it was decoded from. */
struct attest_report {
	uint8_t backend;
	uint8_t measurement[32];
	uint8_t report_data[32];
	uint64_t height;        /* chain height the enclave had verified when it made the report */
	uint8_t sim_signer[32]; /* sim: the attestation key */
	uint8_t sim_sig[64];    /* sim: Ed25519 over attest_sim_message() */
	const uint8_t *quote;   /* gramine-sgx: the DCAP quote */
	size_t quote_len;
};

/* Appends the report's encoding:
 *   version u8 (1) ‖ backend u8 ‖ measurement [32] ‖ report_data [32] ‖ height u64 ‖ evidence
 *   evidence = sim_signer [32] ‖ sim_sig [64]      (sim)
 *            | bytes(quote)                         (gramine-sgx; 1..ATTEST_QUOTE_MAX bytes) */
void attest_report_encode(struct enc *e, const struct attest_report *r);
/* Decodes exactly b[0..n) (borrowing b). Returns CODEC_OK, CODEC_TRUNCATED, CODEC_NONCANONICAL
 * (version, unknown backend, empty quote), CODEC_TOO_LARGE (quote above ATTEST_QUOTE_MAX) or
 * CODEC_TRAILING. */
enum codec_result attest_report_decode(struct attest_report *r, const uint8_t *b, size_t n)
    __attribute__((warn_unused_result));

/* The 32 bytes a sim attestation key signs: hash_tagged(ATTEST_SIM_TAG, version ‖ backend ‖
 * measurement ‖ report_data ‖ height). r->backend must be ATTEST_BACKEND_SIM. */
void attest_sim_message(uint8_t out[32], const struct attest_report *r);
/* Fills r->sim_signer and r->sim_sig with the key pair (pk, sk) (libsodium layout). */
void attest_sim_sign(struct attest_report *r, const uint8_t pk[32], const uint8_t sk[64]);
/* The dev chain's sim attestation key: seed = hash_tagged(ATTEST_DEV_SIM_KEY_TAG, ""). Its secret
 * is public knowledge, so anyone can make a sim report a dev chain accepts: dev and tests only.
 * The caller wipes sk. */
void attest_dev_sim_keypair(uint8_t pk[32], uint8_t sk[64]);

/* The fields the chain reads from an SGX DCAP v3 quote. */
struct attest_sgx_quote {
	uint64_t attributes_flags; /* bit 1 = DEBUG */
	uint8_t mrenclave[32];
	uint8_t mrsigner[32];
	uint16_t isv_prod_id, isv_svn;
	uint8_t report_data[64];
};
#define ATTEST_SGX_HEADER_LEN   48
#define ATTEST_SGX_BODY_LEN     384
#define ATTEST_SGX_MIN_SIG_DATA (64 + 64 + 384 + 64 + 2 + 2 + 4)
#define ATTEST_SGX_DEBUG_FLAG   0x2u
/* The 16-byte QE vendor id of Intel's quoting enclave. */
extern const uint8_t attest_intel_qe_vendor_id[16];
/* Parses the structure of a v3 ECDSA-P256 quote from Intel's QE: header (version 3, key type 2,
 * TEE type 0, Intel vendor id), report body, signature data length consistent with q_len and at
 * least ATTEST_SGX_MIN_SIG_DATA. False otherwise. Verifies no signature. */
bool attest_sgx_quote_parse(struct attest_sgx_quote *out, const uint8_t *q, size_t q_len)
    __attribute__((warn_unused_result));
/* The REPORTDATA a gramine-sgx enclave must put in its quote for report r:
 *   report_data [32] ‖ height u64 ‖ 24 zero bytes. */
void attest_sgx_expected_report_data(uint8_t out[64], const uint8_t report_data[32],
                                     uint64_t height);

/* The attestation policy (genesis "attestation", state "reg/policy"). */
struct attest_policy {
	uint8_t backends;     /* bit (1 << backend) for each allowed backend */
	bool any_measurement; /* dev: accept every measurement (the sim binary changes per build) */
	uint8_t n_measurements;
	uint8_t measurements[ATTEST_MAX_MEASUREMENTS][32];
	uint8_t n_sim_keys;
	uint8_t sim_keys[ATTEST_MAX_SIM_KEYS][32];
	uint64_t max_report_age; /* blocks */
	uint8_t max_confidence_level;
};

/* Appends: version u8 (1) ‖ backends u8 ‖ any_measurement bool ‖ uleb n ‖ measurements [32]·n ‖
 * uleb n ‖ sim_keys [32]·n ‖ max_report_age u64 ‖ max_confidence_level u8. */
void attest_policy_encode(struct enc *e, const struct attest_policy *p);
/* Decodes exactly b[0..n). CODEC_NONCANONICAL for an unknown version or backend bit,
 * CODEC_TOO_LARGE for a list above its cap, else as the codec. */
enum codec_result attest_policy_decode(struct attest_policy *p, const uint8_t *b, size_t n)
    __attribute__((warn_unused_result));
/* The policy of a chain that accepts no worker (the state before any policy is set). */
void attest_policy_closed(struct attest_policy *p);

/* Checks report r against policy p, the report data the chain expects and the current height.
 * On ATTEST_OK *level gets the confidence level. The order of the checks is the order of
 * enum attest_result. */
enum attest_result attest_verify(const struct attest_policy *p, const struct attest_report *r,
                                 const uint8_t expected_report_data[32], uint64_t height,
                                 uint8_t *level) __attribute__((warn_unused_result));

#endif
