/*
 * Contracts module: the contract id derivation (pinned to its definition), deploy and its
 * refusals, deploy arguments (payload and event bytes) and the custody marker, push_command's
 * outbound message (topic, sender ‖ nonce ‖ ciphertext, module sequence) and refusals, contract
 * keys published by a gatekeeper, and a contract then sending signed messages with its published
 * key.
 */
#include "check.h"

#include "base/hex.h"
#include "chain/modfix.h"

static enum tx_result deploy_args(struct mfx *f, int who, uint32_t cluster, const char *code,
                                  const char *salt, const uint8_t *args, size_t args_len)
{
	struct enc e;
	enc_init(&e, 4096);
	contracts_deploy_payload(&e, cluster, code, (const uint8_t *)salt, strlen(salt), args,
	                         args_len);
	CHECK(enc_finish(&e) == CODEC_OK);
	enum tx_result r =
	    mfx_call(f, who, RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_DEPLOY, e.buf, e.len);
	enc_release(&e);
	return r;
}

static enum tx_result deploy(struct mfx *f, int who, uint32_t cluster, const char *code,
                             const char *salt)
{
	return deploy_args(f, who, cluster, code, salt, NULL, 0);
}

static enum tx_result push_command(struct mfx *f, int who, const uint8_t id[32], const uint8_t *ct,
                                   size_t n)
{
	struct enc e;
	enc_init(&e, TX_MAX_PAYLOAD);
	contracts_push_payload(&e, id, ct, n);
	CHECK(enc_finish(&e) == CODEC_OK);
	enum tx_result r =
	    mfx_call(f, who, RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_PUSH_COMMAND, e.buf, e.len);
	enc_release(&e);
	return r;
}

static void contract_id_definition(void)
{
	uint8_t deployer[32], id[32], want[32], other[32];
	memset(deployer, 0xab, 32);
	contracts_id(id, deployer, 0x01020304, "builtin:counter", (const uint8_t *)"s1", 2);
	uint8_t buf[32 + 4 + 1 + 15 + 1 + 2];
	memcpy(buf, deployer, 32);
	buf[32] = 4, buf[33] = 3, buf[34] = 2, buf[35] = 1;
	buf[36] = 15;
	memcpy(buf + 37, "builtin:counter", 15);
	buf[52] = 2;
	memcpy(buf + 53, "s1", 2);
	hash_tagged(want, CONTRACTS_ID_TAG, buf, sizeof(buf));
	CHECK_EQ_MEM(id, want, 32);
	/* every input changes it, and the length prefixes keep code and salt apart */
	contracts_id(other, deployer, 0x01020305, "builtin:counter", (const uint8_t *)"s1", 2);
	CHECK(memcmp(id, other, 32) != 0);
	contracts_id(other, deployer, 0x01020304, "builtin:counte", (const uint8_t *)"rs1", 3);
	CHECK(memcmp(id, other, 32) != 0);
	contracts_id(other, deployer, 0x01020304, "builtin:counter", (const uint8_t *)"s2", 2);
	CHECK(memcmp(id, other, 32) != 0);
	deployer[0] ^= 1;
	contracts_id(other, deployer, 0x01020304, "builtin:counter", (const uint8_t *)"s1", 2);
	CHECK(memcmp(id, other, 32) != 0);
	char topic[CONTRACTS_TOPIC_LEN + 1], hex[65];
	contracts_command_topic(topic, id);
	CHECK(strlen(topic) == CONTRACTS_TOPIC_LEN && strncmp(topic, "contract/", 9) == 0);
	CHECK(strncmp(topic + 9, hex_encode(hex, id, 32), 64) == 0);
	CHECK_STR(topic + 73, "/command");
}

