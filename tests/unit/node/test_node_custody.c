/* The node's JSON for contract custody (docs/rpc.md): after a real chain deploys a "balances"
 * contract and takes a deposit, contract_get and contract_list carry the custody account, its
 * address and its balance, and the deposit tx renders as "contracts.deposit" with its contract
 * and amount. */
#include "check.h"
#include "dev_chain.h"

#include <stdlib.h>
#include <unistd.h>

#include "base/amount.h"
#include "base/hex.h"
#include "base/ss58.h"
#include "chain/contracts.h"
#include "chain/genesis.h"
#include "chain/registry.h"
#include "crypto/devkeys.h"
#include "node/node_feed.h"
#include "node/node_int.h"

static char dir[] = "/tmp/tn-custody-XXXXXX";

static void open_chain(struct node *n)
{
	dev_chain_open(&n->chain, &n->pool, dir);
}

/* Signs a call by alice at nonce into buf; returns its length and fills *tx (borrowing buf). */
static size_t alice_tx(struct node *n, uint64_t nonce, uint8_t module, uint8_t function,
                       const uint8_t *payload, size_t len, uint8_t *buf, struct tx *tx)
{
	uint8_t pk[32], sk[64];
	CHECK(devkeys_keypair("alice", pk, sk));
	struct tx t = {.version = TX_VERSION,
	               .nonce = nonce,
	               .valid_until = 1000,
	               .max_fee = AMOUNT_ONE_PHA,
	               .module = module,
	               .function = function,
	               .payload = payload,
	               .payload_len = len};
	memcpy(t.chain_id, n->chain.params.chain_id, 32);
	memcpy(t.sender, pk, 32);
	CHECK(tx_sign(&t, sk));
	struct enc e;
	enc_init_fixed(&e, buf, 1024);
	tx_encode(&e, &t);
	CHECK(enc_finish(&e) == CODEC_OK);
	CHECK(tx_decode(tx, buf, e.len) == CODEC_OK);
	return e.len;
}

/* Queues the call and commits it in the next block. */
static void run(struct node *n, uint64_t nonce, uint8_t module, uint8_t function,
                const uint8_t *payload, size_t len)
{
	uint8_t buf[1024], id[32], pk[32], sk[64];
	struct tx tx;
	size_t blen = alice_tx(n, nonce, module, function, payload, len, buf, &tx);
	enum mempool_status where;
	tx_id(id, buf, tx.body_len);
	CHECK(mempool_add(n->pool, buf, blen, &tx, id, nonce, 1000, &where) == MEMPOOL_OK);
	CHECK(devkeys_keypair("alice", pk, sk));
	struct node_pending p = {0};
	struct commit c;
	size_t idx;
	CHECK(node_chain_build(&n->chain, pk, n->chain.head.time_ms + 1000, &p) == NODE_CHAIN_OK);
	CHECK(p.n_txs == 1);
	CHECK(valset_find(&n->chain.head.next, pk, &idx));
	commit_init(&c, p.header.height, 0, p.hash, n->chain.head.next.n);
	commit_sign(&c, idx, n->chain.params.chain_id, sk);
	CHECK(node_chain_commit(&n->chain, &p, &c) == NODE_CHAIN_OK);
}

static void check_custody(struct node *n, json_t *contract, const uint8_t id[32], u128 units)
{
	uint8_t acct[32];
	char hex[65], addr[SS58_ADDR_MAX + 1], pha[AMOUNT_STR_MAX], u[AMOUNT_STR_MAX];
	contracts_custody_account(acct, id);
	hex_encode(hex, acct, 32);
	CHECK(ss58_encode(addr, sizeof(addr), n->chain.params.ss58_prefix, acct) > 0);
	json_t *c = json_object_get(contract, "custody");
	CHECK(json_is_object(c) && json_object_size(c) == 4);
	CHECK_STR(json_string_value(json_object_get(c, "account")), hex);
	CHECK_STR(json_string_value(json_object_get(c, "address")), addr);
	CHECK_STR(json_string_value(json_object_get(c, "balance")), amount_format_pha(pha, units));
	CHECK_STR(json_string_value(json_object_get(c, "balance_units")),
	          amount_format_units(u, units));
}

