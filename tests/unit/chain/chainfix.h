/*
 * Shared by the chain tests' fixtures (test_runtime.c, test_validators.c, modfix.h): the runtime
 * parameters of a test chain and an account written straight into a memstate. The fee numbers
 * are the ones the tests' expected fees are computed from. Include check.h first.
 */
#ifndef TN_TEST_CHAINFIX_H
#define TN_TEST_CHAINFIX_H

#include <string.h>

#include "base/amount.h"
#include "chain/memstate.h"
#include "chain/runtime.h"
#include "crypto/hash.h"

/* Parameters of a chain whose id is derived from label; the sudo key is left zero. */
static inline void chainfix_params(struct runtime_params *p, const char *label)
{
	memset(p, 0, sizeof(*p));
	hash_tagged(p->chain_id, "tenebra/v1/test-chain", label, strlen(label));
	p->ss58_prefix = 30;
	p->block_time_ms = 1000;
	p->existential_deposit = AMOUNT_ONE_PHA / 100;
	p->fee_base = AMOUNT_ONE_PHA / 10000;
	p->fee_per_byte = AMOUNT_ONE_PHA / 1000000;
	p->fee_per_weight = AMOUNT_ONE_PHA / 1000000000;
	runtime_module_account(p->treasury, "treasury");
	runtime_module_account(p->mining_reward_pool, "mining-reward-pool");
}

static inline void chainfix_put_account(struct memstate *m, const uint8_t pk[32], uint64_t nonce,
                                        u128 free)
{
	uint8_t key[RUNTIME_ACCOUNT_KEY_LEN], val[RUNTIME_ACCOUNT_VALUE_LEN];
	struct account a = {nonce, free};
	runtime_account_key(key, pk);
	runtime_account_encode(val, &a);
	mem_put(m, key, sizeof(key), val, sizeof(val));
}

#endif
