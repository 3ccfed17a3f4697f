/*
 * Runtime and state overlay tests: exact fee and balance arithmetic, nonce rules, existential
 * deposit and keep-alive, overflow, admission vs execution failures, dispatch errors, savepoints
 * (including a randomised differential test against a model) and the overlay at block scale.
 */
#include "check.h"

#include "chainfix.h"

#include <inttypes.h>

#include "base/amount.h"
#include "base/hex.h"
#include "chain/memstate.h"
#include "chain/runtime.h"
#include "chain/state.h"
#include "chain/tx.h"
#include "crypto/devkeys.h"
#include "crypto/hash.h"

#define PHA        AMOUNT_ONE_PHA
#define ED         (PHA / 100)
#define HEIGHT     10
#define REMARK_FEE ((u128)310000000) /* 10-byte remark: 1e8 + 190 B * 1e6 + 20000 * 1e3 */
#define XFER_FEE   ((u128)378000000) /* transfer: 1e8 + 228 B * 1e6 + 50000 * 1e3 */

struct fx {
	struct memstate mem;
	struct runtime_params p;
	uint8_t alice[32], bob[32], charlie[32], dave[32];
	uint8_t remark[SYSTEM_REMARK_MAX + 1];
	uint8_t payload[BALANCES_TRANSFER_PAYLOAD_LEN + 1];
};

static void dev_pk(uint8_t pk[32], const char *name)
{
	uint8_t sk[64];
	CHECK(devkeys_keypair(name, pk, sk));
}

static void set_account(struct fx *f, const uint8_t pk[32], uint64_t nonce, u128 free)
{
	chainfix_put_account(&f->mem, pk, nonce, free);
}

static int get_account(struct fx *f, const uint8_t pk[32], struct account *a)
{
	struct state_reader r = mem_reader(&f->mem);
	return runtime_account_get(&r, pk, a);
}

static u128 balance(struct fx *f, const uint8_t pk[32])
{
	struct account a;
	CHECK(get_account(f, pk, &a) >= 0);
	return a.free;
}

static uint64_t nonce_of(struct fx *f, const uint8_t pk[32])
{
	struct account a;
	CHECK(get_account(f, pk, &a) >= 0);
	return a.nonce;
}

static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	chainfix_params(&f->p, "x");
	dev_pk(f->alice, "alice");
	dev_pk(f->bob, "bob");
	dev_pk(f->charlie, "charlie");
	dev_pk(f->dave, "dave");
	memcpy(f->p.sudo, f->alice, 32);
	set_account(f, f->alice, 0, 10 * PHA);
	set_account(f, f->p.treasury, 0, PHA);
}

static void base_tx(struct fx *f, struct tx *tx, const uint8_t from[32], uint64_t nonce)
{
	memset(tx, 0, sizeof(*tx));
	tx->version = TX_VERSION;
	memcpy(tx->chain_id, f->p.chain_id, 32);
	memcpy(tx->sender, from, 32);
	tx->nonce = nonce;
	tx->valid_until = HEIGHT + 100;
	tx->max_fee = PHA;
}

static void remark_tx(struct fx *f, struct tx *tx, const uint8_t from[32], uint64_t nonce,
                      size_t len)
{
	base_tx(f, tx, from, nonce);
	tx->module = RUNTIME_MODULE_SYSTEM;
	tx->function = SYSTEM_FN_REMARK;
	memset(f->remark, 'r', sizeof(f->remark));
	tx->payload = f->remark;
	tx->payload_len = len;
}

static void transfer_tx(struct fx *f, struct tx *tx, const uint8_t from[32], uint64_t nonce,
                        const uint8_t to[32], u128 amount)
{
	base_tx(f, tx, from, nonce);
	tx->module = RUNTIME_MODULE_BALANCES;
	tx->function = BALANCES_FN_TRANSFER;
	balances_transfer_payload(f->payload, to, amount);
	tx->payload = f->payload;
	tx->payload_len = BALANCES_TRANSFER_PAYLOAD_LEN;
}

static size_t tx_len(const struct tx *tx)
{
	struct enc e;
	enc_init(&e, TX_MAX_BYTES);
	tx_encode(&e, tx);
	CHECK(enc_finish(&e) == CODEC_OK);
	size_t n = e.len;
	enc_release(&e);
	return n;
}

static enum tx_result check(struct fx *f, const struct tx *tx, struct tx_check *c)
{
	struct state_reader r = mem_reader(&f->mem);
	return runtime_check_tx(&f->p, &r, tx, tx_len(tx), HEIGHT, c);
}

/* Applies tx on an overlay over f->mem and commits the result; a skipped tx must leave the
 * overlay empty. */
static enum tx_result apply_lim(struct fx *f, const struct tx *tx, const uint8_t author[32],
                                struct tx_outcome *out, const struct state_limits *lim)
{
	struct state_reader r = mem_reader(&f->mem);
	struct state_overlay o;
	state_overlay_init(&o, &r, lim);
	enum tx_result res = runtime_apply_tx(&f->p, &o, tx, tx_len(tx), HEIGHT, author, out);
	if (res != TX_OK)
		CHECK(state_overlay_count(&o) == 0);
	CHECK(mem_commit(&f->mem, &o));
	state_overlay_release(&o);
	return res;
}

static enum tx_result apply(struct fx *f, const struct tx *tx, struct tx_outcome *out)
{
	return apply_lim(f, tx, f->charlie, out, NULL);
}

