/*
 * The contract SDK: everything a confidential contract sees (DESIGN.md §3, §8, §12). A contract is
 * a table of callbacks (struct contract_code) compiled into the worker; contracts.deploy on chain
 * names the code, and every worker of the contract's cluster runs an instance of it.
 *
 * Determinism: commands, messages and block hooks run in the same order on every worker of the
 * cluster and must produce the same state and the same egress, so a contract uses no clock, no
 * platform randomness and no host input other than what these callbacks give it;
 * contract_random is deterministic (derived from the contract key, the height and a counter).
 * Queries are read-only: the query handler gets a const state pointer and cannot emit.
 *
 * Atomicity: when a command or message handler returns an error it must leave its state as it
 * was (check first, then change); the host drops the messages it emitted. Errors are logged (the
 * result code only) and, for commands, kept in a receipt the sender can read (below); they
 * never stop the enclave.
 *
 * Receipts: for every command this worker decrypted, or failed to, the host keeps the last
 * CONTRACT_RECEIPTS receipts per contract: sender, tx nonce, height, result and the handler's
 * contract_reply. The sender reads its own with a query whose request is CONTRACT_RECEIPT_QUERY
 * ‖ u64 nonce (docs/contracts.md "Receipts"). Query requests starting with a 0x00 byte are the
 * host's: on_query never sees them.
 *
 * Memory: a contract allocates with malloc/free and is bounded by its own caps, which it must
 * document; snapshot output is bounded by enclave_config.max_state_bytes.
 */
#ifndef TN_ENCLAVE_CONTRACT_H
#define TN_ENCLAVE_CONTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/codec.h"

#define CONTRACT_ID_LEN        32
#define CONTRACT_NAME_MAX      32
#define CONTRACT_TOPIC_MAX     128
#define CONTRACT_CALL_DEPTH    4            /* nested synchronous calls */
#define CONTRACT_PAYLOAD_MAX   (64 * 1024)  /* one emitted message (the chain's MQ_PAYLOAD_MAX) */
#define CONTRACT_EMIT_MAX      (256 * 1024) /* everything emitted while handling one input */
#define CONTRACT_REPLY_MAX     256          /* contract_reply bytes */
#define CONTRACT_RECEIPTS      256          /* receipts kept per contract */
#define CONTRACT_RECEIPT_QUERY "\x00\x01"   /* 2 bytes, then u64 nonce: a receipt query */
#define CONTRACT_ARGS_MAX      1024         /* deploy arguments (the chain's CONTRACTS_ARGS_MAX) */

/* Results a handler returns. Contracts may return their own codes from CONTRACT_USER on. */
enum contract_result {
	CONTRACT_OK = 0,
	CONTRACT_BAD_REQUEST = 1, /* the request does not decode */
	CONTRACT_DENIED = 2,      /* the caller may not do this */
	CONTRACT_NOMEM = 3,
	CONTRACT_TOO_LARGE = 4,
	CONTRACT_NO_SUCH_CONTRACT = 5, /* contract_call to an id not hosted in this worker */
	CONTRACT_DEPTH = 6,            /* contract_call nested beyond CONTRACT_CALL_DEPTH */
	CONTRACT_REENTRANT = 7,        /* contract_call into a contract already on the call stack */
	CONTRACT_NOT_OPENED = 8, /* receipt: the command did not decrypt (wrong key, replayed in
	                            another tx, or tampered); no handler ran */
	CONTRACT_NO_RECEIPT = 9, /* receipt query: none for this nonce (not yet applied, or older
	                            than the last CONTRACT_RECEIPTS) */
	CONTRACT_USER = 64,
};

/* Who sent an input. */
enum contract_origin_kind {
	CONTRACT_FROM_ACCOUNT = 1,  /* a signed chain tx (command) or signed query */
	CONTRACT_FROM_CONTRACT = 2, /* another contract (sync call or async message) */
	CONTRACT_FROM_MODULE = 3,   /* a chain module (e.g. "contracts" for a deposit) */
	CONTRACT_FROM_WORKER = 4,
};

struct contract_origin {
	enum contract_origin_kind kind;
	uint8_t id[32];  /* account / contract id / worker identity; zero for a module */
	char module[16]; /* module name for CONTRACT_FROM_MODULE, else "" */
};

/* The enclave's services for one callback invocation (opaque; valid only during the callback). */
struct contract_env;

/* The contract's own id. */
const uint8_t *contract_self(const struct contract_env *env);
/* Height and time (ms) of the block being processed; for queries, of the last verified block. */
uint64_t contract_height(const struct contract_env *env);
uint64_t contract_time_ms(const struct contract_env *env);
/* The account that signed the command being handled: for the command handler and for every
 * contract it calls, directly or not (so a callee can tell for whom its caller acts, e.g. Balances
 * lets a contract charge only the account that signed the command). NULL in messages, block
 * hooks, deploys and queries. */
