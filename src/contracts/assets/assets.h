/*
 * Assets: the dark wallet's secret tokens (DESIGN.md §12; research/phala.md §5.3). Code name
 * "assets". Byte layouts: docs/protocol/contracts.md "Assets"; user guide: docs/wallet.md.
 *
 * Anyone issues a token (a unique symbol, decimals, the whole supply to the issuer), holders
 * transfer and burn it, and its owner (the issuer) destroys it once nobody else holds any. Who
 * holds how much, and who sent what to whom, is visible only inside the enclave: balances and
 * history are answered to the holder only. The list of tokens (symbol, decimals, owner, supply)
 * is public; an issuer may hide the supply, and then the list says "hidden".
 *
 * Issuing costs a fee in dark PHA, set at deploy. With the Balances contract in the same cluster
 * the fee is charged synchronously at ISSUE (contract_call CHARGE: the issuer's dark PHA moves to
 * this contract's dark account, all inside one enclave, nothing on chain but the opaque
 * command). With Balances in another cluster, synchronous calls are impossible: the issuer first
 * pays with Balances' PAY_CONTRACT, Balances tells this contract asynchronously through the
 * chain's queue (a PAID message), the payment becomes the payer's prepaid credit here, and ISSUE
 * takes the fee from that credit. The deployer collects the fees with COLLECT: a synchronous
 * Balances PAY in the same cluster; across clusters a PAY_OUT message to Balances through the
 * chain's queue (balances.h BALANCES_MSG_PAY_OUT), applied by Balances in a later block and
 * public on chain (destination and amount). Either way at most the fees taken and not collected
 * yet (they sit in this contract's dark account at Balances, beside the credits, which stay the
 * payers').
 *
 * Deploy arguments: balances id [32] ‖ fee u128 (units of PHA). Without them (or with a
 * malformed set) the contract refuses every command with ASSETS_NOT_CONFIGURED.
 *
 * Caps: ASSETS_TOKENS_MAX tokens, ASSETS_HOLDINGS_MAX (token, holder) pairs with a non-zero
 * balance, ASSETS_ACCOUNTS_MAX accounts with a history (kept once made, like Balances'),
 * ASSETS_HISTORY_MAX entries per account (oldest dropped), ASSETS_CREDITS_MAX prepaid credits.
 * A full table refuses with ASSETS_FULL. At the caps the snapshot is about 13 MB.
 */
#ifndef TN_CONTRACTS_ASSETS_H
#define TN_CONTRACTS_ASSETS_H

#include "enclave/contract.h"

#define ASSETS_CODE_NAME    "assets"
#define ASSETS_SYMBOL_LEN   12 /* 1..12 of [A-Z0-9], NUL-padded to 12 bytes */
#define ASSETS_DECIMALS_MAX 18
#define ASSETS_TOKENS_MAX   1024
#define ASSETS_HOLDINGS_MAX 65536
#define ASSETS_HISTORY_MAX  32
#define ASSETS_ACCOUNTS_MAX 4096
#define ASSETS_CREDITS_MAX  4096
#define ASSETS_ARGS_LEN     48

/* ---- commands (encrypted; exactly ASSETS_COMMAND_LEN bytes: the fields, then zero padding, so
 * every kind has the same size on chain) ------------------------------------------------------
 *   ISSUE     0x01 ‖ symbol [12] ‖ decimals u8 ‖ supply u128 ‖ hide_supply u8 (0/1)
 *   TRANSFER  0x02 ‖ symbol [12] ‖ dest [32] ‖ amount u128
 *   BURN      0x03 ‖ symbol [12] ‖ amount u128
 *   DESTROY   0x04 ‖ symbol [12]
 *   COLLECT   0x05 ‖ dest [32] ‖ amount u128      the deployer only: fees to dest's dark PHA
 *                                                 (dest not zero, Assets or Balances; amount
 *                                                 at most the fees held, else
 *                                                 ASSETS_INSUFFICIENT)
 * The receipt's reply is "ok: ..." or why it was refused, in English. A COLLECT sent by message
 * (Balances in another cluster) answers "ok: <amount> PHA sent to <dest> through the chain's
 * queue (Balances applies it in a later block)": the fees leave the contract's books now, and a
 * refusal by Balances then (e.g. BALANCES_FULL for a new account) leaves them in Assets' dark
 * account with nobody told. */
