/* The Balances contract (src/contracts/balances/balances.h) under arbitrary input, through the
 * real contract host: one world (the test chain, one enclave hosting Balances and the test
 * caller contract, tests/contracts/caller.h), rebuilt every FZ_RESET inputs so the state stays
 * small. The first input byte picks what the rest is:
 *
 *   0  a command to Balances (byte 1: who signs, alice or bob)
 *   1  a call: a command to the caller, which calls Balances with the rest (byte 1: the signer)
 *   2  a message from module "contracts" (the chain's deposits and withdrawal answers)
 *   3  a message from module "balances" (not the chain: must change nothing)
 *   4  a query (byte 1: who asks): any answer, never a crash
 *   5  a snapshot: restore must refuse it or restore exactly these bytes
 *   6  a script of 4-byte steps (op, who, arg, amount) in one block: deposits, transfers,
 *      withdrawals, the chain's answers, payments to the caller, charges and payments by it, its
 *      PAY_OUT messages
 *   7  a message from a contract: the caller emits the rest to Balances (delivered a block later)
 *
 * The chain's part is played after every block: withdrawal requests are consumed (mq's notice),
 * messages to contracts delivered. After every input the ISSUANCE query answers, with pending <=
 * issuance; on every 16th (and every snapshot input) Balances' snapshot is taken from the
 * checkpoint, must restore (restore checks issuance == sum of balances + pending) to the same
 * bytes, and carries the issuance the query gave. Balances also asserts its sums after every
 * handler. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../tests/contracts/caller.h"
#include "../../tests/contracts/counter.c"
#include "../../tests/contracts/harness.h"
#include "contracts/balances/balances.h"

#define FZ_RESET 2048

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct contract_code *const fz_codes[] = {&balances_code, &caller_code};

static struct fz {
	struct harness_world w;
	struct enclave_config cfg;
	uint8_t bal[32], pk[32], call[32], cpk[32];
	uint64_t nonce, runs;
} * fz;

static const char *const fz_who[2] = {"alice", "bob"};

/* The chain takes Balances' egress into the next block, then the block is fed. */
static void fz_block(void)
{
	struct testplat_egress it;
	testplat_egress_begin(&it, fz->w.e, 1024);
	while (testplat_egress_next(&it)) {
		/* What does not fit stays in the egress for the next block. */
		if (it.m.origin.kind != MQ_ORIGIN_CONTRACT ||
		    fz->w.chain.n_msgs == TESTPLAT_MAX_MSGS)
			continue;
		if (testplat_topic_is(&it.m, CONTRACTS_TOPIC_WITHDRAW))
			testplat_notice(&fz->w.chain, &it.m, 0);
		else
			testplat_queue(&fz->w.chain, &it.m);
	}
	testplat_egress_end(&it);
	harness_world_block(&fz->w);
}

static void fz_world(void)
{
	if (fz) {
		harness_world_release(&fz->w);
		free(fz);
	}
	fz = calloc(1, sizeof(*fz));
	if (!fz)
		abort();
	fz->cfg = harness_config_codes(fz_codes, 2, 1 << 22);
	fz->cfg.max_egress = 256;
	harness_world_init(&fz->w, &fz->cfg);
	fz->w.plat.quiet = 1;
	uint8_t alice[32], sk[64], spk[32];
	if (!devkeys_keypair("alice", alice, sk))
		abort();
	testplat_deploy(&fz->w.chain, alice, 0, BALANCES_CODE_NAME, 1, fz->bal);
	testplat_deploy(&fz->w.chain, alice, 0, CALLER_CODE, 1, fz->call);
	fz_block();
	harness_contract_keys(fz->w.e, fz->bal, fz->pk, spk);
	harness_contract_keys(fz->w.e, fz->call, fz->cpk, spk);
	fz->nonce = 1;
}

