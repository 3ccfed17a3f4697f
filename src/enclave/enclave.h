/*
 * The enclave core (pRuntime): the trusted half of a worker (DESIGN.md §1, §3, §8-§10).
 *
 * It touches no files, sockets, clocks or environment. Everything crosses this call table:
 *
 *   calls in (host -> enclave)            calls out (enclave -> platform backend)
 *   enclave_new / enclave_free            platform.measurement  code identity
 *   enclave_start (first start | restore) platform.seal_key     sealing key bound to measurement
 *   enclave_registration                  platform.attest       attestation report
 *   enclave_feed_block                    platform.random       randomness the host cannot see
 *   enclave_query                         platform.log          a line for the operator
 *   enclave_egress / enclave_checkpoint
 *   enclave_status
 *
 * The host (src/worker) is untrusted: it relays blocks, submits egress, serves HTTP and stores
 * sealed blobs. It can delay or withhold input, never forge it: every block is checked with the
 * light-client rule (chain/block.h commit_verify, sets chained through next_validators_hash), and
 * every outbound message list against the header's msgs_root. A refused input leaves the
 * enclave exactly as it was.
 *
 * The enclave knows no wall clock. "Now" is the height of the last verified block: query expiry,
 * report freshness and key waiting periods are all counted in blocks.
 *
 * Threads: the host serialises every call except enclave_query, which may run concurrently with
 * other enclave_query calls but never with any other call (the worker holds a reader-writer
 * lock: queries read, everything else writes).
 */
#ifndef TN_ENCLAVE_ENCLAVE_H
#define TN_ENCLAVE_ENCLAVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/codec.h"
#include "chain/block.h"

#define ENCLAVE_ID_LEN 32 /* Ed25519 identity public key */

struct contract_code; /* enclave/contract.h */

/* ---- Calls out ---------------------------------------------------------------------------- */

enum enclave_backend {
	ENCLAVE_BACKEND_SIM = 1,         /* software only: NOT hardware-protected */
	ENCLAVE_BACKEND_GRAMINE_SGX = 2, /* Gramine on SGX, quotes through /dev/attestation */
};

/* What the platform backend provides. Every function must be set. ctx is passed back. */
struct enclave_platform {
	void *ctx;
	enum enclave_backend backend;
	/* The measurement of the running code (sim: hash of the binary; sgx: MRENCLAVE). */
	void (*measurement)(void *ctx, uint8_t out[32]);
	/* The sealing key of this code on this machine. Returns 0, or -1 if unavailable. */
	int (*seal_key)(void *ctx, uint8_t out[32]);
	/* An attestation report whose report data is report_data, as encoded for the chain
	 * (chain/attest.h), written to out[0..cap); *len set. `height` is the enclave's verified
	 * height, carried in sim reports for freshness. Returns 0, or -1 on failure. */
	int (*attest)(void *ctx, const uint8_t report_data[32], uint64_t height, uint8_t *out,
	              size_t cap, size_t *len);
	/* n random bytes. Must not fail. */
	void (*random)(void *ctx, uint8_t *buf, size_t n);
	/* One log line (level as base/log.h). Never given secrets. */
	void (*log)(void *ctx, int level, const char *line);
};

/* ---- Results ------------------------------------------------------------------------------ */

enum enclave_result {
	ENCLAVE_OK = 0,
	ENCLAVE_NOMEM,
	ENCLAVE_BAD_INPUT,         /* an input does not decode (detail in the error text) */
	ENCLAVE_BAD_GENESIS,       /* the genesis document does not parse */
	ENCLAVE_NOT_STARTED,       /* a call before enclave_start */
	ENCLAVE_FAILED,            /* an earlier internal failure: the enclave is unusable */
	ENCLAVE_BLOCK_GAP,         /* a block that is not exactly the next height */
	ENCLAVE_BLOCK_REPLAY,      /* a block at or below the verified height */
	ENCLAVE_BLOCK_BAD_CHAIN,   /* wrong chain id, prev hash, or time not increasing */
	ENCLAVE_BLOCK_BAD_VALSET,  /* the set does not match the trusted validators hash */
	ENCLAVE_BLOCK_BAD_COMMIT,  /* commit_verify refused the commit */
	ENCLAVE_BLOCK_BAD_MSGS,    /* the messages do not match the header's msgs_root */
	ENCLAVE_UNSEAL,            /* a sealed blob from another chain or code, or tampered */
	ENCLAVE_PLATFORM,          /* a platform call failed */
	ENCLAVE_QUERY_DECRYPT,     /* the query envelope does not open */
	ENCLAVE_QUERY_SIGNATURE,   /* bad signature or session certificate */
	ENCLAVE_QUERY_EXPIRED,     /* expiry height passed */
	ENCLAVE_QUERY_NO_CONTRACT, /* no such contract in this worker (or its key is not here) */
	ENCLAVE_QUERY_REFUSED,     /* the contract refused the request */
	ENCLAVE_TOO_LARGE,         /* an input or output over its configured cap */
	ENCLAVE_QUERY_UNAVAILABLE, /* a contract of this worker's cluster whose state it cannot
	                              rebuild (its backlog overflowed before the key arrived, or
	                              max_contracts): ask another worker of the cluster */
};

