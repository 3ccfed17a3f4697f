/*
 * The worker host (DESIGN.md §1, §9; docs/operator.md "Running a worker"): the untrusted process
 * around the enclave core (enclave/enclave.h). It trusts nothing it relays and the enclave trusts
 * nothing it says: the host only fetches, stores and forwards.
 *
 *   node  --chain_genesis, chain_feed-->  host --enclave_feed_block-->  enclave
 *   node  <--tx_submit (register_worker, mq.push of the enclave's egress)--  host
 *   user  --POST /query (HPKE envelope)-->  host --enclave_query-->  enclave  --> sealed answer
 *
 * One sync thread follows the chain: it fetches block feeds from the node (several per request
 * while behind), feeds them to the enclave, writes a sealed checkpoint every N blocks
 * (DATA/checkpoint.sealed: temp file, fsync, rename), registers the worker once it is caught up
 * (again only if the chain does not already hold this identity with these keys and operator) and
 * submits the enclave's egress as mq.push transactions signed by the operator account once it is
 * caught up (a resubmission after a restart is refused by the chain's sequence check; the host
 * waits WORKER_RESUBMIT_BLOCKS before trying the same messages again). A block the enclave
 * refuses is not retried at once: the host waits WORKER_REFUSED_WAIT_MS and fetches it again,
 * so a lying relay delays the worker but never moves it.
 *
 * The HTTP server (libmicrohttpd through rpc/rpc.h) serves POST /query, GET /status, GET /health
 * and the JSON-RPC method worker_status. Queries run in parallel with each other under the read
 * side of a reader-writer lock whose write side every other enclave call takes (writers are
 * preferred, so a stream of queries cannot starve the chain). Queries beyond max_queries in
 * flight, or that cannot get the lock within query_wait_ms, get 503.
 *
 * Talking to the node goes through a caller-supplied JSON-RPC function (struct worker_node), so
 * this layer needs no HTTP client of its own; the CLI passes its rpc_client.
 */
#ifndef TN_WORKER_WORKER_H
#define TN_WORKER_WORKER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enclave/enclave.h"

#define WORKER_CHECKPOINT_FILE      "checkpoint.sealed"
#define WORKER_LOCK_FILE            "worker.lock"
#define WORKER_DEFAULT_HOST         "127.0.0.1"
#define WORKER_DEFAULT_PORT         8000
#define WORKER_FEED_BATCH           64   /* feeds asked for per POST /feeds (<= FEED_BATCH_MAX) */
#define WORKER_RESUBMIT_BLOCKS      20   /* before the same egress or registration is retried */
#define WORKER_REFUSED_WAIT_MS      1000 /* after a refused feed or an unreachable node */
#define WORKER_REGISTER_BACKOFF_MAX 600  /* blocks between registration attempts, at most */

enum worker_result {
	WORKER_OK = 0,
	WORKER_BAD_CONFIG, /* an option is invalid (the message says which) */
	WORKER_NODE,       /* the node could not be reached or sent something unusable */
	WORKER_DATA,       /* the data directory: cannot create, lock, read or write */
	WORKER_PLATFORM,   /* the backend could not be opened */
	WORKER_ENCLAVE,    /* the enclave refused to start (e.g. a checkpoint it cannot unseal) */
	WORKER_HTTP,       /* the HTTP server could not start (e.g. address in use) */
	WORKER_NOMEM,
};

const char *worker_strerror(enum worker_result r);

/* The node's JSON-RPC and feed route, supplied by the caller; each is called from one thread at
 * a time. call() sends method with params (a JSON array or NULL, stolen) and returns 0 with
 * *result set (a new reference the worker releases), or -1 with a one-line reason in err and
 * *code the JSON-RPC error code the node answered with (0 when it could not be reached or
 * answered badly). feeds() asks the node's POST /feeds for up to `count` block feeds from height
 * `from` and returns 0 with *reply (malloc'ed, the worker frees it) holding the answer's body
 * (a batch, chain/feed.h), or -1 with a one-line reason in err. */
struct worker_node {
	void *ctx;
	int (*call)(void *ctx, const char *method, json_t *params, json_t **result, long *code,
	            char *err, size_t errlen);
	int (*feeds)(void *ctx, uint64_t from, uint16_t count, uint8_t **reply, size_t *len,
	             char *err, size_t errlen);
};

struct worker_config {
	struct worker_node node;
	const char *data_dir;    /* required; created (0700) if missing */
	const char *listen_host; /* default WORKER_DEFAULT_HOST */
	uint16_t listen_port;    /* default WORKER_DEFAULT_PORT; 0 = any free port */
	enum enclave_backend backend;
	uint8_t operator_sk[64]; /* the account that signs our txs; the worker copies it into
	                            guarded memory, the caller wipes this copy */
	uint8_t attest_pk[32];   /* sim: the attestation key pair (the caller wipes attest_sk) */
	uint8_t attest_sk[64];
	uint64_t checkpoint_every; /* blocks between checkpoints; 0 = only at shutdown */
	/* Contract codes this binary runs (borrowed, must outlive the worker). */
	const struct contract_code *const *codes;
	size_t n_codes;
	unsigned http_threads;     /* default 2 */
	unsigned max_queries;      /* queries in flight; default 64 */
	size_t max_query_bytes;    /* request body cap; default 256 KiB */
	size_t max_response_bytes; /* sealed answer cap; default 64 KiB */
	unsigned query_wait_ms;    /* wait for the lock at most; default 2000 */
	unsigned query_slow_ms; /* a query slower than this is logged and counted; default 1000 */
	unsigned poll_ms;       /* pause when caught up; default 200 */
	bool register_worker;   /* register on chain (default true) */
};

/* Defaults for every field but node, data_dir, operator_sk and the attestation keys. */
void worker_config_default(struct worker_config *cfg);

struct worker;

/* Creates the data directory, locks it (DATA/worker.lock), fetches the genesis from the node
 * (retrying while the node is unreachable, until worker_request_stop), opens the backend, starts
 * the enclave (from DATA/checkpoint.sealed when present), starts the HTTP server and the sync
 * thread. On failure returns an error with a one-line reason in err and *out NULL. */
enum worker_result worker_start(struct worker **out, const struct worker_config *cfg, char *err,
                                size_t errlen);
/* The bound HTTP port. */
uint16_t worker_port(const struct worker *w);
/* Asks the worker to stop; async-signal-safe. */
void worker_request_stop(struct worker *w);
/* Blocks until worker_request_stop. */
void worker_wait(struct worker *w);
/* Stops the HTTP server and the sync thread, writes a final checkpoint, wipes and frees. NULL
 * is a no-op. */
void worker_free(struct worker *w);

/* A snapshot of what the worker knows, for /status and the CLI. */
struct worker_status {
	struct enclave_status enclave;
	uint64_t node_height;
	uint64_t checkpoint_height; /* 0: none written yet */
	bool registered;            /* the chain holds our registration (worker_get) */
	char registration[160];     /* "registered", "waiting to catch up", "pending tx ...",
	                               "refused: ..." */
	char last_error[256];       /* the last refused feed or node error, "" when none */
	uint64_t feeds_refused;
	uint64_t egress_submitted; /* messages sent in mq.push txs */
	uint64_t queries, queries_failed, queries_busy, queries_slow;
};
void worker_status(struct worker *w, struct worker_status *out);
/* The /status JSON of s (a new reference, or NULL when out of memory). */
json_t *worker_status_json(const struct worker_status *s);

#endif
