/* The Balances contract (src/contracts/balances/balances.h) through the real contract host: the
 * chain's deposit and withdrawal-result messages and encrypted commands arrive in signed block
 * feeds of the test chain; effects are read back with real signed queries, receipts, the
 * enclave's signed egress and the contract's snapshot inside the sealed checkpoint. A small test
 * contract ("test.caller") makes the synchronous calls (CHARGE, PAY, BALANCE), receives PAID and
 * sends PAY_OUT. */
#include "check.h"

#include "../../contracts/counter.c"
#include "../../contracts/caller.h"
#include "../../contracts/harness.h"
#include "base/amount.h"
#include "base/hex.h"
#include "contracts/balances/balances.h"
#include "contracts/kit/kit.h"

#define PHA AMOUNT_ONE_PHA
#define CMD BALANCES_COMMAND_LEN

static const struct contract_code *const codes[] = {&balances_code, &caller_code};

/* ---- the world: the chain, one enclave, Balances and a caller (both deployed by alice) ------ */

struct bw {
	struct harness_world w;
	struct enclave_config cfg;
	uint8_t bal[32], pk[32], spk[32];
	uint8_t call[32], cpk[32];
	uint64_t nonce;
};

static void acct(const char *who, uint8_t pk[32])
{
	uint8_t sk[64];
	CHECK(devkeys_keypair(who, pk, sk));
}

static void block(struct bw *t)
{
	harness_world_block(&t->w);
}

static void bw_init_egress(struct bw *t, size_t max_egress)
{
	memset(t, 0, sizeof(*t));
	t->cfg = harness_config_codes(codes, 2, 1 << 23);
	t->cfg.max_egress = max_egress;
	harness_world_init(&t->w, &t->cfg);
	t->w.plat.quiet = 1;
	uint8_t alice[32], spk[32];
	acct("alice", alice);
	testplat_deploy(&t->w.chain, alice, 0, BALANCES_CODE_NAME, 1, t->bal);
	testplat_deploy(&t->w.chain, alice, 0, CALLER_CODE, 1, t->call);
	block(t);
	harness_contract_keys(t->w.e, t->bal, t->pk, t->spk);
	harness_contract_keys(t->w.e, t->call, t->cpk, spk);
	t->nonce = 1;
}

static void bw_init(struct bw *t)
{
	bw_init_egress(t, 64);
}

/* A message to Balances from chain module `module` (the real one is "contracts"). */
static void module_msg(struct bw *t, const char *module, const uint8_t *p, size_t n)
{
	char topic[CONTRACTS_TOPIC_LEN + 1];
	contracts_message_topic(topic, t->bal);
	testplat_module_msg(&t->w.chain, module, topic, p, n);
}

static void deposit_key(struct bw *t, const uint8_t who[32], u128 amount)
{
	uint8_t p[CONTRACTS_MSG_DEPOSIT_LEN] = {CONTRACTS_MSG_DEPOSIT};
	memcpy(p + 1, who, 32);
	kit_put_u128(p + 33, amount);
	module_msg(t, "contracts", p, sizeof(p));
}

static void deposit(struct bw *t, const char *who, u128 amount)
{
	uint8_t k[32];
	acct(who, k);
	deposit_key(t, k, amount);
}

/* The chain's answer to withdrawal ref. */
static void answer(struct bw *t, uint64_t ref, uint32_t result)
{
	uint8_t p[CONTRACTS_MSG_WITHDRAWN_LEN] = {CONTRACTS_MSG_WITHDRAWN};
	memcpy(p + 1, &ref, 8);
	memcpy(p + 9, &result, 4);
	module_msg(t, "contracts", p, sizeof(p));
}

/* A command p[0..n) from who to contract id (key pk); returns its tx nonce. */
static uint64_t send_to(struct bw *t, const uint8_t pk[32], const uint8_t id[32], const char *who,
                        const uint8_t *p, size_t n)
{
	harness_command_bin(&t->w.chain, &t->w.plat, pk, id, who, t->nonce, p, n);
	return t->nonce++;
}

static uint64_t cmd(struct bw *t, const char *who, uint8_t kind, const uint8_t key[32], u128 amount)
{
	uint8_t c[CMD] = {kind};
	memcpy(c + 1, key, 32);
	kit_put_u128(c + 33, amount);
	return send_to(t, t->pk, t->bal, who, c, sizeof(c));
}

/* who asks the caller contract to call Balances with kind ‖ key ‖ amount (BALANCES_CALL_LEN). */
static uint64_t via_caller(struct bw *t, const char *who, uint8_t kind, const uint8_t key[32],
                           u128 amount)
{
	uint8_t c[32 + BALANCES_CALL_LEN] = {0};
	memcpy(c, t->bal, 32);
	c[32] = kind;
	if (key)
		memcpy(c + 33, key, 32);
	kit_put_u128(c + 65, amount);
	return send_to(t, t->cpk, t->call, who, c, sizeof(c));
}

/* The receipt of who's command nonce: its result, and its reply in reply. */
static uint32_t receipt(struct bw *t, const uint8_t pk[32], const uint8_t id[32], const char *who,
                        uint64_t nonce, char reply[CONTRACT_REPLY_MAX + 1])
{
	uint64_t height = 0;
	uint32_t result = 99;
	CHECK(harness_receipt(&t->w, t->w.e, pk, id, who, nonce, &height, &result, reply) ==
	      CONTRACT_OK);
	CHECK(height == t->w.chain.height);
	return result;
}

static uint32_t bal_receipt(struct bw *t, const char *who, uint64_t nonce,
                            char reply[CONTRACT_REPLY_MAX + 1])
{
	return receipt(t, t->pk, t->bal, who, nonce, reply);
}

/* A query req[0..n) by who to Balances on enclave e: the result, body[0..*len). */
static uint32_t ask_on(struct bw *t, struct enclave *e, const char *who, const uint8_t *req,
                       size_t n, uint8_t *body, size_t *len)
{
	uint32_t r = 99;
	CHECK(harness_ask_n(&t->w, e, t->pk, t->bal, who, req, n, &r, body, len) == ENCLAVE_OK);
	return r;
}

static uint32_t ask(struct bw *t, const char *who, const uint8_t *req, size_t n, uint8_t *body,
                    size_t *len)
{
	return ask_on(t, t->w.e, who, req, n, body, len);
}

/* who's dark balance, asked by who (on e). */
static u128 dark_on(struct bw *t, struct enclave *e, const char *who)
{
	uint8_t req[33] = {BALANCES_Q_BALANCE}, body[4096];
	size_t len = 0;
	acct(who, req + 1);
	CHECK(ask_on(t, e, who, req, sizeof(req), body, &len) == CONTRACT_OK);
	CHECK(len == 24 && kit_get_u64(body + 16) == t->w.chain.height);
	return kit_get_u128(body);
}

static u128 dark(struct bw *t, const char *who)
{
	return dark_on(t, t->w.e, who);
}

/* The caller contract's dark balance, through a read-only call from its query. */
static u128 dark_caller(struct bw *t)
{
	uint8_t req[32 + 33], body[4096];
	memcpy(req, t->bal, 32);
	req[32] = BALANCES_Q_BALANCE;
	memcpy(req + 33, t->call, 32);
	uint32_t r = 99;
	size_t len = 0;
	CHECK(harness_ask_n(&t->w, t->w.e, t->cpk, t->call, "bob", req, sizeof(req), &r, body,
	                    &len) == ENCLAVE_OK);
	CHECK(r == CONTRACT_OK && len == 24);
	return kit_get_u128(body);
}

static void issuance_on(struct bw *t, struct enclave *e, u128 *iss, u128 *pending)
{
	uint8_t req[1] = {BALANCES_Q_ISSUANCE}, body[4096];
	size_t len = 0;
	CHECK(ask_on(t, e, "eve", req, 1, body, &len) == CONTRACT_OK);
	CHECK(len == 40 && kit_get_u64(body + 32) == t->w.chain.height);
	*iss = kit_get_u128(body);
	*pending = kit_get_u128(body + 16);
}

static void issuance(struct bw *t, u128 *iss, u128 *pending)
{
	issuance_on(t, t->w.e, iss, pending);
}

