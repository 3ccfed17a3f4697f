/*
 * The contracts the tenebra binary carries (DESIGN.md §12): a worker hosts every deployed
 * contract of its cluster whose code name is in this list.
 */
#ifndef TN_CONTRACTS_BUILTIN_H
#define TN_CONTRACTS_BUILTIN_H

#include <stddef.h>

#include "enclave/contract.h"

/* The built-in codes, in no particular order; CONTRACTS_BUILTIN_N entries. */
#define CONTRACTS_BUILTIN_N 2
extern const struct contract_code *const contracts_builtin[CONTRACTS_BUILTIN_N];

#endif
