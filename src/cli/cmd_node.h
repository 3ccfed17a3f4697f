/* `tenebra node` and `tenebra dev`: run the chain node in the foreground until SIGINT/SIGTERM. */
#ifndef TN_CLI_CMD_NODE_H
#define TN_CLI_CMD_NODE_H

struct cli_ctx;

/* tenebra node (--dev | --genesis FILE --validator-key FILE) --data DIR [--rpc HOST:PORT]
 *              [--block-time MS] [--rpc-threads N] [--max-block-txs N] [--log-level L]
 * The validator key's password is read from $TENEBRA_VALIDATOR_PASSWORD. Returns the exit status:
 * 0 after a clean stop, 1 when the node cannot start (one line on stderr says why), 2 on usage. */
int cmd_node(struct cli_ctx *ctx, int argc, char **argv);

/* tenebra dev [--data DIR] [--rpc HOST:PORT] [--block-time MS] [--reset]
 * The local development network: a dev-chain node with the dev accounts funded, data in DIR
 * (default $TENEBRA_HOME/dev, else ~/.tenebra/dev) so a restart resumes; prints a banner saying
 * what runs where. Same exit statuses as cmd_node. */
int cmd_dev(struct cli_ctx *ctx, int argc, char **argv);
/* `tenebra testnet`: writes and runs a local multi-validator network (cmd_testnet.c). */
int cmd_testnet(struct cli_ctx *ctx, int argc, char **argv);

#endif