static void deploy_and_refusals(void)
{
	struct mfx f;
	struct contracts_info info;
	uint8_t id[32];
	mfx_init(&f);
	CHECK(deploy(&f, BOB, 0, "builtin:counter", "") == TX_CALL_REG_UNKNOWN_CLUSTER);
	CHECK(mfx_sudo_u32(&f, REGISTRY_FN_CREATE_CLUSTER, 0) == TX_OK);
	uint64_t h = f.height;
	CHECK(deploy(&f, BOB, 0, "builtin:counter", "") == TX_OK);
	contracts_id(id, f.acct[BOB].pk, 0, "builtin:counter", NULL, 0);
	struct state_reader r = mfx_reader(&f);
	CHECK(contracts_get(&r, id, &info) == 1);
	CHECK(info.cluster == 0 && info.deployed_height == h && !info.has_keys);
	CHECK(memcmp(info.deployer, f.acct[BOB].pk, 32) == 0 &&
	      strcmp(info.code, "builtin:counter") == 0);
	/* the deployment event */
	struct mq_message m;
	CHECK(mfx_out_count(&f) == 1 && mfx_out_msg(&f, 0, &m));
	CHECK(m.origin.kind == MQ_ORIGIN_MODULE && strcmp(m.origin.module, "contracts") == 0);
	CHECK(mfx_topic_is(&m, CONTRACTS_EVENT_TOPIC) && m.payload[0] == CONTRACTS_EV_DEPLOYED);
	CHECK(m.payload_len == 1 + 32 + 4 + 32 + 1 + 15 + 1 && memcmp(m.payload + 1, id, 32) == 0);
	/* the same deployment again; another salt or deployer is another contract */
	CHECK(deploy(&f, BOB, 0, "builtin:counter", "") == TX_CALL_CONTRACT_EXISTS);
	CHECK(deploy(&f, BOB, 0, "builtin:counter", "2") == TX_OK);
	CHECK(deploy(&f, CHARLIE, 0, "builtin:counter", "") == TX_OK);
	uint32_t n;
	uint8_t at[32];
	CHECK(contracts_count(&r, &n) == 1 && n == 3);
	CHECK(contracts_at(&r, 0, at) == 1 && memcmp(at, id, 32) == 0);
	/* malformed payloads */
	CHECK(deploy(&f, BOB, 0, "Upper", "") == TX_BAD_PAYLOAD);
	CHECK(deploy(&f, BOB, 0, "", "") == TX_BAD_PAYLOAD);
	CHECK(deploy(&f, BOB, 0, "x", "012345678901234567890123456789012") == TX_BAD_PAYLOAD);
	char code[CONTRACTS_CODE_MAX + 2];
	memset(code, 'a', sizeof(code));
	code[CONTRACTS_CODE_MAX + 1] = 0;
	CHECK(deploy(&f, BOB, 0, code, "") == TX_BAD_PAYLOAD);
	code[CONTRACTS_CODE_MAX] = 0;
	CHECK(deploy(&f, BOB, 0, code, "") == TX_OK);
	mfx_release(&f);
}

/* Deploy arguments: carried byte for byte by the DEPLOYED event, not part of the id; the
 * payload's exact layout, 0..CONTRACTS_ARGS_MAX bytes, and the custody marker of every deploy. */
static void deploy_with_args(void)
{
	struct mfx f;
	uint8_t args[CONTRACTS_ARGS_MAX + 1], id[32], custody[32], owner[32];
	for (size_t i = 0; i < sizeof(args); i++)
		args[i] = (uint8_t)(i * 7 + 1);
	mfx_init(&f);
	CHECK(mfx_sudo_u32(&f, REGISTRY_FN_CREATE_CLUSTER, 3) == TX_OK);
	/* the payload: cluster u32 ‖ bytes(code) ‖ bytes(salt) ‖ bytes(args) */
	uint8_t pl[64];
	struct enc e;
	enc_init_fixed(&e, pl, sizeof(pl));
	contracts_deploy_payload(&e, 3, "assets", (const uint8_t *)"s", 1, args, 5);
	CHECK(enc_finish(&e) == CODEC_OK);
	static const uint8_t want_pl[] = {3,   0, 0,   0, 6, 'a', 's', 's', 'e', 't',
	                                  's', 1, 's', 5, 1, 8,   15,  22,  29};
	CHECK(e.len == sizeof(want_pl));
	CHECK_EQ_MEM(pl, want_pl, sizeof(want_pl));
	CHECK(deploy_args(&f, BOB, 3, "assets", "s", args, 5) == TX_OK);
	contracts_id(id, f.acct[BOB].pk, 3, "assets", (const uint8_t *)"s", 1);
	/* the event: 0x00 ‖ id ‖ cluster u32 ‖ deployer ‖ bytes(code) ‖ bytes(args) */
	uint8_t want[1 + 32 + 4 + 32 + 1 + 6 + 1 + 5];
	want[0] = CONTRACTS_EV_DEPLOYED;
	memcpy(want + 1, id, 32);
	memcpy(want + 33, "\x03\x00\x00\x00", 4);
	memcpy(want + 37, f.acct[BOB].pk, 32);
	want[69] = 6;
	memcpy(want + 70, "assets", 6);
	want[76] = 5;
	memcpy(want + 77, args, 5);
	struct mq_message m;
	CHECK(mfx_out_count(&f) == 1 && mfx_out_msg(&f, 0, &m));
	CHECK(mfx_topic_is(&m, CONTRACTS_EVENT_TOPIC) && m.payload_len == sizeof(want));
	CHECK_EQ_MEM(m.payload, want, sizeof(want));
	/* args are not part of the id: the same deployment with other args is the same contract */
	CHECK(deploy_args(&f, BOB, 3, "assets", "s", args + 1, 5) == TX_CALL_CONTRACT_EXISTS);
	/* the custody marker names the contract */
	struct state_reader r = mfx_reader(&f);
	contracts_custody_account(custody, id);
	CHECK(contracts_custody_of(&r, custody, owner) == 1);
	CHECK_EQ_MEM(owner, id, 32);
	CHECK(contracts_custody_of(&r, id, owner) == 0);
	CHECK(contracts_custody_of(&r, f.acct[BOB].pk, NULL) == 0);
	/* the largest args pass, one byte more is malformed */
	CHECK(deploy_args(&f, BOB, 3, "x", "", args, CONTRACTS_ARGS_MAX) == TX_OK);
	CHECK(mfx_out_msg(&f, 0, &m) && m.payload_len == 1 + 32 + 4 + 32 + 2 + 2 + 1024);
	CHECK_EQ_MEM(m.payload + m.payload_len - CONTRACTS_ARGS_MAX, args, CONTRACTS_ARGS_MAX);
	CHECK(deploy_args(&f, BOB, 3, "y", "", args, CONTRACTS_ARGS_MAX + 1) == TX_BAD_PAYLOAD);
	/* a payload without the args field is malformed, and so is one with bytes after it */
	enc_init_fixed(&e, pl, sizeof(pl));
	enc_u32(&e, 3);
	enc_bytes(&e, "z", 1);
	enc_bytes(&e, "", 0);
	CHECK(enc_finish(&e) == CODEC_OK);
	CHECK(mfx_call(&f, BOB, RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_DEPLOY, pl, e.len) ==
	      TX_BAD_PAYLOAD);
	pl[e.len] = 0;
	pl[e.len + 1] = 0;
	CHECK(mfx_call(&f, BOB, RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_DEPLOY, pl, e.len + 1) ==
	      TX_OK);
	CHECK(mfx_call(&f, BOB, RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_DEPLOY, pl, e.len + 2) ==
	      TX_BAD_PAYLOAD);
	mfx_release(&f);
}

