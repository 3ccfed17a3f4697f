/*
 * Private layouts of the state tree (smt.c). Storage format, in docs/protocol.md "State tree":
 *   node key   be64(version) ‖ u8 depth ‖ first depth nibbles of kp packed two per byte
 *              (high nibble first, a final odd nibble padded with 0)
 *   leaf       0x00 ‖ kp[32] ‖ vh[32]
 *   internal   0x01 ‖ u16le present ‖ u16le leaves ‖ per present child in nibble order:
 *              uleb(child version) ‖ child hash[32]     (bit i of a mask = child nibble i)
 *   stale key  be64(version that replaced the node) ‖ node key, empty value
 *   meta "m"   u64le version ‖ u8 has_version ‖ u8 root kind ‖ u64le root version ‖ root hash[32]
 */
#ifndef TN_STORE_SMT_INT_H
#define TN_STORE_SMT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "store/smt.h"

#define SMT_NIBBLES   64
#define NODE_KEY_MAX  (8 + 1 + 32)
#define STALE_KEY_MAX (8 + NODE_KEY_MAX)
#define INNER_VAL_MAX (1 + 2 + 2 + 16 * (10 + 32))
#define LEAF_VAL_LEN  (1 + 32 + 32)
#define NOT_STORED    0xff /* ref.depth of a leaf not yet written in this version */

enum ref_kind { REF_EMPTY = 0, REF_LEAF = 1, REF_INNER = 2 };

/* A child pointer during an update: what the parent stores, plus a leaf's contents if known. */
struct ref {
	uint8_t kind;
	uint8_t depth; /* nibble depth of the stored node, NOT_STORED for a pending leaf */
	bool loaded;   /* leaf: kp and vh are valid */
	uint64_t ver;  /* version of the stored node */
	uint8_t hash[32];
	uint8_t kp[32];
	uint8_t vh[32];
};

/* A decoded internal node. */
struct inner {
	uint16_t present;
	uint16_t leaves;
	uint64_t ver[16];
	uint8_t hash[16][32];
};

/* One write of the batch being applied, with its hashes. */
struct item {
	uint8_t kp[32];
	uint8_t vh[32];
	const struct kv_write *w;
	bool live; /* changes the tree: a write of a new value (deletes only act on leaves) */
};

enum put_db { PUT_NODES = 0, PUT_STALE = 1 };

/* A queued append to the nodes or stale table; value bytes live in the arena. */
struct put {
	uint8_t key[STALE_KEY_MAX];
	uint8_t klen;
	uint8_t db;
	uint16_t vlen;
	uint32_t voff;
};

struct meta {
	uint64_t version;
	bool has_version;
	struct ref root;
};

struct smt {
	struct smt_config cfg;
	MDB_dbi nodes, stale, flat, meta;
	struct smt_stats st;
	/* scratch of smt_apply, kept between calls to avoid reallocating per block */
	struct item *items;
	const struct kv_write **order;
	size_t items_cap, order_cap;
	struct put *puts;
	size_t nputs, puts_cap;
	struct put **sorted; /* puts in key order (sorting pointers moves 8 bytes, not 64) */
	size_t sorted_cap;

	uint8_t *arena;
	size_t alen, acap;
};

#endif
