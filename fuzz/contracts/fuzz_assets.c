/* The Assets contract through the real contract host. One world (built once): an enclave hosting
 * Balances and Assets (fee 1 unit) in cluster 0, six funded dev accounts, and a second Assets
 * ("far", fee 1 unit) configured with a Balances id hosted nowhere, as if Balances were in another
 * cluster: its fees come from credits and COLLECT sends PAY_OUT messages. Each input is either
 *
 *   'R' ‖ bytes   a snapshot for assets_code.restore on a fresh instance: refused, or restored
 *                 and written back byte for byte (restore checks every supply is the sum of its
 *                 holdings, so whatever it accepts conserves)
 *   else          up to 16 operations, applied in one block:
 *     0..4 ‖ who ‖ sym ‖ dest ‖ amount u16 ‖ flags   a well-formed command of kind op+1 (dest:
 *                                                    an account, zero or the sender)
 *     5 ‖ who ‖ len ‖ len bytes                      a raw command (a TRANSFER's dest patched
 *                                                    to a dev account, an ISSUE's symbol to
 *                                                    one of 8 unless its byte 1 is >= 0x80)
 *     6 ‖ origin ‖ 48 bytes                          a PAID message from Balances (origin even)
 *                                                    or from another contract
 *     7 ‖ who ‖ len ‖ len bytes                      a query: any answer
 *     8 ‖ kind ‖ 6 bytes                             a well-formed command of kind kind % 5 + 1
 *                                                    to far (the 6 bytes as for 0..4)
 *     9 ‖ payer ‖ amount u16                         a PAID to far from its Balances id, for a
 *                                                    dev account
 *
 * Nothing may crash, and after every input, in both contracts, each listed token's supply (asked
 * by its owner) is the sum of what the six accounts hold, which are the only accounts a holder
 * can be; far's PAY_OUT messages (taken by the chain) are well formed and never pay out more than
 * it was paid minus the six credits it still owes; and (on every 8th input) the live snapshots
 * restore (restore checks every supply against its holdings) and write back the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../tests/contracts/counter.c"
#include "../../tests/contracts/harness.h"
#include "base/hex.h"
#include "contracts/assets/assets.h"
#include "contracts/balances/balances.h"
#include "contracts/kit/kit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_FAIL(why)                                                                               \
	do {                                                                                       \
		fprintf(stderr, "fuzz_assets:%d: %s\n", __LINE__, why);                            \
		abort();                                                                           \
	} while (0)

#define NA  6
#define CMD ASSETS_COMMAND_LEN

static const struct contract_code *const fz_codes[] = {&balances_code, &assets_code};
static const char *const fz_syms[8] = {"A", "B", "GOLD", "X1", "ZZZZZZZZZZZZ", "9", "Q", "a"};

static struct fz {
	struct harness_world w;
	struct enclave_config cfg;
	uint8_t bal[32], bal_pk[32], ast[32], ast_pk[32];
	uint8_t far[32], far_pk[32], far_bal[32]; /* far's Balances id: hosted nowhere */
	u128 far_in, far_out;                     /* PAID to far; PAY_OUT by far */
	uint64_t far_seq;                         /* PAY_OUT messages taken so far */
	uint8_t acct[NA][32];
	uint64_t nonce, runs;
} * fz;

static void fz_topic(char topic[CONTRACT_TOPIC_MAX], const uint8_t id[32])
{
	char hex[65];
	snprintf(topic, CONTRACT_TOPIC_MAX, "contract/%s/message", hex_encode(hex, id, 32));
}