/* who's history: the count; entries in body (65 bytes each). */
static size_t history(struct bw *t, const char *who, uint8_t body[4096])
{
	uint8_t req[33] = {BALANCES_Q_HISTORY};
	size_t len = 0;
	acct(who, req + 1);
	CHECK(ask(t, who, req, sizeof(req), body, &len) == CONTRACT_OK);
	CHECK(len >= 1 && body[0] < 0x80);
	size_t n = body[0];
	CHECK(len == 1 + n * 65);
	memmove(body, body + 1, len - 1);
	return n;
}

static void check_entry(const uint8_t *x, uint8_t kind, const uint8_t party[32], u128 amount,
                        uint64_t height, uint64_t ref)
{
	CHECK(x[0] == kind);
	CHECK_EQ_MEM(x + 1, party, 32);
	CHECK(kit_get_u128(x + 33) == amount);
	CHECK(kit_get_u64(x + 49) == height);
	CHECK(kit_get_u64(x + 57) == ref);
}

/* The WITHDRAWAL query for ref by who: result; on CONTRACT_OK body holds state ‖ dest ‖ amount ‖
 * result (53 bytes). */
static uint32_t withdrawal(struct bw *t, const char *who, uint64_t ref, uint8_t body[4096])
{
	uint8_t req[9] = {BALANCES_Q_WITHDRAWAL};
	memcpy(req + 1, &ref, 8);
	size_t len = 0;
	uint32_t r = ask(t, who, req, sizeof(req), body, &len);
	CHECK(r != CONTRACT_OK || len == 1 + 32 + 16 + 4);
	return r;
}

/* ---- egress: what the chain would do with Balances' messages -------------------------------- */

struct wd {
	uint64_t ref;
	uint8_t dest[32];
	u128 amount;
};

/* Takes Balances' pending egress (each signed by its key): a withdrawal request is consumed by
 * the chain (mq's notice queued, the request appended to wds), a message to a contract is
 * delivered in the next block. Returns the count of withdrawals; *other gets the others. */
static size_t chain_takes(struct bw *t, struct wd *wds, size_t max, size_t *other)
{
	struct testplat_egress it;
	size_t n = 0;
	*other = 0;
	testplat_egress_begin(&it, t->w.e, 1024);
	while (testplat_egress_next(&it)) {
		if (it.m.origin.kind != MQ_ORIGIN_CONTRACT)
			continue;
		CHECK_EQ_MEM(it.m.origin.id, t->bal, 32);
		uint8_t h[32];
		mq_signing_hash(h, t->w.chain.chain_id, &it.m);
		CHECK(sig_verify(it.sig, h, 32, t->spk));
		if (testplat_topic_is(&it.m, CONTRACTS_TOPIC_WITHDRAW)) {
			CHECK(n < max);
			CHECK(contracts_withdraw_decode(it.m.payload, it.m.payload_len, &wds[n].ref,
			                                wds[n].dest, &wds[n].amount));
			testplat_notice(&t->w.chain, &it.m, 0);
			n++;
		} else {
			testplat_queue(&t->w.chain, &it.m);
			(*other)++;
		}
	}
	testplat_egress_end(&it);
	return n;
}

/* ---- snapshots: the contract's bytes inside the sealed checkpoint ---------------------------- */

/* Balances' snapshot on e (malloc'ed, *n bytes), from its sealed checkpoint. */
static uint8_t *snapshot_on(struct bw *t, struct enclave *e, size_t *n)
{
	uint8_t *s = harness_contract_snapshot(&t->w.plat, e, t->bal, BALANCES_CODE_NAME, n);
	CHECK(s != NULL);
	return s;
}

static uint8_t *snapshot(struct bw *t, size_t *n)
{
	return snapshot_on(t, t->w.e, n);
}

/* restore(p) into a fresh instance: its result, and when it accepts, snapshot(restore(p)) == p. */
static enum contract_result restore_round_trip(const uint8_t *p, size_t n)
{
	void *s = balances_code.create();
	CHECK(s != NULL);
	enum contract_result r = balances_code.restore(s, p, n);
	if (r == CONTRACT_OK) {
		struct enc e;
		enc_init(&e, 1 << 27);
		CHECK(balances_code.snapshot(s, &e) == CONTRACT_OK);
		CHECK(e.len == n && memcmp(e.buf, p, n) == 0);
		enc_release(&e);
	}
	balances_code.destroy(s);
	return r;
}

/* Nothing about Balances changed since `before` (a snapshot) and nothing was emitted. */
static void check_unchanged(struct bw *t, const uint8_t *before, size_t n)
{
	size_t m = 0;
	uint8_t *now = snapshot(t, &m);
	CHECK(m == n && memcmp(now, before, n) == 0);
	free(now);
}

/* ---- cases ----------------------------------------------------------------------------------- */

/* The chain's bytes that Balances repeats (it may not include chain headers). */
static void the_chain_and_the_contract_agree_on_bytes(void)
{
	CHECK(CONTRACTS_MSG_DEPOSIT == 0x00 && CONTRACTS_MSG_WITHDRAWN == 0x01);
	CHECK(CONTRACTS_MSG_DEPOSIT_LEN == 49 && CONTRACTS_MSG_WITHDRAWN_LEN == 13);
	CHECK_STR(CONTRACTS_TOPIC_WITHDRAW, "^contracts/withdraw");
	CHECK(CONTRACTS_WITHDRAW_PAYLOAD_LEN == 56);
	CHECK_STR(CONTRACTS_DEPOSIT_CODE, BALANCES_CODE_NAME);
	CHECK(CONTRACTS_ARGS_MAX == CONTRACT_ARGS_MAX);
}

static void deposits_credit_and_transfers_move(void)
{
	struct bw t;
	bw_init(&t);
	uint8_t alice[32], bob[32], body[4096];
	acct("alice", alice);
	acct("bob", bob);
	deposit(&t, "alice", 5 * PHA);
	block(&t);
	uint64_t h1 = t.w.chain.height;
	CHECK(dark(&t, "alice") == 5 * PHA);
	CHECK(dark(&t, "bob") == 0);
	u128 iss, pend;
	issuance(&t, &iss, &pend);
	CHECK(iss == 5 * PHA && pend == 0);

	uint64_t n = cmd(&t, "alice", BALANCES_CMD_TRANSFER, bob, 3 * PHA / 2);
	block(&t);
	char reply[CONTRACT_REPLY_MAX + 1];
	CHECK(bal_receipt(&t, "alice", n, reply) == CONTRACT_OK);
	CHECK_STR(reply, "ok");
	CHECK(dark(&t, "alice") == 7 * PHA / 2);
	CHECK(dark(&t, "bob") == 3 * PHA / 2);
	issuance(&t, &iss, &pend);
	CHECK(iss == 5 * PHA && pend == 0);

	CHECK(history(&t, "alice", body) == 2);
	check_entry(body, BALANCES_H_DEPOSIT, alice, 5 * PHA, h1, 0);
	check_entry(body + 65, BALANCES_H_SENT, bob, 3 * PHA / 2, t.w.chain.height, 0);
	CHECK(history(&t, "bob", body) == 1);
	check_entry(body, BALANCES_H_RECEIVED, alice, 3 * PHA / 2, t.w.chain.height, 0);
	CHECK(history(&t, "charlie", body) == 0);

	/* A second deposit adds; bob's whole balance can move on. */
	deposit(&t, "alice", 1);
	n = cmd(&t, "bob", BALANCES_CMD_TRANSFER, alice, 3 * PHA / 2);
	block(&t);
	CHECK(bal_receipt(&t, "bob", n, reply) == CONTRACT_OK);
	CHECK(dark(&t, "alice") == 5 * PHA + 1 && dark(&t, "bob") == 0);
	CHECK(history(&t, "bob", body) == 2); /* a zero balance keeps its history */
	harness_world_release(&t.w);
}

