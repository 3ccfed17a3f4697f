/*
 * SS58 addresses (Substrate's format, DESIGN.md §5), for 32-byte public keys:
 *   base58(prefix ‖ pk ‖ checksum), checksum = BLAKE2b-512("SS58PRE" ‖ prefix ‖ pk)[0..2),
 * Bitcoin base58 alphabet. prefix is one byte for network ids 0..63 and two bytes for 64..16383
 * (Substrate's packing, see ss58.c). Tenebra uses network id 30 (Phala's), so its addresses
 * interoperate with Substrate tooling. The byte-exact format and where it differs from
 * @polkadot/util-crypto (we are stricter) is in docs/protocol/signatures.md "Account addresses".
 *
 * A decoder accepts exactly one spelling per (prefix, key): decode -> encode round-trips.
 */
#ifndef TN_BASE_SS58_H
#define TN_BASE_SS58_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SS58_PK_LEN       32
#define SS58_PREFIX_PHALA 30
#define SS58_PREFIX_MAX   16383
/* Buffer size (with the NUL) that holds any address: at most 49 characters. */
#define SS58_ADDR_MAX 50

enum ss58_result {
	SS58_OK = 0,
	SS58_BAD_CHAR,     /* a character outside the base58 alphabet (incl. 0 O I l, spaces) */
	SS58_BAD_LENGTH,   /* not a 32-byte key: decoded length is not prefix + 32 + 2 bytes */
	SS58_BAD_PREFIX,   /* first byte >= 128, reserved id 46/47, or a two-byte form of id < 64 */
	SS58_BAD_CHECKSUM, /* checksum does not match */
	SS58_WRONG_PREFIX, /* well-formed, but for another network than the caller requires */
};

/* A static English message for r; never NULL. */
const char *ss58_strerror(enum ss58_result r);

/* True iff prefix is a network id an address may carry: <= 16383 and not reserved (46, 47). */
bool ss58_prefix_valid(uint16_t prefix);

/* Writes the address of pk under prefix, NUL-terminated, into out[0..cap) and returns its length
 * (without the NUL). Caller misuse aborts: cap < SS58_ADDR_MAX or !ss58_prefix_valid(prefix). */
size_t ss58_encode(char *out, size_t cap, uint16_t prefix, const uint8_t pk[SS58_PK_LEN]);

/* Parses the NUL-terminated string s. On SS58_OK writes the key to pk and the network id to
 * *prefix. Otherwise leaves pk and *prefix unspecified and returns SS58_BAD_CHAR, SS58_BAD_LENGTH
 * (also for any string longer than 49 characters, which is not scanned), SS58_BAD_PREFIX or
 * SS58_BAD_CHECKSUM. */
enum ss58_result ss58_decode(uint8_t pk[SS58_PK_LEN], uint16_t *prefix, const char *s);

/* ss58_decode, then SS58_WRONG_PREFIX if the address is valid but its id is not expected. */
enum ss58_result ss58_decode_expect(uint8_t pk[SS58_PK_LEN], uint16_t expected, const char *s);

#endif