static void fz_init(void)
{
	fz = calloc(1, sizeof(*fz));
	fz->cfg = harness_config_codes(fz_codes, 2, 1 << 24);
	fz->w.plat.quiet = 1;
	harness_world_init(&fz->w, &fz->cfg);
	uint8_t sk[64], spk[32], args[ASSETS_ARGS_LEN] = {0}, p[49] = {0x00};
	for (int a = 0; a < NA; a++)
		if (!devkeys_keypair(devkeys_names[a], fz->acct[a], sk))
			FZ_FAIL("dev key");
	testplat_deploy(&fz->w.chain, fz->acct[0], 0, BALANCES_CODE_NAME, 1, fz->bal);
	memcpy(args, fz->bal, 32);
	args[32] = 1;
	testplat_deploy_args(&fz->w.chain, fz->acct[3], 0, ASSETS_CODE_NAME, 1, args, sizeof(args),
	                     fz->ast);
	memcpy(fz->far_bal, fz->bal, 32);
	fz->far_bal[31] ^= 1;
	memcpy(args, fz->far_bal, 32);
	testplat_deploy_args(&fz->w.chain, fz->acct[3], 0, ASSETS_CODE_NAME, 2, args, sizeof(args),
	                     fz->far);
	harness_world_block(&fz->w);
	harness_contract_keys(fz->w.e, fz->bal, fz->bal_pk, spk);
	harness_contract_keys(fz->w.e, fz->ast, fz->ast_pk, spk);
	harness_contract_keys(fz->w.e, fz->far, fz->far_pk, spk);
	char topic[CONTRACT_TOPIC_MAX];
	fz_topic(topic, fz->bal);
	for (int a = 0; a < NA; a++) {
		memcpy(p + 1, fz->acct[a], 32);
		kit_put_u128(p + 33, (u128)1000000);
		testplat_module_msg(&fz->w.chain, "contracts", topic, p, sizeof(p));
	}
	harness_world_block(&fz->w);
	fz->nonce = 1;
}

/* ---- operations ------------------------------------------------------------------------------ */

/* A well-formed command of kind 1..5 from the 6 bytes at p, to Assets or far. */
static void op_command(uint8_t kind, const uint8_t *p, bool far)
{
	uint8_t c[CMD] = {kind};
	int who = p[0] % NA, d = p[2] % 8;
	u128 amount = (u128)p[3] | (u128)p[4] << 8;
	if (p[5] & 0x80)
		amount = ~(u128)0 - amount; /* near the top */
	const uint8_t *sym = (const uint8_t *)fz_syms[p[1] % 8];
	uint8_t dest[32] = {0};
	if (d < NA)
		memcpy(dest, fz->acct[d], 32);
	else if (d == 7)
		memcpy(dest, fz->acct[who], 32);
	size_t sl = strlen((const char *)sym);
	if (kind != ASSETS_CMD_COLLECT)
		memcpy(c + 1, sym, sl);
	if (kind == ASSETS_CMD_ISSUE) {
		c[13] = p[5] % 20;
		kit_put_u128(c + 14, amount);
		c[30] = (p[5] >> 5) & 1;
	} else if (kind == ASSETS_CMD_TRANSFER) {
		memcpy(c + 13, dest, 32);
		kit_put_u128(c + 45, amount);
	} else if (kind == ASSETS_CMD_BURN) {
		kit_put_u128(c + 13, amount);
	} else if (kind == ASSETS_CMD_COLLECT) {
		memcpy(c + 1, dest, 32);
		kit_put_u128(c + 33, amount);
	}
	harness_command_bin(&fz->w.chain, &fz->w.plat, far ? fz->far_pk : fz->ast_pk,
	                    far ? fz->far : fz->ast, devkeys_names[who], fz->nonce++, c, sizeof(c));
}

static void op_raw(int who, const uint8_t *p, size_t n)
{
	uint8_t c[256];
	memcpy(c, p, n);
	if (n == CMD && c[0] == ASSETS_CMD_TRANSFER) /* every holder stays one we can ask */
		memcpy(c + 13, fz->acct[c[13] % NA], 32);
	if (n == CMD && c[0] == ASSETS_CMD_ISSUE && c[1] < 0x80) { /* few tokens: answers fit */
		const char *s = fz_syms[c[1] % 8];
		memset(c + 1, 0, 12);
		memcpy(c + 1, s, strlen(s));
	}
	harness_command_bin(&fz->w.chain, &fz->w.plat, fz->ast_pk, fz->ast, devkeys_names[who],
	                    fz->nonce++, c, n);
}

static void op_paid(uint8_t origin, const uint8_t *p)
{
	uint8_t payload[49] = {BALANCES_MSG_PAID};
	memcpy(payload + 1, p, 48);
	char topic[CONTRACT_TOPIC_MAX];
	fz_topic(topic, fz->ast);
	struct mq_message m = {.origin = {.kind = MQ_ORIGIN_CONTRACT},
	                       .topic = (const uint8_t *)topic,
	                       .topic_len = strlen(topic),
	                       .payload = payload,
	                       .payload_len = sizeof(payload)};
	memcpy(m.origin.id, fz->bal, 32);
	if (origin & 1)
		m.origin.id[0] ^= 1;
	testplat_queue(&fz->w.chain, &m);
}

