/*
 * What `tenebra dark` and `tenebra token` share (docs/wallet.md): the common options, a session
 * with the contract (found by code when --contract is not given), the signer and the query
 * channel, sending a command and waiting for its receipt, and the output of a sent command.
 */
#ifndef TN_CLI_CLI_WALLET_H
#define TN_CLI_CLI_WALLET_H

#include "cli/cli_contract.h"

/* --contract ID, --worker URL, --timeout SECONDS: every dark and token subcommand takes them. */
struct cli_wallet_opts {
	const char *contract, *worker, *timeout;
};
/* The three entries for an option table (struct cli_opt), in this order. */
#define CLI_WALLET_OPTS(o)                                                                         \
	{"contract", &(o)->contract, NULL}, {"worker", &(o)->worker, NULL},                        \
	{                                                                                          \
		"timeout", &(o)->timeout, NULL                                                     \
	}

/* Who acts. */
enum cli_wallet_role {
	CLI_WALLET_SEND,   /* a signer that sends commands (and asks queries) */
	CLI_WALLET_ASK,    /* a signer that only asks queries: no chain account is needed */
	CLI_WALLET_ANYONE, /* queries anyone may ask, signed by a fresh random key */
};

struct cli_wallet {
	struct cli_ctx *ctx;
	const char *what; /* "dark transfer", for messages */
	struct cli_contract c;
	struct cli_tx t;               /* CLI_WALLET_SEND */
	struct accounts_signer signer; /* CLI_WALLET_ASK */
	struct cli_query q;
	const uint8_t *pk; /* the signer's public key (NULL for CLI_WALLET_ANYONE) */
	const char *address;
	bool tx_open, signer_open, q_open;
};

/* Opens a session for the subcommand `what`: the contract (o->contract, else the first deployed
 * `code` contract with a key), the signer `from` (a key or dev name; NULL only for
 * CLI_WALLET_ANYONE) and the query channel through o->worker, with o->timeout bounding every wait
 * from now on. Returns an exit status (printed on failure); close w in every case. */
int cli_wallet_open(struct cli_wallet *w, struct cli_ctx *ctx, const char *what, const char *code,
                    const struct cli_wallet_opts *o, const char *from, enum cli_wallet_role role);
/* Wipes the signer and closes everything. */
void cli_wallet_close(struct cli_wallet *w);

/* Resolves an ACCOUNT argument (key or dev name, 64 hex digits, SS58). Returns an exit status
 * (printed on failure). */
int cli_wallet_account(struct cli_ctx *ctx, const char *arg, struct accounts_ref *out);

/* A command that was applied. */
struct cli_wallet_sent {
	char txid[65];
	uint64_t nonce;
	struct cli_receipt receipt;
};
/* Sends cmd[0..len) (sealed; wiped by the caller), waits for inclusion and for the receipt, and
 * fails with "<what> refused: <the contract's reply>" when the contract refused it. Returns an
 * exit status (printed on failure). */
int cli_wallet_command(struct cli_wallet *w, const uint8_t *cmd, size_t len,
                       struct cli_wallet_sent *out);
/* {"contract", "tx", "nonce", "height", "result": 0, "reply"} of a sent command (new object). */
json_t *cli_wallet_sent_json(const struct cli_wallet *w, const struct cli_wallet_sent *s);
/* The human lines of a sent command: contract, tx, nonce, height, reply. */
void cli_wallet_sent_print(const struct cli_wallet *w, const struct cli_wallet_sent *s);
/* cli_wallet_sent_json printed with --json, else cli_wallet_sent_print. Returns an exit status. */
int cli_wallet_sent_report(const struct cli_wallet *w, const struct cli_wallet_sent *s);

/* One query whose answer must have result CONTRACT_OK: other results fail with "<what>: the
 * contract refused the query: <reason>". *a is filled on success (cli_answer_free). */
int cli_wallet_query(struct cli_wallet *w, const uint8_t *req, size_t len, struct cli_answer *a);

/* cli_wallet_query of the request kind ‖ the signer's public key (a question about oneself). */
int cli_wallet_query_own(struct cli_wallet *w, uint8_t kind, struct cli_answer *a);

/* "<units> in text" with decimals, and the integer units, as two members of obj. */
void cli_wallet_amount_set(json_t *obj, const char *key, u128 v, unsigned decimals);

/* The commands (cmd_dark.c, cmd_token.c) and their subcommands' usage. */
#define CLI_WALLET_USAGE_OPTS " [--contract ID] [--worker URL] [--timeout SECS]"
#define DARK_USAGE_DEPOSIT    "--from NAME AMOUNT"
#define DARK_USAGE_TRANSFER   "--from NAME --to ACCOUNT AMOUNT"
#define DARK_USAGE_WITHDRAW   "--from NAME [--to ACCOUNT] AMOUNT"
#define DARK_USAGE_PAY        "--from NAME --to-contract ID AMOUNT"
#define DARK_USAGE_ACCOUNT    "NAME"
#define DARK_USAGE_INFO       ""
#define CMD_DARK_USAGE                                                                             \
	"deposit " DARK_USAGE_DEPOSIT " | transfer " DARK_USAGE_TRANSFER                           \
	" | withdraw " DARK_USAGE_WITHDRAW " | pay " DARK_USAGE_PAY                                \
	" | balance " DARK_USAGE_ACCOUNT " | history " DARK_USAGE_ACCOUNT                          \
	" | info;" CLI_WALLET_USAGE_OPTS
#define TOKEN_USAGE_ISSUE    "--from NAME --symbol SYM --supply N [--decimals D] [--hide-supply]"
#define TOKEN_USAGE_TRANSFER "--from NAME --to ACCOUNT --symbol SYM AMOUNT"
#define TOKEN_USAGE_BURN     "--from NAME --symbol SYM AMOUNT"
#define TOKEN_USAGE_DESTROY  "--from NAME --symbol SYM"
#define TOKEN_USAGE_BALANCE  "NAME [--symbol SYM]"
#define TOKEN_USAGE_LIST     "[--from NAME]"
#define TOKEN_USAGE_HISTORY  "NAME"
#define TOKEN_USAGE_CREDIT   "NAME"
#define CMD_TOKEN_USAGE                                                                            \
	"issue " TOKEN_USAGE_ISSUE " | transfer " TOKEN_USAGE_TRANSFER " | burn " TOKEN_USAGE_BURN \
	" | destroy " TOKEN_USAGE_DESTROY " | balance " TOKEN_USAGE_BALANCE                        \
	" | list " TOKEN_USAGE_LIST " | history " TOKEN_USAGE_HISTORY                              \
	" | credit " TOKEN_USAGE_CREDIT ";" CLI_WALLET_USAGE_OPTS
int cmd_dark(struct cli_ctx *ctx, int argc, char **argv);
int cmd_token(struct cli_ctx *ctx, int argc, char **argv);

#endif