static void fee_exact_remark(void)
{
	struct fx f;
	struct tx tx;
	struct tx_check c;
	struct tx_outcome out;
	u128 fee;
	uint64_t weight;
	fx_init(&f);
	remark_tx(&f, &tx, f.alice, 0, 10);
	CHECK(tx_len(&tx) == 190);
	CHECK(runtime_fee(&f.p, &tx, 190, &fee, &weight) == TX_OK);
	CHECK(fee == REMARK_FEE && weight == 20000);
	CHECK(check(&f, &tx, &c) == TX_OK);
	CHECK(c.fee == REMARK_FEE && c.ready && c.account_nonce == 0 && c.balance == 10 * PHA);
	CHECK(apply(&f, &tx, &out) == TX_OK);
	CHECK(out.result == TX_OK && out.fee == REMARK_FEE && out.tip == 0);
	CHECK(balance(&f, f.alice) == (u128)9999690000000ULL);
	CHECK(nonce_of(&f, f.alice) == 1);
	CHECK(balance(&f, f.p.treasury) == (u128)1000310000000ULL);
	struct account a;
	CHECK(get_account(&f, f.charlie, &a) == 0); /* no tip: the author gets nothing */
	mem_release(&f.mem);
}

static void transfer_exact(void)
{
	struct fx f;
	struct tx tx;
	struct tx_outcome out;
	fx_init(&f);
	transfer_tx(&f, &tx, f.alice, 0, f.bob, PHA);
	tx.tip = 2 * ED; /* >= ED: creates the author's account */
	CHECK(tx_len(&tx) == 228);
	CHECK(apply(&f, &tx, &out) == TX_OK);
	CHECK(out.result == TX_OK && out.fee == XFER_FEE && out.tip == 2 * ED);
	CHECK(balance(&f, f.alice) == (u128)8979622000000ULL);
	CHECK(balance(&f, f.bob) == PHA);
	CHECK(nonce_of(&f, f.bob) == 0);
	CHECK(balance(&f, f.p.treasury) == (u128)1000378000000ULL);
	CHECK(balance(&f, f.charlie) == (u128)20000000000ULL);
	/* Conservation: nothing minted or burnt. */
	CHECK(balance(&f, f.alice) + balance(&f, f.bob) + balance(&f, f.p.treasury) +
	          balance(&f, f.charlie) ==
	      11 * PHA);
	mem_release(&f.mem);
}

static void tip_goes_to_treasury_without_author_account(void)
{
	struct fx f;
	struct tx tx;
	struct tx_outcome out;
	struct account a;
	fx_init(&f);
	remark_tx(&f, &tx, f.alice, 0, 10);
	tx.tip = ED - 1; /* would create charlie below ED */
	CHECK(apply(&f, &tx, &out) == TX_OK && out.tip == ED - 1);
	CHECK(get_account(&f, f.charlie, &a) == 0);
	CHECK(balance(&f, f.p.treasury) == PHA + REMARK_FEE + ED - 1);
	/* An existing author takes any tip. */
	set_account(&f, f.charlie, 0, ED);
	remark_tx(&f, &tx, f.alice, 1, 10);
	tx.tip = 1;
	CHECK(apply(&f, &tx, &out) == TX_OK);
	CHECK(balance(&f, f.charlie) == ED + 1);
	mem_release(&f.mem);
}

static void nonces(void)
{
	struct fx f;
	struct tx tx;
	struct tx_check c;
	struct tx_outcome out;
	char msg[160];
	fx_init(&f);
	set_account(&f, f.alice, 5, 10 * PHA);
	remark_tx(&f, &tx, f.alice, 3, 10);
	CHECK(check(&f, &tx, &c) == TX_NONCE_STALE && c.account_nonce == 5);
	CHECK_STR(runtime_describe(msg, sizeof(msg), TX_NONCE_STALE, &c),
	          "nonce 3 is stale: account nonce is 5");
	tx.nonce = 7;
	CHECK(check(&f, &tx, &c) == TX_OK && !c.ready && c.account_nonce == 5);
	CHECK(apply(&f, &tx, &out) == TX_NONCE_FUTURE);
	CHECK_STR(runtime_describe(msg, sizeof(msg), TX_NONCE_FUTURE, &out.check),
	          "nonce 7 is in the future: account nonce is 5");
	tx.nonce = 5;
	CHECK(check(&f, &tx, &c) == TX_OK && c.ready);
	CHECK(apply(&f, &tx, &out) == TX_OK);
	CHECK(nonce_of(&f, f.alice) == 6);
	CHECK(apply(&f, &tx, &out) == TX_NONCE_STALE); /* replay */
	CHECK(nonce_of(&f, f.alice) == 6);
	set_account(&f, f.alice, UINT64_MAX, 10 * PHA);
	tx.nonce = UINT64_MAX;
	CHECK(apply(&f, &tx, &out) == TX_BALANCE_OVERFLOW);
	mem_release(&f.mem);
}

