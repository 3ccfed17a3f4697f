/* Message queue decoders: one message (round trip), a block's message list (root computed
 * without crashing), and mq.push payloads (the call's payload check; an accepted payload
 * re-encodes message by message to the same bytes). The first byte picks the decoder. */
#include <stdint.h>

#include "../fuzz_util.h"
#include "chain/mq.h"
#include "fuzz_call.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void message(const uint8_t *b, size_t n)
{
	struct mq_message m;
	struct enc e;
	if (mq_message_decode(&m, b, n) != CODEC_OK)
		return;
	enc_init(&e, MQ_MESSAGE_MAX);
	mq_message_encode(&e, &m);
	fuzz_same_or_abort(&e, b, n);
}

static void list(const uint8_t *b, size_t n)
{
	size_t count;
	uint8_t root[32];
	if (mq_list_root(b, n, &count, root) == CODEC_OK && count > MQ_BLOCK_MAX_MSGS)
		abort();
}

static void push(const uint8_t *b, size_t n)
{
	if (fuzz_check_call(RUNTIME_MODULE_MQ, MQ_FN_PUSH, b, n) == TX_BAD_PAYLOAD)
		return;
	struct dec d;
	struct enc e;
	dec_init(&d, b, n);
	size_t count = (size_t)dec_uleb(&d, MQ_PUSH_MAX);
	enc_init(&e, n);
	enc_uleb(&e, count);
	for (size_t i = 0; i < count; i++) {
		struct mq_message m;
		mq_message_read(&d, &m);
		mq_message_encode(&e, &m);
		const uint8_t *sig = dec_view(&d, 64);
		if (!sig)
			abort(); /* the payload check accepted it */
		enc_raw(&e, sig, 64);
	}
	fuzz_same_or_abort(&e, b, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const targets[])(const uint8_t *, size_t) = {message, list, push};
	if (size == 0)
		return 0;
	targets[data[0] % 3](data + 1, size - 1);
	return 0;
}
