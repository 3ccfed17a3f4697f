/*
 * Custody of public PHA by contracts (chain/contracts.h "Custody"): contracts.deposit moves PHA
 * into the custody account and tells the contract with exactly the documented message bytes, and
 * refuses zero, unknown contracts, codes other than "balances", overdrafts and keep-alive
 * violations; the "^contracts/withdraw" consumer releases PHA to the destination and answers the
 * contract, answers every refusal with its code and leaves custody as it was, refuses non-contract
 * origins and malformed payloads without an answer, and takes each message once (its sequence);
 * balances.transfer to a custody account is refused. A random run checks that custody always
 * equals deposits minus releases.
 */
#include "check.h"

#include "base/hex.h"
#include "chain/modfix.h"

struct cfx {
	struct mfx f;
	struct mfx_worker gk;
	struct mfx_key ckey;  /* signs the balances contract's messages */
	uint8_t id[32];       /* a "balances" contract, keys published */
	uint8_t custody[32];  /* its custody account */
	uint8_t counter[32];  /* a contract of another code */
	uint64_t gk_seq, seq; /* the gatekeepers' and the contract's next message sequence */
};

static enum tx_result deploy(struct mfx *f, const char *code, uint8_t id[32])
{
	uint8_t pl[128];
	struct enc e;
	enc_init_fixed(&e, pl, sizeof(pl));
	contracts_deploy_payload(&e, 0, code, NULL, 0, NULL, 0);
	CHECK(enc_finish(&e) == CODEC_OK);
	contracts_id(id, f->acct[BOB].pk, 0, code, NULL, 0);
	return mfx_call(f, BOB, RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_DEPLOY, pl, e.len);
}

/* A gatekeeper publishes the master key, then ed25519 as the contract id's signing key. */
static void publish_keys(struct cfx *c, const uint8_t id[32], const uint8_t ed25519[32])
{
	struct registry_keys k = {.cluster = 0, .epoch = 0};
	uint8_t pl[104];
	memset(k.x25519, 0x44, 32);
	memcpy(k.ed25519, ed25519, 32);
	registry_contract_key_payload(pl, id, &k);
	struct mq_message m = mfx_msg(MQ_ORIGIN_GATEKEEPER, c->gk.id.pk,
	                              REGISTRY_TOPIC_CONTRACT_KEY, pl, sizeof(pl), c->gk_seq++);
	CHECK(mfx_push_consumed(&c->f, CHARLIE, &m, c->gk.id.sk) == TX_OK);
}

static void cfx_init(struct cfx *c)
{
	uint8_t mk[32], mpl[36];
	memset(c, 0, sizeof(*c));
	mfx_init(&c->f);
	mfx_worker_init(&c->gk, "gk");
	mfx_key_seed(&c->ckey, "balances contract key");
	CHECK(mfx_register(&c->f, &c->gk, BOB) == TX_OK);
	CHECK(mfx_sudo_id(&c->f, REGISTRY_FN_ADD_GATEKEEPER, c->gk.id.pk) == TX_OK);
	CHECK(mfx_sudo_u32(&c->f, REGISTRY_FN_CREATE_CLUSTER, 0) == TX_OK);
	memset(mk, 0x55, 32);
	registry_master_key_payload(mpl, 0, mk);
	struct mq_message m = mfx_msg(MQ_ORIGIN_GATEKEEPER, c->gk.id.pk, REGISTRY_TOPIC_MASTER_KEY,
	                              mpl, sizeof(mpl), c->gk_seq++);
	CHECK(mfx_push(&c->f, CHARLIE, &m, c->gk.id.sk) == TX_OK);
	CHECK(deploy(&c->f, CONTRACTS_DEPOSIT_CODE, c->id) == TX_OK);
	CHECK(deploy(&c->f, "builtin:counter", c->counter) == TX_OK);
	publish_keys(c, c->id, c->ckey.pk);
	contracts_custody_account(c->custody, c->id);
}

static u128 balance(struct cfx *c, const uint8_t pk[32])
{
	struct account a;
	struct state_reader r = mfx_reader(&c->f);
	CHECK(runtime_account_get(&r, pk, &a) >= 0);
	return a.free;
}

