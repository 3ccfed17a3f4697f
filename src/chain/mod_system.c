/*
 * System module (id 0). Nonces and fees are charged by runtime.c for every tx; the module's own
 * calls are:
 *   remark (fn 0): payload = 0..SYSTEM_REMARK_MAX raw bytes; does nothing but pay fees (so it is
 *   a cheap way to put bytes on chain and to test the fee path).
 */
#include "chain/runtime_int.h"

#define REMARK_WEIGHT 20000

static enum tx_result remark_validate(const struct tx *tx)
{
	return tx->payload_len <= SYSTEM_REMARK_MAX ? TX_OK : TX_BAD_PAYLOAD;
}

static enum tx_result remark_apply(struct runtime_ctx *c)
{
	(void)c;
	return TX_OK;
}

static const struct runtime_call system_calls[] = {
    {SYSTEM_FN_REMARK, "system.remark", REMARK_WEIGHT, remark_validate, NULL, remark_apply},
};

const struct runtime_module system_module = {
    RUNTIME_MODULE_SYSTEM,
    "system",
    system_calls,
    sizeof(system_calls) / sizeof(system_calls[0]),
};