const char *enclave_strerror(enum enclave_result r);

/* ---- Lifecycle ---------------------------------------------------------------------------- */

struct enclave_config {
	/* Contract code compiled into this binary, by name (contracts.deploy names the code). */
	const struct contract_code *const *codes;
	size_t n_codes;
	size_t max_contracts;      /* instances hosted */
	size_t max_egress;         /* pending signed egress messages */
	size_t max_query_bytes;    /* request envelope cap */
	size_t max_response_bytes; /* sealed answer cap (nonce and tag included) */
	uint64_t max_query_ahead;  /* blocks a query's expiry may lie past the verified height */
	size_t max_state_bytes;    /* a checkpoint's plaintext cap */
	/* The backlog (docs/protocol/worker.md "Late joiners"): verified inputs of contracts this
	 * enclave cannot run yet (no keys), kept so it can rebuild their state when the key comes.
	 * Entries (deploys, commands, messages, one per block while a waiting contract has a block
	 * hook) and bytes (messages plus ENCLAVE_BACKLOG_ENTRY_COST each); 0 takes the default.
	 * The backlog is part of the checkpoint: keep max_backlog_bytes well below
	 * max_state_bytes. */
	size_t max_backlog_msgs;
	size_t max_backlog_bytes;
	/* Session queries (docs/protocol/envelopes.md "Session queries"): entries of the cache of
	 * verified session certificates with their static DH, one per (contract, certificate);
	 * 0 takes the default. About 80 bytes of guarded memory each. */
	size_t max_query_sessions;
};
#define ENCLAVE_QUERY_SESSIONS_DEFAULT 4096

#define ENCLAVE_BACKLOG_MSGS_DEFAULT  16384
#define ENCLAVE_BACKLOG_BYTES_DEFAULT (4u << 20)
#define ENCLAVE_BACKLOG_ENTRY_COST    64 /* bytes charged per entry besides its message */

struct enclave;

/* Allocates an enclave bound to platform p (copied) and config c (copied; codes borrowed, must
 * outlive it). NULL on allocation failure. */
struct enclave *enclave_new(const struct enclave_platform *p, const struct enclave_config *c);
/* Wipes every secret and frees. NULL is a no-op. */
void enclave_free(struct enclave *e);

/* Starts the enclave on the chain whose genesis document is genesis[0..len) (the chain id is its
 * genesis hash, computed here, not taken from the host). With sealed == NULL this is a first
 * start: identity and HPKE keys are generated from platform randomness and the light client
 * trusts the genesis validator set at height 0. Otherwise sealed[0..sealed_len) is a checkpoint
 * from enclave_checkpoint: it must unseal under this platform's key, for this genesis and
 * measurement (else ENCLAVE_UNSEAL and nothing changes), and the enclave resumes from it.
 * Errors: ENCLAVE_BAD_GENESIS, ENCLAVE_UNSEAL, ENCLAVE_PLATFORM, ENCLAVE_NOMEM. */
enum enclave_result enclave_start(struct enclave *e, const uint8_t *genesis, size_t len,
                                  const uint8_t *sealed, size_t sealed_len);

/* ---- Registration ------------------------------------------------------------------------- */

struct enclave_registration {
	uint8_t identity[32]; /* Ed25519 public key: signs egress */
	uint8_t hpke_pk[32];  /* X25519: key sharing to this worker */
	uint8_t measurement[32];
	enum enclave_backend backend;
	uint8_t report[4096]; /* attestation report (chain/attest.h encoding) */
	size_t report_len;
};

/* The registration info for operator account `operator` (32 bytes), with an attestation report
 * whose report data binds identity, HPKE key, operator and genesis hash (docs/protocol/
 * attestation.md). Errors: ENCLAVE_NOT_STARTED, ENCLAVE_PLATFORM, ENCLAVE_TOO_LARGE. */
