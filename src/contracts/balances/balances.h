/*
 * Balances: the dark wallet's secret PHA (DESIGN.md §12; research/phala.md §5.2). Code name
 * "balances". Byte layouts: docs/protocol/contracts.md "Balances"; user guide: docs/wallet.md.
 *
 * Money enters through the chain: contracts.deposit locks public PHA in the contract's custody
 * account (chain/contracts.h "Custody") and the contracts module sends the contract a deposit
 * message that credits the depositor. Money leaves through the chain: a withdraw command debits
 * the sender and emits a message signed by the contract key to CONTRACTS_TOPIC_WITHDRAW; the
 * chain consumes it exactly once (the message queue's sequence), releases the PHA from custody
 * and answers with a withdrawal-result message; a refusal (e.g. a destination that would stay
 * below the existential deposit) is refunded to the sender. Between the two the amount is
 * "pending": it is still in custody and still counted in the total issuance, so at every height
 *
 *     custody balance on chain == total issuance == sum of dark balances + pending withdrawals
 *
 * (the contract at height h has seen exactly the deposits and releases of blocks <= h).
 *
 * Inside, transfers are encrypted commands: on chain a transfer is an opaque
 * contracts.push_command by its sender. Every command is exactly BALANCES_COMMAND_LEN bytes, so
 * a transfer and a withdrawal cannot be told apart by size.
 *
 * Accounts are 32-byte public keys. Other contracts of the same cluster have dark accounts too
 * (their contract id), used through synchronous calls: CHARGE moves PHA from the account that
 * signed the command being handled (contract_signer) to the calling contract, PAY from the
 * calling contract to any account. A user's command to another cluster's contract can pay it
 * with PAY_CONTRACT, which credits that contract and tells it asynchronously through the queue
 * (that message is public: payer and amount, like a deposit). Such a contract spends its dark
 * account with a PAY_OUT message through the queue (public too: destination and amount).
 *
 * Caps: BALANCES_ACCOUNTS_MAX accounts with a non-zero balance or history (an account whose
 * balance is zero keeps its history), BALANCES_HISTORY_MAX history entries per account (oldest
 * dropped), BALANCES_PENDING_MAX pending withdrawals. A full table refuses with BALANCES_FULL,
 * except a deposit from an account the contract has no room for: it is sent back to the depositor's
 * public account (a pending withdrawal owned by nobody, the all-zero owner), so custody keeps
 * matching the issuance. Only with the pending table full as well is such a deposit refused, and
 * then custody holds more than the issuance until an operator-level fix; BALANCES_PENDING_MAX
 * makes that need thousands of withdrawals in flight at once.
 */
#ifndef TN_CONTRACTS_BALANCES_H
#define TN_CONTRACTS_BALANCES_H

#include "enclave/contract.h"

#define BALANCES_CODE_NAME    "balances"
#define BALANCES_ACCOUNTS_MAX 16384
#define BALANCES_HISTORY_MAX  32
#define BALANCES_PENDING_MAX  4096

/* ---- commands (encrypted; exactly BALANCES_COMMAND_LEN bytes) ----------------------------
 *   TRANSFER      0x01 ‖ dest [32] ‖ amount u128      dark -> dark
 *   WITHDRAW      0x02 ‖ dest [32] ‖ amount u128      dark -> public account dest
 *   PAY_CONTRACT  0x03 ‖ contract [32] ‖ amount u128  dark -> a contract, told by message
 * amount > 0; dest not all zero and not this contract; for TRANSFER and PAY_CONTRACT dest !=
 * sender (WITHDRAW to the sender's own public account is the usual case). The receipt's reply is
 * a short English text:
 * "ok", or why it was refused (e.g. "insufficient dark balance: have 1.5 PHA, need 2 PHA").
 * WITHDRAW's reply on success is "ok withdrawal <ref>" with the decimal ref of the withdrawal
 * (see the WITHDRAWAL query). */
#define BALANCES_COMMAND_LEN 49
enum {
	BALANCES_CMD_TRANSFER = 0x01,
	BALANCES_CMD_WITHDRAW = 0x02,
	BALANCES_CMD_PAY_CONTRACT = 0x03,
};

/* ---- synchronous calls from contracts of the same cluster (on_call) ------------------------
 *   CHARGE  0x10 ‖ payer [32] ‖ amount u128   payer must be contract_signer(env): moves amount
 *                                              from payer to the caller's dark account
 *   PAY     0x11 ‖ dest [32] ‖ amount u128    from the caller's dark account to dest
 *   BALANCE 0x12                               answer: the caller's balance u128
 * Every call is exactly BALANCES_CALL_LEN bytes (BALANCE: 0x12 and 48 zero bytes). CHARGE and PAY
 * refuse like the commands (BALANCES_ZERO_AMOUNT, _BAD_DEST, _INSUFFICIENT, _FULL); CHARGE with
 * a payer that is not the signer (or without a signer: messages, deploys) is CONTRACT_DENIED.
 * Answer of CHARGE / PAY: nothing. */
#define BALANCES_CALL_LEN 49
enum {
	BALANCES_CALL_CHARGE = 0x10,
	BALANCES_CALL_PAY = 0x11,
	BALANCES_CALL_BALANCE = 0x12,
};