static void fee_keep_alive_at_admission(void)
{
	struct fx f;
	struct tx tx;
	struct tx_check c;
	struct tx_outcome out;
	char msg[200];
	fx_init(&f);
	remark_tx(&f, &tx, f.alice, 0, 10);
	set_account(&f, f.alice, 0, REMARK_FEE + ED - 1);
	CHECK(check(&f, &tx, &c) == TX_FEE_KEEP_ALIVE);
	CHECK(c.need == REMARK_FEE + ED && c.have == REMARK_FEE + ED - 1);
	CHECK(strstr(runtime_describe(msg, sizeof(msg), TX_FEE_KEEP_ALIVE, &c),
	             "needs 0.01031 PHA") != NULL);
	CHECK(apply(&f, &tx, &out) == TX_FEE_KEEP_ALIVE);
	set_account(&f, f.alice, 0, REMARK_FEE - 1);
	CHECK(check(&f, &tx, &c) == TX_CANNOT_PAY_FEE);
	CHECK_STR(runtime_describe(msg, sizeof(msg), TX_CANNOT_PAY_FEE, &c),
	          "cannot pay fee + tip of 0.00031 PHA: free balance is 0.000309999999 PHA");
	set_account(&f, f.alice, 0, REMARK_FEE + ED);
	CHECK(check(&f, &tx, &c) == TX_OK);
	CHECK(apply(&f, &tx, &out) == TX_OK);
	CHECK(balance(&f, f.alice) == ED);
	/* The tip counts too. */
	remark_tx(&f, &tx, f.alice, 1, 10);
	set_account(&f, f.alice, 1, REMARK_FEE + ED);
	tx.tip = 1;
	CHECK(check(&f, &tx, &c) == TX_FEE_KEEP_ALIVE);
	/* A sender that does not exist. */
	remark_tx(&f, &tx, f.dave, 0, 10);
	CHECK(check(&f, &tx, &c) == TX_NO_ACCOUNT && !c.account_exists);
	CHECK(strstr(runtime_describe(msg, sizeof(msg), TX_NO_ACCOUNT, &c), "0.01 PHA") != NULL);
	mem_release(&f.mem);
}

static void transfer_keep_alive_and_ed(void)
{
	struct fx f;
	struct tx tx;
	struct tx_outcome out;
	struct account a;
	char msg[200];
	fx_init(&f);
	/* Leaves alice one unit below ED: included, fee charged, transfer reverted. */
	transfer_tx(&f, &tx, f.alice, 0, f.bob, 10 * PHA - XFER_FEE - ED + 1);
	CHECK(apply(&f, &tx, &out) == TX_OK && out.result == TX_CALL_KEEP_ALIVE);
	CHECK(tx_result_is_call_error(out.result));
	CHECK(balance(&f, f.alice) == 10 * PHA - XFER_FEE && nonce_of(&f, f.alice) == 1);
	CHECK(get_account(&f, f.bob, &a) == 0);
	CHECK(strstr(runtime_describe(msg, sizeof(msg), out.result, &out.check),
	             "below the existential deposit") != NULL);
	/* Leaves exactly ED. */
	transfer_tx(&f, &tx, f.alice, 1, f.bob, 10 * PHA - 2 * XFER_FEE - ED);
	CHECK(apply(&f, &tx, &out) == TX_OK && out.result == TX_OK);
	CHECK(balance(&f, f.alice) == ED);
	CHECK(balance(&f, f.bob) == 10 * PHA - 2 * XFER_FEE - ED);
	/* Creating an account needs at least ED; topping one up does not. */
	set_account(&f, f.alice, 2, 10 * PHA);
	transfer_tx(&f, &tx, f.alice, 2, f.charlie, ED - 1);
	CHECK(apply(&f, &tx, &out) == TX_OK && out.result == TX_CALL_BELOW_ED);
	CHECK_STR(runtime_describe(msg, sizeof(msg), out.result, &out.check),
	          "amount 0.009999999999 PHA is below the existential deposit 0.01 PHA needed to "
	          "create the destination account");
	CHECK(get_account(&f, f.charlie, &a) == 0);
	transfer_tx(&f, &tx, f.alice, 3, f.charlie, ED);
	CHECK(apply(&f, &tx, &out) == TX_OK && out.result == TX_OK);
	transfer_tx(&f, &tx, f.alice, 4, f.charlie, 1);
	CHECK(apply(&f, &tx, &out) == TX_OK && out.result == TX_OK);
	CHECK(balance(&f, f.charlie) == ED + 1);
	mem_release(&f.mem);
}

static void insufficient_at_execution(void)
{
	struct fx f;
	struct tx tx;
	struct tx_check c;
	struct tx_outcome out;
	char msg[200];
	fx_init(&f);
	/* Admission refuses a transfer the balance cannot cover, with the execution-time message.
	 */
	transfer_tx(&f, &tx, f.alice, 0, f.bob, 100 * PHA);
	CHECK(check(&f, &tx, &c) == TX_CALL_INSUFFICIENT_BALANCE);
	CHECK_STR(runtime_describe(msg, sizeof(msg), TX_CALL_INSUFFICIENT_BALANCE, &c),
	          "amount 100 PHA exceeds the free balance 9.999622 PHA (after the fee)");
	transfer_tx(&f, &tx, f.alice, 0, f.bob, 10 * PHA - XFER_FEE);
	CHECK(check(&f, &tx, &c) == TX_CALL_KEEP_ALIVE);
	/* Should the balance drop between admission and execution, execution records the failure.
	 */
	transfer_tx(&f, &tx, f.alice, 0, f.bob, 100 * PHA);
	CHECK(apply(&f, &tx, &out) == TX_OK && out.result == TX_CALL_INSUFFICIENT_BALANCE);
	CHECK(out.fee == XFER_FEE);
	CHECK(balance(&f, f.alice) == 10 * PHA - XFER_FEE && nonce_of(&f, f.alice) == 1);
	CHECK(balance(&f, f.p.treasury) == PHA + XFER_FEE);
	CHECK_STR(runtime_describe(msg, sizeof(msg), out.result, &out.check),
	          "amount 100 PHA exceeds the free balance 9.999622 PHA (after the fee)");
	/* Admitted, then the balance drops before execution: the producer must skip it. */
	transfer_tx(&f, &tx, f.alice, 1, f.bob, PHA);
	CHECK(check(&f, &tx, &c) == TX_OK);
	set_account(&f, f.alice, 1, XFER_FEE - 1);
	CHECK(apply(&f, &tx, &out) == TX_CANNOT_PAY_FEE);
	CHECK(balance(&f, f.alice) == XFER_FEE - 1 && nonce_of(&f, f.alice) == 1);
	mem_release(&f.mem);
}

