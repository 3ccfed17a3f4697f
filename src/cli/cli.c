#include "cli/cli.h"

#include <ctype.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/amount.h"
#include "cli/cli_int.h"
#include "cli/cli_wallet.h"
#include "cli/cmd_node.h"
#include "cli/cmd_worker.h"

static int cmd_help(struct cli_ctx *ctx, int argc, char **argv);

static const struct cli_cmd cli_cmds[] = {
    {"dev", cmd_dev, CLI_RAW_ARGS,
     "[--data DIR] [--rpc HOST:PORT] [--worker HOST:PORT] [--block-time MS] [--reset]",
     "run the local development network"},
    {"node", cmd_node, CLI_RAW_ARGS,
     "(--dev | --genesis FILE [--validator-key FILE]) --data DIR [--p2p HOST:PORT] "
     "[--peers LIST] [OPTIONS]",
     "run a validator or full node"},
    {"testnet", cmd_testnet, CLI_RAW_ARGS, "--validators N --dir DIR [OPTIONS]",
     "write and run a local multi-validator network"},
    {"key", cmd_key, 0, "new NAME | list | show NAME", "create, list and show keys"},
    {"balance", cmd_balance, 0, "ACCOUNT", "show an account's balance and nonce"},
    {"transfer", cmd_transfer, 0,
     "--from NAME --to ACCOUNT AMOUNT [--tip PHA] [--no-wait] [--timeout SECS]",
     "send PHA and wait until it is in a block"},
    {"block", cmd_block, 0, "[HEIGHT|latest|HASH]", "show a block's header and txs"},
    {"tx", cmd_tx, 0, "TXID", "show a transaction's status and details"},
    {"info", cmd_info, 0, "", "show the chain the node follows and its head"},
    {"worker", cmd_worker, 0, CMD_WORKER_USAGE, "run a worker, or list and inspect workers"},
    {"contract", cmd_contract, 0, CMD_CONTRACT_USAGE,
     "deploy confidential contracts, send them commands and queries"},
    {"dark", cmd_dark, 0, CMD_DARK_USAGE,
     "secret PHA: deposit, transfer, withdraw, pay, balance, history (Balances contract)"},
    {"token", cmd_token, 0, CMD_TOKEN_USAGE,
     "secret tokens: issue, transfer, burn, destroy, balance, list, credit (Assets contract)"},
    {"registry", cmd_registry, 0, CMD_REGISTRY_USAGE,
     "gatekeepers, clusters and worker assignment (sudo)"},
    {"call", cmd_call, 0, "MODULE.FUNCTION PAYLOAD_HEX --from NAME",
     "submit any call with a raw payload and wait for it"},
    {"help", cmd_help, 0, "[COMMAND]", "list the commands, or show one command's usage"},
};
#define CLI_NCMDS (sizeof(cli_cmds) / sizeof(cli_cmds[0]))

void cli_ctx_init(struct cli_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
}

__attribute__((format(printf, 2, 0))) static void cli_vline(const char *prefix, const char *fmt,
                                                            va_list ap, const char *suffix)
{
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	for (char *s = buf; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
	fprintf(stderr, "tenebra: %s%s%s\n", prefix, buf, suffix);
}

int cli_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cli_vline("", fmt, ap, "");
	va_end(ap);
	return CLI_EXIT_FAIL;
}

int cli_usage_fail(const struct cli_ctx *ctx, const char *fmt, ...)
{
	char suffix[512] = " (see tenebra --help)";
	char prefix[64] = "";
	const struct cli_cmd *c = ctx->cmd;
	if (c != NULL) { /* NULL while reading the global options before the command */
		snprintf(prefix, sizeof(prefix), "%s: ", c->name);
		snprintf(suffix, sizeof(suffix), " (usage: tenebra %s %s)", c->name, c->usage);
	}
	va_list ap;
	va_start(ap, fmt);
	cli_vline(prefix, fmt, ap, suffix);
	va_end(ap);
	return CLI_EXIT_USAGE;
}

int cli_dispatch(struct cli_ctx *ctx, const struct cli_sub *subs, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	const struct cli_cmd *outer = ctx->cmd;
	for (const struct cli_sub *s = subs; s->name; s++) {
		if (strcmp(s->name, sub) != 0)
			continue;
		char name[64];
		struct cli_cmd c = *outer;
		snprintf(name, sizeof(name), "%s %s", outer->name, s->name);
		c.name = name;
		c.usage = s->usage ? s->usage : outer->usage;
		ctx->cmd = &c;
		int r = s->run(ctx, argc - 1, argv + 1);
		ctx->cmd = outer;
		return r;
	}
	return cli_usage_fail(ctx, "unknown or missing subcommand '%s'", sub);
}

static const struct cli_cmd *cli_find(const char *name)
{
	for (size_t i = 0; i < CLI_NCMDS; i++)
		if (strcmp(cli_cmds[i].name, name) == 0)
			return &cli_cmds[i];
	return NULL;
}

/* "-1", "-0.5" and "-" are words, not options. */
static bool cli_is_option(const char *a)
{
	return a[0] == '-' && a[1] != '\0' && !isdigit((unsigned char)a[1]) && a[1] != '.';
}

