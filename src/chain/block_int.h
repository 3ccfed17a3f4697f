/* Decoding helpers shared by block.c and feed.c. */
#ifndef TN_CHAIN_BLOCK_INT_H
#define TN_CHAIN_BLOCK_INT_H

#include "chain/block.h"

/* Reads uleb count ‖ (uleb len ‖ bytes)* with count <= max_count and each len <= max_len into
 * malloc'ed arrays *items (pointers into d's buffer) and *lens, *n entries; both NULL when the
 * list is empty. check (may be NULL) runs on each item as it is read, so the first error in
 * the input is the one reported. Failures go to d's sticky error; the arrays may be allocated
 * even then, and the caller frees them. */
void block_dec_list(struct dec *d, uint64_t max_count, size_t max_len,
                    enum codec_result (*check)(const uint8_t *item, size_t len),
                    const uint8_t ***items, size_t **lens, size_t *n);

#endif