static void fz_module(const char *module, const uint8_t *p, size_t n)
{
	char topic[CONTRACTS_TOPIC_LEN + 1];
	contracts_message_topic(topic, fz->bal);
	testplat_module_msg(&fz->w.chain, module, topic, p, n);
}

static void fz_command(const char *who, const uint8_t *p, size_t n)
{
	if (n > 1024)
		n = 1024;
	harness_command_bin(&fz->w.chain, &fz->w.plat, fz->pk, fz->bal, who, fz->nonce++, p, n);
}

/* The caller emits p[0..n) to Balances' message topic (its command "zero ‖ topic ‖ 0 ‖ p"). */
static void fz_emit(const char *who, const uint8_t *p, size_t n)
{
	char topic[CONTRACTS_TOPIC_LEN + 1];
	uint8_t c[32 + sizeof(topic) + 256] = {0};
	contracts_message_topic(topic, fz->bal);
	size_t tl = strlen(topic) + 1;
	if (n > 256)
		n = 256;
	memcpy(c + 32, topic, tl);
	memcpy(c + 32 + tl, p, n);
	harness_command_bin(&fz->w.chain, &fz->w.plat, fz->cpk, fz->call, who, fz->nonce++, c,
	                    32 + tl + n);
}

static void fz_call(const char *who, const uint8_t *p, size_t n)
{
	uint8_t c[32 + 256];
	if (n > sizeof(c) - 32)
		n = sizeof(c) - 32;
	memcpy(c, fz->bal, 32);
	memcpy(c + 32, p, n);
	harness_command_bin(&fz->w.chain, &fz->w.plat, fz->cpk, fz->call, who, fz->nonce++, c,
	                    32 + n);
}

/* kind ‖ key ‖ amount, the layout of every command and call. */
static void fz_put(uint8_t out[49], uint8_t kind, const uint8_t key[32], u128 amount)
{
	out[0] = kind;
	memcpy(out + 1, key, 32);
	struct enc e;
	enc_init_fixed(&e, out + 33, 16);
	enc_u128(&e, amount);
}

/* One script step: op, who, arg, amount (small, so balances run out and refusals happen). */
static void fz_step(const uint8_t s[4])
{
	static const char *const names[4] = {"alice", "bob", "charlie", "dave"};
	uint8_t who[32], other[32], sk[64], b[49];
	if (!devkeys_keypair(names[s[1] % 4], who, sk) ||
	    !devkeys_keypair(names[s[2] % 4], other, sk))
		abort();
	const uint8_t *dest = s[2] & 0x80 ? fz->call : other;
	switch (s[0] % 7) {
	case 0:
		fz_put(b, 0x00, who, s[3]); /* a deposit message: kind 0 ‖ depositor ‖ amount */
		fz_module("contracts", b, 49);
		break;
	case 1:
		fz_put(b, BALANCES_CMD_TRANSFER, dest, s[3]);
		fz_command(names[s[1] % 4], b, 49);
		break;
	case 2:
		fz_put(b, BALANCES_CMD_WITHDRAW, dest, s[3]);
		fz_command(names[s[1] % 4], b, 49);
		break;
	case 3: {
		uint8_t a[13] = {0x01, s[2] & 0x3f}; /* ref 0..63; released or refused */
		a[9] = s[3] & 1 ? 0 : 66;
		fz_module("contracts", a, sizeof(a));
		break;
	}
	case 4:
		fz_put(b, BALANCES_CMD_PAY_CONTRACT, fz->call, s[3]);
		fz_command(names[s[1] % 4], b, 49);
		break;
	case 5:
		fz_put(b, s[2] & 1 ? BALANCES_CALL_CHARGE : BALANCES_CALL_PAY,
		       s[2] & 2 ? who : other, s[3]);
		fz_call(names[s[1] % 4], b, 49);
		break;
	default: /* the caller pays out by message: to itself when arg >= 0x80 (refused) */
		fz_put(b, BALANCES_MSG_PAY_OUT, dest, s[3]);
		fz_emit(names[s[1] % 4], b, 49);
	}
}