/* Other accounts' balances, histories and withdrawals are refused; malformed queries too. */
static void queries_answer_the_owner_only(void)
{
	struct bw t;
	bw_init(&t);
	deposit(&t, "alice", 7);
	block(&t);
	uint8_t req[33] = {BALANCES_Q_BALANCE}, body[4096];
	size_t len = 0;
	acct("alice", req + 1);
	CHECK(ask(&t, "bob", req, sizeof(req), body, &len) == CONTRACT_DENIED && len == 0);
	req[0] = BALANCES_Q_HISTORY;
	CHECK(ask(&t, "bob", req, sizeof(req), body, &len) == CONTRACT_DENIED && len == 0);
	CHECK(ask(&t, "alice", req, sizeof(req), body, &len) == CONTRACT_OK && len == 66);
	/* Wrong lengths and unknown kinds. */
	CHECK(ask(&t, "alice", req, 32, body, &len) == CONTRACT_BAD_REQUEST);
	req[0] = BALANCES_Q_BALANCE;
	CHECK(ask(&t, "alice", req, 32, body, &len) == CONTRACT_BAD_REQUEST);
	CHECK(ask(&t, "alice", req, 1, body, &len) == CONTRACT_BAD_REQUEST);
	uint8_t two[2] = {BALANCES_Q_ISSUANCE, 0};
	CHECK(ask(&t, "alice", two, 2, body, &len) == CONTRACT_BAD_REQUEST);
	uint8_t wd[10] = {BALANCES_Q_WITHDRAWAL, 1};
	CHECK(ask(&t, "alice", wd, 10, body, &len) == CONTRACT_BAD_REQUEST);
	CHECK(ask(&t, "alice", wd, 9, body, &len) == CONTRACT_NO_RECEIPT);
	for (int k = 5; k < 256; k += 50) {
		uint8_t q[33] = {(uint8_t)k};
		CHECK(ask(&t, "alice", q, 1, body, &len) == CONTRACT_BAD_REQUEST);
		CHECK(ask(&t, "alice", q, 33, body, &len) == CONTRACT_BAD_REQUEST);
	}
	u128 iss, pend;
	issuance(&t, &iss, &pend);
	CHECK(iss == 7 && pend == 0);
	harness_world_release(&t.w);
}

/* Every refused command changes nothing, emits nothing, and says why in its receipt. */
static void refused_commands_change_nothing(void)
{
	struct bw t;
	bw_init(&t);
	uint8_t alice[32], bob[32], zero[32] = {0};
	acct("alice", alice);
	acct("bob", bob);
	deposit(&t, "alice", 5 * PHA);
	block(&t);
	size_t n0;
	uint8_t *before = snapshot(&t, &n0);
	static const struct {
		uint8_t kind;
		int dest; /* 0 bob, 1 alice (self), 2 zero, 3 the contract itself */
		u128 amount;
		uint32_t result;
		const char *reply;
	} bad[] = {
	    {BALANCES_CMD_TRANSFER, 0, 6 * PHA, BALANCES_INSUFFICIENT,
	     "insufficient dark balance: have 5 PHA, need 6 PHA"},
	    {BALANCES_CMD_TRANSFER, 0, 5 * PHA + 1, BALANCES_INSUFFICIENT,
	     "insufficient dark balance: have 5 PHA, need 5.000000000001 PHA"},
	    {BALANCES_CMD_TRANSFER, 0, 0, BALANCES_ZERO_AMOUNT,
	     "the amount must be more than 0 PHA"},
	    {BALANCES_CMD_TRANSFER, 1, 1, BALANCES_BAD_DEST, "bad destination: that is the sender"},
	    {BALANCES_CMD_TRANSFER, 2, 1, BALANCES_BAD_DEST,
	     "bad destination: the all-zero account"},
	    {BALANCES_CMD_TRANSFER, 3, 1, BALANCES_BAD_DEST,
	     "bad destination: that is this contract"},
	    {BALANCES_CMD_WITHDRAW, 0, 6 * PHA, BALANCES_INSUFFICIENT,
	     "insufficient dark balance: have 5 PHA, need 6 PHA"},
	    {BALANCES_CMD_WITHDRAW, 0, 0, BALANCES_ZERO_AMOUNT,
	     "the amount must be more than 0 PHA"},
	    {BALANCES_CMD_WITHDRAW, 2, 1, BALANCES_BAD_DEST,
	     "bad destination: the all-zero account"},
	    {BALANCES_CMD_WITHDRAW, 3, 1, BALANCES_BAD_DEST,
	     "bad destination: that is this contract"},
	    {BALANCES_CMD_PAY_CONTRACT, 0, 6 * PHA, BALANCES_INSUFFICIENT,
	     "insufficient dark balance: have 5 PHA, need 6 PHA"},
	    {BALANCES_CMD_PAY_CONTRACT, 1, 1, BALANCES_BAD_DEST,
	     "bad destination: that is the sender"},
	    {BALANCES_CMD_PAY_CONTRACT, 3, 1, BALANCES_BAD_DEST,
	     "bad destination: that is this contract"},
	    {BALANCES_CMD_PAY_CONTRACT, 0, 0, BALANCES_ZERO_AMOUNT,
	     "the amount must be more than 0 PHA"},
	    {0x00, 0, 1, CONTRACT_BAD_REQUEST, "unknown command 0x00"},
	    {0x04, 0, 1, CONTRACT_BAD_REQUEST, "unknown command 0x04"},
	    {0xff, 0, 1, CONTRACT_BAD_REQUEST, "unknown command 0xff"},
	};
	const uint8_t *dests[] = {bob, alice, zero, t.bal};
	uint64_t nonces[sizeof(bad) / sizeof(bad[0])];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		nonces[i] = cmd(&t, "alice", bad[i].kind, dests[bad[i].dest], bad[i].amount);
	/* Lengths: one short, one long, empty. */
	uint8_t c[CMD + 1] = {BALANCES_CMD_TRANSFER};
	memcpy(c + 1, bob, 32);
	kit_put_u128(c + 33, 1);
	uint64_t shorter = send_to(&t, t.pk, t.bal, "alice", c, CMD - 1);
	uint64_t longer = send_to(&t, t.pk, t.bal, "alice", c, CMD + 1);
	uint64_t one = send_to(&t, t.pk, t.bal, "alice", c, 1);
	block(&t);
	char reply[CONTRACT_REPLY_MAX + 1];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(bal_receipt(&t, "alice", nonces[i], reply) == bad[i].result);
		CHECK_STR(reply, bad[i].reply);
	}
	CHECK(bal_receipt(&t, "alice", shorter, reply) == CONTRACT_BAD_REQUEST);
	CHECK_STR(reply, "malformed command: 48 bytes, expected 49");
	CHECK(bal_receipt(&t, "alice", longer, reply) == CONTRACT_BAD_REQUEST);
	CHECK_STR(reply, "malformed command: 50 bytes, expected 49");
	CHECK(bal_receipt(&t, "alice", one, reply) == CONTRACT_BAD_REQUEST);
	check_unchanged(&t, before, n0);
	struct wd wds[4];
	size_t other;
	CHECK(chain_takes(&t, wds, 4, &other) == 0 && other == 0);
	CHECK(dark(&t, "alice") == 5 * PHA);
	/* Bob, without any dark PHA, is refused too. */
	uint64_t b = cmd(&t, "bob", BALANCES_CMD_TRANSFER, alice, 1);
	block(&t);
	CHECK(bal_receipt(&t, "bob", b, reply) == BALANCES_INSUFFICIENT);
	CHECK_STR(reply, "insufficient dark balance: have 0 PHA, need 0.000000000001 PHA");
	check_unchanged(&t, before, n0);
	free(before);
	harness_world_release(&t.w);
}