/* A PAID to far from its Balances id: payer a dev account, amount 0..65535 (0 is refused). */
static void op_far_paid(const uint8_t *p)
{
	uint8_t payload[49] = {BALANCES_MSG_PAID};
	u128 amount = (u128)p[1] | (u128)p[2] << 8;
	memcpy(payload + 1, fz->acct[p[0] % NA], 32);
	kit_put_u128(payload + 33, amount);
	char topic[CONTRACT_TOPIC_MAX];
	fz_topic(topic, fz->far);
	struct mq_message m = {.origin = {.kind = MQ_ORIGIN_CONTRACT},
	                       .topic = (const uint8_t *)topic,
	                       .topic_len = strlen(topic),
	                       .payload = payload,
	                       .payload_len = sizeof(payload)};
	memcpy(m.origin.id, fz->far_bal, 32);
	testplat_queue(&fz->w.chain, &m);
	fz->far_in += amount;
}

static void op_query(int who, const uint8_t *p, size_t n)
{
	uint32_t r;
	uint8_t body[4096];
	size_t len;
	(void)harness_ask_n(&fz->w, fz->w.e, fz->ast_pk, fz->ast, devkeys_names[who], p, n, &r,
	                    body, &len);
}

/* Applies the operations of data[0..size) in one block. */
static void fz_ops(const uint8_t *data, size_t size)
{
	size_t at = 0;
	for (int ops = 0; ops < 16 && at < size; ops++) {
		uint8_t op = data[at++] % 10;
		size_t left = size - at;
		if (op <= 4 && left >= 6) {
			op_command((uint8_t)(op + 1), data + at, false);
			at += 6;
		} else if (op == 8 && left >= 7) {
			op_command((uint8_t)(data[at] % 5 + 1), data + at + 1, true);
			at += 7;
		} else if (op == 9 && left >= 3) {
			op_far_paid(data + at);
			at += 3;
		} else if ((op == 5 || op == 7) && left >= 2 && left - 2 >= data[at + 1] % 100) {
			size_t n = data[at + 1] % 100;
			if (op == 5)
				op_raw(data[at] % NA, data + at + 2, n);
			else
				op_query(data[at] % NA, data + at + 2, n);
			at += 2 + n;
		} else if (op == 6 && left >= 49) {
			op_paid(data[at], data + at + 1);
			at += 49;
		} else {
			break;
		}
	}
	harness_world_block(&fz->w);
}

/* ---- the invariant -----------------------------------------------------------------------------
 */

static size_t fz_ask(bool far, int who, const uint8_t *req, size_t n, uint8_t *body)
{
	uint32_t r = 99;
	size_t len = 0;
	if (harness_ask_n(&fz->w, fz->w.e, far ? fz->far_pk : fz->ast_pk, far ? fz->far : fz->ast,
	                  devkeys_names[who], req, n, &r, body, &len) != ENCLAVE_OK ||
	    r != CONTRACT_OK)
		FZ_FAIL("query refused");
	return len;
}

/* symbol's holdings summed over the six accounts, from their HOLDINGS answers. */
static u128 fz_held(const uint8_t sym[12], const uint8_t hold[NA][4096], const size_t *lens)
{
	u128 sum = 0;
	for (int a = 0; a < NA; a++) {
		struct dec d;
		dec_init(&d, hold[a], lens[a]);
		size_t n = (size_t)dec_uleb(&d, ASSETS_TOKENS_MAX);
		for (size_t i = 0; i < n; i++) {
			const uint8_t *s = dec_view(&d, 12);
			(void)dec_u8(&d);
			u128 v = dec_u128(&d);
			if (s && memcmp(s, sym, 12) == 0)
				sum += v;
		}
		if (dec_finish(&d) != CODEC_OK)
			FZ_FAIL("holdings answer");
	}
	return sum;
}