static enum tx_result deposit(struct cfx *c, int who, const uint8_t id[32], u128 amount)
{
	uint8_t pl[CONTRACTS_DEPOSIT_PAYLOAD_LEN];
	contracts_deposit_payload(pl, id, amount);
	return mfx_call(&c->f, who, RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_DEPOSIT, pl, sizeof(pl));
}

static enum tx_result deposit_admit(struct cfx *c, int who, const uint8_t id[32], u128 amount)
{
	uint8_t pl[CONTRACTS_DEPOSIT_PAYLOAD_LEN];
	contracts_deposit_payload(pl, id, amount);
	return mfx_admit(&c->f, who, RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_DEPOSIT, pl,
	                 sizeof(pl));
}

/* The contract asks to release amount to dest; returns mq's notice result (the consumer's). */
static enum tx_result withdraw_raw(struct cfx *c, const uint8_t *pl, size_t n)
{
	struct mq_message m =
	    mfx_msg(MQ_ORIGIN_CONTRACT, c->id, CONTRACTS_TOPIC_WITHDRAW, pl, n, c->seq++);
	return mfx_push_consumed(&c->f, CHARLIE, &m, c->ckey.sk);
}

static enum tx_result withdraw(struct cfx *c, uint64_t ref, const uint8_t dest[32], u128 amount)
{
	uint8_t pl[CONTRACTS_WITHDRAW_PAYLOAD_LEN];
	contracts_withdraw_payload(pl, ref, dest, amount);
	return withdraw_raw(c, pl, sizeof(pl));
}

/* The last block's messages are exactly the answer to ref and mq's notice: returns the answer's
 * result after checking its bytes 0x01 ‖ ref u64 ‖ result u32 on "contract/<id>/message". */
static uint32_t answer(struct cfx *c, uint64_t ref)
{
	struct mq_message m;
	char topic[CONTRACTS_TOPIC_LEN + 1];
	CHECK(mfx_out_count(&c->f) == 2 && mfx_out_msg(&c->f, 0, &m));
	contracts_message_topic(topic, c->id);
	CHECK(m.origin.kind == MQ_ORIGIN_MODULE && strcmp(m.origin.module, "contracts") == 0);
	CHECK(mfx_topic_is(&m, topic) && m.payload_len == CONTRACTS_MSG_WITHDRAWN_LEN);
	uint8_t want[CONTRACTS_MSG_WITHDRAWN_LEN] = {CONTRACTS_MSG_WITHDRAWN};
	for (int i = 0; i < 8; i++)
		want[1 + i] = (uint8_t)(ref >> (8 * i));
	memcpy(want + 9, m.payload + 9, 4);
	CHECK_EQ_MEM(m.payload, want, sizeof(want));
	return (uint32_t)m.payload[9] | (uint32_t)m.payload[10] << 8 |
	       (uint32_t)m.payload[11] << 16 | (uint32_t)m.payload[12] << 24;
}

static void custody_account_definition(void)
{
	uint8_t id[32], acct[32], want[32];
	memset(id, 0x3c, 32);
	contracts_custody_account(acct, id);
	hash_tagged(want, "tenebra/v1/custody", id, 32);
	CHECK_EQ_MEM(acct, want, 32);
	id[31] ^= 1;
	contracts_custody_account(want, id);
	CHECK(memcmp(acct, want, 32) != 0);
	char topic[CONTRACTS_TOPIC_LEN + 1], hex[65];
	contracts_message_topic(topic, id);
	CHECK(strlen(topic) == CONTRACTS_TOPIC_LEN && strncmp(topic, "contract/", 9) == 0);
	CHECK(strncmp(topic + 9, hex_encode(hex, id, 32), 64) == 0);
	CHECK_STR(topic + 73, "/message");
	/* payload layouts */
	uint8_t pl[CONTRACTS_WITHDRAW_PAYLOAD_LEN], dest[32], got[32];
	uint64_t ref;
	u128 amount;
	memset(dest, 0x9d, 32);
	contracts_withdraw_payload(pl, 0x0102030405060708ULL, dest, (u128)5 << 64 | 6);
	CHECK(pl[0] == 8 && pl[7] == 1 && memcmp(pl + 8, dest, 32) == 0);
	CHECK(pl[40] == 6 && pl[48] == 5 && pl[55] == 0);
	CHECK(contracts_withdraw_decode(pl, sizeof(pl), &ref, got, &amount));
	CHECK(ref == 0x0102030405060708ULL && amount == ((u128)5 << 64 | 6));
	CHECK_EQ_MEM(got, dest, 32);
	CHECK(!contracts_withdraw_decode(pl, sizeof(pl) - 1, &ref, got, &amount));
	uint8_t dp[CONTRACTS_DEPOSIT_PAYLOAD_LEN];
	contracts_deposit_payload(dp, dest, 7);
	CHECK(memcmp(dp, dest, 32) == 0 && dp[32] == 7 && dp[47] == 0);
}