static void commands(void)
{
	struct mfx f;
	uint8_t id[32], ct[CONTRACTS_COMMAND_MAX + 1];
	char topic[CONTRACTS_TOPIC_LEN + 1];
	mfx_init(&f);
	memset(ct, 0x5a, sizeof(ct));
	CHECK(mfx_sudo_u32(&f, REGISTRY_FN_CREATE_CLUSTER, 0) == TX_OK);
	CHECK(deploy(&f, BOB, 0, "builtin:counter", "") == TX_OK);
	contracts_id(id, f.acct[BOB].pk, 0, "builtin:counter", NULL, 0);
	contracts_command_topic(topic, id);
	struct account a;
	struct state_reader r = mfx_reader(&f);
	CHECK(runtime_account_get(&r, f.acct[DAVE].pk, &a) == 1);
	CHECK(push_command(&f, DAVE, id, ct, 100) == TX_OK);
	struct mq_message m;
	CHECK(mfx_out_count(&f) == 1 && mfx_out_msg(&f, 0, &m));
	CHECK(m.origin.kind == MQ_ORIGIN_MODULE && strcmp(m.origin.module, "contracts") == 0);
	CHECK(mfx_topic_is(&m, topic) && m.payload_len == 32 + 8 + 100);
	CHECK(memcmp(m.payload, f.acct[DAVE].pk, 32) == 0);
	uint64_t nonce = 0;
	for (int i = 0; i < 8; i++)
		nonce |= (uint64_t)m.payload[32 + i] << (8 * i);
	CHECK(nonce == a.nonce && memcmp(m.payload + 40, ct, 100) == 0);
	uint64_t seq0 = m.sequence; /* after the deployment event */
	CHECK(seq0 == 1);
	/* the same ciphertext again is another command with another nonce */
	CHECK(push_command(&f, DAVE, id, ct, 100) == TX_OK);
	CHECK(mfx_out_msg(&f, 0, &m) && m.sequence == seq0 + 1);
	CHECK(m.payload[32] == (uint8_t)(nonce + 1));
	/* refusals */
	uint8_t unknown[32] = {0};
	CHECK(push_command(&f, DAVE, unknown, ct, 100) == TX_CALL_CONTRACT_UNKNOWN);
	CHECK(push_command(&f, DAVE, id, ct, 0) == TX_BAD_PAYLOAD);
	CHECK(push_command(&f, DAVE, id, ct, CONTRACTS_COMMAND_MAX + 1) == TX_BAD_PAYLOAD);
	CHECK(push_command(&f, DAVE, id, ct, CONTRACTS_COMMAND_MAX) == TX_OK);
	CHECK(mfx_call(&f, DAVE, RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_PUSH_COMMAND, id, 32) ==
	      TX_BAD_PAYLOAD);
	CHECK(mfx_call(&f, DAVE, RUNTIME_MODULE_CONTRACTS, 9, id, 32) == TX_UNKNOWN_FUNCTION);
	mfx_release(&f);
}

