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
	struct tx tx;
	uint8_t pk[32], sk[64], dest[32], transfer[BALANCES_TRANSFER_PAYLOAD_LEN];
	uint8_t *payload = NULL;
	const char *from = NULL, *to = NULL, *amount = NULL;
	u128 units = 0;
	int c;
	memset(&tx, 0, sizeof(tx));
	tx.version = TX_VERSION;
	tx.module = RUNTIME_MODULE_BALANCES;
	tx.function = BALANCES_FN_TRANSFER;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			from = optarg;
			break;
		case 'c':
			if (!hex_decode_exact(tx.chain_id, 32, optarg))
				return die("bad --chain");
			break;
		case 'n':
			tx.nonce = strtoull(optarg, NULL, 10);
			break;
		case 'v':
			tx.valid_until = strtoull(optarg, NULL, 10);
			break;
		case 'm':
			if (!amount_parse_units(&tx.max_fee, optarg))
				return die("bad --max-fee");
			break;
		case 't':
			if (!amount_parse_units(&tx.tip, optarg))
				return die("bad --tip");
			break;
		case 'M':
			tx.module = (uint8_t)atoi(optarg);
			break;
		case 'F':
			tx.function = (uint8_t)atoi(optarg);
			break;
		case 'p':
			if (!hex_decode_alloc(&payload, &tx.payload_len, optarg, TX_MAX_BYTES))
				return die("bad --payload");
			tx.payload = payload;
			break;
		case 'T':
			to = optarg;
			break;
		case 'a':
			amount = optarg;
			break;
		case 'P': {
			char h[65];
			if (!devkeys_keypair(optarg, pk, sk))
				return die("unknown dev account");
			sodium_memzero(sk, sizeof(sk));
			printf("%s\n", hex_encode(h, pk, 32));
			return 0;
		}
		default:
			return die("unknown option");
		}
	}
	if (!from || !devkeys_keypair(from, pk, sk))
		return die("--from must name a dev account");
	memcpy(tx.sender, pk, 32);
	if (to) {
		if (!hex_decode_exact(dest, 32, to) || !amount ||
		    !amount_parse_units(&units, amount))
			return die("--to HEX32 needs --amount UNITS");
		balances_transfer_payload(transfer, dest, units);
		tx.payload = transfer;
		tx.payload_len = sizeof(transfer);
	}
	if (!tx_sign(&tx, sk))
		return die("payload too large");
	sodium_memzero(sk, sizeof(sk));
	struct enc e;
	enc_init(&e, TX_MAX_BYTES + 1024); /* room to build oversized txs on purpose */
	tx_encode(&e, &tx);
	uint8_t id[32];
	char *hex = malloc(2 * e.len + 1), idhex[65];
	tx_id(id, e.buf, e.len - TX_SIG_LEN);
	printf("%s\n%s\n", hex_encode(hex, e.buf, e.len), hex_encode(idhex, id, 32));
	free(hex);
	free(payload);
	enc_release(&e);
	return 0;
}