/* Matches argv[*i] against "--name" / "--name=value"; takes the value (inline or the next word,
 * which may not itself be an option) into *value. Returns 1 matched, 0 not this option, -1 error
 * (printed). */
static int cli_match(const struct cli_ctx *ctx, int argc, char **argv, int *i, const char *name,
                     const char **value)
{
	const char *a = argv[*i];
	size_t n = strlen(name);
	if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0 ||
	    (a[2 + n] != '\0' && a[2 + n] != '='))
		return 0;
	if (value == NULL) {
		if (a[2 + n] == '=')
			return cli_usage_fail(ctx, "option --%s takes no value", name), -1;
		return 1;
	}
	if (*value != NULL)
		return cli_usage_fail(ctx, "option --%s given twice", name), -1;
	if (a[2 + n] == '=') {
		*value = a + 3 + n;
	} else if (*i + 1 < argc && strncmp(argv[*i + 1], "--", 2) != 0) {
		*value = argv[++*i];
	} else {
		return cli_usage_fail(ctx, "option --%s needs a value", name), -1;
	}
	return 1;
}

/* Tries the global options at argv[*i]: 1 taken, 0 not global, -1 error (printed). */
static int cli_global_opt(struct cli_ctx *ctx, int argc, char **argv, int *i)
{
	int r;
	if ((r = cli_match(ctx, argc, argv, i, "rpc", &ctx->rpc_url)) != 0)
		return r;
	if ((r = cli_match(ctx, argc, argv, i, "keystore", &ctx->keystore)) != 0)
		return r;
	if ((r = cli_match(ctx, argc, argv, i, "json", NULL)) == 1)
		ctx->json = true;
	return r;
}

static int cli_cmd_opt(struct cli_ctx *ctx, const struct cli_opt *opts, int argc, char **argv,
                       int *i)
{
	for (const struct cli_opt *o = opts; o && o->name; o++) {
		int r = cli_match(ctx, argc, argv, i, o->name, o->value);
		if (r == 1 && o->flag != NULL)
			*o->flag = true;
		if (r != 0)
			return r;
	}
	return 0;
}

bool cli_parse(struct cli_ctx *ctx, const struct cli_opt *opts, int argc, char **argv,
               const char **pos, int min_pos, int max_pos)
{
	int npos = 0;
	bool words_only = false;
	for (int i = 1; i < argc; i++) {
		int r = 0;
		if (!words_only && strcmp(argv[i], "--") == 0) {
			words_only = true;
			continue;
		}
		if (words_only || !cli_is_option(argv[i])) {
			if (npos == max_pos)
				return cli_usage_fail(ctx, "unexpected argument '%s'", argv[i]),
				       false;
			pos[npos++] = argv[i];
			continue;
		}
		if ((r = cli_global_opt(ctx, argc, argv, &i)) == 0)
			r = cli_cmd_opt(ctx, opts, argc, argv, &i);
		if (r == 0)
			return cli_usage_fail(ctx, "unknown option '%s'", argv[i]), false;
		if (r < 0)
			return false;
	}
	if (npos < min_pos)
		return cli_usage_fail(ctx, "missing argument"), false;
	for (int k = npos; k < max_pos; k++)
		pos[k] = NULL;
	return true;
}

bool cli_home_path(char *buf, size_t cap, const char *sub)
{
	const char *home = getenv("TENEBRA_HOME");
	const char *sep = sub[0] ? "/" : "";
	int n;
	if (home != NULL && home[0] != '\0')
		n = snprintf(buf, cap, "%s%s%s", home, sep, sub);
	else if ((home = getenv("HOME")) != NULL && home[0] != '\0')
		n = snprintf(buf, cap, "%s/.tenebra%s%s", home, sep, sub);
	else
		return false;
	return n >= 0 && (size_t)n < cap;
}

const char *cli_keystore_dir(struct cli_ctx *ctx)
{
	if (ctx->keystore != NULL)
		return ctx->keystore;
	if (!cli_home_path(ctx->keystore_buf, sizeof(ctx->keystore_buf), "keys")) {
		cli_fail("no keystore directory: set --keystore, TENEBRA_HOME or HOME (or the path "
		         "is too long)");
		return NULL;
	}
	return ctx->keystore_buf;
}

bool cli_rpc_open(struct cli_ctx *ctx, struct rpc_client *c)
{
	const char *url = ctx->rpc_url ? ctx->rpc_url : RPC_DEFAULT_URL;
	if (rpc_client_init(c, url, RPC_DEFAULT_TIMEOUT_MS) == RPC_OK)
		return true;
	cli_rpc_fail(c);
	rpc_client_release(c);
	return false;
}

int cli_call(struct cli_ctx *ctx, const char *method, json_t *params, json_t **result)
{
	struct rpc_client c;
	int ret = CLI_EXIT_OK;
	*result = NULL;
	if (!cli_rpc_open(ctx, &c)) {
		json_decref(params);
		return CLI_EXIT_FAIL;
	}
	if (rpc_call(&c, method, params, result) != RPC_OK)
		ret = cli_rpc_fail(&c);
	rpc_client_release(&c);
	return ret;
}