static void overflows(void)
{
	struct fx f;
	struct tx tx;
	struct tx_check c;
	struct tx_outcome out;
	char msg[200];
	fx_init(&f);
	remark_tx(&f, &tx, f.alice, 0, 10);
	tx.tip = (u128)-1;
	tx.max_fee = (u128)-1;
	CHECK(check(&f, &tx, &c) == TX_FEE_OVERFLOW);
	tx.tip = PHA;
	tx.max_fee = PHA;
	CHECK(check(&f, &tx, &c) == TX_FEE_ABOVE_MAX);
	CHECK(c.need == PHA + REMARK_FEE && c.have == PHA);
	CHECK_STR(runtime_describe(msg, sizeof(msg), TX_FEE_ABOVE_MAX, &c),
	          "fee + tip is 1.00031 PHA but max_fee is 1 PHA");
	tx.tip = 0;
	tx.max_fee = REMARK_FEE; /* exactly enough */
	CHECK(check(&f, &tx, &c) == TX_OK);
	f.p.fee_per_byte = (u128)-1 / 100;
	CHECK(check(&f, &tx, &c) == TX_FEE_OVERFLOW);
	mem_release(&f.mem);
	fx_init(&f);
	/* Destination overflow is a call error. */
	set_account(&f, f.bob, 0, (u128)-1 - 5);
	transfer_tx(&f, &tx, f.alice, 0, f.bob, 10);
	CHECK(apply(&f, &tx, &out) == TX_OK && out.result == TX_CALL_OVERFLOW);
	CHECK(balance(&f, f.bob) == (u128)-1 - 5);
	/* Crediting the fee overflows: the tx is skipped. */
	set_account(&f, f.p.treasury, 0, (u128)-1);
	transfer_tx(&f, &tx, f.alice, 1, f.bob, 1);
	CHECK(apply(&f, &tx, &out) == TX_BALANCE_OVERFLOW);
	CHECK(nonce_of(&f, f.alice) == 1);
	mem_release(&f.mem);
}

static void unknown_calls_and_bad_payloads(void)
{
	struct fx f;
	struct tx tx;
	struct tx_check c;
	char msg[160];
	fx_init(&f);
	remark_tx(&f, &tx, f.alice, 0, 10);
	tx.module = 9;
	CHECK(check(&f, &tx, &c) == TX_UNKNOWN_MODULE);
	CHECK_STR(runtime_describe(msg, sizeof(msg), TX_UNKNOWN_MODULE, &c),
	          "unknown module: module 9 function 0");
	tx.module = RUNTIME_MODULE_BALANCES;
	tx.function = 7;
	CHECK(check(&f, &tx, &c) == TX_UNKNOWN_FUNCTION);
	CHECK(runtime_call_name(1, 0) && strcmp(runtime_call_name(1, 0), "balances.transfer") == 0);
	CHECK(runtime_call_name(0, 0) && strcmp(runtime_call_name(0, 0), "system.remark") == 0);
	CHECK(runtime_call_name(1, 7) == NULL && runtime_call_name(200, 0) == NULL);

	remark_tx(&f, &tx, f.alice, 0, SYSTEM_REMARK_MAX + 1);
	CHECK(check(&f, &tx, &c) == TX_BAD_PAYLOAD);
	CHECK_STR(runtime_describe(msg, sizeof(msg), TX_BAD_PAYLOAD, &c),
	          "malformed payload for system.remark");
	remark_tx(&f, &tx, f.alice, 0, SYSTEM_REMARK_MAX);
	CHECK(check(&f, &tx, &c) == TX_OK);
	remark_tx(&f, &tx, f.alice, 0, 0);
	CHECK(check(&f, &tx, &c) == TX_OK);

	transfer_tx(&f, &tx, f.alice, 0, f.bob, PHA);
	tx.payload_len = BALANCES_TRANSFER_PAYLOAD_LEN - 1;
	CHECK(check(&f, &tx, &c) == TX_BAD_PAYLOAD);
	tx.payload_len = BALANCES_TRANSFER_PAYLOAD_LEN + 1;
	CHECK(check(&f, &tx, &c) == TX_BAD_PAYLOAD);
	transfer_tx(&f, &tx, f.alice, 0, f.bob, 0);
	CHECK(check(&f, &tx, &c) == TX_ZERO_AMOUNT);
	transfer_tx(&f, &tx, f.alice, 0, f.alice, PHA);
	CHECK(check(&f, &tx, &c) == TX_SELF_TRANSFER);
	struct tx_outcome out;
	CHECK(apply(&f, &tx, &out) == TX_SELF_TRANSFER);
	CHECK(nonce_of(&f, f.alice) == 0);
	mem_release(&f.mem);
}

static void chain_and_mortality(void)
{
	struct fx f;
	struct tx tx;
	struct tx_check c;
	char msg[160];
	fx_init(&f);
	remark_tx(&f, &tx, f.alice, 0, 10);
	tx.chain_id[31] ^= 1;
	CHECK(check(&f, &tx, &c) == TX_WRONG_CHAIN);
	tx.chain_id[31] ^= 1;
	tx.valid_until = HEIGHT - 1;
	CHECK(check(&f, &tx, &c) == TX_EXPIRED);
	CHECK_STR(runtime_describe(msg, sizeof(msg), TX_EXPIRED, &c),
	          "tx expired: valid_until is 9, block height 10 (at most 4096 blocks ahead)");
	tx.valid_until = HEIGHT;
	CHECK(check(&f, &tx, &c) == TX_OK);
	tx.valid_until = HEIGHT + TX_MAX_MORTALITY;
	CHECK(check(&f, &tx, &c) == TX_OK);
	tx.valid_until = HEIGHT + TX_MAX_MORTALITY + 1;
	CHECK(check(&f, &tx, &c) == TX_VALID_UNTIL_TOO_FAR);
	tx.valid_until = UINT64_MAX;
	CHECK(check(&f, &tx, &c) == TX_VALID_UNTIL_TOO_FAR);
	struct tx_outcome out;
	CHECK(apply(&f, &tx, &out) == TX_VALID_UNTIL_TOO_FAR);
	mem_release(&f.mem);
}