/* Deposit and result messages count only from module "contracts", well formed. */
static void chain_messages_only_from_the_chain(void)
{
	struct bw t;
	bw_init(&t);
	deposit(&t, "alice", 9);
	block(&t);
	size_t n0;
	uint8_t *before = snapshot(&t, &n0);
	uint8_t p[CONTRACTS_MSG_DEPOSIT_LEN + 1] = {CONTRACTS_MSG_DEPOSIT};
	acct("bob", p + 1);
	kit_put_u128(p + 33, 100);
	module_msg(&t, "balances", p, CONTRACTS_MSG_DEPOSIT_LEN);
	module_msg(&t, "registry", p, CONTRACTS_MSG_DEPOSIT_LEN);
	module_msg(&t, "contracts", p, CONTRACTS_MSG_DEPOSIT_LEN - 1);
	module_msg(&t, "contracts", p, CONTRACTS_MSG_DEPOSIT_LEN + 1);
	module_msg(&t, "contracts", p, 0);
	kit_put_u128(p + 33, 0);
	module_msg(&t, "contracts", p, CONTRACTS_MSG_DEPOSIT_LEN);
	kit_put_u128(p + 33, ~(u128)0); /* issuance would overflow */
	module_msg(&t, "contracts", p, CONTRACTS_MSG_DEPOSIT_LEN);
	kit_put_u128(p + 33, 100);
	p[0] = 0x02;
	module_msg(&t, "contracts", p, CONTRACTS_MSG_DEPOSIT_LEN);
	answer(&t, 1, 0); /* no such withdrawal */
	/* The same deposit from a contract and from a worker. */
	char topic[CONTRACTS_TOPIC_LEN + 1];
	contracts_message_topic(topic, t.bal);
	p[0] = CONTRACTS_MSG_DEPOSIT;
	struct mq_message m = {.origin = {.kind = MQ_ORIGIN_CONTRACT},
	                       .topic = (const uint8_t *)topic,
	                       .topic_len = strlen(topic),
	                       .payload = p,
	                       .payload_len = CONTRACTS_MSG_DEPOSIT_LEN};
	memcpy(m.origin.id, t.call, 32);
	testplat_queue(&t.w.chain, &m);
	m.origin.kind = MQ_ORIGIN_WORKER;
	testplat_queue(&t.w.chain, &m);
	block(&t);
	check_unchanged(&t, before, n0);
	CHECK(dark(&t, "bob") == 0);
	u128 iss, pend;
	issuance(&t, &iss, &pend);
	CHECK(iss == 9 && pend == 0);
	free(before);
	harness_world_release(&t.w);
}

/* A withdrawal emits exactly the chain's request and stays pending (still in the issuance)
 * until the chain answers: released leaves the issuance, refused is refunded. */
static void withdrawals_pend_then_release_or_refund(void)
{
	struct bw t;
	bw_init(&t);
	uint8_t alice[32], bob[32], body[4096];
	acct("alice", alice);
	acct("bob", bob);
	deposit(&t, "alice", 10 * PHA);
	block(&t);
	uint64_t n1 = cmd(&t, "alice", BALANCES_CMD_WITHDRAW, bob, 4 * PHA);
	uint64_t n2 = cmd(&t, "alice", BALANCES_CMD_WITHDRAW, alice, 3 * PHA);
	block(&t);
	uint64_t hw = t.w.chain.height;
	char reply[CONTRACT_REPLY_MAX + 1];
	CHECK(bal_receipt(&t, "alice", n1, reply) == CONTRACT_OK);
	CHECK_STR(reply, "ok withdrawal 1");
	CHECK(bal_receipt(&t, "alice", n2, reply) == CONTRACT_OK);
	CHECK_STR(reply, "ok withdrawal 2");
	struct wd wds[4];
	size_t other;
	/* The exact bytes, as the chain's own encoder writes them. */
	struct testplat_egress it;
	uint8_t want[CONTRACTS_WITHDRAW_PAYLOAD_LEN];
	size_t seen = 0;
	testplat_egress_begin(&it, t.w.e, 64);
	while (testplat_egress_next(&it))
		if (testplat_topic_is(&it.m, CONTRACTS_TOPIC_WITHDRAW)) {
			contracts_withdraw_payload(want, seen + 1, seen ? alice : bob,
			                           seen ? 3 * PHA : 4 * PHA);
			CHECK(it.m.payload_len == sizeof(want));
			CHECK_EQ_MEM(it.m.payload, want, sizeof(want));
			seen++;
		}
	testplat_egress_end(&it);
	CHECK(seen == 2);
	CHECK(chain_takes(&t, wds, 4, &other) == 2 && other == 0);
	block(&t); /* the chain took both (mq's notices): they leave the egress */
	CHECK(chain_takes(&t, wds, 4, &other) == 0 && other == 0);

	u128 iss, pend;
	issuance(&t, &iss, &pend);
	CHECK(iss == 10 * PHA && pend == 7 * PHA);
	CHECK(dark(&t, "alice") == 3 * PHA);
	CHECK(withdrawal(&t, "alice", 1, body) == CONTRACT_OK);
	CHECK(body[0] == BALANCES_WD_PENDING);
	CHECK_EQ_MEM(body + 1, bob, 32);
	CHECK(kit_get_u128(body + 33) == 4 * PHA && kit_get_u32(body + 49) == 0);
	CHECK(withdrawal(&t, "bob", 1, body) == CONTRACT_DENIED);

	answer(&t, 1, 0);
	answer(&t, 2, TX_CALL_CUSTODY_ACCOUNT);
	block(&t);
	uint64_t hs = t.w.chain.height;
	issuance(&t, &iss, &pend);
	CHECK(iss == 6 * PHA && pend == 0);
	CHECK(dark(&t, "alice") == 6 * PHA);
	CHECK(withdrawal(&t, "alice", 1, body) == CONTRACT_OK);
	CHECK(body[0] == BALANCES_WD_RELEASED && kit_get_u128(body + 33) == 4 * PHA);
	CHECK_EQ_MEM(body + 1, bob, 32);
	CHECK(withdrawal(&t, "alice", 2, body) == CONTRACT_OK);
	CHECK(body[0] == BALANCES_WD_REFUNDED && kit_get_u128(body + 33) == 3 * PHA);
	CHECK(kit_get_u32(body + 49) == TX_CALL_CUSTODY_ACCOUNT);
	CHECK(withdrawal(&t, "bob", 1, body) == CONTRACT_NO_RECEIPT);
	CHECK(withdrawal(&t, "alice", 3, body) == CONTRACT_NO_RECEIPT);
	CHECK(history(&t, "alice", body) == 5);
	check_entry(body + 65, BALANCES_H_WITHDRAW, bob, 4 * PHA, hw, 1);
	check_entry(body + 130, BALANCES_H_WITHDRAW, alice, 3 * PHA, hw, 2);
	check_entry(body + 195, BALANCES_H_RELEASED, bob, 4 * PHA, hs, 1);
	check_entry(body + 260, BALANCES_H_REFUND, alice, 3 * PHA, hs, 2);
	CHECK(history(&t, "bob", body) == 0); /* a public destination is not a dark account */

	/* An answer to a settled ref (the chain answers once; a replay is refused) changes
	 * nothing; the next ref is 3. */
	size_t n0;
	uint8_t *before = snapshot(&t, &n0);
	answer(&t, 1, 0);
	answer(&t, 2, 5);
	block(&t);
	check_unchanged(&t, before, n0);
	free(before);
	uint64_t n3 = cmd(&t, "alice", BALANCES_CMD_WITHDRAW, bob, 1);
	block(&t);
	CHECK(bal_receipt(&t, "alice", n3, reply) == CONTRACT_OK);
	CHECK_STR(reply, "ok withdrawal 3");
	harness_world_release(&t.w);
}

/* PAY_CONTRACT credits a contract and tells it (PAID); contracts CHARGE only the signer, PAY
 * from their own dark account, and read their BALANCE. */