/* Calls an RPC method with params (a new reference, released here). */
static json_t *call(struct node *n, int (*m)(void *, json_t *, json_t **, struct rpc_error *),
                    json_t *params)
{
	json_t *res = NULL;
	struct rpc_error err = {0};
	CHECK(m(n, params, &res, &err) == 0 && res != NULL);
	json_decref(params);
	return res;
}

static void test_custody_json(void)
{
	struct node *n = calloc(1, sizeof(*n));
	uint8_t pl[128], id[32], apk[32], ask[64];
	char idhex[65];
	CHECK(n != NULL);
	open_chain(n);
	CHECK(devkeys_keypair("alice", apk, ask));
	uint8_t cl[4] = {0};
	run(n, 0, RUNTIME_MODULE_REGISTRY, REGISTRY_FN_CREATE_CLUSTER, cl, 4);
	struct enc e;
	enc_init_fixed(&e, pl, sizeof(pl));
	contracts_deploy_payload(&e, 0, CONTRACTS_DEPOSIT_CODE, NULL, 0, NULL, 0);
	CHECK(enc_finish(&e) == CODEC_OK);
	run(n, 1, RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_DEPLOY, pl, e.len);
	contracts_id(id, apk, 0, CONTRACTS_DEPOSIT_CODE, NULL, 0);
	hex_encode(idhex, id, 32);
	/* before any deposit: custody 0 */
	json_t *res = call(n, node_m_contract_get, json_pack("[s]", idhex));
	check_custody(n, res, id, 0);
	json_decref(res);
	u128 amount = 1500 * AMOUNT_ONE_PHA / 1000; /* 1.5 PHA */
	contracts_deposit_payload(pl, id, amount);
	run(n, 2, RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_DEPOSIT, pl,
	    CONTRACTS_DEPOSIT_PAYLOAD_LEN);
	res = call(n, node_m_contract_get, json_pack("[s]", idhex));
	check_custody(n, res, id, amount);
	CHECK_STR(json_string_value(json_object_get(json_object_get(res, "custody"), "balance")),
	          "1.5");
	json_decref(res);
	res = call(n, node_m_contract_list, json_pack("[i, i]", 0, 10));
	json_t *list = json_object_get(res, "contracts");
	CHECK(json_array_size(list) == 1);
	check_custody(n, json_array_get(list, 0), id, amount);
	json_decref(res);
	/* the deposit tx's JSON */
	uint8_t buf[1024], txid[32];
	struct tx tx;
	(void)alice_tx(n, 2, RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_DEPOSIT, pl,
	               CONTRACTS_DEPOSIT_PAYLOAD_LEN, buf, &tx);
	tx_id(txid, buf, tx.body_len);
	json_t *j = node_json_tx(n, &tx, txid, NULL);
	CHECK_STR(json_string_value(json_object_get(j, "call")), "contracts.deposit");
	json_t *args = json_object_get(j, "args");
	CHECK_STR(json_string_value(json_object_get(args, "contract")), idhex);
	CHECK_STR(json_string_value(json_object_get(args, "amount")), "1500000000000");
	CHECK_STR(json_string_value(json_object_get(args, "amount_pha")), "1.5");
	json_decref(j);
	/* a malformed deposit payload falls back to hex */
	(void)alice_tx(n, 3, RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_DEPOSIT, pl, 47, buf, &tx);
	j = node_json_tx(n, &tx, txid, NULL);
	CHECK(json_is_string(json_object_get(json_object_get(j, "args"), "payload")));
	json_decref(j);
	node_chain_close(&n->chain);
	mempool_free(n->pool);
	free(n);
}

static void teardown(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}

CHECK_MAIN(CASE(test_custody_json), CASE(teardown))
