/*
 * BLAKE2b-256, the one hash of the protocol (DESIGN.md §5). Every hashed structure is domain
 * separated: hash_tagged(tag, data) = BLAKE2b-256(len(tag) as one byte ‖ tag ‖ data), with tags
 * of the form "tenebra/v1/<what>" listed in docs/protocol.md.
 */
#ifndef TN_CRYPTO_HASH_H
#define TN_CRYPTO_HASH_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#define HASH_LEN 32

struct hash_state {
	crypto_generichash_blake2b_state st;
};

/* Plain BLAKE2b-256 (no tag), for internal structures with their own framing (the SMT). */
void hash_plain(uint8_t out[HASH_LEN], const void *p, size_t n);
/* BLAKE2b-256 of the tag prefix and p[0..n). tag is a NUL-terminated string of <= 255 bytes. */
void hash_tagged(uint8_t out[HASH_LEN], const char *tag, const void *p, size_t n);
/* Streaming form of hash_tagged: init with the tag, update any number of times, final. */
void hash_init_tagged(struct hash_state *h, const char *tag);
void hash_update(struct hash_state *h, const void *p, size_t n);
void hash_final(struct hash_state *h, uint8_t out[HASH_LEN]);

#endif