/* A gatekeeper publishes the contract's keys; the contract then sends signed messages. */
static void contract_keys_and_origin(void)
{
	struct mfx f;
	struct mfx_worker gk;
	struct mfx_key ckey;
	uint8_t id[32], pl[104], mk[32];
	struct registry_keys k = {.cluster = 0, .epoch = 0};
	mfx_init(&f);
	mfx_worker_init(&gk, "gk");
	mfx_key_seed(&ckey, "contract key");
	memset(k.x25519, 0x44, 32);
	memcpy(k.ed25519, ckey.pk, 32);
	memset(mk, 0x55, 32);
	CHECK(mfx_register(&f, &gk, BOB) == TX_OK);
	CHECK(mfx_sudo_id(&f, REGISTRY_FN_ADD_GATEKEEPER, gk.id.pk) == TX_OK);
	CHECK(mfx_sudo_u32(&f, REGISTRY_FN_CREATE_CLUSTER, 0) == TX_OK);
	CHECK(mfx_sudo_u32(&f, REGISTRY_FN_CREATE_CLUSTER, 1) == TX_OK);
	CHECK(deploy(&f, BOB, 0, "builtin:counter", "") == TX_OK);
	contracts_id(id, f.acct[BOB].pk, 0, "builtin:counter", NULL, 0);
	uint64_t seq = 0;
	uint8_t mpl[36];
	registry_master_key_payload(mpl, 0, mk);
	struct mq_message mm =
	    mfx_msg(MQ_ORIGIN_GATEKEEPER, gk.id.pk, REGISTRY_TOPIC_MASTER_KEY, mpl, 36, seq++);
	CHECK(mfx_push(&f, CHARLIE, &mm, gk.id.sk) == TX_OK);
	/* unknown contract, wrong cluster, then the right one */
	uint8_t unknown[32] = {1};
	registry_contract_key_payload(pl, unknown, &k);
	struct mq_message m =
	    mfx_msg(MQ_ORIGIN_GATEKEEPER, gk.id.pk, REGISTRY_TOPIC_CONTRACT_KEY, pl, 104, seq++);
	CHECK(mfx_push_consumed(&f, CHARLIE, &m, gk.id.sk) == TX_CALL_CONTRACT_UNKNOWN);
	k.cluster = 1;
	registry_contract_key_payload(pl, id, &k);
	m.sequence = seq++;
	CHECK(mfx_push_consumed(&f, CHARLIE, &m, gk.id.sk) == TX_CALL_MQ_BAD_MESSAGE);
	k.cluster = 0;
	registry_contract_key_payload(pl, id, &k);
	m.sequence = seq;
	CHECK(mfx_push_consumed(&f, CHARLIE, &m, gk.id.sk) == TX_OK);
	struct mq_message ev;
	CHECK(mfx_out_msg(&f, 0, &ev) && ev.payload[0] == REGISTRY_EV_CONTRACT_KEY);
	CHECK(ev.payload_len == 105 && memcmp(ev.payload + 1, pl, 104) == 0);
	struct contracts_info info;
	struct state_reader r = mfx_reader(&f);
	CHECK(contracts_get(&r, id, &info) == 1 && info.has_keys);
	CHECK(memcmp(info.keys.x25519, k.x25519, 32) == 0 && info.keys.epoch == 0);
	/* the contract speaks with its key; another key is refused */
	struct mq_message cm = mfx_msg(MQ_ORIGIN_CONTRACT, id, "contract/out", "r", 1, 0);
	CHECK(mfx_push(&f, EVE, &cm, gk.id.sk) == TX_CALL_MQ_BAD_SIGNATURE);
	CHECK(mfx_push(&f, EVE, &cm, ckey.sk) == TX_OK);
	/* a different key for the same epoch is a conflict */
	k.x25519[0] ^= 1;
	registry_contract_key_payload(pl, id, &k);
	m.sequence = ++seq;
	CHECK(mfx_push_consumed(&f, CHARLIE, &m, gk.id.sk) == TX_CALL_REG_KEY_CONFLICT);
	mfx_release(&f);
}

CHECK_MAIN(CASE(contract_id_definition), CASE(deploy_and_refusals), CASE(deploy_with_args),
           CASE(commands), CASE(contract_keys_and_origin))
