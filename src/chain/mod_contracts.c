/*
 * Contracts module (id 5): deployments and encrypted commands. API: chain/contracts.h; formats:
 * docs/protocol/runtime.md "Contracts". Custody (deposit, the withdraw consumer) is in
 * mod_custody.c.
 */
#include <assert.h>
#include <string.h>

#include "base/hex.h"
#include "chain/registry_int.h"
#include "crypto/hash.h"

#define RECORD_PREFIX  "contract/"
#define INDEX_PREFIX   "contracts/"
#define RECORD_VERSION 1
#define MODULE_NAME    "contracts"
#define RECORD_MAX     (1 + 4 + 32 + 1 + CONTRACTS_CODE_MAX + 8)
#define DEPLOY_WEIGHT  100000
#define PUSH_WEIGHT    50000
#define DEPOSIT_WEIGHT 60000

static bool code_ok(const uint8_t *s, size_t n)
{
	static const char allowed[] = "abcdefghijklmnopqrstuvwxyz0123456789_.:-";
	if (n < 1 || n > CONTRACTS_CODE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(allowed, s[i]))
			return false;
	return true;
}

void contracts_id(uint8_t out[32], const uint8_t deployer[32], uint32_t cluster, const char *code,
                  const uint8_t *salt, size_t salt_len)
{
	uint8_t buf[32 + 4 + 1 + CONTRACTS_CODE_MAX + 1 + CONTRACTS_SALT_MAX];
	struct enc e;
	assert(strlen(code) <= CONTRACTS_CODE_MAX && salt_len <= CONTRACTS_SALT_MAX);
	enc_init_fixed(&e, buf, sizeof(buf));
	enc_raw(&e, deployer, 32);
	enc_u32(&e, cluster);
	enc_bytes(&e, code, strlen(code));
	enc_bytes(&e, salt, salt_len);
	assert(enc_finish(&e) == CODEC_OK);
	hash_tagged(out, CONTRACTS_ID_TAG, buf, e.len);
}

void contracts_deploy_payload(struct enc *e, uint32_t cluster, const char *code,
                              const uint8_t *salt, size_t salt_len, const uint8_t *args,
                              size_t args_len)
{
	enc_u32(e, cluster);
	enc_bytes(e, code, strlen(code));
	enc_bytes(e, salt, salt_len);
	enc_bytes(e, args, args_len);
}

void contracts_push_payload(struct enc *e, const uint8_t id[32], const uint8_t *ct, size_t n)
{
	enc_raw(e, id, 32);
	enc_bytes(e, ct, n);
}

/* "contract/<64 hex>" ‖ suffix, where suffix is 8 characters. */
static void contract_topic(char out[CONTRACTS_TOPIC_LEN + 1], const uint8_t id[32],
                           const char *suffix)
{
	char hex[65];
	assert(strlen(suffix) == 8);
	memcpy(out, "contract/", 9);
	memcpy(out + 9, hex_encode(hex, id, 32), 64);
	memcpy(out + 73, suffix, 9);
}

void contracts_command_topic(char out[CONTRACTS_TOPIC_LEN + 1], const uint8_t id[32])
{
	contract_topic(out, id, "/command");
}

void contracts_message_topic(char out[CONTRACTS_TOPIC_LEN + 1], const uint8_t id[32])
{
	contract_topic(out, id, "/message");
}

/* ---- records ---- */

static void encode_record(struct enc *e, const void *v)
{
	const struct contracts_info *c = v;
	enc_u8(e, RECORD_VERSION);
	enc_u32(e, c->cluster);
	enc_raw(e, c->deployer, 32);
	enc_bytes(e, c->code, strlen(c->code));
	enc_u64(e, c->deployed_height);
}