static void fz_script(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 4 <= n && fz->w.chain.n_msgs < TESTPLAT_MAX_MSGS - 8; i += 4)
		fz_step(p + i);
}

/* restore(p) into a fresh instance: its result; when it accepts, snapshot gives exactly p. */
static enum contract_result fz_restore(const uint8_t *p, size_t n)
{
	void *s = balances_code.create();
	if (!s)
		abort();
	enum contract_result r = balances_code.restore(s, p, n);
	if (r == CONTRACT_OK) {
		struct enc e;
		enc_init(&e, 1 << 27);
		if (balances_code.snapshot(s, &e) != CONTRACT_OK || e.len != n ||
		    memcmp(e.buf, p, n) != 0)
			abort();
		enc_release(&e);
	}
	balances_code.destroy(s);
	return r;
}

/* The ISSUANCE query's issuance (pending <= issuance). */
static u128 fz_issuance(void)
{
	uint8_t req = BALANCES_Q_ISSUANCE, body[64];
	uint32_t r = 99;
	size_t len = 0;
	if (harness_ask_n(&fz->w, fz->w.e, fz->pk, fz->bal, "eve", &req, 1, &r, body, &len) !=
	        ENCLAVE_OK ||
	    r != CONTRACT_OK || len != 40)
		abort();
	struct dec d;
	dec_init(&d, body, len);
	u128 issuance = dec_u128(&d), pending = dec_u128(&d);
	if (pending > issuance)
		abort();
	return issuance;
}

static uint8_t *fz_snapshot(size_t *n)
{
	uint8_t *s =
	    harness_contract_snapshot(&fz->w.plat, fz->w.e, fz->bal, BALANCES_CODE_NAME, n);
	if (!s || *n < 17)
		abort();
	return s;
}

/* The live snapshot restores to itself (restore checks the sums) and carries the issuance. */
static void fz_check_snapshot(u128 issuance)
{
	size_t n = 0;
	uint8_t *s = fz_snapshot(&n);
	struct dec d;
	dec_init(&d, s + 1, 16);
	if (fz_restore(s, n) != CONTRACT_OK || dec_u128(&d) != issuance)
		abort();
	free(s);
}

/* A message from another module than "contracts" changes nothing. A block first delivers what
 * is pending (a PAY_OUT the caller emitted in the last block does change Balances). */
static void fz_not_chain(const uint8_t *p, size_t n)
{
	size_t n0 = 0, n1 = 0;
	fz_block();
	uint8_t *s0 = fz_snapshot(&n0);
	fz_module("balances", p, n);
	fz_block();
	uint8_t *s1 = fz_snapshot(&n1);
	if (n0 != n1 || memcmp(s0, s1, n0) != 0)
		abort();
	free(s0);
	free(s1);
}

static void fz_input(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + 2;
	size_t n = size - 2;
	const char *who = fz_who[data[1] & 1];
	switch (data[0] % 8) {
	case 0:
		fz_command(who, p, n);
		break;
	case 1:
		fz_call(who, p, n);
		break;
	case 2:
		fz_module("contracts", p, n);
		break;
	case 3:
		fz_not_chain(p, n);
		return;
	case 4: {
		uint8_t body[4096];
		uint32_t r;
		size_t len;
		(void)harness_ask_n(&fz->w, fz->w.e, fz->pk, fz->bal, who, p, n < 256 ? n : 256, &r,
		                    body, &len);
		return;
	}
	case 5:
		(void)fz_restore(p, n);
		return;
	case 6:
		fz_script(p, n);
		break;
	default:
		fz_emit(who, p, n);
	}
	fz_block();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!fz || fz->runs % FZ_RESET == 0)
		fz_world();
	fz->runs++;
	if (size < 2)
		return 0;
	fz_input(data, size);
	u128 issuance = fz_issuance();
	if (fz->runs % 16 == 0 || data[0] % 8 == 5)
		fz_check_snapshot(issuance);
	return 0;
}