static void contracts_are_paid_charged_and_pay(void)
{
	struct bw t;
	bw_init(&t);
	uint8_t alice[32], bob[32];
	acct("alice", alice);
	acct("bob", bob);
	deposit(&t, "alice", 10 * PHA);
	block(&t);
	uint64_t n = cmd(&t, "alice", BALANCES_CMD_PAY_CONTRACT, t.call, 2 * PHA);
	block(&t);
	char reply[CONTRACT_REPLY_MAX + 1];
	CHECK(bal_receipt(&t, "alice", n, reply) == CONTRACT_OK);
	CHECK_STR(reply, "ok");
	CHECK(dark(&t, "alice") == 8 * PHA && dark_caller(&t) == 2 * PHA);
	struct wd wds[2];
	size_t other;
	CHECK(chain_takes(&t, wds, 2, &other) == 0 && other == 1);
	block(&t); /* PAID delivered */
	uint8_t body[4096];
	size_t len = 0;
	uint32_t r = 99;
	CHECK(harness_ask_n(&t.w, t.w.e, t.cpk, t.call, "bob", (const uint8_t *)"m", 1, &r, body,
	                    &len) == ENCLAVE_OK);
	CHECK(r == CONTRACT_OK && len == 4 + 32 + 49 && body[0] == 1);
	CHECK_EQ_MEM(body + 4, t.bal, 32);
	uint8_t paid[49] = {BALANCES_MSG_PAID};
	memcpy(paid + 1, alice, 32);
	kit_put_u128(paid + 33, 2 * PHA);
	CHECK_EQ_MEM(body + 36, paid, 49);

	/* CHARGE: the signer only. */
	uint64_t ok = via_caller(&t, "alice", BALANCES_CALL_CHARGE, alice, PHA);
	uint64_t other_payer = via_caller(&t, "alice", BALANCES_CALL_CHARGE, bob, PHA);
	uint64_t bob_for_alice = via_caller(&t, "bob", BALANCES_CALL_CHARGE, alice, PHA);
	uint64_t too_much = via_caller(&t, "alice", BALANCES_CALL_CHARGE, alice, 8 * PHA);
	uint64_t zero = via_caller(&t, "alice", BALANCES_CALL_CHARGE, alice, 0);
	block(&t);
	CHECK(receipt(&t, t.cpk, t.call, "alice", ok, reply) == CONTRACT_OK);
	CHECK(receipt(&t, t.cpk, t.call, "alice", other_payer, reply) == CONTRACT_DENIED);
	CHECK(receipt(&t, t.cpk, t.call, "bob", bob_for_alice, reply) == CONTRACT_DENIED);
	CHECK(receipt(&t, t.cpk, t.call, "alice", too_much, reply) == BALANCES_INSUFFICIENT);
	CHECK(receipt(&t, t.cpk, t.call, "alice", zero, reply) == BALANCES_ZERO_AMOUNT);
	CHECK(dark(&t, "alice") == 7 * PHA && dark_caller(&t) == 3 * PHA);
	uint8_t h[4096];
	CHECK(history(&t, "alice", h) == 3);
	check_entry(h + 130, BALANCES_H_CHARGED, t.call, PHA, t.w.chain.height, 0);

	/* PAY: from the caller's account, whoever signed; BALANCE: the caller's. */
	uint64_t pay = via_caller(&t, "charlie", BALANCES_CALL_PAY, bob, PHA / 2);
	uint64_t overpay = via_caller(&t, "charlie", BALANCES_CALL_PAY, bob, 3 * PHA);
	uint64_t self = via_caller(&t, "charlie", BALANCES_CALL_PAY, t.call, 1);
	uint64_t bal = via_caller(&t, "charlie", BALANCES_CALL_BALANCE, NULL, 0);
	block(&t);
	CHECK(receipt(&t, t.cpk, t.call, "charlie", pay, reply) == CONTRACT_OK);
	CHECK(receipt(&t, t.cpk, t.call, "charlie", overpay, reply) == BALANCES_INSUFFICIENT);
	CHECK(receipt(&t, t.cpk, t.call, "charlie", self, reply) == BALANCES_BAD_DEST);
	CHECK(receipt(&t, t.cpk, t.call, "charlie", bal, reply) == CONTRACT_OK);
	CHECK(harness_ask_n(&t.w, t.w.e, t.cpk, t.call, "bob", (const uint8_t *)"r", 1, &r, body,
	                    &len) == ENCLAVE_OK);
	CHECK(r == CONTRACT_OK && len == 4 + 16 && kit_get_u128(body + 4) == 5 * PHA / 2);
	CHECK(dark(&t, "bob") == PHA / 2 && dark_caller(&t) == 5 * PHA / 2);
	CHECK(history(&t, "bob", h) == 1);
	check_entry(h, BALANCES_H_PAID_BY, t.call, PHA / 2, t.w.chain.height, 0);

	/* Malformed calls: a BALANCE with padding, a short call, an unknown kind. */
	size_t n0;
	uint8_t *before = snapshot(&t, &n0);
	uint64_t padded = via_caller(&t, "charlie", BALANCES_CALL_BALANCE, NULL, 1);
	uint8_t c[32 + BALANCES_CALL_LEN] = {0};
	memcpy(c, t.bal, 32);
	c[32] = BALANCES_CALL_PAY;
	uint64_t shortc = send_to(&t, t.cpk, t.call, "charlie", c, sizeof(c) - 1);
	c[32] = 0x13;
	uint64_t unknown = send_to(&t, t.cpk, t.call, "charlie", c, sizeof(c));
	block(&t);
	CHECK(receipt(&t, t.cpk, t.call, "charlie", padded, reply) == CONTRACT_BAD_REQUEST);
	CHECK(receipt(&t, t.cpk, t.call, "charlie", shortc, reply) == CONTRACT_BAD_REQUEST);
	CHECK(receipt(&t, t.cpk, t.call, "charlie", unknown, reply) == CONTRACT_BAD_REQUEST);
	check_unchanged(&t, before, n0);
	free(before);

	/* No signer in a deploy: a CHARGE there is denied. */
	uint8_t args[32 + BALANCES_CALL_LEN] = {0}, id2[32], pk2[32], spk2[32];
	memcpy(args, t.bal, 32);
	args[32] = BALANCES_CALL_CHARGE;
	memcpy(args + 33, alice, 32);
	kit_put_u128(args + 65, 1);
	testplat_deploy_args(&t.w.chain, alice, 0, CALLER_CODE, 2, args, sizeof(args), id2);
	block(&t);
	harness_contract_keys(t.w.e, id2, pk2, spk2);
	CHECK(harness_ask_n(&t.w, t.w.e, pk2, id2, "bob", (const uint8_t *)"r", 1, &r, body,
	                    &len) == ENCLAVE_OK);
	CHECK(r == CONTRACT_OK && len == 4);
	uint32_t last;
	memcpy(&last, body, 4);
	CHECK(last == CONTRACT_DENIED);
	CHECK(dark(&t, "alice") == 7 * PHA);
	harness_world_release(&t.w);
}

/* The caller contract emits payload p[0..n) to Balances' message topic (a command by who), and
 * the chain delivers it: two blocks. Returns the count relayed (1 when the emit worked). */
static size_t caller_says(struct bw *t, const char *who, const uint8_t *p, size_t n)
{
	char topic[CONTRACTS_TOPIC_LEN + 1];
	uint8_t c[32 + sizeof(topic) + 64] = {0};
	contracts_message_topic(topic, t->bal);
	CHECK(n <= 64);
	memcpy(c + 32, topic, strlen(topic) + 1);
	memcpy(c + 32 + strlen(topic) + 1, p, n);
	uint64_t nonce = send_to(t, t->cpk, t->call, who, c, 32 + strlen(topic) + 1 + n);
	block(t);
	char reply[CONTRACT_REPLY_MAX + 1];
	CHECK(receipt(t, t->cpk, t->call, who, nonce, reply) == CONTRACT_OK);
	size_t relayed = harness_relay(&t->w.chain, t->w.e, topic);
	block(t);
	return relayed;
}

static void pay_out_bytes(uint8_t p[49], const uint8_t dest[32], u128 amount)
{
	p[0] = BALANCES_MSG_PAY_OUT;
	memcpy(p + 1, dest, 32);
	kit_put_u128(p + 33, amount);
}

/* A query the caller contract forwards to Balances as itself: its HISTORY (count; entries). */
static size_t caller_history(struct bw *t, uint8_t body[4096])
{
	uint8_t req[32 + 33];
	memcpy(req, t->bal, 32);
	req[32] = BALANCES_Q_HISTORY;
	memcpy(req + 33, t->call, 32);
	uint32_t r = 99;
	size_t len = 0;
	CHECK(harness_ask_n(&t->w, t->w.e, t->cpk, t->call, "bob", req, sizeof(req), &r, body,
	                    &len) == ENCLAVE_OK);
	CHECK(r == CONTRACT_OK && len >= 1 && body[0] < 0x80 && len == 1 + body[0] * 65u);
	size_t n = body[0];
	memmove(body, body + 1, len - 1);
	return n;
}

/* PAY_OUT: a contract spends its own dark account by message (the way across clusters); an
 * overdraft, a zero amount, a bad destination or a malformed PAY_OUT changes nothing, and so
 * does a PAY_OUT from a module or a worker (there is no contract account to spend). */
