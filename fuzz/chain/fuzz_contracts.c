/* Contracts call payloads and the custody consumer; the first byte (mod 4) picks the target:
 *   0 deploy        the call's payload check; an accepted deploy re-encodes to the same bytes
 *   1 push_command  the call's payload check
 *   2 deposit       the call's payload check; an accepted deposit re-encodes to the same bytes
 *   3 withdraw      flags u8 ‖ custody balance u128 ‖ message payload: the payload decoder (round
 *                   trip), then the "^contracts/withdraw" consumer on a state holding that custody
 *                   balance: a contract origin with a well-formed payload is answered exactly once
 *                   with its ref, the PHA moves only when the answer says released, and the sum
 *                   of custody and destination never changes. Flags: 1 a worker origin, 2 the
 *                   destination replaced by the contract's own custody account, 4 a destination
 *                   holding nearly 2^128 - 1 (so a release can overflow it). */
#include <stdint.h>

#include "../fuzz_util.h"
#include "chain/registry_int.h"
#include "fuzz_call.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void deploy(const uint8_t *b, size_t n)
{
	if (fuzz_check_call(RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_DEPLOY, b, n) == TX_BAD_PAYLOAD)
		return;
	struct dec d;
	struct enc e;
	size_t code_len, salt_len, args_len;
	char code[CONTRACTS_CODE_MAX + 1] = {0};
	dec_init(&d, b, n);
	uint32_t cluster = dec_u32(&d);
	const uint8_t *c = dec_bytes(&d, &code_len, CONTRACTS_CODE_MAX);
	const uint8_t *salt = dec_bytes(&d, &salt_len, CONTRACTS_SALT_MAX);
	const uint8_t *args = dec_bytes(&d, &args_len, CONTRACTS_ARGS_MAX);
	if (!c || !salt || !args || dec_finish(&d) != CODEC_OK)
		abort(); /* the payload check accepted it */
	memcpy(code, c, code_len);
	enc_init(&e, n);
	contracts_deploy_payload(&e, cluster, code, salt, salt_len, args, args_len);
	fuzz_same_or_abort(&e, b, n);
	static const uint8_t deployer[32] = {1};
	uint8_t id[32];
	contracts_id(id, deployer, cluster, code, salt, salt_len);
}

static void push(const uint8_t *b, size_t n)
{
	(void)fuzz_check_call(RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_PUSH_COMMAND, b, n);
}

static void deposit(const uint8_t *b, size_t n)
{
	enum tx_result r = fuzz_check_call(RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_DEPOSIT, b, n);
	if (r == TX_BAD_PAYLOAD || r == TX_ZERO_AMOUNT)
		return;
	struct dec d;
	uint8_t id[32], again[CONTRACTS_DEPOSIT_PAYLOAD_LEN];
	dec_init(&d, b, n);
	dec_raw(&d, id, 32);
	u128 amount = dec_u128(&d);
	if (dec_finish(&d) != CODEC_OK || amount == 0)
		abort(); /* the payload check accepted it */
	contracts_deposit_payload(again, id, amount);
	if (n != sizeof(again) || memcmp(again, b, n) != 0)
		abort();
}

static u128 balance(struct state_overlay *o, const uint8_t pk[32])
{
	struct account a;
	bool exists;
	if (runtime_account_load(o, pk, &a, &exists) != TX_OK)
		abort();
	return a.free;
}

/* The only outbound message the consumer may leave: the answer to ref. Returns its result. */
static uint32_t the_answer(struct state_overlay *o, const uint8_t id[32], uint64_t ref)
{
	struct enc list;
	struct dec d;
	struct mq_message m;
	uint8_t root[32];
	char topic[CONTRACTS_TOPIC_LEN + 1];
	size_t len = 0;
	enc_init(&list, 1024);
	if (mq_block_finish(o, &list, root) != STATE_OK)
		abort();
	dec_init(&d, list.buf, list.len);
	if (dec_uleb(&d, 1) != 1)
		abort();
	const uint8_t *item = dec_bytes(&d, &len, MQ_MESSAGE_MAX);
	if (!item || dec_finish(&d) != CODEC_OK || mq_message_decode(&m, item, len) != CODEC_OK)
		abort();
	contracts_message_topic(topic, id);
	struct dec p;
	dec_init(&p, m.payload, m.payload_len);
	if (m.origin.kind != MQ_ORIGIN_MODULE || strcmp(m.origin.module, "contracts") != 0 ||
	    m.topic_len != CONTRACTS_TOPIC_LEN || memcmp(m.topic, topic, m.topic_len) != 0 ||
	    dec_u8(&p) != CONTRACTS_MSG_WITHDRAWN || dec_u64(&p) != ref)
		abort();
	uint32_t result = dec_u32(&p);
	if (dec_finish(&p) != CODEC_OK)
		abort();
	enc_release(&list);
	return result;
}