/* A deposit debits amount + fee, credits custody and sends the contract exactly
 * 0x00 ‖ depositor ‖ amount u128. Custody is exempt from the existential deposit. */
static void deposit_moves_to_custody(void)
{
	struct cfx c;
	cfx_init(&c);
	u128 dave = balance(&c, c.f.acct[DAVE].pk), amount = 1; /* 1 unit, far below ED */
	CHECK(balance(&c, c.custody) == 0);
	CHECK(deposit_admit(&c, DAVE, c.id, amount) == TX_OK);
	CHECK(deposit(&c, DAVE, c.id, amount) == TX_OK);
	CHECK(balance(&c, c.custody) == amount);
	CHECK(balance(&c, c.f.acct[DAVE].pk) == dave - amount - c.f.last.fee);
	struct mq_message m;
	char topic[CONTRACTS_TOPIC_LEN + 1];
	contracts_message_topic(topic, c.id);
	CHECK(mfx_out_count(&c.f) == 1 && mfx_out_msg(&c.f, 0, &m));
	CHECK(m.origin.kind == MQ_ORIGIN_MODULE && strcmp(m.origin.module, "contracts") == 0);
	CHECK(mfx_topic_is(&m, topic));
	uint8_t want[CONTRACTS_MSG_DEPOSIT_LEN] = {CONTRACTS_MSG_DEPOSIT};
	memcpy(want + 1, c.f.acct[DAVE].pk, 32);
	want[33] = 1;
	CHECK(m.payload_len == sizeof(want));
	CHECK_EQ_MEM(m.payload, want, sizeof(want));
	uint64_t seq = m.sequence;
	/* a second deposit, by another account, adds up; the module's sequence moves on */
	u128 big = 123 * AMOUNT_ONE_PHA + 456;
	CHECK(deposit(&c, EVE, c.id, big) == TX_OK);
	CHECK(balance(&c, c.custody) == amount + big);
	CHECK(mfx_out_msg(&c.f, 0, &m) && m.sequence == seq + 1 && m.payload_len == 49);
	CHECK(memcmp(m.payload + 1, c.f.acct[EVE].pk, 32) == 0);
	CHECK(m.payload[33] == (uint8_t)big && m.payload[34] == (uint8_t)(big >> 8));
	struct state_reader r = mfx_reader(&c.f);
	uint8_t owner[32];
	CHECK(contracts_custody_of(&r, c.custody, owner) == 1);
	CHECK_EQ_MEM(owner, c.id, 32);
	mfx_release(&c.f);
}

/* After a refused deposit: dave paid at most the fee, custody and the outbound list untouched. */
static void refused(struct cfx *c, u128 dave_before, u128 custody_before, bool included)
{
	u128 fee = included ? c->f.last.fee : 0;
	CHECK(balance(c, c->f.acct[DAVE].pk) == dave_before - fee);
	CHECK(balance(c, c->custody) == custody_before);
	if (included)
		CHECK(mfx_out_count(&c->f) == 0);
}

