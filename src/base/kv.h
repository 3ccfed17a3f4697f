/* One write to a key-value state: the shape the runtime's overlay exports (chain/state.h) and the
 * state tree applies (store/smt.h), so a block's write set passes from one to the other as is. */
#ifndef TN_BASE_KV_H
#define TN_BASE_KV_H

#include <stddef.h>
#include <stdint.h>

/* value == NULL deletes key (deleting an absent key is a no-op). Pointers are borrowed. */
struct kv_write {
	const uint8_t *key;
	size_t klen;
	const uint8_t *value;
	size_t vlen;
};

#endif