static enum codec_result decode_record(void *out, const uint8_t *b, size_t n)
{
	struct contracts_info *c = out;
	struct dec d;
	size_t len = 0;
	dec_init(&d, b, n);
	if (dec_u8(&d) != RECORD_VERSION)
		dec_fail(&d, CODEC_NONCANONICAL);
	c->cluster = dec_u32(&d);
	dec_raw(&d, c->deployer, 32);
	const uint8_t *code = dec_bytes(&d, &len, CONTRACTS_CODE_MAX);
	if (code && !code_ok(code, len))
		dec_fail(&d, CODEC_NONCANONICAL);
	else if (code)
		memcpy(c->code, code, len);
	c->deployed_height = dec_u64(&d);
	return dec_finish(&d);
}

int contracts_get(const struct state_reader *r, const uint8_t id[32], struct contracts_info *c)
{
	uint8_t key[64];
	memset(c, 0, sizeof(*c));
	int rc = registry_read(r, key, registry_key_id(key, RECORD_PREFIX, id), decode_record, c);
	if (rc != 1)
		return rc;
	memcpy(c->id, id, 32);
	int kr = registry_contract_keys_get(r, id, &c->keys);
	c->has_keys = kr == 1;
	return kr < 0 ? -1 : 1;
}

int contracts_count(const struct state_reader *r, uint32_t *n)
{
	return registry_index_count(r, INDEX_PREFIX, n);
}

int contracts_at(const struct state_reader *r, uint32_t i, uint8_t id[32])
{
	return registry_index_at(r, INDEX_PREFIX, i, id);
}

/* ---- deploy ---- */

struct deploy {
	uint32_t cluster;
	char code[CONTRACTS_CODE_MAX + 1];
	const uint8_t *salt;
	size_t salt_len;
	const uint8_t *args;
	size_t args_len;
};

static bool deploy_decode(const struct tx *tx, struct deploy *dp)
{
	struct dec d;
	size_t len = 0;
	memset(dp, 0, sizeof(*dp));
	dec_init(&d, tx->payload, tx->payload_len);
	dp->cluster = dec_u32(&d);
	const uint8_t *code = dec_bytes(&d, &len, CONTRACTS_CODE_MAX);
	if (code && !code_ok(code, len))
		dec_fail(&d, CODEC_NONCANONICAL);
	else if (code)
		memcpy(dp->code, code, len);
	dp->salt = dec_bytes(&d, &dp->salt_len, CONTRACTS_SALT_MAX);
	dp->args = dec_bytes(&d, &dp->args_len, CONTRACTS_ARGS_MAX);
	return dec_finish(&d) == CODEC_OK;
}

static enum tx_result deploy_validate(const struct tx *tx)
{
	struct deploy dp;
	return deploy_decode(tx, &dp) ? TX_OK : TX_BAD_PAYLOAD;
}

static enum tx_result emit_deployed(struct runtime_ctx *c, const struct contracts_info *info,
                                    const struct deploy *dp)
{
	uint8_t ev[1 + 32 + 4 + 32 + 1 + CONTRACTS_CODE_MAX + 2 + CONTRACTS_ARGS_MAX];
	struct enc e;
	enc_init_fixed(&e, ev, sizeof(ev));
	enc_u8(&e, CONTRACTS_EV_DEPLOYED);
	enc_raw(&e, info->id, 32);
	enc_u32(&e, info->cluster);
	enc_raw(&e, info->deployer, 32);
	enc_bytes(&e, info->code, strlen(info->code));
	enc_bytes(&e, dp->args, dp->args_len);
	assert(enc_finish(&e) == CODEC_OK);
	return mq_emit(c->overlay, MODULE_NAME, CONTRACTS_EVENT_TOPIC, ev, e.len);
}

