/* Shared by the runtime-module fuzz targets: runs a call's admission (its stateless payload
 * check, then the account checks against an empty state) on arbitrary payload bytes. */
#ifndef TN_FUZZ_CALL_H
#define TN_FUZZ_CALL_H

#include <stdlib.h>
#include <string.h>

#include "chain/runtime.h"

/* The call's result on payload b[0..n): TX_OK can never come back, since the sender has no
 * account; TX_BAD_PAYLOAD means the payload check refused it. */
static inline enum tx_result fuzz_check_call(uint8_t module, uint8_t function, const uint8_t *b,
                                             size_t n)
{
	struct runtime_params p;
	struct state_reader empty = {NULL, NULL};
	struct tx tx;
	struct tx_check c;
	memset(&p, 0, sizeof(p));
	memset(&tx, 0, sizeof(tx));
	tx.version = TX_VERSION;
	tx.valid_until = 1;
	tx.max_fee = (u128)-1 / 2;
	tx.module = module;
	tx.function = function;
	tx.payload = b;
	tx.payload_len = n;
	enum tx_result r = runtime_check_tx(&p, &empty, &tx, n + 200, 1, &c);
	if (r == TX_OK)
		abort();
	return r;
}

#endif