#define ASSETS_COMMAND_LEN 64
enum {
	ASSETS_CMD_ISSUE = 0x01,
	ASSETS_CMD_TRANSFER = 0x02,
	ASSETS_CMD_BURN = 0x03,
	ASSETS_CMD_DESTROY = 0x04,
	ASSETS_CMD_COLLECT = 0x05,
};

/* ---- messages in ---------------------------------------------------------------------------
 *   PAID  0x20 ‖ payer [32] ‖ amount u128   from the configured Balances contract only
 *                                           (balances.h BALANCES_MSG_PAID): payer's credit
 * ---- messages out ---------------------------------------------------------------------------
 *   PAY_OUT to "contract/<balances id hex>/message": a COLLECT across clusters (above) */

/* ---- queries -------------------------------------------------------------------------------
 *   BALANCE  0x01 ‖ account [32] ‖ symbol [12]   the holder only; answer: amount u128 ‖
 *                                                decimals u8 ‖ height u64
 *   HOLDINGS 0x02 ‖ account [32]                 the holder only; answer: uleb n ‖ n times
 *                                                symbol [12] ‖ decimals u8 ‖ amount u128
 *   LIST     0x03                                anyone; answer: uleb n ‖ n times symbol [12] ‖
 *                                                decimals u8 ‖ owner [32] ‖ hidden u8 ‖
 *                                                supply u128 (0 when hidden, unless the asker
 *                                                is the owner)
 *   HISTORY  0x04 ‖ account [32]                 the account only; answer: uleb n ‖ n entries,
 *                                                oldest first: kind u8 ‖ symbol [12] ‖
 *                                                counterparty [32] ‖ amount u128 ‖ height u64
 *   CONFIG   0x05                                anyone; answer: balances id [32] ‖ fee u128 ‖
 *                                                credit u128 (the asker's prepaid credit)
 * (ASSETS_Q_*). */
enum {
	ASSETS_Q_BALANCE = 0x01,
	ASSETS_Q_HOLDINGS = 0x02,
	ASSETS_Q_LIST = 0x03,
	ASSETS_Q_HISTORY = 0x04,
	ASSETS_Q_CONFIG = 0x05,
};

enum {
	ASSETS_H_ISSUED = 1,
	ASSETS_H_SENT = 2,
	ASSETS_H_RECEIVED = 3,
	ASSETS_H_BURNED = 4,
	ASSETS_H_DESTROYED = 5,
};

enum {
	ASSETS_NOT_CONFIGURED = CONTRACT_USER + 0,
	ASSETS_SYMBOL_EXISTS = CONTRACT_USER + 1,
	ASSETS_UNKNOWN_SYMBOL = CONTRACT_USER + 2,
	ASSETS_INSUFFICIENT = CONTRACT_USER + 3, /* not enough of the token */
	ASSETS_NOT_OWNER = CONTRACT_USER + 4,
	ASSETS_ZERO_AMOUNT = CONTRACT_USER + 5,
	ASSETS_BAD_DEST = CONTRACT_USER + 6,
	ASSETS_FEE_UNPAID = CONTRACT_USER + 7, /* Balances refused the fee, or no credit */
	ASSETS_STILL_HELD = CONTRACT_USER + 8, /* destroy while others hold some */
	ASSETS_FULL = CONTRACT_USER + 9,
	ASSETS_BAD_SYMBOL = CONTRACT_USER + 10,
};

extern const struct contract_code assets_code;

#endif
