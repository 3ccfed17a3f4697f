/*
 * The worker, contract, registry and call commands (docs/cli.md "Workers and contracts") and the
 * helpers they share: signed calls (cli_tx.c) and the worker's HTTP (cli_http.c).
 */
#ifndef TN_CLI_CMD_WORKER_H
#define TN_CLI_CMD_WORKER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/accounts.h"
#include "cli/rpc_client.h"
#include "worker/worker.h"
#include "worker/worker_tx.h"

struct cli_ctx;
struct node;

#define CMD_WORKER_USAGE                                                                           \
	"--node URL --data DIR [--listen HOST:PORT] [--backend sim|gramine-sgx] [--operator "      \
	"NAME] "                                                                                   \
	"[--attestation-key FILE] [--checkpoint-every N] | list | show ID | status [--worker URL]"
#define CMD_CONTRACT_USAGE                                                                         \
	"list | show ID | deploy CODE --cluster N [--salt S] [--args HEX] --from NAME | command "  \
	"ID (HEX | "                                                                               \
	"--text T) --from NAME | query ID (HEX | --text T) --from NAME [--worker URL]"
#define CMD_REGISTRY_USAGE                                                                         \
	"info [CLUSTER] | add-gatekeeper ID --from NAME | create-cluster N --from NAME | "         \
	"assign-worker ID N --from NAME"
#define CLI_WORKER_URL "http://127.0.0.1:8000"

int cmd_worker(struct cli_ctx *ctx, int argc, char **argv);
int cmd_contract(struct cli_ctx *ctx, int argc, char **argv);
int cmd_registry(struct cli_ctx *ctx, int argc, char **argv);
int cmd_call(struct cli_ctx *ctx, int argc, char **argv);

/* ---- signed calls (cli_tx.c) ------------------------------------------------------------- */

/* A signer with what its next tx needs. Wipe with cli_tx_close on every path. */
struct cli_tx {
	struct accounts_signer signer;
	struct worker_tx_chain chain;
	struct rpc_client rpc;
	bool rpc_open;
};

/* Opens signer `from` (a key name or dev account; may ask for its password) and fetches the chain
 * parameters and its next nonce. Returns CLI_EXIT_OK, or an exit status after printing why. */
int cli_tx_open(struct cli_ctx *ctx, struct cli_tx *t, const char *from);
/* Builds, signs and submits module.function(payload) and waits (30 s) until it is in a block.
 * *status gets the final tx_status answer (caller releases). A call that failed in its block is
 * an error (printed, with the status still returned). */
int cli_tx_send(struct cli_tx *t, uint8_t module, uint8_t function, const uint8_t *payload,
                size_t len, json_t **status);
/* Wipes the secret key and closes the client. */
void cli_tx_close(struct cli_tx *t);
/* Prints a sent tx's status (human: txid, height, block; --json: the object, stolen). */
int cli_tx_report(struct cli_ctx *ctx, json_t *status);

/* ---- the worker's HTTP (cli_http.c) ------------------------------------------------------ */

struct cli_http_reply {
	long status;
	uint8_t *body; /* malloc'ed, NUL-terminated (not counted in len) */
	size_t len;
};
/* GET (body NULL) or POST (application/octet-stream) url ‖ path. Returns true with *out filled
 * (any HTTP status), or false with the reason in err. Free out->body. */
bool cli_http(const char *url, const char *path, const uint8_t *body, size_t len,
              struct cli_http_reply *out, char *err, size_t errlen);

/* The worker's node adapter (worker.h struct worker_node) over c: JSON-RPC calls and
 * POST /feeds. c must outlive the worker. */
struct worker_node cli_worker_node(struct rpc_client *c);

/* ---- tenebra dev ------------------------------------------------------------------------- */

/* How the dev worker runs: where it listens (`tenebra dev --worker HOST:PORT`; an empty host
 * means the default, 127.0.0.1:8000; port 0 with a host: any free port) and how often it polls
 * the node when caught up (0: the worker's default). */
struct cmd_dev_worker_opts {
	char host[256];
	uint16_t port;
	unsigned poll_ms;
};

/* Starts the dev worker in this process next to node n: data in DIR/worker, operator ferdie, the
 * dev sim attestation key, HTTP and polling as opts says (NULL: the defaults), the contract
 * codes of ctx; then, in the background, makes it the gatekeeper of cluster 0 (alice is the dev
 * chain's sudo) and has alice deploy the dark wallet's contracts there (Balances, then Assets
 * with Balances' id and a fee of 1 PHA), each step only if not done already. Returns a handle for
 * cmd_dev_worker_stop, or NULL after printing why. */
struct dev_worker;
struct dev_worker *cmd_dev_worker_start(struct cli_ctx *ctx, struct node *n, const char *dir,
                                        const struct cmd_dev_worker_opts *opts);
/* The worker itself (status, port), owned by d. */
struct worker *cmd_dev_worker_worker(const struct dev_worker *d);
/* Stops and frees it (NULL is a no-op). */
void cmd_dev_worker_stop(struct dev_worker *d);
/* Prints the worker's and the dark wallet's lines of the dev banner. */
void cmd_dev_worker_describe(const struct dev_worker *d);

#endif