static void storage_errors_and_full_state(void)
{
	struct fx f;
	struct tx tx;
	struct tx_check c;
	struct tx_outcome out;
	fx_init(&f);
	transfer_tx(&f, &tx, f.alice, 0, f.bob, PHA);
	f.mem.fail = true;
	CHECK(check(&f, &tx, &c) == TX_STORAGE);
	f.mem.fail = false;
	/* Three accounts are written (alice, treasury, bob): a cap of two fails at bob. */
	struct state_limits lim = {.max_entries = 2};
	CHECK(apply_lim(&f, &tx, f.charlie, &out, &lim) == TX_STATE_FULL);
	CHECK(nonce_of(&f, f.alice) == 0);
	lim.max_entries = 3;
	CHECK(apply_lim(&f, &tx, f.charlie, &out, &lim) == TX_OK && out.result == TX_OK);
	/* A malformed account value. */
	uint8_t key[RUNTIME_ACCOUNT_KEY_LEN], bad[RUNTIME_ACCOUNT_VALUE_LEN - 1] = {0};
	runtime_account_key(key, f.alice);
	mem_put(&f.mem, key, sizeof(key), bad, sizeof(bad));
	CHECK(check(&f, &tx, &c) == TX_STORAGE);
	struct account a;
	CHECK(get_account(&f, f.alice, &a) == -1);
	mem_release(&f.mem);
}

static void params_roundtrip(void)
{
	struct fx f;
	struct runtime_params q;
	uint8_t buf[512];
	struct enc e;
	fx_init(&f);
	enc_init_fixed(&e, buf, sizeof(buf));
	runtime_params_encode(&e, &f.p);
	CHECK(enc_finish(&e) == CODEC_OK && e.len == 1 + 32 + 2 + 8 + 4 * 16 + 3 * 32);
	memset(&q, 0, sizeof(q)); /* padding, for the memcmp */
	CHECK(runtime_params_decode(&q, buf, e.len) == CODEC_OK);
	CHECK(memcmp(&q, &f.p, sizeof(q)) == 0);
	CHECK(runtime_params_decode(&q, buf, e.len - 1) == CODEC_TRUNCATED);
	buf[e.len] = 0;
	CHECK(runtime_params_decode(&q, buf, e.len + 1) == CODEC_TRAILING);
	buf[0] = 2;
	CHECK(runtime_params_decode(&q, buf, e.len) == CODEC_NONCANONICAL);

	struct state_reader r = mem_reader(&f.mem);
	struct state_overlay o;
	CHECK(runtime_params_load(&r, &q) == 0);
	state_overlay_init(&o, &r, NULL);
	CHECK(runtime_params_store(&o, &f.p) == STATE_OK);
	CHECK(mem_commit(&f.mem, &o));
	state_overlay_release(&o);
	memset(&q, 0, sizeof(q));
	CHECK(runtime_params_load(&r, &q) == 1 && memcmp(&q, &f.p, sizeof(q)) == 0);
	f.mem.fail = true;
	CHECK(runtime_params_load(&r, &q) == -1);
	f.mem.fail = false;

	/* Account value: exactly 24 bytes, nonce then free, little-endian. */
	struct account a = {0x0102030405060708ULL, ((u128)1 << 64) + 9}, b;
	uint8_t v[RUNTIME_ACCOUNT_VALUE_LEN];
	runtime_account_encode(v, &a);
	CHECK(v[0] == 0x08 && v[7] == 0x01 && v[8] == 9 && v[16] == 1 && v[23] == 0);
	CHECK(runtime_account_decode(&b, v, sizeof(v)) && b.nonce == a.nonce && b.free == a.free);
	CHECK(!runtime_account_decode(&b, v, sizeof(v) - 1));
	uint8_t pk[32];
	runtime_module_account(pk, "treasury");
	CHECK(memcmp(pk, f.p.treasury, 32) == 0);
	/* Known answers, computed independently (Python hashlib.blake2b over len(tag) ‖ tag ‖
	 * name). */
	char hex[65];
	CHECK_STR(hex_encode(hex, pk, 32),
	          "cede42c22f22edb3305e939db0fceb172dd9794de73f4f77a3b3c587bcb3f84e");
	runtime_module_account(pk, "mining-reward-pool");
	CHECK_STR(hex_encode(hex, pk, 32),
	          "b84a0bfd552588281f0db95a1e00a462c38190b858fb96cff3189886b92fcd98");
	/* The documented example value. */
	static const uint8_t doc_example[24] = {1, 0,    0,    0,    0,    0,    0,
	                                        0, 0x80, 0xf5, 0x2d, 0xbb, 0x2a, 0x08};
	a = (struct account){1, (u128)8979622000000ULL};
	runtime_account_encode(v, &a);
	CHECK_EQ_MEM(v, doc_example, 24);
	mem_release(&f.mem);
}