int cli_rpc_fail(const struct rpc_client *c)
{
	return cli_fail("%s", rpc_client_error(c));
}

int cli_emit_json(json_t *v)
{
	int r = v ? json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII) : -1;
	json_decref(v);
	if (r != 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
		return cli_fail("cannot write the output");
	return CLI_EXIT_OK;
}

const char *cli_json_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "?";
}

void cli_kv(const char *label, const char *fmt, ...)
{
	va_list ap;
	printf("%-14s ", label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

const char *cli_pha(char out[AMOUNT_STR_MAX + 4], const json_t *obj, const char *key)
{
	u128 v;
	if (!jsonx_units(obj, key, &v))
		return strcpy(out, "?");
	amount_format_pha(out, v);
	return strcat(out, " PHA");
}

static void cli_print_cmd_usage(FILE *f, const struct cli_cmd *c)
{
	fprintf(f, "usage: tenebra %s %s\n%s\n", c->name, c->usage, c->help);
}

static void cli_print_help(FILE *f)
{
	fprintf(f, "usage: tenebra [--rpc URL] [--json] [--keystore DIR] COMMAND [ARGS]\n\n"
	           "commands:\n");
	for (size_t i = 0; i < CLI_NCMDS; i++)
		fprintf(f, "  %-10s %s\n", cli_cmds[i].name, cli_cmds[i].help);
	fprintf(f, "\nglobal options (before or after the command):\n"
	           "  --rpc URL       node JSON-RPC endpoint (default " RPC_DEFAULT_URL ")\n"
	           "  --json          print machine-readable JSON on stdout\n"
	           "  --keystore DIR  key directory (default $TENEBRA_HOME/keys, else "
	           "~/.tenebra/keys)\n"
	           "  --help          this list; `tenebra COMMAND --help` shows a command's usage\n"
	           "  --version       print the version\n");
}

static int cmd_help(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *pos[1];
	const struct cli_cmd *c;
	if (!cli_parse(ctx, NULL, argc, argv, pos, 0, 1))
		return CLI_EXIT_USAGE;
	if (pos[0] == NULL) {
		cli_print_help(stdout);
		return CLI_EXIT_OK;
	}
	if ((c = cli_find(pos[0])) == NULL)
		return cli_fail("unknown command '%s' (see tenebra --help)", pos[0]);
	cli_print_cmd_usage(stdout, c);
	return CLI_EXIT_OK;
}

static int cli_version(const struct cli_ctx *ctx)
{
	if (ctx->json)
		return cli_emit_json(json_pack("{s:s}", "version", CLI_VERSION));
	printf("tenebra %s\n", CLI_VERSION);
	return CLI_EXIT_OK;
}

/* Finds --help/-h or --version among a command's own words (before "--"): 'h', 'v' or 0. Notes
 * --json too, so `tenebra info --json --version` answers in JSON. */
static int cli_scan_meta(struct cli_ctx *ctx, int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--json") == 0)
			ctx->json = true;
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 'h';
		if (strcmp(argv[i], "--version") == 0)
			return 'v';
	}
	return 0;
}

/* Global options before the command name. Returns the index of the command name, argc when there
 * is none, or -1 after an error; *meta is 'h' / 'v' for --help / --version. */
static int cli_parse_globals(struct cli_ctx *ctx, int argc, char **argv, int *meta)
{
	int i = 1;
	for (; i < argc && cli_is_option(argv[i]); i++) {
		int r;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			*meta = 'h';
		} else if (strcmp(argv[i], "--version") == 0) {
			*meta = 'v';
		} else if ((r = cli_global_opt(ctx, argc, argv, &i)) <= 0) {
			if (r == 0)
				cli_fail("unknown option '%s' (see tenebra --help)", argv[i]);
			return -1;
		}
	}
	return i;
}

int cli_main_codes(int argc, char **argv, const struct contract_code *const *codes, size_t n)
{
	struct cli_ctx ctx;
	int meta = 0;
	cli_ctx_init(&ctx);
	ctx.codes = codes;
	ctx.n_codes = n;
	int i = cli_parse_globals(&ctx, argc, argv, &meta);
	if (i < 0)
		return CLI_EXIT_USAGE;
	if (i == argc) {
		if (meta == 'v')
			return cli_version(&ctx);
		cli_print_help(meta == 'h' ? stdout : stderr);
		return meta == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	}
	if ((ctx.cmd = cli_find(argv[i])) == NULL)
		return cli_fail("unknown command '%s' (see tenebra --help)", argv[i]),
		       CLI_EXIT_USAGE;
	if (!(ctx.cmd->flags & CLI_RAW_ARGS) && meta == 0)
		meta = cli_scan_meta(&ctx, argc - i, argv + i);
	if (meta == 'v')
		return cli_version(&ctx);
	if (meta == 'h') {
		cli_print_cmd_usage(stdout, ctx.cmd);
		return CLI_EXIT_OK;
	}
	return ctx.cmd->run(&ctx, argc - i, argv + i);
}

void cli_on_stop_signals(void (*on_stop)(int sig))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}