static enum tx_result deploy_apply(struct runtime_ctx *c)
{
	struct deploy dp;
	struct contracts_info info = {0};
	uint8_t key[64];
	bool found;
	const uint8_t *v;
	size_t n;
	if (!deploy_decode(c->tx, &dp))
		return TX_BAD_PAYLOAD;
	enum tx_result r = registry_cluster_exists(c->overlay, dp.cluster, &found);
	if (r != TX_OK)
		return r;
	if (!found)
		return TX_CALL_REG_UNKNOWN_CLUSTER;
	contracts_id(info.id, c->tx->sender, dp.cluster, dp.code, dp.salt, dp.salt_len);
	size_t klen = registry_key_id(key, RECORD_PREFIX, info.id);
	if ((r = runtime_get(c->overlay, key, klen, &v, &n, &found)) != TX_OK)
		return r;
	if (found)
		return TX_CALL_CONTRACT_EXISTS;
	info.cluster = dp.cluster;
	memcpy(info.deployer, c->tx->sender, 32);
	memcpy(info.code, dp.code, sizeof(dp.code));
	info.deployed_height = c->height;
	if ((r = registry_write(c->overlay, key, klen, encode_record, &info, RECORD_MAX)) !=
	        TX_OK ||
	    (r = registry_index_append(c->overlay, INDEX_PREFIX, info.id)) != TX_OK ||
	    (r = contracts_custody_record(c->overlay, info.id)) != TX_OK)
		return r;
	return emit_deployed(c, &info, &dp);
}

/* ---- push_command ---- */

static bool push_decode(const struct tx *tx, const uint8_t **id, const uint8_t **ct, size_t *n)
{
	struct dec d;
	dec_init(&d, tx->payload, tx->payload_len);
	*id = dec_view(&d, 32);
	*ct = dec_bytes(&d, n, CONTRACTS_COMMAND_MAX);
	if (*ct && *n == 0)
		dec_fail(&d, CODEC_NONCANONICAL);
	return dec_finish(&d) == CODEC_OK;
}

static enum tx_result push_validate(const struct tx *tx)
{
	const uint8_t *id, *ct;
	size_t n;
	return push_decode(tx, &id, &ct, &n) ? TX_OK : TX_BAD_PAYLOAD;
}

static enum tx_result push_apply(struct runtime_ctx *c)
{
	const uint8_t *id, *ct, *v;
	size_t n, vn;
	uint8_t key[64];
	char topic[CONTRACTS_TOPIC_LEN + 1];
	bool found;
	if (!push_decode(c->tx, &id, &ct, &n))
		return TX_BAD_PAYLOAD;
	enum tx_result r =
	    runtime_get(c->overlay, key, registry_key_id(key, RECORD_PREFIX, id), &v, &vn, &found);
	if (r != TX_OK)
		return r;
	if (!found)
		return TX_CALL_CONTRACT_UNKNOWN;
	struct enc e;
	enc_init(&e, 32 + 8 + CONTRACTS_COMMAND_MAX);
	enc_raw(&e, c->tx->sender, 32);
	enc_u64(&e, c->tx->nonce);
	enc_raw(&e, ct, n);
	contracts_command_topic(topic, id);
	if (enc_finish(&e) != CODEC_OK)
		r = TX_NOMEM;
	else
		r = mq_emit(c->overlay, MODULE_NAME, topic, e.buf, e.len);
	enc_release(&e);
	return r;
}

static const struct runtime_call contracts_calls[] = {
    {CONTRACTS_FN_DEPLOY, "contracts.deploy", DEPLOY_WEIGHT, deploy_validate, NULL, deploy_apply},
    {CONTRACTS_FN_PUSH_COMMAND, "contracts.push_command", PUSH_WEIGHT, push_validate, NULL,
     push_apply},
    {CONTRACTS_FN_DEPOSIT, "contracts.deposit", DEPOSIT_WEIGHT, contracts_deposit_validate,
     contracts_deposit_admit, contracts_deposit_apply},
};

const struct runtime_module contracts_module = {
    RUNTIME_MODULE_CONTRACTS,
    "contracts",
    contracts_calls,
    sizeof(contracts_calls) / sizeof(contracts_calls[0]),
};