/* ---- asynchronous messages -----------------------------------------------------------------
 * In, from module "contracts" (chain/contracts.h CONTRACTS_MSG_*):
 *   deposit             0x00 ‖ depositor [32] ‖ amount u128
 *   withdrawal result   0x01 ‖ ref u64 ‖ result u32        0: released, else refunded
 * In, from any contract (origin kind contract; its id is the account it spends), on
 * "contract/<balances id hex>/message":
 *   PAY_OUT             0x21 ‖ dest [32] ‖ amount u128     the sender's dark account -> dest's,
 *                                                          checked like PAY (history: the sender
 *                                                          SENT, dest PAID_BY); a refusal changes
 *                                                          nothing and nobody is told, except that
 *                                                          a dest the contract has no room for
 *                                                          (BALANCES_ACCOUNTS_MAX) is paid to
 *                                                          dest's public account instead (a
 *                                                          withdrawal owned by nobody)
 * Refused without change: from another module or a worker, or a chain kind from a contract
 * (BALANCES_NOT_CHAIN); another length or kind, or PAY_OUT from the chain (CONTRACT_BAD_REQUEST).
 * Out, on "contract/<id hex>/message" to the contract a PAY_CONTRACT names:
 *   PAID                0x20 ‖ payer [32] ‖ amount u128
 * Out, on CONTRACTS_TOPIC_WITHDRAW: ref u64 ‖ dest [32] ‖ amount u128. */
#define BALANCES_MSG_PAID    0x20
#define BALANCES_MSG_PAY_OUT 0x21

/* ---- queries (signed by the asker) ---------------------------------------------------------
 *   BALANCE     0x01 ‖ account [32]          account must be the asker, else CONTRACT_DENIED;
 *                                            answer: balance u128 ‖ height u64
 *   ISSUANCE    0x02                         anyone; answer: issuance u128 ‖ pending u128 ‖
 *                                            height u64  (issuance includes pending)
 *   HISTORY     0x03 ‖ account [32]          the asker only; answer: uleb n ‖ n entries, oldest
 *                                            first: kind u8 ‖ counterparty [32] ‖ amount u128 ‖
 *                                            height u64 ‖ ref u64
 *   WITHDRAWAL  0x04 ‖ ref u64               the withdrawal's owner only; answer: state u8
 *                                            (BALANCES_WD_*) ‖ dest [32] ‖ amount u128 ‖
 *                                            result u32 (the chain's, when settled) */
enum {
	BALANCES_Q_BALANCE = 0x01,
	BALANCES_Q_ISSUANCE = 0x02,
	BALANCES_Q_HISTORY = 0x03,
	BALANCES_Q_WITHDRAWAL = 0x04,
};

/* History entry kinds; counterparty is the other side (the depositor itself for a deposit, the
 * public destination for a withdrawal, a contract for CHARGE/PAY/PAY_CONTRACT). A contract's own
 * dark account records RECEIVED for a CHARGE it made and for a PAY_CONTRACT to it, SENT for a PAY
 * or PAY_OUT it made. ref is the withdrawal's ref for WITHDRAW/REFUND/RELEASED, else 0. */
enum {
	BALANCES_H_DEPOSIT = 1,
	BALANCES_H_SENT = 2,
	BALANCES_H_RECEIVED = 3,
	BALANCES_H_WITHDRAW = 4, /* debited; pending until released or refunded */
	BALANCES_H_RELEASED = 5, /* the chain paid it out (amount: the withdrawal's) */
	BALANCES_H_REFUND = 6,   /* the chain refused it: credited back */
	BALANCES_H_CHARGED = 7,  /* a contract charged this account (CHARGE) */
	BALANCES_H_PAID_BY = 8,  /* a contract paid this account (PAY) */
	BALANCES_H_PAY_CONTRACT = 9,
};

/* Withdrawal states (WITHDRAWAL query). Settled withdrawals are remembered while their owner's
 * history still holds them; older refs, unknown refs and other accounts' settled withdrawals
 * answer CONTRACT_NO_RECEIPT (another account's pending one: CONTRACT_DENIED). */
enum {
	BALANCES_WD_PENDING = 0,
	BALANCES_WD_RELEASED = 1,
	BALANCES_WD_REFUNDED = 2,
};

/* Results besides the generic ones (CONTRACT_BAD_REQUEST for a command that does not decode,
 * CONTRACT_DENIED for a query or call about someone else). */
enum {
	BALANCES_INSUFFICIENT = CONTRACT_USER + 0, /* not enough dark PHA */
	BALANCES_ZERO_AMOUNT = CONTRACT_USER + 1,
	BALANCES_BAD_DEST = CONTRACT_USER + 2,  /* all-zero, the sender itself, or this contract */
	BALANCES_OVERFLOW = CONTRACT_USER + 3,  /* a balance would pass 2^128 - 1 */
	BALANCES_FULL = CONTRACT_USER + 4,      /* a cap above */
	BALANCES_NOT_CHAIN = CONTRACT_USER + 5, /* a chain message not from module "contracts" */
};

extern const struct contract_code balances_code;

#endif