static void deposit_refusals(void)
{
	struct cfx c;
	uint8_t pl[CONTRACTS_DEPOSIT_PAYLOAD_LEN + 1] = {0}, unknown[32] = {9};
	cfx_init(&c);
	CHECK(deposit(&c, DAVE, c.id, AMOUNT_ONE_PHA) == TX_OK);
	u128 fee = c.f.last.fee, ed = c.f.p.existential_deposit, cust = balance(&c, c.custody);
	u128 dave = balance(&c, c.f.acct[DAVE].pk);
	/* stateless: zero, and payloads of the wrong length */
	CHECK(deposit_admit(&c, DAVE, c.id, 0) == TX_ZERO_AMOUNT);
	CHECK(deposit(&c, DAVE, c.id, 0) == TX_ZERO_AMOUNT);
	refused(&c, dave, cust, false);
	memcpy(pl, c.id, 32);
	pl[32] = 1;
	CHECK(mfx_call(&c.f, DAVE, RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_DEPOSIT, pl, 47) ==
	      TX_BAD_PAYLOAD);
	CHECK(mfx_call(&c.f, DAVE, RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_DEPOSIT, pl, 49) ==
	      TX_BAD_PAYLOAD);
	refused(&c, dave, cust, false);
	/* unknown contract, another code: refused at admission, a call error at execution */
	CHECK(deposit_admit(&c, DAVE, unknown, 1) == TX_CALL_CONTRACT_UNKNOWN);
	CHECK(deposit(&c, DAVE, unknown, 1) == TX_CALL_CONTRACT_UNKNOWN);
	refused(&c, dave, cust, true);
	dave = balance(&c, c.f.acct[DAVE].pk);
	CHECK(deposit_admit(&c, DAVE, c.counter, 1) == TX_CALL_CONTRACT_NO_DEPOSITS);
	CHECK(deposit(&c, DAVE, c.counter, 1) == TX_CALL_CONTRACT_NO_DEPOSITS);
	refused(&c, dave, cust, true);
	dave = balance(&c, c.f.acct[DAVE].pk);
	/* overdraft and keep-alive, with balances.transfer's need/have */
	u128 spendable = dave - fee; /* after this deposit's fee */
	CHECK(deposit_admit(&c, DAVE, c.id, spendable + 1) == TX_CALL_INSUFFICIENT_BALANCE);
	CHECK(deposit(&c, DAVE, c.id, spendable + 1) == TX_CALL_INSUFFICIENT_BALANCE);
	CHECK(c.f.last.check.need == spendable + 1 && c.f.last.check.have == spendable);
	refused(&c, dave, cust, true);
	dave = balance(&c, c.f.acct[DAVE].pk);
	spendable = dave - fee;
	CHECK(deposit_admit(&c, DAVE, c.id, spendable - ed + 1) == TX_CALL_KEEP_ALIVE);
	CHECK(deposit(&c, DAVE, c.id, spendable - ed + 1) == TX_CALL_KEEP_ALIVE);
	CHECK(c.f.last.check.need == spendable + 1 && c.f.last.check.have == spendable);
	char msg[200];
	runtime_describe(msg, sizeof(msg), TX_CALL_KEEP_ALIVE, &c.f.last.check);
	CHECK(strstr(msg, "existential deposit") != NULL);
	refused(&c, dave, cust, true);
	/* exactly ED left is fine */
	dave = balance(&c, c.f.acct[DAVE].pk);
	spendable = dave - fee;
	CHECK(deposit(&c, DAVE, c.id, spendable - ed) == TX_OK);
	CHECK(balance(&c, c.f.acct[DAVE].pk) == ed);
	CHECK(balance(&c, c.custody) == cust + spendable - ed);
	mfx_release(&c.f);
}

static void withdraw_releases(void)
{
	struct cfx c;
	uint8_t fresh[32];
	cfx_init(&c);
	memset(fresh, 0xf1, 32);
	CHECK(deposit(&c, DAVE, c.id, 10 * AMOUNT_ONE_PHA) == TX_OK);
	u128 eve = balance(&c, c.f.acct[EVE].pk);
	CHECK(withdraw(&c, 7, c.f.acct[EVE].pk, 3 * AMOUNT_ONE_PHA) == TX_OK);
	CHECK(answer(&c, 7) == 0);
	CHECK(balance(&c, c.custody) == 7 * AMOUNT_ONE_PHA);
	CHECK(balance(&c, c.f.acct[EVE].pk) == eve + 3 * AMOUNT_ONE_PHA);
	/* to a new account (at least ED), and custody may go to zero (exempt from ED) */
	CHECK(withdraw(&c, UINT64_MAX, fresh, 7 * AMOUNT_ONE_PHA) == TX_OK);
	CHECK(answer(&c, UINT64_MAX) == 0);
	CHECK(balance(&c, c.custody) == 0 && balance(&c, fresh) == 7 * AMOUNT_ONE_PHA);
	mfx_release(&c.f);
}

