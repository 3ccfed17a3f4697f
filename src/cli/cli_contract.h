/*
 * Talking to a confidential contract from the CLI, shared by `contract`, `dark` and `token`: the
 * contract's published key (contract_get, contract_list), encrypted commands
 * (contracts.push_command, sealed to the contract key with the chain, contract, sender and tx
 * nonce in the AAD), signed queries through a worker (POST /query, the answer opened here),
 * command receipts, and polling a query until an effect is visible.
 *
 * Failures follow cli_int.h: one line on stderr, an enum cli_exit returned.
 */
#ifndef TN_CLI_CLI_CONTRACT_H
#define TN_CLI_CLI_CONTRACT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/cli_int.h"
#include "cli/cmd_worker.h"
#include "crypto/envelope.h"
#include "enclave/contract.h"

#define CLI_CONTRACT_AEAD     HPKE_AEAD_CHACHA20POLY1305
#define CLI_QUERY_AHEAD       100 /* default validity of a query, in blocks past the head */
#define CLI_QUERY_ERR_MAX     512
#define CLI_POLL_MS           250
#define CLI_WAIT_DEFAULT_S    60
#define CLI_WAIT_MAX_S        3600
#define CLI_CONTRACT_LIST_MAX 1000 /* contracts scanned for a default (one contract_list page) */

/* A deployed contract whose key is published. */
struct cli_contract {
	uint8_t id[32];
	char hex[65];
	uint8_t pk[32]; /* X25519: commands and queries are sealed to it */
	json_t *info;   /* the contract_get object (owned; cli_contract_release) */
};

/* Reads contract idhex (64 hex digits) with contract_get. Returns CLI_EXIT_OK with *c filled, or
 * CLI_EXIT_USAGE (malformed id) / CLI_EXIT_FAIL (RPC error, unknown contract, key not published
 * yet) after printing why; *c then holds nothing to release. */
int cli_contract_get(struct cli_ctx *ctx, const char *idhex, struct cli_contract *c);
/* idhex when not NULL (as cli_contract_get, and its code must be `code`), else the first contract
 * in deployment order whose code is `code` and whose key is published (contract_list). Errors as
 * cli_contract_get, plus CLI_EXIT_FAIL when there is none ("no deployed 'balances' contract with
 * a published key: ..."). */
int cli_contract_find(struct cli_ctx *ctx, const char *code, const char *idhex,
                      struct cli_contract *c);
/* Frees c->info (a zeroed or released c is fine). */
void cli_contract_release(struct cli_contract *c);

/* Submits contracts.deploy of code in cluster with salt and args (args may be NULL when args_len
 * is 0) from t's signer and waits until it is in a block; id gets the contract id, *status the
 * tx status (caller releases; also on failure when set). Returns an exit status (printed on
 * failure). */
int cli_contract_deploy(struct cli_tx *t, uint32_t cluster, const char *code, const uint8_t *salt,
                        size_t salt_len, const uint8_t *args, size_t args_len, uint8_t id[32],
                        json_t **status);

/* Seals pt[0..len) for t's next nonce and submits contracts.push_command, waiting until it is in
 * a block (cli_tx_send). *nonce gets the nonce used; *status the tx status (caller releases; also
 * on failure when set) with "nonce" and "ciphertext" (hex) added. Returns an exit status
 * (printed on failure). */
int cli_contract_send(struct cli_tx *t, const struct cli_contract *c, const uint8_t *pt, size_t len,
                      uint64_t *nonce, json_t **status);

/* ---- queries ------------------------------------------------------------------------------ */

/* A query session: who asks (an account's secret key, or a fresh random key for anonymous
 * queries), which contract, through which worker, and until when polling may go on. */
struct cli_query {
	struct cli_ctx *ctx;
	const struct cli_contract *c; /* borrowed */
	const char *worker;           /* base URL */
	uint64_t ahead;               /* expiry: head + ahead */
	const uint8_t *sk;            /* the asker's Ed25519 secret key (borrowed or anon_sk) */
	uint8_t anon_sk[64];
	uint8_t chain_id[32];
	struct rpc_client rpc;
	uint64_t deadline_ms; /* monotonic; for cli_query_poll */
	long timeout_s;
};

/* An opened answer: the contract's result and the handler's bytes. */
struct cli_answer {
	uint32_t result;
	uint8_t *body; /* malloc'ed (cli_answer_free); may be NULL when len is 0 */
	size_t len;
};

/* Opens a session: sk (64 bytes, borrowed: must outlive q) or NULL for a fresh anonymous key;
 * worker NULL for CLI_WORKER_URL; timeout_s bounds every poll from now on. Reads the chain id
 * (chain_info). Returns an exit status (printed on failure); close q in every case. */
int cli_query_open(struct cli_query *q, struct cli_ctx *ctx, const struct cli_contract *c,
                   const char *worker, const uint8_t *sk, long timeout_s);
/* Wipes the anonymous key and closes the RPC client. */
void cli_query_close(struct cli_query *q);

/* Seals req[0..len) for the current head + q->ahead into *msg (malloc'ed, *n bytes; free it) and
 * keep (release with env_query_client_release). Returns an exit status (printed on failure). */
int cli_query_seal(struct cli_query *q, const uint8_t *req, size_t len, uint8_t **msg, size_t *n,
                   struct env_query_client *keep);
/* Seals, posts and opens one query. Returns an exit status (printed on failure) with *a filled
 * on success (cli_answer_free). */
int cli_query_run(struct cli_query *q, const uint8_t *req, size_t len, struct cli_answer *a);
void cli_answer_free(struct cli_answer *a);

/* What a poll callback says about an answer. */
enum cli_poll {
	CLI_POLL_DONE,
	CLI_POLL_WAIT, /* not yet: ask again */
	CLI_POLL_FAIL, /* the callback printed an error */
};
typedef enum cli_poll (*cli_poll_fn)(void *arg, const struct cli_answer *a);

/* Asks req every CLI_POLL_MS until fn says DONE or FAIL, or q's deadline passes ("timed out
 * after N s waiting for <what>", with the last transient error: worker busy or unreachable, or
 * the contract not hosted yet). Other worker refusals fail at once. Returns an exit status. */
int cli_query_poll(struct cli_query *q, const uint8_t *req, size_t len, const char *what,
                   cli_poll_fn fn, void *arg);

/* A command's receipt (host query CONTRACT_RECEIPT_QUERY ‖ u64 nonce). */
struct cli_receipt {
	uint64_t height;                    /* the block that applied the command */
	uint32_t result;                    /* the handler's contract_result */
	char reply[CONTRACT_REPLY_MAX + 1]; /* its reply, control characters as spaces */
};
/* Polls the receipt of q's asker's command with nonce until it exists. Returns an exit status
 * (printed on failure or timeout). */
int cli_query_receipt(struct cli_query *q, uint64_t nonce, struct cli_receipt *r);

/* Monotonic milliseconds. */
uint64_t cli_now_ms(void);
/* Parses --timeout SECONDS (1..CLI_WAIT_MAX_S; NULL gives CLI_WAIT_DEFAULT_S) into *out. Returns
 * false after a usage error. */
bool cli_parse_timeout(struct cli_ctx *ctx, const char *s, long *out);

#endif
