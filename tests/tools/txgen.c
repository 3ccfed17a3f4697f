/*
 * Builds and signs one transaction for integration tests, so they can submit exact bytes (and
 * mutate them into malformed ones) through the node's RPC.
 *
 *   txgen --from DEVNAME --chain HEX32 --nonce N --valid-until H --max-fee UNITS [--tip UNITS]
 *         [--module M --function F --payload HEX | --to HEX32 --amount UNITS]
 *
 * Prints the signed tx as hex and its id on a second line.
 *
 *   txgen --pubkey DEVNAME      prints the dev account's public key as hex
 */
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/amount.h"
#include "base/hex.h"
#include "chain/runtime.h"
#include "chain/tx.h"
#include "crypto/devkeys.h"

static int die(const char *msg)
{
	fprintf(stderr, "txgen: %s\n", msg);
	return 2;
}

struct args {
	struct tx tx;
	const char *from, *to, *amount;
	uint8_t *payload; /* --payload, malloc'ed */
};

/* --pubkey: prints the dev account's public key. */
static int print_pubkey(const char *name)
{
	uint8_t pk[32], sk[64];
	char h[65];
	if (!devkeys_keypair(name, pk, sk))
		return die("unknown dev account");
	sodium_memzero(sk, sizeof(sk));
	printf("%s\n", hex_encode(h, pk, 32));
	return 0;
}

/* Takes one option: -1 to go on, else the exit status. */
static int take_option(struct args *a, int c, const char *arg)
{
	switch (c) {
	case 'f':
		a->from = arg;
		return -1;
	case 'c':
		return hex_decode_exact(a->tx.chain_id, 32, arg) ? -1 : die("bad --chain");
	case 'n':
		a->tx.nonce = strtoull(arg, NULL, 10);
		return -1;
	case 'v':
		a->tx.valid_until = strtoull(arg, NULL, 10);
		return -1;
	case 'm':
		return amount_parse_units(&a->tx.max_fee, arg) ? -1 : die("bad --max-fee");
	case 't':
		return amount_parse_units(&a->tx.tip, arg) ? -1 : die("bad --tip");
	case 'M':
		a->tx.module = (uint8_t)atoi(arg);
		return -1;
	case 'F':
		a->tx.function = (uint8_t)atoi(arg);
		return -1;
	case 'p':
		if (!hex_decode_alloc(&a->payload, &a->tx.payload_len, arg, TX_MAX_BYTES))
			return die("bad --payload");
		a->tx.payload = a->payload;
		return -1;
	case 'T':
		a->to = arg;
		return -1;
	case 'a':
		a->amount = arg;
		return -1;
	case 'P':
		return print_pubkey(arg);
	default:
		return die("unknown option");
	}
}

/* Signs a->tx as --from (a transfer when --to is given) and prints it and its id. */
static int sign_and_print(struct args *a)
{
	uint8_t pk[32], sk[64], dest[32], transfer[BALANCES_TRANSFER_PAYLOAD_LEN];
	u128 units = 0;
	struct tx *tx = &a->tx;
	if (!a->from || !devkeys_keypair(a->from, pk, sk))
		return die("--from must name a dev account");
	memcpy(tx->sender, pk, 32);
	if (a->to) {
		if (!hex_decode_exact(dest, 32, a->to) || !a->amount ||
		    !amount_parse_units(&units, a->amount))
			return die("--to HEX32 needs --amount UNITS");
		balances_transfer_payload(transfer, dest, units);
		tx->payload = transfer;
		tx->payload_len = sizeof(transfer);
	}
	bool signed_ok = tx_sign(tx, sk);
	sodium_memzero(sk, sizeof(sk));
	if (!signed_ok)
		return die("payload too large");
	struct enc e;
	enc_init(&e, TX_MAX_BYTES + 1024); /* room to build oversized txs on purpose */
	tx_encode(&e, tx);
	uint8_t id[32];
	char *hex = malloc(2 * e.len + 1), idhex[65];
	tx_id(id, e.buf, e.len - TX_SIG_LEN);
	printf("%s\n%s\n", hex_encode(hex, e.buf, e.len), hex_encode(idhex, id, 32));
	free(hex);
	enc_release(&e);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"from", 1, 0, 'f'},
	                                     {"chain", 1, 0, 'c'},
	                                     {"nonce", 1, 0, 'n'},
	                                     {"valid-until", 1, 0, 'v'},
	                                     {"max-fee", 1, 0, 'm'},
	                                     {"tip", 1, 0, 't'},
	                                     {"module", 1, 0, 'M'},
	                                     {"function", 1, 0, 'F'},
	                                     {"payload", 1, 0, 'p'},
	                                     {"to", 1, 0, 'T'},
	                                     {"amount", 1, 0, 'a'},
	                                     {"pubkey", 1, 0, 'P'},
	                                     {0, 0, 0, 0}};
	struct args a;
	int c, rc = -1;
	memset(&a, 0, sizeof(a));
	a.tx.version = TX_VERSION;
	a.tx.module = RUNTIME_MODULE_BALANCES;
	a.tx.function = BALANCES_FN_TRANSFER;
	while (rc < 0 && (c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		rc = take_option(&a, c, optarg);
	if (rc < 0)
		rc = sign_and_print(&a);
	free(a.payload);
	return rc;
}