/* Each refusal is answered with its code and moves nothing; mq records the consumer's TX_OK. */
static void withdraw_refusals(void)
{
	struct cfx c;
	uint8_t fresh[32], rich[32], other[32], other_custody[32];
	cfx_init(&c);
	memset(fresh, 0xf2, 32);
	memset(rich, 0xf3, 32);
	chainfix_put_account(&c.f.mem, rich, 0, (u128)-1 - AMOUNT_ONE_PHA);
	CHECK(deploy(&c.f, "balances2", other) == TX_OK);
	contracts_custody_account(other_custody, other);
	CHECK(deposit(&c, DAVE, c.id, 10 * AMOUNT_ONE_PHA) == TX_OK);
	u128 ed = c.f.p.existential_deposit;
	const struct {
		const uint8_t *dest;
		u128 amount;
		uint32_t result;
	} cases[] = {
	    {c.f.acct[EVE].pk, 0, TX_ZERO_AMOUNT},
	    {c.custody, AMOUNT_ONE_PHA, TX_CALL_CUSTODY_ACCOUNT},
	    {other_custody, AMOUNT_ONE_PHA, TX_CALL_CUSTODY_ACCOUNT},
	    {c.f.acct[EVE].pk, 10 * AMOUNT_ONE_PHA + 1, TX_CALL_INSUFFICIENT_BALANCE},
	    {fresh, ed - 1, TX_CALL_BELOW_ED},
	    {rich, 2 * AMOUNT_ONE_PHA, TX_CALL_OVERFLOW},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		u128 before = balance(&c, cases[i].dest);
		CHECK(withdraw(&c, 100 + i, cases[i].dest, cases[i].amount) == TX_OK);
		CHECK(answer(&c, 100 + i) == cases[i].result);
		CHECK(balance(&c, c.custody) == 10 * AMOUNT_ONE_PHA);
		CHECK(balance(&c, cases[i].dest) == before);
	}
	/* the refusals' messages */
	CHECK(strstr(tx_strerror(TX_CALL_CUSTODY_ACCOUNT), "custody") != NULL);
	CHECK(strstr(tx_strerror(TX_CALL_CONTRACT_NO_DEPOSITS), "balances") != NULL);
	/* a topped-up existing account may take less than ED; the overflow limit is exact */
	CHECK(withdraw(&c, 1, c.f.acct[EVE].pk, 1) == TX_OK && answer(&c, 1) == 0);
	CHECK(withdraw(&c, 2, rich, AMOUNT_ONE_PHA) == TX_OK && answer(&c, 2) == 0);
	CHECK(balance(&c, rich) == (u128)-1);
	mfx_release(&c.f);
}

