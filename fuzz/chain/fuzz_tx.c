/* Tx decoding: never crashes, and whatever decodes re-encodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/tx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tx tx;
	if (tx_decode(&tx, data, size) != CODEC_OK)
		return 0;
	if (tx.body_len + TX_SIG_LEN != size || tx.payload_len > TX_MAX_PAYLOAD)
		abort();
	struct enc e;
	enc_init(&e, TX_MAX_BYTES);
	tx_encode(&e, &tx);
	if (enc_finish(&e) != CODEC_OK || e.len != size || memcmp(e.buf, data, size) != 0)
		abort();
	enc_release(&e);
	uint8_t id[TX_ID_LEN];
	tx_id(id, data, tx.body_len);
	(void)tx_verify_sig(&tx, data, size);
	return 0;
}
