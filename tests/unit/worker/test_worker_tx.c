/* Signed calls built by worker_tx_build (the worker's registration and egress, the CLI's
 * registry and contract commands): they decode, carry a valid signature, pay exactly the
 * runtime's fee plus the tip, and their id is the body's; chain_info/account_get answers that
 * lack a field are refused. */
#include <jansson.h>
#include <string.h>

#include "base/hex.h"
#include "chain/tx.h"
#include "check.h"
#include "crypto/devkeys.h"
#include "worker/worker_tx.h"

static void chain(struct worker_tx_chain *ch)
{
	memset(ch, 0, sizeof(*ch));
	memset(ch->params.chain_id, 0x42, 32);
	ch->params.fee_base = 100000000;
	ch->params.fee_per_byte = 1000000;
	ch->params.fee_per_weight = 1000;
	ch->height = 77;
	ch->nonce = 5;
}

static void builds_a_valid_signed_call(void)
{
	struct worker_tx_chain ch;
	uint8_t pk[32], sk[64], id[32], want[32], payload[40];
	struct enc e;
	struct tx tx;
	u128 fee;
	uint64_t weight;
	chain(&ch);
	CHECK(devkeys_keypair("bob", pk, sk));
	memset(payload, 7, sizeof(payload));
	enc_init(&e, TX_MAX_BYTES);
	CHECK(worker_tx_build(&e, &ch, sk, RUNTIME_MODULE_REGISTRY, 4, payload, sizeof(payload), 9,
	                      id));
	CHECK(tx_decode(&tx, e.buf, e.len) == CODEC_OK);
	CHECK(tx_verify_sig(&tx, e.buf, e.len));
	CHECK_EQ_MEM(tx.sender, pk, 32);
	CHECK_EQ_MEM(tx.chain_id, ch.params.chain_id, 32);
	CHECK(tx.nonce == 5 && tx.valid_until == 77 + WORKER_TX_MORTALITY);
	CHECK(tx.module == RUNTIME_MODULE_REGISTRY && tx.function == 4);
	CHECK(tx.payload_len == sizeof(payload) && memcmp(tx.payload, payload, 40) == 0);
	CHECK(runtime_fee(&ch.params, &tx, e.len, &fee, &weight) == TX_OK);
	CHECK(tx.tip == 9 && tx.max_fee == fee + 9); /* exactly the fee the runtime charges */
	tx_id(want, e.buf, tx.body_len);
	CHECK_EQ_MEM(id, want, 32);
	/* A flipped payload byte breaks the signature. */
	e.buf[tx.body_len - 1] ^= 1;
	CHECK(tx_decode(&tx, e.buf, e.len) == CODEC_OK && !tx_verify_sig(&tx, e.buf, e.len));
	enc_release(&e);
}

static void refuses_an_oversized_payload(void)
{
	struct worker_tx_chain ch;
	uint8_t pk[32], sk[64], id[32];
	static uint8_t big[TX_MAX_BYTES];
	struct enc e;
	chain(&ch);
	CHECK(devkeys_keypair("bob", pk, sk));
	enc_init(&e, TX_MAX_BYTES);
	CHECK(!worker_tx_build(&e, &ch, sk, RUNTIME_MODULE_MQ, 0, big, sizeof(big), 0, id));
	enc_release(&e);
}

static void reads_chain_info_and_account(void)
{
	struct worker_tx_chain ch;
	char hexid[65];
	uint8_t id[32];
	memset(id, 0xab, 32);
	hex_encode(hexid, id, 32);
	json_t *info = json_pack("{s:s, s:{s:s, s:s, s:s}}", "chain_id", hexid, "fees", "base",
	                         "100", "per_byte", "2", "per_weight", "3");
	json_t *acct = json_pack("{s:i, s:i}", "height", 12, "next_nonce", 4);
	CHECK(worker_tx_chain_read(&ch, info, acct));
	CHECK_EQ_MEM(ch.params.chain_id, id, 32);
	CHECK(ch.params.fee_base == 100 && ch.params.fee_per_byte == 2 &&
	      ch.params.fee_per_weight == 3 && ch.height == 12 && ch.nonce == 4);
	json_object_del(acct, "next_nonce");
	CHECK(!worker_tx_chain_read(&ch, info, acct));
	json_object_set_new(acct, "next_nonce", json_integer(-1));
	CHECK(!worker_tx_chain_read(&ch, info, acct));
	json_object_set_new(acct, "next_nonce", json_integer(4));
	json_object_set_new(json_object_get(info, "fees"), "base", json_string("1.5x"));
	CHECK(!worker_tx_chain_read(&ch, info, acct));
	json_decref(info);
	json_decref(acct);
}

CHECK_MAIN(CASE(builds_a_valid_signed_call), CASE(refuses_an_oversized_payload),
           CASE(reads_chain_info_and_account))