static void fz_conserved(bool far)
{
	static uint8_t hold[NA][4096], list[4096], own[4096];
	size_t lens[NA];
	uint8_t req[33] = {ASSETS_Q_HOLDINGS};
	for (int a = 0; a < NA; a++) {
		memcpy(req + 1, fz->acct[a], 32);
		lens[a] = fz_ask(far, a, req, sizeof(req), hold[a]);
	}
	req[0] = ASSETS_Q_LIST;
	struct dec d;
	dec_init(&d, list, fz_ask(far, 0, req, 1, list));
	size_t n = (size_t)dec_uleb(&d, ASSETS_TOKENS_MAX);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *e = dec_view(&d, 12 + 1 + 32 + 1 + 16);
		int owner = 0;
		while (e && owner < NA && memcmp(fz->acct[owner], e + 13, 32) != 0)
			owner++;
		if (!e || owner == NA)
			FZ_FAIL("owner not a dev account"); /* only a dev account can have issued */
		/* The owner sees the supply even when hidden: its own LIST, same order. */
		struct dec od;
		dec_init(&od, own, fz_ask(far, owner, req, 1, own));
		(void)dec_uleb(&od, ASSETS_TOKENS_MAX);
		const uint8_t *oe = NULL;
		for (size_t j = 0; j <= i; j++)
			oe = dec_view(&od, 12 + 1 + 32 + 1 + 16);
		if (!oe || memcmp(oe, e, 46) != 0 ||
		    kit_get_u128(oe + 46) != fz_held(e, hold, lens))
			FZ_FAIL("supply != sum of holdings");
	}
	if (dec_finish(&d) != CODEC_OK)
		FZ_FAIL("list answer");
}

/* The chain takes far's new PAY_OUT messages (mq's notice, in the next block): each is a
 * well-formed PAY_OUT to far's Balances; then what far paid out plus the credits it still owes
 * the six payers is at most what it was paid (its dark account at Balances never overdraws). */
static void fz_far_pays_out(void)
{
	char topic[CONTRACT_TOPIC_MAX];
	fz_topic(topic, fz->far_bal);
	struct testplat_egress it;
	testplat_egress_begin(&it, fz->w.e, 1024);
	while (testplat_egress_next(&it)) {
		if (memcmp(it.m.origin.id, fz->far, 32) != 0 || it.m.sequence < fz->far_seq)
			continue;
		const uint8_t *p = it.m.payload;
		if (!testplat_topic_is(&it.m, topic) || it.m.payload_len != 49 ||
		    p[0] != BALANCES_MSG_PAY_OUT || kit_zero_key(p + 1) ||
		    memcmp(p + 1, fz->far, 32) == 0 || kit_get_u128(p + 33) == 0)
			FZ_FAIL("not a PAY_OUT");
		fz->far_out += kit_get_u128(p + 33);
		fz->far_seq = it.m.sequence + 1;
		testplat_notice(&fz->w.chain, &it.m, 0);
	}
	testplat_egress_end(&it);
	uint8_t req[1] = {ASSETS_Q_CONFIG}, body[64];
	u128 owed = 0;
	for (int a = 0; a < NA; a++) {
		if (fz_ask(true, a, req, 1, body) != 64)
			FZ_FAIL("config answer");
		owed += kit_get_u128(body + 48);
	}
	if (fz->far_out > fz->far_in || owed > fz->far_in - fz->far_out)
		FZ_FAIL("far paid out more than its fees");
}

/* ---- restore ------------------------------------------------------------------------------------
 */

/* Restores b[0..n) into a fresh instance: refused (unless must), or written back the same. */
static void fz_restore(const uint8_t *b, size_t n, bool must)
{
	void *s = assets_code.create();
	if (!s)
		FZ_FAIL("create");
	enum contract_result r = assets_code.restore(s, b, n);
	if (must && r != CONTRACT_OK)
		FZ_FAIL("live snapshot refused");
	if (r == CONTRACT_OK) {
		struct enc out;
		enc_init(&out, n + 1);
		if (assets_code.snapshot(s, &out) != CONTRACT_OK || out.len != n ||
		    memcmp(out.buf, b, n) != 0)
			FZ_FAIL("snapshot round trip"); /* accepted bytes are exactly what snapshot
			                                   writes */
		enc_release(&out);
	}
	assets_code.destroy(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 1 && data[0] == 'R') {
		fz_restore(data + 1, size - 1, false);
		return 0;
	}
	if (!fz)
		fz_init();
	fz_ops(data, size);
	fz_conserved(false);
	fz_conserved(true);
	fz_far_pays_out();
	if (fz->runs++ % 8 != 0) /* a checkpoint per input would halve the rate */
		return 0;
	for (int far = 0; far < 2; far++) {
		size_t n = 0;
		uint8_t *snap = harness_contract_snapshot(
		    &fz->w.plat, fz->w.e, far ? fz->far : fz->ast, ASSETS_CODE_NAME, &n);
		if (!snap)
			FZ_FAIL("no snapshot");
		fz_restore(snap, n, true);
		free(snap);
	}
	return 0;
}