enum enclave_result enclave_registration(struct enclave *e, const uint8_t operator_account[32],
                                         struct enclave_registration *out);

/* ---- Following the chain ------------------------------------------------------------------ */

/* Feeds the next block. feed[0..len) is a block feed (docs/protocol/worker.md): header ‖ commit
 * for that header ‖ the next validator set when header.next_validators_hash differs from
 * header.validators_hash ‖ the block's outbound messages. Accepted only if it is exactly the
 * next height, chains to the trusted header, the set is the trusted one, the commit passes
 * commit_verify and the messages hash to msgs_root; then the messages are dispatched (system,
 * gatekeeper, contracts) in order. Any error leaves the enclave exactly as before the call.
 * err (may be NULL) receives a one-line reason. */
enum enclave_result enclave_feed_block(struct enclave *e, const uint8_t *feed, size_t len,
                                       char *err, size_t errlen);

/* ---- Queries ------------------------------------------------------------------------------ */

/* Answers a query envelope (crypto/envelope.h) addressed to a contract hosted here: decrypts
 * with the contract key, checks the account signature (or session certificate) and the expiry
 * against the verified height, runs the contract's query handler (which cannot change state)
 * and appends the sealed answer (env_response_seal) to out. The answer's plaintext is
 * u32 contract result ‖ the handler's bytes, so a refusal by the contract is readable by the
 * asker only (docs/protocol/worker.md "Queries"). Safe to run concurrently with itself (then
 * platform.random must be thread-safe); the only enclave state it writes is the session cache
 * (config.max_query_sessions, its own lock), which never changes an answer or a refusal.
 * Errors: ENCLAVE_NOT_STARTED, ENCLAVE_FAILED, ENCLAVE_TOO_LARGE (envelope over
 * config.max_query_bytes, answer over config.max_response_bytes), ENCLAVE_BAD_INPUT (does not
 * decode), ENCLAVE_QUERY_NO_CONTRACT (not hosted here or its key not here),
 * ENCLAVE_QUERY_UNAVAILABLE (a contract of our cluster whose state we cannot rebuild; status
 * counts them in n_unavailable), ENCLAVE_QUERY_SIGNATURE
 * (query or session certificate signature), ENCLAVE_QUERY_EXPIRED (expiry or certificate
 * passed, or expiry more than config.max_query_ahead blocks ahead), ENCLAVE_QUERY_DECRYPT (the
 * HPKE envelope does not open: wrong key, chain, contract, account or bytes), ENCLAVE_NOMEM. */
enum enclave_result enclave_query(struct enclave *e, const uint8_t *envelope, size_t len,
                                  struct enc *out);

/* ---- Egress ------------------------------------------------------------------------------- */

/* Appends the pending signed egress messages (chain/mq.h encoding, each uleb-length-prefixed,
 * preceded by a uleb count) that the chain has not yet acknowledged, oldest first, at most max
 * of them. The host submits them in mq.push transactions; duplicates are refused by the chain's
 * sequence check, so resubmitting after a restart is safe. A message is dropped from the
 * pending list once a verified block shows the chain accepted its sequence. */
enum enclave_result enclave_egress(struct enclave *e, size_t max, struct enc *out);

/* ---- Checkpoints -------------------------------------------------------------------------- */

/* Appends a sealed snapshot of the whole enclave state (keys, light client, gatekeeper, contract
 * states, egress) to out, for enclave_start. */
enum enclave_result enclave_checkpoint(struct enclave *e, struct enc *out);

/* ---- Status ------------------------------------------------------------------------------- */

struct enclave_status {
	bool started;
	uint64_t height; /* last verified block */
	uint8_t block_hash[32];
	uint8_t chain_id[32];
	uint8_t identity[32];
	enum enclave_backend backend;
	bool registered;      /* a verified block showed our registration */
	bool gatekeeper;      /* we hold the master key */
	uint32_t cluster;     /* UINT32_MAX when unassigned */
	bool has_cluster_key; /* we hold the key of `cluster` (received, or derived as a
	                         gatekeeper): its contracts are hosted and answer queries */
	size_t n_contracts;   /* instances hosted (all with their keys) */
	size_t n_unavailable; /* contracts of `cluster` whose state we cannot rebuild: queries
	                         get ENCLAVE_QUERY_UNAVAILABLE */
	size_t backlog_msgs;  /* backlog entries and bytes (enclave_config) */
	size_t backlog_bytes;
	size_t n_egress;
	uint64_t messages_dispatched;
};
void enclave_status(const struct enclave *e, struct enclave_status *out);

#endif
