/*
 * Shared by the command implementations (src/cli/cmd_*.c): the command table entry, the global
 * context filled from the global options, the small option parser and output helpers.
 *
 * Conventions every handler follows: it returns an exit status (enum cli_exit); on failure it
 * prints exactly one line "tenebra: <reason>" on stderr (cli_fail) and nothing on stdout; with
 * --json (ctx->json) its stdout is one JSON document.
 */
#ifndef TN_CLI_CLI_INT_H
#define TN_CLI_CLI_INT_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>

#include "base/jsonx.h"
#include "base/amount.h"
#include "base/codec.h"
#include "cli/rpc_client.h"

#define CLI_VERSION "0.1.0"
#define CLI_MAX_POS 4

enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAIL = 1, /* the operation failed (node unreachable, tx rejected or failed, ...) */
	CLI_EXIT_USAGE = 2, /* bad command line: unknown option, missing or malformed argument */
};

enum cli_cmd_flags {
	/* The handler parses its whole argv itself (global options are taken only before the
	 * command name, and --help is passed through): `node`, `dev`, whose own options overlap
	 * ours. */
	CLI_RAW_ARGS = 1 << 0,
};

struct cli_ctx;
struct contract_code;
/* argv[0] is the command name; argv[1..argc) its arguments. Returns an enum cli_exit. */
typedef int (*cli_handler)(struct cli_ctx *ctx, int argc, char **argv);

struct cli_cmd {
	const char *name;
	cli_handler run;
	unsigned flags;    /* enum cli_cmd_flags */
	const char *usage; /* arguments after the name, for "usage: tenebra NAME USAGE" */
	const char *help;  /* one line */
};

struct cli_ctx {
	const struct cli_cmd *cmd; /* the command being run (NULL before it is known) */
	const char *rpc_url;       /* --rpc, or NULL for RPC_DEFAULT_URL */
	const char *keystore;      /* --keystore, or NULL for the default (cli_keystore_dir) */
	bool json;                 /* --json */
	const struct contract_code *const *codes; /* what `worker` and `dev` run (cli_main_codes) */
	size_t n_codes;
	char keystore_buf[PATH_MAX];
};

/* A command option "--name VALUE" / "--name=VALUE" (value != NULL) or a flag "--name" (flag !=
 * NULL). Tables end with a zeroed entry. */
struct cli_opt {
	const char *name;
	const char **value;
	bool *flag;
};

/* A subcommand ("contract deploy", "dark transfer"): its handler gets argv from the subcommand's
 * name on. usage: its arguments, or NULL for the whole command's. Tables end with a zeroed
 * entry. */
struct cli_sub {
	const char *name;
	cli_handler run;
	const char *usage;
};
/* Runs the subcommand named by argv[1] with (argc - 1, argv + 1), ctx->cmd naming it ("dark
 * transfer", with its usage) meanwhile so usage errors name it; a usage error (CLI_EXIT_USAGE)
 * when it is missing or unknown. */
int cli_dispatch(struct cli_ctx *ctx, const struct cli_sub *subs, int argc, char **argv);

/* Fills ctx with the defaults (no command, default RPC URL, human output). */
void cli_ctx_init(struct cli_ctx *ctx);

/* Parses argv[1..argc) of ctx->cmd: the options in opts and the global options (--rpc, --json,
 * --keystore, written into ctx) in any order; "--" ends options; every other word, including
 * negative numbers such as "-1", is positional. Stores between min_pos and max_pos (<=
 * CLI_MAX_POS) positionals in pos[0..max_pos) (NULL past the last one). Returns true, or false
 * after printing a one-line error naming the offending word (unknown option, option given twice,
 * missing value, missing or unexpected argument); the handler then returns CLI_EXIT_USAGE. */
bool cli_parse(struct cli_ctx *ctx, const struct cli_opt *opts, int argc, char **argv,
               const char **pos, int min_pos, int max_pos);

/* Prints "tenebra: <message>" (control characters replaced by spaces) on stderr; returns
 * CLI_EXIT_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "tenebra: CMD: <message> (usage: tenebra CMD USAGE)", or "tenebra: <message> (see tenebra
 * --help)" while ctx->cmd is NULL (global options before the command); returns CLI_EXIT_USAGE. */
int cli_usage_fail(const struct cli_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "$TENEBRA_HOME/<sub>", else "$HOME/.tenebra/<sub>" (sub "" names the directory itself), into
 * buf[0..cap). Returns false, printing nothing, when neither variable is set or it does not fit. */
bool cli_home_path(char *buf, size_t cap, const char *sub);
/* For the long-running commands (node, dev, worker): on_stop runs on SIGINT and SIGTERM (it must
 * only ask the service to stop), and SIGPIPE is ignored so a closed client socket is an error
 * return, not a crash. */
void cli_on_stop_signals(void (*on_stop)(int sig));
/* The keystore directory: --keystore, else $TENEBRA_HOME/keys, else $HOME/.tenebra/keys. Returns
 * NULL after printing an error when none can be determined (no HOME) or the path is too long. */
const char *cli_keystore_dir(struct cli_ctx *ctx);

/* Opens an RPC client to ctx->rpc_url with the default timeout. Returns false after printing the
 * error (the client is then released). */
bool cli_rpc_open(struct cli_ctx *ctx, struct rpc_client *c);
/* One call on a fresh client: opens it, calls method with params (stolen), releases it. Returns
 * CLI_EXIT_OK with *result set (caller releases), or CLI_EXIT_FAIL after printing the error. */
int cli_call(struct cli_ctx *ctx, const char *method, json_t *params, json_t **result);
/* Prints the client's last error and returns CLI_EXIT_FAIL. */
int cli_rpc_fail(const struct rpc_client *c);

/* Prints v (stolen; NULL means allocation failed) as indented JSON and a newline on stdout.
 * Returns CLI_EXIT_OK, or CLI_EXIT_FAIL after an error line. */
int cli_emit_json(json_t *v);

/* A string member, or "?" when absent (for human output only). */
const char *cli_json_str(const json_t *obj, const char *key);

/* Human output: one "label       value" line on stdout (label padded to 14 columns). */
void cli_kv(const char *label, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Formats the units string member key of obj as "1.5 PHA" into out (or "?" when absent). */
const char *cli_pha(char out[AMOUNT_STR_MAX + 4], const json_t *obj, const char *key);

/* Command handlers (cmd_key.c, cmd_chain.c). */
int cmd_key(struct cli_ctx *ctx, int argc, char **argv);
int cmd_balance(struct cli_ctx *ctx, int argc, char **argv);
int cmd_transfer(struct cli_ctx *ctx, int argc, char **argv);
int cmd_block(struct cli_ctx *ctx, int argc, char **argv);
int cmd_tx(struct cli_ctx *ctx, int argc, char **argv);
int cmd_info(struct cli_ctx *ctx, int argc, char **argv);

#endif