static void contracts_pay_out_by_message(void)
{
	struct bw t;
	bw_init(&t);
	uint8_t alice[32], bob[32], p[50], h[4096];
	static const uint8_t zero[32];
	acct("alice", alice);
	acct("bob", bob);
	deposit(&t, "alice", 10 * PHA);
	block(&t);
	via_caller(&t, "alice", BALANCES_CALL_CHARGE, alice, 3 * PHA);
	block(&t);
	CHECK(dark_caller(&t) == 3 * PHA);

	pay_out_bytes(p, bob, PHA); /* signed by charlie: the caller spends its own, whoever asks */
	CHECK(caller_says(&t, "charlie", p, 49) == 1);
	CHECK(dark(&t, "bob") == PHA && dark_caller(&t) == 2 * PHA && dark(&t, "alice") == 7 * PHA);
	u128 iss, pend;
	issuance(&t, &iss, &pend);
	CHECK(iss == 10 * PHA && pend == 0);
	CHECK(history(&t, "bob", h) == 1);
	check_entry(h, BALANCES_H_PAID_BY, t.call, PHA, t.w.chain.height, 0);
	CHECK(caller_history(&t, h) == 2);
	check_entry(h + 65, BALANCES_H_SENT, bob, PHA, t.w.chain.height, 0);

	size_t n0;
	uint8_t *before = snapshot(&t, &n0);
	pay_out_bytes(p, bob, 2 * PHA + 1); /* overdraft */
	CHECK(caller_says(&t, "bob", p, 49) == 1);
	pay_out_bytes(p, bob, 0);
	CHECK(caller_says(&t, "bob", p, 49) == 1);
	const uint8_t *bad[] = {zero, t.call, t.bal};
	for (size_t i = 0; i < 3; i++) {
		pay_out_bytes(p, bad[i], PHA);
		CHECK(caller_says(&t, "bob", p, 49) == 1);
	}
	pay_out_bytes(p, bob, PHA);
	CHECK(caller_says(&t, "bob", p, 48) == 1);
	p[49] = 0;
	CHECK(caller_says(&t, "bob", p, 50) == 1);
	/* Not from a contract: no account to spend. */
	module_msg(&t, "balances", p, 49);
	module_msg(&t, "contracts", p, 49);
	char topic[CONTRACTS_TOPIC_LEN + 1];
	contracts_message_topic(topic, t.bal);
	struct mq_message m = {.origin = {.kind = MQ_ORIGIN_WORKER},
	                       .topic = (const uint8_t *)topic,
	                       .topic_len = strlen(topic),
	                       .payload = p,
	                       .payload_len = 49};
	memcpy(m.origin.id, t.call, 32);
	testplat_queue(&t.w.chain, &m);
	block(&t);
	check_unchanged(&t, before, n0);
	free(before);
	CHECK(dark(&t, "bob") == PHA && dark_caller(&t) == 2 * PHA);

	/* The whole account can go. */
	pay_out_bytes(p, alice, 2 * PHA);
	CHECK(caller_says(&t, "bob", p, 49) == 1);
	CHECK(dark_caller(&t) == 0 && dark(&t, "alice") == 9 * PHA);
	issuance(&t, &iss, &pend);
	CHECK(iss == 10 * PHA && pend == 0);
	harness_world_release(&t.w);
}

/* ---- snapshots ------------------------------------------------------------------------------- */

/* A snapshot by hand (balances.c's layout), for restore's refusals: one account `who` with
 * `amount`, one deposit entry (kind, result), and optionally one pending withdrawal. */
struct hand {
	u128 issuance, amount;
	uint64_t next_ref;
	uint8_t kind;
	uint32_t result;
	bool ring;
	bool pending;
	uint64_t ref;
	u128 pending_amount;
	uint8_t version;
};

static size_t hand_snapshot(const struct hand *h, uint8_t *out, size_t cap)
{
	uint8_t who[32] = {1}, dest[32] = {2};
	struct enc e;
	enc_init_fixed(&e, out, cap);
	enc_u8(&e, h->version);
	enc_u128(&e, h->issuance);
	enc_u64(&e, h->next_ref);
	enc_uleb(&e, h->amount ? 1 : 0);
	if (h->amount) {
		enc_raw(&e, who, 32);
		enc_u128(&e, h->amount);
	}
	enc_uleb(&e, h->pending ? 1 : 0);
	if (h->pending) {
		enc_u64(&e, h->ref);
		enc_raw(&e, who, 32);
		enc_raw(&e, dest, 32);
		enc_u128(&e, h->pending_amount);
	}
	enc_uleb(&e, h->ring ? 1 : 0);
	if (h->ring) {
		enc_raw(&e, who, 32);
		enc_uleb(&e, 1);
		enc_u8(&e, h->kind);
		enc_raw(&e, who, 32);
		enc_u128(&e, h->amount);
		enc_u64(&e, 1);
		enc_u64(&e, 0);
		enc_u32(&e, h->result);
	}
	CHECK(enc_finish(&e) == CODEC_OK);
	return e.len;
}

static enum contract_result hand_restore(const struct hand *h)
{
	uint8_t b[512];
	return restore_round_trip(b, hand_snapshot(h, b, sizeof(b)));
}

static void restore_refuses_what_snapshot_never_writes(void)
{
	const struct hand good = {.version = 1,
	                          .issuance = 12,
	                          .amount = 5,
	                          .next_ref = 8,
	                          .kind = BALANCES_H_DEPOSIT,
	                          .ring = true,
	                          .pending = true,
	                          .ref = 7,
	                          .pending_amount = 7};
	CHECK(hand_restore(&good) == CONTRACT_OK);
	struct hand h = good;
	h.pending = false;
	h.issuance = 5;
	CHECK(hand_restore(&h) == CONTRACT_OK);
	h.issuance = 6; /* sums */
	CHECK(hand_restore(&h) == CONTRACT_BAD_REQUEST);
	h = good;
	h.issuance = 11;
	CHECK(hand_restore(&h) == CONTRACT_BAD_REQUEST);
	h.issuance = 13;
	CHECK(hand_restore(&h) == CONTRACT_BAD_REQUEST);
	h = good;
	h.version = 2;
	CHECK(hand_restore(&h) == CONTRACT_BAD_REQUEST);
	h = good;
	h.ring = false; /* a balance without a history */
	CHECK(hand_restore(&h) == CONTRACT_BAD_REQUEST);
	h = good;
	h.ref = 8; /* not below next_ref */
	CHECK(hand_restore(&h) == CONTRACT_BAD_REQUEST);
	h.ref = 0;
	CHECK(hand_restore(&h) == CONTRACT_BAD_REQUEST);
	h = good;
	h.next_ref = 0;
	h.pending = false;
	h.issuance = 5;
	CHECK(hand_restore(&h) == CONTRACT_BAD_REQUEST);
	h = good;
	h.pending_amount = 0;
	h.issuance = 5;
	CHECK(hand_restore(&h) == CONTRACT_BAD_REQUEST);
	h = good;
	h.kind = 0;
	CHECK(hand_restore(&h) == CONTRACT_BAD_REQUEST);
	h.kind = BALANCES_H_PAY_CONTRACT + 1;
	CHECK(hand_restore(&h) == CONTRACT_BAD_REQUEST);
	h.kind = BALANCES_H_DEPOSIT;
	h.result = 66; /* a chain result on anything but a refund */
	CHECK(hand_restore(&h) == CONTRACT_BAD_REQUEST);
	h.kind = BALANCES_H_REFUND;
	CHECK(hand_restore(&h) == CONTRACT_OK);
	h = good;
	h.amount = ~(u128)0; /* sums overflow */
	h.issuance = 6;
	CHECK(hand_restore(&h) == CONTRACT_BAD_REQUEST);

	/* Every truncation and a trailing byte. */
	uint8_t b[512];
	size_t n = hand_snapshot(&good, b, sizeof(b));
	for (size_t k = 0; k < n; k++)
		CHECK(restore_round_trip(b, k) == CONTRACT_BAD_REQUEST);
	b[n] = 0;
	CHECK(restore_round_trip(b, n + 1) == CONTRACT_BAD_REQUEST);
}

/* A live state's snapshot restores to the same bytes (in a fresh instance, and in an enclave
 * restarted from the checkpoint, which answers the same); every changed byte is refused or
 * restores to exactly the changed bytes. */