/* Not answered: a malformed payload, and any origin but a contract. */
static void withdraw_unanswered(void)
{
	struct cfx c;
	uint8_t pl[CONTRACTS_WITHDRAW_PAYLOAD_LEN + 1] = {0};
	cfx_init(&c);
	CHECK(deposit(&c, DAVE, c.id, 10 * AMOUNT_ONE_PHA) == TX_OK);
	contracts_withdraw_payload(pl, 1, c.f.acct[EVE].pk, AMOUNT_ONE_PHA);
	CHECK(withdraw_raw(&c, pl, sizeof(pl) - 2) == TX_CALL_MQ_BAD_MESSAGE);
	CHECK(mfx_out_count(&c.f) == 1); /* the notice only */
	CHECK(withdraw_raw(&c, pl, sizeof(pl)) == TX_CALL_MQ_BAD_MESSAGE);
	CHECK(mfx_out_count(&c.f) == 1);
	/* a worker and a gatekeeper may not release anything */
	struct mq_message m = mfx_msg(MQ_ORIGIN_WORKER, c.gk.id.pk, CONTRACTS_TOPIC_WITHDRAW, pl,
	                              CONTRACTS_WITHDRAW_PAYLOAD_LEN, 0);
	CHECK(mfx_push_consumed(&c.f, CHARLIE, &m, c.gk.id.sk) == TX_CALL_MQ_BAD_ORIGIN);
	CHECK(mfx_out_count(&c.f) == 1);
	m.origin.kind = MQ_ORIGIN_GATEKEEPER;
	m.sequence = c.gk_seq++;
	CHECK(mfx_push_consumed(&c.f, CHARLIE, &m, c.gk.id.sk) == TX_CALL_MQ_BAD_ORIGIN);
	CHECK(mfx_out_count(&c.f) == 1);
	CHECK(balance(&c, c.custody) == 10 * AMOUNT_ONE_PHA);
	/* the sequences were taken: the contract's next message goes through */
	CHECK(withdraw(&c, 2, c.f.acct[EVE].pk, AMOUNT_ONE_PHA) == TX_OK && answer(&c, 2) == 0);
	mfx_release(&c.f);
}

/* Exactly once: the same signed message again is refused by its sequence, whoever relays it. */
static void withdraw_replay(void)
{
	struct cfx c;
	uint8_t pl[CONTRACTS_WITHDRAW_PAYLOAD_LEN];
	cfx_init(&c);
	CHECK(deposit(&c, DAVE, c.id, 10 * AMOUNT_ONE_PHA) == TX_OK);
	contracts_withdraw_payload(pl, 5, c.f.acct[EVE].pk, 4 * AMOUNT_ONE_PHA);
	struct mq_message m =
	    mfx_msg(MQ_ORIGIN_CONTRACT, c.id, CONTRACTS_TOPIC_WITHDRAW, pl, sizeof(pl), c.seq++);
	u128 eve = balance(&c, c.f.acct[EVE].pk);
	CHECK(mfx_push_consumed(&c.f, CHARLIE, &m, c.ckey.sk) == TX_OK);
	CHECK(answer(&c, 5) == 0);
	CHECK(mfx_push(&c.f, CHARLIE, &m, c.ckey.sk) == TX_CALL_MQ_WRONG_SEQUENCE);
	CHECK(mfx_push(&c.f, FERDIE, &m, c.ckey.sk) == TX_CALL_MQ_WRONG_SEQUENCE);
	CHECK(mfx_out_count(&c.f) == 0);
	/* and the pool refuses it before it can pay a fee */
	struct enc e;
	enc_init(&e, TX_MAX_PAYLOAD);
	enc_uleb(&e, 1);
	mq_sign_encode(&e, c.f.p.chain_id, &m, c.ckey.sk);
	CHECK(enc_finish(&e) == CODEC_OK);
	CHECK(mfx_admit(&c.f, CHARLIE, RUNTIME_MODULE_MQ, MQ_FN_PUSH, e.buf, e.len) ==
	      TX_CALL_MQ_WRONG_SEQUENCE);
	enc_release(&e);
	CHECK(balance(&c, c.custody) == 6 * AMOUNT_ONE_PHA);
	CHECK(balance(&c, c.f.acct[EVE].pk) == eve + 4 * AMOUNT_ONE_PHA);
	/* a message signed by another key is not the contract's */
	struct mq_message forged =
	    mfx_msg(MQ_ORIGIN_CONTRACT, c.id, CONTRACTS_TOPIC_WITHDRAW, pl, sizeof(pl), c.seq);
	CHECK(mfx_push(&c.f, CHARLIE, &forged, c.gk.id.sk) == TX_CALL_MQ_BAD_SIGNATURE);
	CHECK(balance(&c, c.custody) == 6 * AMOUNT_ONE_PHA);
	mfx_release(&c.f);
}