static void messages(void)
{
	char msg[160];
	for (int r = 0; r < 80; r++) {
		CHECK(tx_strerror((enum tx_result)r) != NULL);
		CHECK(runtime_describe(msg, sizeof(msg), (enum tx_result)r, NULL) == msg);
		CHECK(strlen(msg) > 0);
	}
	CHECK(strcmp(tx_strerror(TX_OK), "ok") == 0);
	CHECK(!tx_result_is_call_error(TX_OK) && !tx_result_is_call_error(TX_STATE_FULL));
	CHECK(tx_result_is_call_error(TX_CALL_BELOW_ED));
	runtime_describe(msg, 8, TX_CALL_KEEP_ALIVE, NULL); /* truncates, NUL-terminated */
	CHECK(strlen(msg) == 7);
}

/* Sum of the free balances of keys[0..n) read through o; checks each existing one holds >= ED. */
static u128 total_and_ed(struct state_overlay *o, uint8_t keys[][32], size_t n)
{
	struct state_reader r;
	u128 sum = 0;
	state_overlay_reader(o, &r);
	for (size_t i = 0; i < n; i++) {
		struct account a;
		int rc = runtime_account_get(&r, keys[i], &a);
		CHECK(rc >= 0);
		if (rc == 1)
			CHECK(a.free >= ED);
		sum += a.free;
	}
	return sum;
}

/* Random txs (senders with and without accounts, right and wrong nonces, amounts around the
 * balances, tips, remarks) in blocks: the supply is conserved, every account keeps ED, a skipped
 * tx changes nothing and an included one bumps its sender's nonce by one. */
static void random_txs_conserve_supply(void)
{
	enum { KEYS = 7, BLOCKS = 40, PER_BLOCK = 50 };
	struct fx f;
	uint8_t keys[KEYS + 1][32], sk[64];
	uint64_t rng = check_seed();
	fx_init(&f);
	for (int i = 0; i < KEYS - 1; i++)
		CHECK(devkeys_keypair(devkeys_names[i], keys[i], sk));
	memcpy(keys[KEYS - 1], f.p.treasury, 32);
	memset(keys[KEYS], 0x5a, 32); /* never funded at first */
	for (int i = 0; i < 4; i++)
		set_account(&f, keys[i], 0, ED + check_rand(&rng) % (3 * PHA));
	struct state_reader base = mem_reader(&f.mem);
	int included = 0, skipped = 0, failed_calls = 0;
	for (int b = 0; b < BLOCKS; b++) {
		struct state_overlay o;
		state_overlay_init(&o, &base, NULL);
		u128 supply = total_and_ed(&o, keys, KEYS + 1);
		for (int t = 0; t < PER_BLOCK; t++) {
			uint64_t x = check_rand(&rng);
			const uint8_t *from = keys[x % 6], *to = keys[(x >> 8) % (KEYS + 1)];
			struct account before, after;
			struct state_reader r;
			state_overlay_reader(&o, &r);
			CHECK(runtime_account_get(&r, from, &before) >= 0);
			uint64_t nonce = before.nonce + ((x >> 16) % 8 == 0 ? 1 : 0);
			struct tx tx;
			u128 amount =
			    ((x >> 20) % 4 == 0) ? before.free : check_rand(&rng) % PHA + 1;
			if ((x >> 24) % 3 == 0)
				remark_tx(&f, &tx, from, nonce, (x >> 28) % 64);
			else
				transfer_tx(&f, &tx, from, nonce, to, amount);
			tx.tip = (x >> 32) % 2 ? (u128)((x >> 40) % (2 * ED)) : 0;
			size_t count = state_overlay_count(&o);
			struct tx_outcome out;
			enum tx_result res = runtime_apply_tx(&f.p, &o, &tx, tx_len(&tx), HEIGHT,
			                                      keys[(x >> 48) % (KEYS + 1)], &out);
			CHECK(runtime_account_get(&r, from, &after) >= 0);
			if (res == TX_OK) {
				included++;
				failed_calls += out.result != TX_OK;
				CHECK(after.nonce == before.nonce + 1);
			} else {
				skipped++;
				CHECK(!tx_result_is_call_error(res));
				CHECK(state_overlay_count(&o) == count);
				CHECK(after.nonce == before.nonce && after.free == before.free);
			}
			CHECK(total_and_ed(&o, keys, KEYS + 1) == supply);
		}
		CHECK(mem_commit(&f.mem, &o));
		state_overlay_release(&o);
	}
	fprintf(stderr, "random txs: %d included (%d failed calls), %d skipped\n", included,
	        failed_calls, skipped);
	CHECK(included > 100 && skipped > 50 && failed_calls > 10);
	mem_release(&f.mem);
}

/* ---- state overlay ---- */

static const uint8_t *K(const char *s)
{
	return (const uint8_t *)s;
}

static bool reads(struct state_overlay *o, const char *key, const char *want)
{
	const uint8_t *v;
	size_t n;
	int rc = state_overlay_get(o, K(key), strlen(key), &v, &n);
	if (!want)
		return rc == 0;
	return rc == 1 && n == strlen(want) && memcmp(v, want, n) == 0;
}

static void put(struct state_overlay *o, const char *key, const char *val)
{
	CHECK(state_overlay_put(o, K(key), strlen(key), K(val), strlen(val)) == STATE_OK);
}