static void live_snapshot_round_trips(void)
{
	struct bw t;
	bw_init(&t);
	uint8_t bob[32];
	acct("bob", bob);
	deposit(&t, "alice", 10 * PHA);
	deposit(&t, "charlie", 3);
	block(&t);
	cmd(&t, "alice", BALANCES_CMD_TRANSFER, bob, 2 * PHA);
	cmd(&t, "alice", BALANCES_CMD_WITHDRAW, bob, PHA);
	cmd(&t, "alice", BALANCES_CMD_WITHDRAW, bob, 2);
	cmd(&t, "charlie", BALANCES_CMD_PAY_CONTRACT, t.call, 1);
	block(&t);
	struct wd wds[4];
	size_t other;
	CHECK(chain_takes(&t, wds, 4, &other) == 2 && other == 1);
	answer(&t, wds[1].ref, TX_CALL_BELOW_ED);
	block(&t);
	size_t n;
	uint8_t *s = snapshot(&t, &n);
	CHECK(restore_round_trip(s, n) == CONTRACT_OK);
	size_t refused = 0;
	for (size_t i = 0; i < n; i++)
		for (uint8_t x = 1; x; x <<= 1) {
			s[i] ^= x;
			refused += restore_round_trip(s, n) == CONTRACT_BAD_REQUEST;
			s[i] ^= x;
		}
	CHECK(refused > n); /* most flips break a sum, an order or a count */

	struct enclave *back = testplat_started(&t.w.plat, &t.cfg, t.w.e);
	size_t m;
	uint8_t *s2 = snapshot_on(&t, back, &m);
	CHECK(m == n && memcmp(s, s2, n) == 0);
	CHECK(dark_on(&t, back, "alice") == 7 * PHA);
	u128 a, b, c, d;
	issuance_on(&t, t.w.e, &a, &b);
	issuance_on(&t, back, &c, &d);
	CHECK(a == c && b == d && b == PHA);
	enclave_free(back);
	free(s2);
	free(s);
	harness_world_release(&t.w);
}

/* ---- caps ------------------------------------------------------------------------------------ */

static void key_of(uint8_t k[32], uint32_t i)
{
	memset(k, 0, 32);
	k[0] = 0xa5;
	memcpy(k + 1, &i, 4);
}

/* BALANCES_ACCOUNTS_MAX accounts: a transfer to one more is refused (BALANCES_FULL), changing
 * nothing; a deposit from one more, and a contract's PAY_OUT to one more, go to its public
 * account instead; existing accounts carry on. */
static void the_account_cap_refuses_cleanly(void)
{
	struct bw t;
	bw_init(&t);
	deposit(&t, "alice", 10);
	block(&t);
	uint8_t alice[32];
	acct("alice", alice);
	via_caller(&t, "alice", BALANCES_CALL_CHARGE, alice, 3); /* the caller contract: 3 units */
	block(&t);
	CHECK(dark_caller(&t) == 3);
	uint32_t made = 2;
	for (uint32_t i = 0; made < BALANCES_ACCOUNTS_MAX; i++, made++) {
		uint8_t k[32];
		key_of(k, i);
		deposit_key(&t, k, 1);
		if (t.w.chain.n_msgs == TESTPLAT_MAX_MSGS)
			block(&t);
	}
	block(&t);
	const u128 base = 10 + (BALANCES_ACCOUNTS_MAX - 2); /* alice's 10, then 1 per new account */
	u128 iss, pend;
	issuance(&t, &iss, &pend);
	CHECK(iss == base);
	uint8_t bob[32], k[32];
	acct("bob", bob);
	key_of(k, 0);
	/* A deposit with no room goes back to the depositor's public account: pending until the
	 * chain pays it out, counted in the issuance all along (custody holds it meanwhile). */
	deposit(&t, "bob", 5);
	block(&t);
	issuance(&t, &iss, &pend);
	CHECK(iss == base + 5 && pend == 5 && dark(&t, "bob") == 0);
	struct wd wd[2];
	size_t other;
	CHECK(chain_takes(&t, wd, 2, &other) == 1 && other == 0);
	CHECK(wd[0].amount == 5 && memcmp(wd[0].dest, bob, 32) == 0);
	answer(&t, wd[0].ref, 0);
	block(&t);
	issuance(&t, &iss, &pend);
	CHECK(iss == base && pend == 0 && dark(&t, "bob") == 0);
	size_t n0;
	uint8_t *before = snapshot(&t, &n0);
	uint64_t n = cmd(&t, "alice", BALANCES_CMD_TRANSFER, bob, 1);
	block(&t);
	char reply[CONTRACT_REPLY_MAX + 1];
	CHECK(bal_receipt(&t, "alice", n, reply) == BALANCES_FULL);
	CHECK_STR(reply, "the contract is full: no room for another account");
	check_unchanged(&t, before, n0);
	free(before);
	n = cmd(&t, "alice", BALANCES_CMD_TRANSFER, k, 4); /* an existing account */
	block(&t);
	CHECK(bal_receipt(&t, "alice", n, reply) == CONTRACT_OK);
	CHECK(dark(&t, "alice") == 3);
	/* Nobody answers a PAY_OUT, so one to a new account goes to its public account instead. */
	uint8_t p[49];
	pay_out_bytes(p, bob, 2);
	CHECK(caller_says(&t, "charlie", p, 49) == 1);
	issuance(&t, &iss, &pend);
	CHECK(dark_caller(&t) == 1 && dark(&t, "bob") == 0 && pend == 2);
	CHECK(iss == base);
	CHECK(chain_takes(&t, wd, 2, &other) == 1 && other == 0);
	CHECK(wd[0].amount == 2 && memcmp(wd[0].dest, bob, 32) == 0);
	answer(&t, wd[0].ref, 0);
	block(&t);
	issuance(&t, &iss, &pend);
	CHECK(iss == base - 2 && pend == 0);
	harness_world_release(&t.w);
}

/* BALANCES_PENDING_MAX pending withdrawals: one more is refused until one settles. */
static void the_pending_cap_refuses_cleanly(void)
{
	struct bw t;
	bw_init_egress(&t, BALANCES_PENDING_MAX + 8);
	uint8_t bob[32];
	acct("bob", bob);
	deposit(&t, "alice", BALANCES_PENDING_MAX + 10);
	block(&t);
	for (size_t i = 0; i < BALANCES_PENDING_MAX; i++) {
		cmd(&t, "alice", BALANCES_CMD_WITHDRAW, bob, 1);
		if (t.w.chain.n_msgs == TESTPLAT_MAX_MSGS)
			block(&t);
	}
	block(&t);
	u128 iss, pend;
	issuance(&t, &iss, &pend);
	CHECK(iss == BALANCES_PENDING_MAX + 10 && pend == BALANCES_PENDING_MAX);
	uint64_t n = cmd(&t, "alice", BALANCES_CMD_WITHDRAW, bob, 1);
	block(&t);
	char reply[CONTRACT_REPLY_MAX + 1];
	CHECK(bal_receipt(&t, "alice", n, reply) == BALANCES_FULL);
	CHECK_STR(reply, "too many pending withdrawals: try again later");
	CHECK(dark(&t, "alice") == 10);
	answer(&t, 17, 0);
	n = cmd(&t, "alice", BALANCES_CMD_WITHDRAW, bob, 1);
	block(&t);
	CHECK(bal_receipt(&t, "alice", n, reply) == CONTRACT_OK);
	CHECK_STR(reply, "ok withdrawal 4097");
	issuance(&t, &iss, &pend);
	CHECK(iss == BALANCES_PENDING_MAX + 9 && pend == BALANCES_PENDING_MAX);
	harness_world_release(&t.w);
}

/* ---- a randomized run against a model ----------------------------------------------------------
 */

#define NAMES 6
static const char *const names[NAMES] = {"alice", "bob", "charlie", "dave", "eve", "ferdie"};

struct model {
	u128 bal[NAMES + 2]; /* the dev accounts, the caller contract, an outside key */
	u128 issuance, pending;
	struct wd open[BALANCES_PENDING_MAX];
	int owner[BALANCES_PENDING_MAX];
	size_t n_open;
	uint64_t next_ref;
};

struct op {
	uint64_t nonce;
	int who;
	uint32_t want;
	bool caller; /* a command to the caller contract */
};

/* One random command by `who`, applied to the model in queue order; returns the expected
 * result. */