static void transfer_to_custody_refused(void)
{
	struct cfx c;
	uint8_t pl[BALANCES_TRANSFER_PAYLOAD_LEN], unused[32], unused_custody[32];
	cfx_init(&c);
	CHECK(deposit(&c, DAVE, c.id, AMOUNT_ONE_PHA) == TX_OK);
	balances_transfer_payload(pl, c.custody, AMOUNT_ONE_PHA);
	CHECK(mfx_admit(&c.f, EVE, RUNTIME_MODULE_BALANCES, BALANCES_FN_TRANSFER, pl, sizeof(pl)) ==
	      TX_CALL_CUSTODY_ACCOUNT);
	u128 eve = balance(&c, c.f.acct[EVE].pk);
	CHECK(mfx_call(&c.f, EVE, RUNTIME_MODULE_BALANCES, BALANCES_FN_TRANSFER, pl, sizeof(pl)) ==
	      TX_CALL_CUSTODY_ACCOUNT);
	CHECK(balance(&c, c.f.acct[EVE].pk) == eve - c.f.last.fee);
	CHECK(balance(&c, c.custody) == AMOUNT_ONE_PHA);
	/* also the custody of a contract of another code, whose custody is empty */
	contracts_custody_account(unused_custody, c.counter);
	balances_transfer_payload(pl, unused_custody, AMOUNT_ONE_PHA);
	CHECK(mfx_call(&c.f, EVE, RUNTIME_MODULE_BALANCES, BALANCES_FN_TRANSFER, pl, sizeof(pl)) ==
	      TX_CALL_CUSTODY_ACCOUNT);
	/* the custody account of an id no one deployed is just an account */
	memset(unused, 0x77, 32);
	contracts_custody_account(unused_custody, unused);
	balances_transfer_payload(pl, unused_custody, AMOUNT_ONE_PHA);
	CHECK(mfx_call(&c.f, EVE, RUNTIME_MODULE_BALANCES, BALANCES_FN_TRANSFER, pl, sizeof(pl)) ==
	      TX_OK);
	mfx_release(&c.f);
}

/* Random deposits and withdrawals by several accounts: custody always equals deposits minus
 * releases, every withdrawal is answered, and no PHA appears or vanishes (fees aside). */
static void random_conservation(void)
{
	struct cfx c;
	uint64_t rs = check_seed();
	cfx_init(&c);
	static const int who[] = {BOB, DAVE, EVE, FERDIE}; /* CHARLIE relays (pays fees) */
	u128 custody = 0, ed = c.f.p.existential_deposit;
	long iters = check_iters(60);
	for (long i = 0; i < iters; i++) {
		uint64_t r = check_rand(&rs);
		const uint8_t *acct = c.f.acct[who[r % 4]].pk;
		u128 amount = (u128)(check_rand(&rs) % (5 * AMOUNT_ONE_PHA)) + (r & 8 ? 0 : ed / 2);
		u128 before = balance(&c, acct);
		if ((r >> 8) % 2 == 0) {
			enum tx_result res = deposit(&c, who[r % 4], c.id, amount);
			CHECK(res == TX_OK || (res == TX_ZERO_AMOUNT && amount == 0));
			custody += res == TX_OK ? amount : 0;
			continue;
		}
		CHECK(withdraw(&c, (uint64_t)i, acct, amount) == TX_OK);
		uint32_t result = answer(&c, (uint64_t)i);
		u128 moved = result == 0 ? amount : 0;
		CHECK(result == 0 || (result == TX_CALL_INSUFFICIENT_BALANCE && amount > custody) ||
		      (result == TX_ZERO_AMOUNT && amount == 0));
		CHECK(result != 0 || amount <= custody);
		custody -= moved;
		CHECK(balance(&c, acct) == before + moved);
		CHECK(balance(&c, c.custody) == custody);
	}
	CHECK(balance(&c, c.custody) == custody);
	mfx_release(&c.f);
}

CHECK_MAIN(CASE(custody_account_definition), CASE(deposit_moves_to_custody), CASE(deposit_refusals),
           CASE(withdraw_releases), CASE(withdraw_refusals), CASE(withdraw_unanswered),
           CASE(withdraw_replay), CASE(transfer_to_custody_refused), CASE(random_conservation))