static void overlay_basics(void)
{
	struct memstate m = {0};
	mem_put(&m, K("base"), 4, K("B"), 1);
	mem_put(&m, K("gone"), 4, K("G"), 1);
	struct state_reader r = mem_reader(&m);
	struct state_overlay o;
	state_overlay_init(&o, &r, NULL);
	CHECK(reads(&o, "base", "B") && reads(&o, "nope", NULL));
	put(&o, "b", "2");
	put(&o, "ab", "1");
	put(&o, "a", "0");
	put(&o, "b", "22");
	CHECK(state_overlay_put(&o, K("empty"), 5, NULL, 0) == STATE_OK);
	CHECK(state_overlay_delete(&o, K("gone"), 4) == STATE_OK);
	CHECK(reads(&o, "b", "22") && reads(&o, "gone", NULL) && reads(&o, "empty", ""));
	CHECK(state_overlay_count(&o) == 5);
	const struct kv_write *w;
	size_t n;
	CHECK(state_overlay_export(&o, &w, &n) == STATE_OK && n == 5);
	static const char *const order[] = {"a", "ab", "b", "empty", "gone"};
	for (size_t i = 0; i < n && i < 5; i++) {
		CHECK(w[i].klen == strlen(order[i]) && memcmp(w[i].key, order[i], w[i].klen) == 0);
	}
	CHECK(w[4].value == NULL && w[3].value != NULL && w[3].vlen == 0);
	CHECK(w[2].vlen == 2 && memcmp(w[2].value, "22", 2) == 0);
	CHECK(mem_commit(&m, &o));
	state_overlay_release(&o);
	state_overlay_init(&o, &r, NULL);
	CHECK(reads(&o, "gone", NULL) && reads(&o, "ab", "1") && reads(&o, "base", "B"));
	m.fail = true;
	const uint8_t *v;
	CHECK(state_overlay_get(&o, K("base"), 4, &v, &n) == -1);
	state_overlay_release(&o);
	mem_release(&m);
}

static void overlay_savepoints(void)
{
	struct memstate m = {0};
	mem_put(&m, K("base"), 4, K("B"), 1);
	struct state_reader r = mem_reader(&m);
	struct state_overlay o;
	state_overlay_init(&o, &r, NULL);
	put(&o, "x", "1");
	state_overlay_savepoint(&o);
	put(&o, "x", "2");
	put(&o, "new", "n");
	CHECK(state_overlay_delete(&o, K("base"), 4) == STATE_OK);
	state_overlay_savepoint(&o);
	put(&o, "x", "3");
	put(&o, "new", "nn");
	put(&o, "inner", "i");
	CHECK(reads(&o, "x", "3") && reads(&o, "inner", "i"));
	state_overlay_rollback(&o);
	CHECK(reads(&o, "x", "2") && reads(&o, "new", "n") && reads(&o, "inner", NULL));
	CHECK(reads(&o, "base", NULL) && state_overlay_count(&o) == 3);
	state_overlay_savepoint(&o);
	put(&o, "x", "4");
	put(&o, "kept", "k");
	state_overlay_release_savepoint(&o);
	CHECK(reads(&o, "x", "4") && reads(&o, "kept", "k"));
	put(&o, "x", "5");
	state_overlay_rollback(&o); /* the outer one: everything since "x"="1" */
	CHECK(reads(&o, "x", "1") && reads(&o, "new", NULL) && reads(&o, "kept", NULL));
	CHECK(reads(&o, "base", "B") && state_overlay_count(&o) == 1);
	state_overlay_savepoint(&o);
	put(&o, "y", "1");
	put(&o, "x", "6");
	state_overlay_release_savepoint(&o);
	CHECK(reads(&o, "x", "6") && reads(&o, "y", "1") && state_overlay_count(&o) == 2);
	CHECK(o.n_undo == 0);
	state_overlay_release(&o);
	mem_release(&m);
}

static void overlay_caps(void)
{
	struct state_overlay o;
	struct state_limits lim = {.max_entries = 3, .max_bytes = 40};
	state_overlay_init(&o, NULL, &lim);
	put(&o, "a", "0123456789"); /* 11 bytes */
	put(&o, "b", "0123456789"); /* 22 */
	CHECK(state_overlay_put(&o, K("c"), 1, K("0123456789abcdefghij"), 20) == STATE_FULL);
	CHECK(reads(&o, "c", NULL) && state_overlay_count(&o) == 2);
	put(&o, "c", "0"); /* 24 bytes, 3 entries */
	CHECK(state_overlay_put(&o, K("d"), 1, K("0"), 1) == STATE_FULL);
	put(&o, "a", "01234567890123456789012"); /* 24 - 10 + 23 = 37 */
	CHECK(state_overlay_put(&o, K("a"), 1, K("0123456789012345678901234567"), 28) ==
	      STATE_FULL);
	CHECK(reads(&o, "a", "01234567890123456789012"));
	/* Inside a savepoint the old value is kept for rollback and counts. */
	state_overlay_savepoint(&o);
	CHECK(state_overlay_put(&o, K("b"), 1, K("0123"), 4) == STATE_FULL);
	CHECK(state_overlay_delete(&o, K("b"), 1) == STATE_OK);
	state_overlay_rollback(&o);
	CHECK(reads(&o, "b", "0123456789") && o.bytes == 37);
	state_overlay_release(&o);
}

/* Model of one key for the differential test: 0 untouched (reads base), 1 value, 2 deleted. */
struct model_key {
	int state;
	uint8_t v[8];
	size_t n;
};
#define MODEL_KEYS 40

static bool model_matches(struct state_overlay *o, const struct model_key *mk)
{
	for (int k = 0; k < MODEL_KEYS; k++) {
		uint8_t key[2] = {'k', (uint8_t)k};
		const uint8_t *v;
		size_t n;
		int rc = state_overlay_get(o, key, 2, &v, &n);
		if (mk[k].state == 1 && (rc != 1 || n != mk[k].n || memcmp(v, mk[k].v, n) != 0))
			return false;
		if (mk[k].state == 2 && rc != 0)
			return false;
		if (mk[k].state == 0 && rc != (k < 10 ? 1 : 0))
			return false;
	}
	return true;
}

