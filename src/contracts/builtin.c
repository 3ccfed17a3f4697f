#include "contracts/builtin.h"

#include "contracts/assets/assets.h"
#include "contracts/balances/balances.h"

const struct contract_code *const contracts_builtin[CONTRACTS_BUILTIN_N] = {&balances_code,
                                                                            &assets_code};