/* Gives pk an account holding free; free 0 leaves it absent. */
static void fund(struct state_overlay *o, const uint8_t pk[32], u128 free)
{
	if (free && runtime_account_store(o, pk, &(struct account){0, free}) != TX_OK)
		abort();
}

static bool is_refusal(uint32_t r)
{
	return r == TX_ZERO_AMOUNT || r == TX_CALL_CUSTODY_ACCOUNT ||
	       r == TX_CALL_INSUFFICIENT_BALANCE || r == TX_CALL_BELOW_ED || r == TX_CALL_OVERFLOW;
}

/* After the consumer answered result: released (custody - amount, dest + amount, sum kept) or
 * a refusal with nothing moved. */
static void check_release(struct state_overlay *o, uint32_t result, const uint8_t custody[32],
                          u128 custody_before, const uint8_t dest[32], u128 dest_before,
                          u128 amount, u128 sum)
{
	bool own = memcmp(dest, custody, 32) == 0;
	if ((result != 0 && !is_refusal(result)) || ((result == TX_ZERO_AMOUNT) != (amount == 0)) ||
	    (own && amount && result != TX_CALL_CUSTODY_ACCOUNT))
		abort();
	u128 moved = result == 0 ? amount : 0;
	u128 c = balance(o, custody), d = balance(o, dest);
	if (c != custody_before - moved || (!own && (d != dest_before + moved || c + d != sum)))
		abort();
}

static void consume(uint8_t flags, u128 custody_balance, const uint8_t *payload, size_t n)
{
	static const uint8_t id[32] = {7};
	struct runtime_params p = {.existential_deposit = 1000};
	struct state_overlay o;
	uint8_t custody[32], dest[32] = {0}, pl[CONTRACTS_WITHDRAW_PAYLOAD_LEN];
	uint64_t ref = 0;
	u128 amount = 0;
	state_overlay_init(&o, NULL, NULL);
	struct runtime_ctx c = {&p, &o, NULL, 1, NULL};
	contracts_custody_account(custody, id);
	if (contracts_custody_record(&o, id) != TX_OK)
		abort();
	fund(&o, custody, custody_balance);
	if ((flags & 2) && n == sizeof(pl)) {
		memcpy(pl, payload, n);
		memcpy(pl + 8, custody, 32);
		payload = pl;
	}
	struct mq_message m = {
	    .origin = {.kind = flags & 1 ? MQ_ORIGIN_WORKER : MQ_ORIGIN_CONTRACT},
	    .topic = (const uint8_t *)CONTRACTS_TOPIC_WITHDRAW,
	    .topic_len = strlen(CONTRACTS_TOPIC_WITHDRAW),
	    .payload = payload,
	    .payload_len = n};
	memcpy(m.origin.id, id, 32);
	bool ok = contracts_withdraw_decode(payload, n, &ref, dest, &amount);
	if ((flags & 4) && ok && memcmp(dest, custody, 32) != 0)
		fund(&o, dest, (u128)-1 - custody_balance / 2);
	u128 before = balance(&o, dest), sum = custody_balance + before; /* mod 2^128 */
	enum tx_result r = contracts_on_withdraw(&c, &m);
	if (m.origin.kind != MQ_ORIGIN_CONTRACT || !ok) {
		if (r != (m.origin.kind != MQ_ORIGIN_CONTRACT ? TX_CALL_MQ_BAD_ORIGIN
		                                              : TX_CALL_MQ_BAD_MESSAGE))
			abort();
	} else {
		if (r != TX_OK)
			abort();
		check_release(&o, the_answer(&o, id, ref), custody, custody_balance, dest, before,
		              amount, sum);
	}
	state_overlay_release(&o);
}

static void withdraw(const uint8_t *b, size_t n)
{
	struct dec d;
	uint64_t ref;
	uint8_t dest[32], again[CONTRACTS_WITHDRAW_PAYLOAD_LEN];
	u128 amount;
	if (n < 1 + 16)
		return;
	dec_init(&d, b + 1, 16);
	u128 custody_balance = dec_u128(&d) >> 1; /* so custody + dest cannot overflow the sum */
	const uint8_t *pl = b + 17;
	size_t pn = n - 17;
	if (contracts_withdraw_decode(pl, pn, &ref, dest, &amount)) {
		contracts_withdraw_payload(again, ref, dest, amount);
		if (pn != sizeof(again) || memcmp(again, pl, pn) != 0)
			abort();
	}
	consume(b[0], custody_balance, pl, pn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const targets[])(const uint8_t *, size_t) = {deploy, push, deposit, withdraw};
	if (size == 0)
		return 0;
	targets[data[0] % 4](data + 1, size - 1);
	return 0;
}