static void overlay_random_vs_model(void)
{
	uint64_t rng = check_seed();
	long iters = check_iters(200);
	struct memstate base = {0};
	for (int k = 0; k < 10; k++) {
		uint8_t key[2] = {'k', (uint8_t)k};
		mem_put(&base, key, 2, K("base"), 4);
	}
	struct state_reader r = mem_reader(&base);
	for (long it = 0; it < iters; it++) {
		struct model_key stack[STATE_SP_MAX + 1][MODEL_KEYS];
		size_t depth = 0;
		struct state_overlay o;
		state_overlay_init(&o, &r, NULL);
		memset(stack[0], 0, sizeof(stack[0]));
		for (int step = 0; step < 300; step++) {
			uint64_t x = check_rand(&rng);
			int k = (int)((x >> 8) % MODEL_KEYS), op = (int)(x % 10);
			uint8_t key[2] = {'k', (uint8_t)k};
			struct model_key *mk = &stack[depth][k];
			if (op < 5) {
				mk->n = (size_t)((x >> 16) % 8);
				memcpy(mk->v, &x, mk->n);
				mk->state = 1;
				CHECK(state_overlay_put(&o, key, 2, mk->v, mk->n) == STATE_OK);
			} else if (op < 7) {
				mk->state = 2;
				CHECK(state_overlay_delete(&o, key, 2) == STATE_OK);
			} else if (op == 7 && depth < STATE_SP_MAX) {
				memcpy(stack[depth + 1], stack[depth], sizeof(stack[0]));
				depth++;
				state_overlay_savepoint(&o);
			} else if (op == 8 && depth > 0) {
				depth--;
				state_overlay_rollback(&o);
			} else if (op == 9 && depth > 0) {
				memcpy(stack[depth - 1], stack[depth], sizeof(stack[0]));
				depth--;
				state_overlay_release_savepoint(&o);
			}
		}
		CHECK(model_matches(&o, stack[depth]));
		while (depth > 0) {
			memcpy(stack[depth - 1], stack[depth], sizeof(stack[0]));
			depth--;
			state_overlay_release_savepoint(&o);
		}
		const struct kv_write *w;
		size_t n, written = 0;
		CHECK(state_overlay_export(&o, &w, &n) == STATE_OK);
		for (int k = 0; k < MODEL_KEYS; k++)
			written += stack[0][k].state != 0;
		CHECK(n == written);
		for (size_t i = 1; i < n; i++)
			CHECK(w[i - 1].key[1] < w[i].key[1]);
		state_overlay_release(&o);
	}
	mem_release(&base);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A block's worth of account writes: 5,000 txs of 12 writes each over 50,000 distinct keys, each
 * tx in a savepoint, one in eight rolled back; the export must hold exactly the kept writes,
 * sorted. The model is indexed by key id (the key is "acct/" ‖ id LE32 ‖ zeros). */
static void overlay_at_scale(void)
{
	enum { TXS = 5000, PER_TX = 12, KEYS = 50000 };
	struct state_overlay o;
	uint64_t *model = calloc(KEYS, sizeof(*model)); /* 0: not written (values are nonzero) */
	uint64_t rng = 12345, v;
	uint8_t key[RUNTIME_ACCOUNT_KEY_LEN], pk[32] = {0};
	state_overlay_init(&o, NULL, NULL);
	double t0 = now_ms();
	for (int t = 0; t < TXS; t++) {
		bool keep = t % 8 != 7;
		state_overlay_savepoint(&o);
		for (int j = 0; j < PER_TX; j++) {
			uint32_t id = t * 10 + j < KEYS ? (uint32_t)(t * 10 + j)
			                                : (uint32_t)(check_rand(&rng) % KEYS);
			v = check_rand(&rng) | 1;
			memcpy(pk, &id, 4);
			runtime_account_key(key, pk);
			CHECK(state_overlay_put(&o, key, sizeof(key), (uint8_t *)&v, 8) ==
			      STATE_OK);
			if (keep)
				model[id] = v;
		}
		if (keep)
			state_overlay_release_savepoint(&o);
		else
			state_overlay_rollback(&o);
	}
	double t1 = now_ms();
	const struct kv_write *w;
	size_t n, want = 0;
	CHECK(state_overlay_export(&o, &w, &n) == STATE_OK);
	double t2 = now_ms();
	fprintf(stderr, "overlay: %d writes in %.1f ms, export of %zu keys in %.1f ms\n",
	        TXS * PER_TX, t1 - t0, n, t2 - t1);
	for (uint32_t id = 0; id < KEYS; id++)
		want += model[id] != 0;
	CHECK(n == want && n > 40000);
	for (size_t i = 0; i < n; i++) {
		uint32_t id;
		memcpy(&id, w[i].key + 5, 4);
		CHECK(w[i].klen == sizeof(key) && w[i].vlen == 8 && id < KEYS);
		memcpy(&v, w[i].value, 8);
		CHECK(id < KEYS && v == model[id]);
		if (i > 0)
			CHECK(memcmp(w[i - 1].key, w[i].key, sizeof(key)) < 0);
	}
	state_overlay_release(&o);
	free(model);
}

CHECK_MAIN(CASE(fee_exact_remark), CASE(transfer_exact),
           CASE(tip_goes_to_treasury_without_author_account), CASE(nonces),
           CASE(fee_keep_alive_at_admission), CASE(transfer_keep_alive_and_ed),
           CASE(insufficient_at_execution), CASE(overflows), CASE(unknown_calls_and_bad_payloads),
           CASE(chain_and_mortality), CASE(storage_errors_and_full_state), CASE(params_roundtrip),
           CASE(messages), CASE(random_txs_conserve_supply), CASE(overlay_basics),
           CASE(overlay_savepoints), CASE(overlay_caps), CASE(overlay_random_vs_model),
           CASE(overlay_at_scale))