const uint8_t *contract_signer(const struct contract_env *env);
/* n deterministic pseudo-random bytes, unpredictable to anyone without the contract key. Not
 * available to queries (aborts). */
void contract_random(struct contract_env *env, uint8_t *out, size_t n);
/* Queues an asynchronous message to `topic` (a chain module with a "^" topic, or another
 * contract's "contract/<id hex>/message" topic), signed by the contract key and carried by the
 * chain's message queue with the contract's sequence. Not available to queries (aborts).
 * Messages are held until the outermost handler returns: they are sent only if it returns
 * CONTRACT_OK (and the ones a failing contract_call emitted are dropped with its result), so a
 * refused command emits nothing. Returns CONTRACT_OK, CONTRACT_BAD_REQUEST (a topic that is not
 * 1..CONTRACT_TOPIC_MAX bytes of 0x21..0x7e), CONTRACT_TOO_LARGE (payload over
 * CONTRACT_PAYLOAD_MAX, or more than CONTRACT_EMIT_MAX bytes emitted by one input) or
 * CONTRACT_NOMEM. */
enum contract_result contract_emit(struct contract_env *env, const char *topic,
                                   const uint8_t *payload, size_t len);
/* For a command handler only (aborts elsewhere, including in calls it makes): sets the reply kept
 * in the command's receipt, e.g. why it was refused; readable by the command's sender only. A
 * later call replaces it. Returns CONTRACT_OK or CONTRACT_TOO_LARGE (over CONTRACT_REPLY_MAX,
 * nothing set). */
enum contract_result contract_reply(struct contract_env *env, const uint8_t *msg, size_t len);
/* A synchronous call to another contract hosted in the same worker and deployed in the same
 * cluster: runs its on_call with origin = this contract, and appends its answer to resp. From a
 * command/message/block handler the callee may change its state; from a query the call runs the
 * callee's on_query instead (read-only too), origin = this contract. The callee sees the same
 * height and time. A callee that fails must leave its state unchanged (the atomicity rule); a
 * caller that fails AFTER a successful call cannot undo the callee's change, so call last (check,
 * call, then change your own state). Returns the callee's result, CONTRACT_NO_SUCH_CONTRACT (not
 * hosted here, another cluster, its key not here yet, or no on_call/on_query), CONTRACT_DEPTH or
 * CONTRACT_REENTRANT (the callee is already on the call stack, e.g. a call back into the
 * caller). */
enum contract_result contract_call(struct contract_env *env, const uint8_t callee[CONTRACT_ID_LEN],
                                   const uint8_t *req, size_t len, struct enc *resp);

/* A contract's code. Every callback may be NULL except create/destroy/snapshot/restore. */
struct contract_code {
	const char *name; /* code name, at most CONTRACT_NAME_MAX bytes, e.g. "balances" */
	/* A fresh instance (deploy). NULL on allocation failure. */
	void *(*create)(void);
	void (*destroy)(void *state);
	/* Once, right after create, when the contract is deployed: from = the deployer's account,
	 * args = the deploy's arguments (0..CONTRACT_ARGS_MAX bytes; their meaning is the
	 * contract's). May emit and use contract_random. A refusal is logged and leaves the
	 * instance as create made it: it stays deployed, so a contract that needs its arguments
	 * must then refuse what it cannot do. NULL: arguments are ignored. */
	enum contract_result (*on_deploy)(void *state, struct contract_env *env,
	                                  const struct contract_origin *from, const uint8_t *args,
	                                  size_t len);
	/* An encrypted command, already decrypted and authenticated (origin = the tx sender). */
	enum contract_result (*on_command)(void *state, struct contract_env *env,
	                                   const struct contract_origin *from, const uint8_t *cmd,
	                                   size_t len);
	/* An asynchronous message from the queue (another contract, a module, a worker). */
	enum contract_result (*on_message)(void *state, struct contract_env *env,
	                                   const struct contract_origin *from, const char *topic,
	                                   const uint8_t *payload, size_t len);
	/* A synchronous call from another contract in the same worker. */
	enum contract_result (*on_call)(void *state, struct contract_env *env,
	                                const struct contract_origin *from, const uint8_t *req,
	                                size_t len, struct enc *resp);
	/* A query (read-only): origin = the account that signed it. */
	enum contract_result (*on_query)(const void *state, struct contract_env *env,
	                                 const struct contract_origin *from, const uint8_t *req,
	                                 size_t len, struct enc *resp);
	/* After every block's messages were dispatched. */
	void (*on_block)(void *state, struct contract_env *env);
	/* The whole state as bytes (for checkpoints), and back into a fresh instance. restore
	 * returns CONTRACT_BAD_REQUEST for bytes it did not produce. */
	enum contract_result (*snapshot)(const void *state, struct enc *out);
	enum contract_result (*restore)(void *state, const uint8_t *b, size_t n);
};

#endif
