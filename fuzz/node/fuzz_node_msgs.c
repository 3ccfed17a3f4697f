/*
 * Every decoder the node applies to bytes from peers (src/node/node_msg.h): data[0] % 4 picks the
 * hello blob (0), a transaction batch (1, channel 1), a consensus message (2: proposal with its
 * block, vote) or a sync message (3: status, block request, block with its commit); the rest is
 * the message. Properties: never crashes or leaks; a message that decodes re-encodes to the same
 * bytes (the encodings are canonical); a batch yields txs that tile a prefix of it exactly, each
 * within the tx cap, and tx_decode runs on each.
 */
#include <stdlib.h>
#include <string.h>

#include "../fuzz_util.h"
#include "chain/tx.h"
#include "node/node_msg.h"

#define BATCH_MAX 64

static void batch(const uint8_t *data, size_t size)
{
	const uint8_t *txs[BATCH_MAX];
	size_t lens[BATCH_MAX], n;
	struct dec d;
	struct enc e;
	struct tx tx;
	dec_init(&d, data, size);
	enc_init(&e, size + 16);
	while ((n = node_msg_tx_batch(&d, txs, lens, BATCH_MAX)) > 0)
		for (size_t i = 0; i < n; i++) {
			if (lens[i] > TX_MAX_BYTES)
				abort();
			if (tx_decode(&tx, txs[i], lens[i]) == CODEC_OK && tx.body_len > lens[i])
				abort();
			enc_bytes(&e, txs[i], lens[i]);
		}
	if (!d.err && e.len != size) /* a clean batch is all txs */
		abort();
	if (e.len == 0) /* nothing before a bad first length (and e has no buffer) */
		enc_release(&e);
	else
		fuzz_same_or_abort(&e, data, e.len); /* a bad length ends it: what came before */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct node_msg m; /* a commit's slots: large, and reused */
	uint64_t h;
	struct enc e;
	if (size < 1)
		return 0;
	uint8_t which = data[0] % 4;
	data++, size--;
	if (which == 0) {
		if (node_msg_hello_decode(data, size, &h) && size != 8)
			abort();
		return 0;
	}
	if (which == 1) {
		batch(data, size);
		return 0;
	}
	if (!node_msg_decode(&m, which, data, size))
		return 0;
	if (m.channel != which)
		abort();
	enc_init(&e, size + 16);
	node_msg_encode(&e, &m);
	fuzz_same_or_abort(&e, data, size);
	return 0;
}
