/*
 * A test contract (not shipped; the worked example of docs/contracts.md): per-account counters and
 * a shared total, driven by short text requests.
 *
 *   commands / sync calls / async messages (origin = the account, or the calling contract):
 *     "add N"            counter[origin] += N, total += N (N decimal, 0..2^64-1)
 *     "call <id hex> N"  synchronous "add N" in contract <id>: it credits this contract
 *     "send <id hex> N"  asynchronous "add N" to contract <id> through the message queue
 *     "roll"             stores 8 bytes of contract_random
 *     "fail"             emits a message, then refuses (nothing may remain of it)
 *   queries:
 *     "get mine" -> u64 counter[origin]   "get total" -> u64   "get blocks" -> u64 (on_block)
 *     "get messages" -> u64 (async messages applied)   "get roll" -> 8 bytes
 *     "peek <id hex>" -> u64: "get total" of contract <id> through a read-only sync call
 *
 *   deploy arguments: one command request, applied for the deployer (none: nothing)
 *
 * Results: CONTRACT_OK; CONTRACT_BAD_REQUEST (unknown request, bad number, overflow);
 * COUNTER_FULL (more than COUNTER_MAX_ACCOUNTS accounts); a callee's result for call/peek.
 * Every refusal leaves the state unchanged. Answers are u64 little-endian. A command's receipt
 * carries the reply "mine=N" (the sender's counter after it) or "refused: <why>".
 */
#ifndef TN_TESTS_CONTRACTS_COUNTER_H
#define TN_TESTS_CONTRACTS_COUNTER_H

#include "enclave/contract.h"

#define COUNTER_CODE_NAME    "test.counter"
#define COUNTER_MAX_ACCOUNTS 256
#define COUNTER_REQUEST_MAX  160
#define COUNTER_FULL         CONTRACT_USER

extern const struct contract_code counter_code;

#endif