static uint32_t random_command(struct bw *t, struct model *m, uint64_t *rng, int who,
                               const uint8_t keys[NAMES + 2][32], struct op *op)
{
	uint64_t x = check_rand(rng);
	int to = (int)(check_rand(rng) % (NAMES + 2));
	u128 amount = check_rand(rng) % 4 == 0 ? m->bal[who] : check_rand(rng) % 1000;
	op->who = who;
	op->caller = false;
	uint32_t kind = (uint32_t)(x % 10);
	if (kind < 5) { /* transfer */
		op->nonce = cmd(t, names[who], BALANCES_CMD_TRANSFER, keys[to], amount);
		if (amount == 0)
			return BALANCES_ZERO_AMOUNT;
		if (to == who)
			return BALANCES_BAD_DEST;
		if (m->bal[who] < amount)
			return BALANCES_INSUFFICIENT;
		m->bal[who] -= amount;
		m->bal[to] += amount;
		return CONTRACT_OK;
	}
	if (kind < 7) { /* withdraw to a public account */
		op->nonce = cmd(t, names[who], BALANCES_CMD_WITHDRAW, keys[to], amount);
		if (amount == 0)
			return BALANCES_ZERO_AMOUNT;
		if (m->bal[who] < amount)
			return BALANCES_INSUFFICIENT;
		m->bal[who] -= amount;
		m->pending += amount;
		struct wd *w = &m->open[m->n_open];
		w->ref = m->next_ref++;
		memcpy(w->dest, keys[to], 32);
		w->amount = amount;
		m->owner[m->n_open++] = who;
		return CONTRACT_OK;
	}
	if (kind < 8) { /* pay the caller contract */
		op->nonce = cmd(t, names[who], BALANCES_CMD_PAY_CONTRACT, keys[NAMES], amount);
		if (amount == 0)
			return BALANCES_ZERO_AMOUNT;
		if (m->bal[who] < amount)
			return BALANCES_INSUFFICIENT;
		m->bal[who] -= amount;
		m->bal[NAMES] += amount;
		return CONTRACT_OK;
	}
	op->caller = true;
	if (kind < 9) { /* the caller charges someone: only the signer may be charged */
		int payer = check_rand(rng) % 3 == 0 ? to % NAMES : who;
		op->nonce = via_caller(t, names[who], BALANCES_CALL_CHARGE, keys[payer], amount);
		if (payer != who)
			return CONTRACT_DENIED;
		if (amount == 0)
			return BALANCES_ZERO_AMOUNT;
		if (m->bal[who] < amount)
			return BALANCES_INSUFFICIENT;
		m->bal[who] -= amount;
		m->bal[NAMES] += amount;
		return CONTRACT_OK;
	}
	/* the caller pays someone from its own account */
	amount = check_rand(rng) % 2 ? m->bal[NAMES] : amount;
	op->nonce = via_caller(t, names[who], BALANCES_CALL_PAY, keys[to], amount);
	if (amount == 0)
		return BALANCES_ZERO_AMOUNT;
	if (to == NAMES)
		return BALANCES_BAD_DEST;
	if (m->bal[NAMES] < amount)
		return BALANCES_INSUFFICIENT;
	m->bal[NAMES] -= amount;
	m->bal[to] += amount;
	return CONTRACT_OK;
}

/* Settles one open withdrawal at random: released or refused (refunded). */
static void random_answer(struct bw *t, struct model *m, uint64_t *rng)
{
	size_t i = check_rand(rng) % m->n_open;
	uint32_t result = check_rand(rng) % 3 ? 0 : TX_CALL_BELOW_ED;
	answer(t, m->open[i].ref, result);
	m->pending -= m->open[i].amount;
	if (result)
		m->bal[m->owner[i]] += m->open[i].amount;
	else
		m->issuance -= m->open[i].amount;
	m->open[i] = m->open[m->n_open - 1];
	m->owner[i] = m->owner[m->n_open - 1];
	m->n_open--;
}

static void random_block(struct bw *t, struct model *m, uint64_t *rng,
                         const uint8_t keys[NAMES + 2][32], struct enclave **es, size_t n_es)
{
	struct op ops[16];
	uint32_t want[16];
	size_t n_ops = 0;
	for (int k = 0; k < 24; k++) {
		uint64_t x = check_rand(rng) % 8;
		if (x == 0) {
			int who = (int)(check_rand(rng) % NAMES);
			u128 amount = 1 + check_rand(rng) % 2000;
			deposit(t, names[who], amount);
			m->bal[who] += amount;
			m->issuance += amount;
		} else if (x == 1 && m->n_open) {
			random_answer(t, m, rng);
		} else if (n_ops < 16) {
			want[n_ops] = random_command(t, m, rng, (int)(check_rand(rng) % NAMES),
			                             keys, &ops[n_ops]);
			n_ops++;
		}
	}
	CHECK(testplat_block(&t->w.chain, es, n_es) == ENCLAVE_OK);
	for (size_t i = 0; i < n_ops; i++) {
		char reply[CONTRACT_REPLY_MAX + 1];
		uint32_t got =
		    ops[i].caller
		        ? receipt(t, t->cpk, t->call, names[ops[i].who], ops[i].nonce, reply)
		        : bal_receipt(t, names[ops[i].who], ops[i].nonce, reply);
		CHECK(got == want[i]);
	}
	struct wd wds[32];
	size_t other;
	size_t taken = chain_takes(t, wds, 32, &other);
	(void)taken;
}

static void check_model(struct bw *t, struct enclave *e, const struct model *m)
{
	u128 iss, pend, sum = 0;
	issuance_on(t, e, &iss, &pend);
	CHECK(iss == m->issuance && pend == m->pending);
	for (int i = 0; i < NAMES + 2; i++)
		sum += m->bal[i];
	CHECK(sum + m->pending == m->issuance);
	for (int i = 0; i < NAMES; i++)
		CHECK(dark_on(t, e, names[i]) == m->bal[i]);
	if (e == t->w.e)
		CHECK(dark_caller(t) == m->bal[NAMES]);
}

/* A few thousand random deposits, transfers, withdrawals, chain answers, payments to and by a
 * contract: every receipt as the model says, conservation after every block; halfway a second
 * enclave restarts from a checkpoint and follows, and at the end both hold the same bytes. */
static void random_run_conserves(void)
{
	struct bw t;
	bw_init(&t);
	uint64_t rng = check_seed();
	uint8_t keys[NAMES + 2][32];
	for (int i = 0; i < NAMES; i++)
		acct(names[i], keys[i]);
	memcpy(keys[NAMES], t.call, 32);
	memset(keys[NAMES + 1], 0x77, 32);
	struct model *m = calloc(1, sizeof(*m));
	CHECK(m != NULL);
	m->next_ref = 1;
	struct enclave *es[2] = {t.w.e, NULL};
	size_t n_es = 1;
	long blocks = check_iters(200);
	for (long b = 0; b < blocks; b++) {
		random_block(&t, m, &rng, keys, es, n_es);
		check_model(&t, t.w.e, m);
		if (b == blocks / 2) {
			es[1] = testplat_started(&t.w.plat, &t.cfg, t.w.e);
			n_es = 2;
		}
	}
	check_model(&t, es[1], m);
	size_t n1, n2;
	uint8_t *s1 = snapshot_on(&t, es[0], &n1), *s2 = snapshot_on(&t, es[1], &n2);
	CHECK(n1 == n2 && memcmp(s1, s2, n1) == 0);
	CHECK(restore_round_trip(s1, n1) == CONTRACT_OK);
	free(s1);
	free(s2);
	enclave_free(es[1]);
	free(m);
	harness_world_release(&t.w);
}

CHECK_MAIN(CASE(the_chain_and_the_contract_agree_on_bytes),
           CASE(deposits_credit_and_transfers_move), CASE(queries_answer_the_owner_only),
           CASE(refused_commands_change_nothing), CASE(chain_messages_only_from_the_chain),
           CASE(withdrawals_pend_then_release_or_refund), CASE(contracts_are_paid_charged_and_pay),
           CASE(contracts_pay_out_by_message), CASE(restore_refuses_what_snapshot_never_writes),
           CASE(live_snapshot_round_trips), CASE(the_account_cap_refuses_cleanly),
           CASE(the_pending_cap_refuses_cleanly), CASE(random_run_conserves))
