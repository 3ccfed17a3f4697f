/* Signed transactions for any call (worker_tx.h). */
#include "worker/worker_tx.h"

#include <string.h>

#include "base/amount.h"
#include "base/hex.h"
#include "base/jsonx.h"
#include "chain/tx.h"

bool worker_tx_chain_read(struct worker_tx_chain *ch, const json_t *info, const json_t *account)
{
	const json_t *fees = json_object_get(info, "fees");
	const char *id = json_string_value(json_object_get(info, "chain_id"));
	memset(ch, 0, sizeof(*ch));
	return id && hex_decode_exact(ch->params.chain_id, 32, id) &&
	       jsonx_units(fees, "base", &ch->params.fee_base) &&
	       jsonx_units(fees, "per_byte", &ch->params.fee_per_byte) &&
	       jsonx_units(fees, "per_weight", &ch->params.fee_per_weight) &&
	       jsonx_u64(account, "height", &ch->height) &&
	       jsonx_u64(account, "next_nonce", &ch->nonce);
}

bool worker_tx_fill(struct tx *tx, const struct worker_tx_chain *ch, const uint8_t sk[64],
                    uint64_t valid_until, uint8_t module, uint8_t function, const uint8_t *payload,
                    size_t len, u128 tip)
{
	u128 fee;
	uint64_t weight;
	*tx = (struct tx){.version = TX_VERSION,
	                  .nonce = ch->nonce,
	                  .valid_until = valid_until,
	                  .tip = tip,
	                  .module = module,
	                  .function = function,
	                  .payload = payload,
	                  .payload_len = len};
	memcpy(tx->chain_id, ch->params.chain_id, 32);
	memcpy(tx->sender, sk + 32, 32);
	size_t n = tx_encoded_len(tx);
	return n != 0 && runtime_fee(&ch->params, tx, n, &fee, &weight) == TX_OK &&
	       amount_add(&tx->max_fee, fee, tip) && tx_sign(tx, sk);
}

bool worker_tx_build(struct enc *out, const struct worker_tx_chain *ch, const uint8_t sk[64],
                     uint8_t module, uint8_t function, const uint8_t *payload, size_t len, u128 tip,
                     uint8_t txid[32])
{
	struct tx tx;
	if (!worker_tx_fill(&tx, ch, sk, ch->height + WORKER_TX_MORTALITY, module, function,
	                    payload, len, tip))
		return false;
	size_t start = out->len;
	tx_encode(out, &tx);
	if (enc_finish(out) != CODEC_OK)
		return false;
	tx_id(txid, out->buf + start, out->len - start - TX_SIG_LEN);
	return true;
}
