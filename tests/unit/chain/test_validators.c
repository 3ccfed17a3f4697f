/*
 * Validators module: canonical order, the genesis set in state, validators.set_power (every
 * success and refusal, accumulation within a block, epochs and the one-block look-ahead through
 * runtime_end_block), validators.report_evidence (real Ed25519 votes: success, round trip and
 * every refusal), the pure decoders, and malformed validator records.
 */
#include "check.h"

#include "chainfix.h"

#include "base/amount.h"
#include "base/hex.h"
#include "chain/genesis.h"
#include "chain/memstate.h"
#include "chain/runtime.h"
#include "chain/validators.h"
#include "crypto/devkeys.h"
#include "crypto/hash.h"
#include "crypto/sig.h"

#define PHA    AMOUNT_ONE_PHA
#define ED     (PHA / 100)
#define HEIGHT 10

struct key {
	uint8_t pk[32], sk[64];
};

struct fx {
	struct memstate mem;
	struct runtime_params p;
	struct key alice, bob, charlie, dave;
	uint8_t payload[VALIDATORS_EVIDENCE_LEN + 1];
	uint64_t nonce[2]; /* alice's, bob's next nonce */
};

static void dev_key(struct key *k, const char *name)
{
	CHECK(devkeys_keypair(name, k->pk, k->sk));
}

/* The initial set {alice: 10}; alice is sudo; alice and bob have accounts. */
static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	chainfix_params(&f->p, "v");
	dev_key(&f->alice, "alice");
	dev_key(&f->bob, "bob");
	dev_key(&f->charlie, "charlie");
	dev_key(&f->dave, "dave");
	memcpy(f->p.sudo, f->alice.pk, 32);
	chainfix_put_account(&f->mem, f->alice.pk, 0, 10 * PHA);
	chainfix_put_account(&f->mem, f->bob.pk, 0, 10 * PHA);
	chainfix_put_account(&f->mem, f->p.treasury, 0, PHA);
	struct valset vs = {.n = 1};
	memcpy(vs.v[0].pub_key, f->alice.pk, 32);
	vs.v[0].power = 10;
	struct state_reader r = mem_reader(&f->mem);
	struct state_overlay o;
	state_overlay_init(&o, &r, NULL);
	CHECK(validators_init_state(&o, &vs) == STATE_OK);
	CHECK(mem_commit(&f->mem, &o));
	state_overlay_release(&o);
}

static size_t tx_len_of(const struct tx *tx)
{
	struct enc e;
	enc_init(&e, 1 << 16);
	tx_encode(&e, tx);
	CHECK(enc_finish(&e) == CODEC_OK);
	size_t n = e.len;
	enc_release(&e);
	return n;
}

static void call_tx(struct fx *f, struct tx *tx, const struct key *from, uint8_t fn,
                    const uint8_t *payload, size_t len)
{
	memset(tx, 0, sizeof(*tx));
	tx->version = TX_VERSION;
	memcpy(tx->chain_id, f->p.chain_id, 32);
	memcpy(tx->sender, from->pk, 32);
	tx->nonce = f->nonce[from == &f->bob];
	tx->valid_until = HEIGHT + 1000;
	tx->max_fee = PHA;
	tx->module = RUNTIME_MODULE_VALIDATORS;
	tx->function = fn;
	memcpy(f->payload, payload, len);
	tx->payload = f->payload;
	tx->payload_len = len;
}

static void set_power_tx(struct fx *f, struct tx *tx, const struct key *from, const uint8_t pk[32],
                         uint64_t power)
{
	uint8_t p[VALIDATORS_SET_POWER_PAYLOAD_LEN];
	validators_set_power_payload(p, pk, power);
	call_tx(f, tx, from, VALIDATORS_FN_SET_POWER, p, sizeof(p));
}

static void evidence_tx(struct fx *f, struct tx *tx, const struct key *from,
                        const struct dup_vote_evidence *ev)
{
	uint8_t p[VALIDATORS_EVIDENCE_LEN];
	struct enc e;
	enc_init_fixed(&e, p, sizeof(p));
	validators_evidence_encode(&e, ev);
	CHECK(enc_finish(&e) == CODEC_OK && e.len == sizeof(p));
	call_tx(f, tx, from, VALIDATORS_FN_REPORT_EVIDENCE, p, sizeof(p));
}

/* Runs one tx in its own block: returns runtime_apply_tx's result, the call's in *call. The
 * block ends with runtime_end_block and is committed when the tx was included. */
static enum tx_result run(struct fx *f, const struct tx *tx, uint64_t height, enum tx_result *call,
                          bool *changed)
{
	struct state_reader r = mem_reader(&f->mem);
	struct state_overlay o;
	struct tx_outcome out;
	struct valset next;
	bool ch = false;
	state_overlay_init(&o, &r, NULL);
	enum tx_result res =
	    runtime_apply_tx(&f->p, &o, tx, tx_len_of(tx), height, f->alice.pk, &out);
	*call = out.result;
	if (res == TX_OK) {
		f->nonce[memcmp(tx->sender, f->bob.pk, 32) == 0]++;
		CHECK(runtime_end_block(&o, height, &next, &ch) == TX_OK);
		CHECK(mem_commit(&f->mem, &o));
	}
	if (changed)
		*changed = ch;
	state_overlay_release(&o);
	return res;
}

/* The call error of an included tx (TX_OK on success); a not-includable result fails. */
static enum tx_result run_call(struct fx *f, const struct tx *tx, uint64_t height)
{
	enum tx_result call;
	CHECK(run(f, tx, height, &call, NULL) == TX_OK);
	return call;
}

static struct state_reader reader(struct fx *f)
{
	return mem_reader(&f->mem);
}

/* Admission of tx (runtime_check_tx) against the current state at HEIGHT. */
static enum tx_result admit(struct fx *f, const struct tx *tx)
{
	struct state_reader r = reader(f);
	struct tx_check chk;
	return runtime_check_tx(&f->p, &r, tx, tx_len_of(tx), HEIGHT, &chk);
}

/* Admission of a tx from bob calling fn with payload p[0..len). */
static enum tx_result admit_payload(struct fx *f, uint8_t fn, const uint8_t *p, size_t len)
{
	struct tx tx;
	call_tx(f, &tx, &f->bob, fn, p, len);
	return admit(f, &tx);
}

static struct valset load_next(struct fx *f)
{
	struct state_reader r = reader(f);
	struct valset vs;
	CHECK(validators_load_next(&r, &vs) == 1);
	return vs;
}

static uint64_t power_of(const struct valset *vs, const uint8_t pk[32])
{
	size_t i;
	return valset_find(vs, pk, &i) ? vs->v[i].power : 0;
}

static u128 free_of(struct fx *f, const uint8_t pk[32])
{
	struct state_reader r = reader(f);
	struct account a;
	CHECK(runtime_account_get(&r, pk, &a) == 1);
	return a.free;
}

static bool evidence_equal(const struct dup_vote_evidence *a, const struct dup_vote_evidence *b)
{
	return memcmp(a->pub_key, b->pub_key, 32) == 0 && a->type == b->type &&
	       a->height == b->height && a->round == b->round &&
	       memcmp(a->block_hash_a, b->block_hash_a, 32) == 0 &&
	       memcmp(a->sig_a, b->sig_a, 64) == 0 &&
	       memcmp(a->block_hash_b, b->block_hash_b, 32) == 0 &&
	       memcmp(a->sig_b, b->sig_b, 64) == 0;
}

/* A digest of the whole state (sorted keys and values): a stand-in for the state root, which
 * commits to exactly these bytes. */
static void state_digest(struct fx *f, uint8_t out[32])
{
	struct hash_state h;
	hash_init_tagged(&h, "test/state-digest");
	for (size_t i = 0; i < f->mem.n; i++) {
		uint8_t lens[2] = {(uint8_t)f->mem.e[i].klen, (uint8_t)f->mem.e[i].vlen};
		hash_update(&h, lens, 2);
		hash_update(&h, f->mem.e[i].key, f->mem.e[i].klen);
		hash_update(&h, f->mem.e[i].val, f->mem.e[i].vlen);
	}
	hash_final(&h, out);
}

/* ---- canonical order ---- */

static void canonical_order(void)
{
	uint64_t seed = check_seed();
	for (long it = 0; it < check_iters(200); it++) {
		struct valset vs = {.n = 1 + check_rand(&seed) % VALSET_MAX}, shuffled;
		for (size_t i = 0; i < vs.n; i++) {
			uint64_t x = check_rand(&seed);
			memset(vs.v[i].pub_key, 0, 32);
			memcpy(vs.v[i].pub_key, &i, sizeof(i)); /* distinct keys */
			vs.v[i].pub_key[31] = (uint8_t)x;
			vs.v[i].power = 1 + x % 4; /* many ties */
		}
		shuffled = vs;
		for (size_t i = vs.n; i > 1; i--) {
			size_t j = check_rand(&seed) % i;
			struct validator t = shuffled.v[i - 1];
			shuffled.v[i - 1] = shuffled.v[j];
			shuffled.v[j] = t;
		}
		validators_sort(&vs);
		validators_sort(&shuffled);
		CHECK(validators_sorted(&vs) && validators_equal(&vs, &shuffled));
		for (size_t i = 1; i < vs.n; i++)
			CHECK(vs.v[i - 1].power > vs.v[i].power ||
			      (vs.v[i - 1].power == vs.v[i].power &&
			       memcmp(vs.v[i - 1].pub_key, vs.v[i].pub_key, 32) < 0));
		uint8_t h1[32], h2[32];
		valset_hash(h1, &vs);
		valset_hash(h2, &shuffled);
		CHECK_EQ_MEM(h1, h2, 32);
	}
	/* Ties by key, then the unsorted and duplicate cases. */
	struct valset vs = {.n = 3};
	memset(vs.v[0].pub_key, 3, 32);
	memset(vs.v[1].pub_key, 1, 32);
	memset(vs.v[2].pub_key, 2, 32);
	vs.v[0].power = vs.v[1].power = 5;
	vs.v[2].power = 9;
	CHECK(!validators_sorted(&vs));
	validators_sort(&vs);
	CHECK(vs.v[0].pub_key[0] == 2 && vs.v[1].pub_key[0] == 1 && vs.v[2].pub_key[0] == 3);
	CHECK(validators_sorted(&vs));
	vs.v[2] = vs.v[1];
	CHECK(!validators_sorted(&vs)); /* a key twice is not strictly ordered */
}

/* ---- genesis ---- */

static void genesis_set_in_state(void)
{
	char *json = genesis_dev_json(1000);
	struct genesis g;
	struct memstate m = {0};
	struct state_reader r = mem_reader(&m);
	struct state_overlay o;
	struct key k[3];
	CHECK(genesis_parse(&g, json, strlen(json), NULL, 0) == GENESIS_OK);
	dev_key(&k[0], "alice");
	dev_key(&k[1], "bob");
	dev_key(&k[2], "charlie");
	/* Three validators listed out of canonical order: powers 1, 7, 7. */
	struct genesis_validator *gv = calloc(3, sizeof(*gv));
	CHECK(gv != NULL);
	for (size_t i = 0; i < 3; i++) {
		memcpy(gv[i].public_key, k[i].pk, 32);
		gv[i].power = i == 0 ? 1 : 7;
		snprintf(gv[i].name, sizeof(gv[i].name), "v%zu", i);
	}
	free(g.validators);
	g.validators = gv;
	g.n_validators = 3;
	state_overlay_init(&o, &r, NULL);
	CHECK(genesis_build_state(&g, &o) == STATE_OK);
	CHECK(mem_commit(&m, &o));
	state_overlay_release(&o);

	struct valset next;
	struct validators_epoch cur, prev;
	CHECK(validators_load_next(&r, &next) == 1 && next.n == 3);
	CHECK(validators_sorted(&next) && next.v[2].power == 1);
	CHECK_EQ_MEM(next.v[2].pub_key, k[0].pk, 32);
	bool bob_first = memcmp(k[1].pk, k[2].pk, 32) < 0;
	CHECK_EQ_MEM(next.v[0].pub_key, k[bob_first ? 1 : 2].pk, 32);
	CHECK(validators_load_current(&r, &cur) == 1 && cur.first_height == 1);
	CHECK(validators_equal(&cur.set, &next));
	CHECK(validators_load_previous(&r, &prev) == 0 && prev.set.n == 0);
	struct valset at;
	CHECK(validators_set_at(&r, 1, &at) == 1 && validators_equal(&at, &next));
	CHECK(validators_set_at(&r, 0, &at) == 0 && at.n == 0);
	mem_release(&m);
	genesis_release(&g);

	/* The dev genesis: alice alone with power 1; val/next's exact bytes. */
	CHECK(genesis_parse(&g, json, strlen(json), NULL, 0) == GENESIS_OK);
	state_overlay_init(&o, &r, NULL);
	CHECK(genesis_build_state(&g, &o) == STATE_OK);
	const uint8_t *v;
	size_t n;
	CHECK(state_overlay_get(&o, (const uint8_t *)VALIDATORS_NEXT_KEY, 8, &v, &n) == 1);
	uint8_t want[1 + 32 + 8] = {1};
	memcpy(want + 1, k[0].pk, 32);
	want[33] = 1;
	CHECK(n == sizeof(want) && memcmp(v, want, n) == 0);
	CHECK(state_overlay_get(&o, (const uint8_t *)VALIDATORS_EPOCH_KEY, 9, &v, &n) == 1);
	CHECK(n == 8 + sizeof(want) && v[0] == 1 && memcmp(v + 8, want, sizeof(want)) == 0);
	state_overlay_release(&o);
	mem_release(&m);
	genesis_release(&g);
	free(json);
}

/* ---- set_power ---- */

static void set_power_epochs(void)
{
	struct fx f;
	struct tx tx;
	enum tx_result call;
	bool changed;
	uint8_t before[32], after[32];
	fx_init(&f);
	struct valset genesis_set = load_next(&f);
	CHECK(runtime_call_name(RUNTIME_MODULE_VALIDATORS, VALIDATORS_FN_SET_POWER) &&
	      strcmp(runtime_call_name(2, 0), "validators.set_power") == 0);

	/* Block 10 adds bob: 10.next_validators_hash names {alice, bob}, which signs block 11. */
	state_digest(&f, before);
	u128 alice_before = free_of(&f, f.alice.pk);
	set_power_tx(&f, &tx, &f.alice, f.bob.pk, 5);
	CHECK(admit(&f, &tx) == TX_OK);
	CHECK(run(&f, &tx, HEIGHT, &call, &changed) == TX_OK && call == TX_OK && changed);
	/* fee = 1e8 + 220 bytes * 1e6 + 100,000 weight * 1e3 */
	CHECK(tx_len_of(&tx) == 220 && alice_before - free_of(&f, f.alice.pk) == 420000000);
	state_digest(&f, after);
	CHECK(memcmp(before, after, 32) != 0);
	struct valset next = load_next(&f), at;
	CHECK(next.n == 2 && power_of(&next, f.bob.pk) == 5 && power_of(&next, f.alice.pk) == 10);
	struct validators_epoch cur, prev;
	struct state_reader r = reader(&f);
	CHECK(validators_load_current(&r, &cur) == 1 && cur.first_height == HEIGHT + 1);
	CHECK(validators_equal(&cur.set, &next));
	CHECK(validators_load_previous(&r, &prev) == 1 && prev.first_height == 1);
	CHECK(validators_equal(&prev.set, &genesis_set));
	CHECK(validators_set_at(&r, HEIGHT, &at) == 1 && validators_equal(&at, &genesis_set));
	CHECK(validators_set_at(&r, 1, &at) == 1 && validators_equal(&at, &genesis_set));
	CHECK(validators_set_at(&r, HEIGHT + 1, &at) == 1 && validators_equal(&at, &next));

	/* A new power for an existing validator reorders the set; a block without changes keeps
	 * the epochs. */
	set_power_tx(&f, &tx, &f.alice, f.bob.pk, 20);
	CHECK(run(&f, &tx, HEIGHT + 1, &call, &changed) == TX_OK && call == TX_OK && changed);
	next = load_next(&f);
	CHECK(next.n == 2 && next.v[0].power == 20 && memcmp(next.v[0].pub_key, f.bob.pk, 32) == 0);
	r = reader(&f);
	CHECK(validators_load_current(&r, &cur) == 1 && cur.first_height == HEIGHT + 2);
	CHECK(validators_load_previous(&r, &prev) == 1 && prev.first_height == HEIGHT + 1);
	/* Two changes later the genesis epoch is in the history ring, still known. */
	CHECK(validators_set_at(&r, HEIGHT, &at) == 1 && validators_equal(&at, &genesis_set));
	CHECK(validators_set_at(&r, HEIGHT + 1, &at) == 1 && power_of(&at, f.bob.pk) == 5);

	/* Removal (power 0). */
	set_power_tx(&f, &tx, &f.alice, f.alice.pk, 0);
	CHECK(run_call(&f, &tx, HEIGHT + 2) == TX_OK);
	next = load_next(&f);
	CHECK(next.n == 1 && power_of(&next, f.bob.pk) == 20 && power_of(&next, f.alice.pk) == 0);
	mem_release(&f.mem);
}

/* Several changes in one block accumulate; only the block's end result counts. */
static void set_power_accumulates(void)
{
	struct fx f;
	struct tx tx;
	struct tx_outcome out;
	struct valset next;
	bool changed;
	fx_init(&f);
	struct valset genesis_set = load_next(&f);
	struct state_reader r = reader(&f);
	struct state_overlay o;

	/* Add bob and charlie, then drop bob again: next = {alice 10, charlie 7}. */
	state_overlay_init(&o, &r, NULL);
	const struct key *who[3] = {&f.bob, &f.charlie, &f.bob};
	uint64_t pw[3] = {5, 7, 0};
	for (size_t i = 0; i < 3; i++) {
		set_power_tx(&f, &tx, &f.alice, who[i]->pk, pw[i]);
		CHECK(runtime_apply_tx(&f.p, &o, &tx, tx_len_of(&tx), HEIGHT, f.alice.pk, &out) ==
		          TX_OK &&
		      out.result == TX_OK);
		f.nonce[0]++;
	}
	/* Inside the block the epoch still names the set that signs it. */
	struct state_reader ro;
	struct validators_epoch cur;
	state_overlay_reader(&o, &ro);
	CHECK(validators_load_current(&ro, &cur) == 1 && validators_equal(&cur.set, &genesis_set));
	CHECK(runtime_end_block(&o, HEIGHT, &next, &changed) == TX_OK && changed);
	CHECK(next.n == 2 && next.v[0].power == 10 && next.v[1].power == 7);
	CHECK_EQ_MEM(next.v[1].pub_key, f.charlie.pk, 32);
	CHECK(mem_commit(&f.mem, &o));
	state_overlay_release(&o);

	/* A change and its reversal in one block: no new epoch, no change. */
	r = reader(&f);
	state_overlay_init(&o, &r, NULL);
	for (size_t i = 0; i < 2; i++) {
		set_power_tx(&f, &tx, &f.alice, f.dave.pk, i ? 0 : 3);
		CHECK(runtime_apply_tx(&f.p, &o, &tx, tx_len_of(&tx), HEIGHT + 1, f.alice.pk,
		                       &out) == TX_OK &&
		      out.result == TX_OK);
		f.nonce[0]++;
	}
	struct valset before = next;
	CHECK(runtime_end_block(&o, HEIGHT + 1, &next, &changed) == TX_OK && !changed);
	CHECK(validators_equal(&next, &before));
	CHECK(mem_commit(&f.mem, &o));
	state_overlay_release(&o);
	r = reader(&f);
	CHECK(validators_load_current(&r, &cur) == 1 && cur.first_height == HEIGHT + 1);

	/* A block with no validator txs at all. */
	state_overlay_init(&o, &r, NULL);
	CHECK(runtime_end_block(&o, HEIGHT + 2, &next, &changed) == TX_OK && !changed);
	CHECK(state_overlay_count(&o) == 0 && validators_equal(&next, &before));
	state_overlay_release(&o);
	mem_release(&f.mem);
}

static void set_power_refusals(void)
{
	struct fx f;
	struct tx tx;
	fx_init(&f);

	/* Not sudo: refused at admission; at execution a call error with the fee charged. */
	set_power_tx(&f, &tx, &f.bob, f.bob.pk, 5);
	CHECK(admit(&f, &tx) == TX_CALL_NOT_SUDO);
	u128 bob_before = free_of(&f, f.bob.pk);
	CHECK(run_call(&f, &tx, HEIGHT) == TX_CALL_NOT_SUDO);
	CHECK(bob_before - free_of(&f, f.bob.pk) == 420000000);
	CHECK(load_next(&f).n == 1);

	/* Bad payloads: wrong lengths, a key that is not a usable Ed25519 point. */
	uint8_t p[VALIDATORS_SET_POWER_PAYLOAD_LEN + 1] = {0};
	validators_set_power_payload(p, f.bob.pk, 5);
	const size_t lens[] = {0, sizeof(p) - 2, sizeof(p)};
	for (size_t i = 0; i < 3; i++)
		CHECK(admit_payload(&f, VALIDATORS_FN_SET_POWER, p, lens[i]) == TX_BAD_PAYLOAD);
	uint8_t bad_pk[32] = {0}; /* the identity point: small order */
	bad_pk[0] = 1;
	set_power_tx(&f, &tx, &f.alice, bad_pk, 5);
	enum tx_result call;
	CHECK(admit(&f, &tx) == TX_BAD_PAYLOAD);
	CHECK(run(&f, &tx, HEIGHT, &call, NULL) == TX_BAD_PAYLOAD);
	memset(bad_pk, 0xff, 32); /* not a canonical encoding */
	set_power_tx(&f, &tx, &f.alice, bad_pk, 5);
	CHECK(admit(&f, &tx) == TX_BAD_PAYLOAD);
	/* Removing such a key is well formed, but it is no validator. */
	set_power_tx(&f, &tx, &f.alice, bad_pk, 0);
	CHECK(run_call(&f, &tx, HEIGHT) == TX_CALL_NOT_VALIDATOR);
	set_power_tx(&f, &tx, &f.alice, f.charlie.pk, 0);
	CHECK(run_call(&f, &tx, HEIGHT) == TX_CALL_NOT_VALIDATOR);
	mem_release(&f.mem);
}

static void set_power_limits(void)
{
	struct fx f;
	struct tx tx;
	uint8_t digest[32], digest2[32];
	fx_init(&f);

	/* Empty: removing the only validator. Overflow: total above VALSET_MAX_TOTAL_POWER. */
	state_digest(&f, digest);
	set_power_tx(&f, &tx, &f.alice, f.alice.pk, 0);
	CHECK(run_call(&f, &tx, HEIGHT) == TX_CALL_VALSET_EMPTY);
	set_power_tx(&f, &tx, &f.alice, f.bob.pk, VALSET_MAX_TOTAL_POWER - 9);
	CHECK(run_call(&f, &tx, HEIGHT) == TX_CALL_VALSET_OVERFLOW);
	set_power_tx(&f, &tx, &f.alice, f.alice.pk, UINT64_MAX);
	CHECK(run_call(&f, &tx, HEIGHT) == TX_CALL_VALSET_OVERFLOW);
	CHECK(load_next(&f).n == 1 && load_next(&f).v[0].power == 10);
	/* Exactly the maximum total is fine. */
	set_power_tx(&f, &tx, &f.alice, f.bob.pk, VALSET_MAX_TOTAL_POWER - 10);
	CHECK(run_call(&f, &tx, HEIGHT) == TX_OK);
	state_digest(&f, digest2);
	CHECK(memcmp(digest, digest2, 32) != 0);
	mem_release(&f.mem);
}

/* Full: a set of VALSET_MAX, then one more. */
static void set_power_full(void)
{
	struct fx f;
	struct tx tx;
	fx_init(&f);
	struct valset full = {.n = VALSET_MAX};
	for (size_t i = 0; i < VALSET_MAX; i++) {
		uint8_t seed[32] = {(uint8_t)i, 0x5a}, sk[64];
		sig_keypair_from_seed(full.v[i].pub_key, sk, seed);
		full.v[i].power = 1;
	}
	memcpy(full.v[0].pub_key, f.alice.pk, 32);
	struct state_overlay o;
	struct state_reader r = reader(&f);
	state_overlay_init(&o, &r, NULL);
	CHECK(validators_init_state(&o, &full) == STATE_OK);
	CHECK(mem_commit(&f.mem, &o));
	state_overlay_release(&o);
	set_power_tx(&f, &tx, &f.alice, f.dave.pk, 1);
	CHECK(run_call(&f, &tx, HEIGHT) == TX_CALL_VALSET_FULL);
	set_power_tx(&f, &tx, &f.alice, f.alice.pk, 2); /* changing a member still works */
	CHECK(run_call(&f, &tx, HEIGHT) == TX_OK);
	CHECK(load_next(&f).n == VALSET_MAX &&
	      memcmp(load_next(&f).v[0].pub_key, f.alice.pk, 32) == 0);
	mem_release(&f.mem);
}

/* ---- evidence ---- */

static void sign_vote(const struct key *k, const uint8_t chain_id[32], uint8_t type,
                      uint64_t height, uint32_t round, const uint8_t hash[32], uint8_t sig[64])
{
	uint8_t msg[VOTE_SIGN_BYTES_LEN];
	vote_sign_bytes(msg, chain_id, type, height, round, hash);
	sig_sign(sig, msg, sizeof(msg), k->sk);
}

/* k's prevotes for blocks 0x11.. and 0x22.. (or nil, all zero, for a) at (height, round). */
static void make_evidence(struct dup_vote_evidence *ev, const struct key *k,
                          const uint8_t chain_id[32], uint64_t height, uint32_t round, bool nil_a)
{
	memset(ev, 0, sizeof(*ev));
	memcpy(ev->pub_key, k->pk, 32);
	ev->type = VOTE_PREVOTE;
	ev->height = height;
	ev->round = round;
	memset(ev->block_hash_a, nil_a ? 0 : 0x11, 32);
	memset(ev->block_hash_b, 0x22, 32);
	sign_vote(k, chain_id, ev->type, height, round, ev->block_hash_a, ev->sig_a);
	sign_vote(k, chain_id, ev->type, height, round, ev->block_hash_b, ev->sig_b);
}

static void evidence_committed(void)
{
	struct fx f;
	struct tx tx;
	struct dup_vote_evidence ev, ev2;
	struct validators_evidence_record rec;
	uint8_t id[32], id2[32];
	fx_init(&f);

	/* Bob (any account) reports alice's double prevote at height 4. */
	make_evidence(&ev, &f.alice, f.p.chain_id, 4, 2, false);
	CHECK(validators_evidence_verify(&ev, f.p.chain_id));
	evidence_tx(&f, &tx, &f.bob, &ev);
	CHECK(admit(&f, &tx) == TX_OK);
	u128 bob_before = free_of(&f, f.bob.pk);
	CHECK(run_call(&f, &tx, HEIGHT) == TX_OK);
	/* fee = 1e8 + 418 bytes * 1e6 + 200,000 weight * 1e3 */
	CHECK(tx_len_of(&tx) == 418 && bob_before - free_of(&f, f.bob.pk) == 718000000);
	validators_evidence_id(id, &ev);
	struct state_reader r = reader(&f);
	CHECK(validators_evidence_get(&r, id, &rec) == 1);
	CHECK(rec.height == HEIGHT && memcmp(rec.reporter, f.bob.pk, 32) == 0);
	CHECK(evidence_equal(&rec.ev, &ev));

	/* The same report again, and another pair of votes for the same offence: duplicates. */
	evidence_tx(&f, &tx, &f.bob, &ev); /* next nonce */
	CHECK(run_call(&f, &tx, HEIGHT + 1) == TX_CALL_EVIDENCE_DUPLICATE);
	make_evidence(&ev2, &f.alice, f.p.chain_id, 4, 2, true);
	validators_evidence_id(id2, &ev2);
	CHECK_EQ_MEM(id, id2, 32);
	evidence_tx(&f, &tx, &f.bob, &ev2);
	CHECK(run_call(&f, &tx, HEIGHT + 1) == TX_CALL_EVIDENCE_DUPLICATE);
	/* Another round is another offence; evidence at the block's own height is accepted. */
	make_evidence(&ev2, &f.alice, f.p.chain_id, HEIGHT + 1, 3, true);
	evidence_tx(&f, &tx, &f.alice, &ev2);
	CHECK(run_call(&f, &tx, HEIGHT + 1) == TX_OK);
	validators_evidence_id(id2, &ev2);
	CHECK(memcmp(id, id2, 32) != 0 && validators_evidence_get(&r, id2, &rec) == 1);
	CHECK(rec.height == HEIGHT + 1 && memcmp(rec.reporter, f.alice.pk, 32) == 0);
	uint8_t absent[32] = {0};
	CHECK(validators_evidence_get(&r, absent, &rec) == 0);
	mem_release(&f.mem);
}

/* Stateless refusals: a bad signature (not includable), another chain's votes, a vote signed for
 * another height presented as this one, and malformed payloads. */
static void evidence_malformed(void)
{
	struct fx f;
	struct tx tx;
	struct dup_vote_evidence ev, bad;
	enum tx_result call;
	fx_init(&f);
	make_evidence(&ev, &f.alice, f.p.chain_id, 4, 0, false);
	bad = ev;
	bad.sig_b[5] ^= 1;
	evidence_tx(&f, &tx, &f.bob, &bad);
	CHECK(admit(&f, &tx) == TX_EVIDENCE_BAD_SIG);
	CHECK(run(&f, &tx, HEIGHT, &call, NULL) == TX_EVIDENCE_BAD_SIG);
	uint8_t other_chain[32];
	hash_tagged(other_chain, "tenebra/v1/test-chain", "w", 1);
	make_evidence(&bad, &f.alice, other_chain, 4, 0, false);
	evidence_tx(&f, &tx, &f.bob, &bad);
	CHECK(admit(&f, &tx) == TX_EVIDENCE_BAD_SIG);
	bad = ev;
	sign_vote(&f.alice, f.p.chain_id, VOTE_PREVOTE, 5, 0, bad.block_hash_b, bad.sig_b);
	evidence_tx(&f, &tx, &f.bob, &bad);
	CHECK(admit(&f, &tx) == TX_EVIDENCE_BAD_SIG);
	bad = ev; /* a prevote presented as a precommit */
	bad.type = VOTE_PRECOMMIT;
	evidence_tx(&f, &tx, &f.bob, &bad);
	CHECK(admit(&f, &tx) == TX_EVIDENCE_BAD_SIG);

	uint8_t p[VALIDATORS_EVIDENCE_LEN + 1];
	struct enc e;
	enc_init_fixed(&e, p, sizeof(p));
	validators_evidence_encode(&e, &ev);
	p[VALIDATORS_EVIDENCE_LEN] = 0;
	size_t lens[] = {0, VALIDATORS_EVIDENCE_LEN - 1, VALIDATORS_EVIDENCE_LEN + 1};
	for (size_t i = 0; i < 3; i++)
		CHECK(admit_payload(&f, VALIDATORS_FN_REPORT_EVIDENCE, p, lens[i]) ==
		      TX_BAD_PAYLOAD);
	/* Same block hash twice (both signatures valid), swapped order, bad type, height 0. */
	const size_t off_type = 32, off_height = 33, off_a = 45, off_b = 45 + 96;
	uint8_t q[4][VALIDATORS_EVIDENCE_LEN];
	for (size_t i = 0; i < 4; i++)
		memcpy(q[i], p, VALIDATORS_EVIDENCE_LEN);
	memcpy(q[0] + off_b, p + off_a, 96);
	memcpy(q[1] + off_a, p + off_b, 96);
	memcpy(q[1] + off_b, p + off_a, 96);
	q[2][off_type] = 3;
	memset(q[3] + off_height, 0, 8);
	for (size_t i = 0; i < 4; i++)
		CHECK(admit_payload(&f, VALIDATORS_FN_REPORT_EVIDENCE, q[i], sizeof(q[i])) ==
		      TX_BAD_PAYLOAD);
	mem_release(&f.mem);
}

/* Stateful call errors: the offender is no validator, votes from the future, and the sets of
 * past epochs. */
static void evidence_refusals(void)
{
	struct fx f;
	struct tx tx;
	struct dup_vote_evidence ev, bad;
	fx_init(&f);
	make_evidence(&ev, &f.alice, f.p.chain_id, 4, 0, false);
	make_evidence(&bad, &f.charlie, f.p.chain_id, 4, 0, false);
	evidence_tx(&f, &tx, &f.bob, &bad);
	CHECK(admit(&f, &tx) == TX_OK);
	CHECK(run_call(&f, &tx, HEIGHT) == TX_CALL_NOT_VALIDATOR);
	make_evidence(&bad, &f.alice, f.p.chain_id, HEIGHT + 1, 0, false);
	evidence_tx(&f, &tx, &f.bob, &bad);
	CHECK(run_call(&f, &tx, HEIGHT) == TX_CALL_EVIDENCE_FUTURE);

	/* Epochs: block 10 adds bob (so {alice, bob} signs 11), block 11 removes alice (bob alone
	 * signs 12 on). In block 12 the state knows 12 (current epoch), 11 (previous) and the
	 * genesis epoch (history), where bob was not a validator and alice was. */
	set_power_tx(&f, &tx, &f.alice, f.bob.pk, 1);
	CHECK(run_call(&f, &tx, HEIGHT) == TX_OK);
	set_power_tx(&f, &tx, &f.alice, f.alice.pk, 0);
	CHECK(run_call(&f, &tx, HEIGHT + 1) == TX_OK); /* alice signs 11, bob alone from 12 */
	make_evidence(&bad, &f.bob, f.p.chain_id, HEIGHT + 1, 0, false);
	evidence_tx(&f, &tx, &f.bob, &bad);
	CHECK(run_call(&f, &tx, HEIGHT + 2) == TX_OK); /* bob was in 11's set {alice, bob} */
	make_evidence(&bad, &f.bob, f.p.chain_id, HEIGHT, 0, false);
	evidence_tx(&f, &tx, &f.bob, &bad);
	CHECK(run_call(&f, &tx, HEIGHT + 2) == TX_CALL_NOT_VALIDATOR);
	make_evidence(&bad, &f.alice, f.p.chain_id, HEIGHT + 1, 1, false);
	evidence_tx(&f, &tx, &f.bob, &bad);
	CHECK(run_call(&f, &tx, HEIGHT + 2) == TX_OK); /* alice left, but signed 11 */
	make_evidence(&bad, &f.alice, f.p.chain_id, HEIGHT + 2, 1, false);
	evidence_tx(&f, &tx, &f.bob, &bad);
	CHECK(run_call(&f, &tx, HEIGHT + 2) == TX_CALL_NOT_VALIDATOR);
	evidence_tx(&f, &tx, &f.bob, &ev); /* height 4, genesis epoch, from the history */
	CHECK(run_call(&f, &tx, HEIGHT + 2) == TX_OK);
	mem_release(&f.mem);
}

/* The history ring keeps VALIDATORS_HISTORY epochs beyond the previous one: after more changes
 * the oldest are forgotten, each kept height still maps to the set that signed it, and evidence
 * older than VALIDATORS_EVIDENCE_MAX_AGE blocks is refused even when its set is known. */
static void evidence_history(void)
{
	struct fx f;
	struct tx tx;
	struct dup_vote_evidence ev;
	struct valset at;
	fx_init(&f);
	/* Block HEIGHT + k sets bob's power to k + 1, so the set signing HEIGHT + k + 1 gives bob
	 * k + 1: one epoch per block. */
	const uint64_t changes = VALIDATORS_HISTORY + 5;
	for (uint64_t k = 0; k < changes; k++) {
		set_power_tx(&f, &tx, &f.alice, f.bob.pk, k + 1);
		CHECK(run_call(&f, &tx, HEIGHT + k) == TX_OK);
	}
	struct state_reader r = reader(&f);
	uint64_t top = HEIGHT + changes; /* signed by the current epoch: bob has `changes` */
	size_t wrong = 0, known = 0;
	for (uint64_t h = 1; h <= top; h++) {
		int rc = validators_set_at(&r, h, &at);
		if (rc == 1) {
			known++;
			uint64_t want = h <= HEIGHT ? 0 : h - HEIGHT;
			wrong += power_of(&at, f.bob.pk) != want;
		}
		CHECK(rc >= 0);
	}
	CHECK(wrong == 0);
	/* current + previous + the ring, each one block long */
	CHECK(known == VALIDATORS_HISTORY + 2);
	CHECK(validators_set_at(&r, top - VALIDATORS_HISTORY - 2, &at) == 0);
	/* evidence: bob in the oldest kept epoch passes, one block older is forgotten */
	make_evidence(&ev, &f.bob, f.p.chain_id, top - VALIDATORS_HISTORY - 1, 0, false);
	evidence_tx(&f, &tx, &f.bob, &ev);
	CHECK(run_call(&f, &tx, top) == TX_OK);
	make_evidence(&ev, &f.bob, f.p.chain_id, top - VALIDATORS_HISTORY - 2, 0, false);
	evidence_tx(&f, &tx, &f.bob, &ev);
	CHECK(run_call(&f, &tx, top + 1) == TX_CALL_EVIDENCE_TOO_OLD);
	/* the age limit: alice signed every height, the set is known, the offence too old */
	const uint64_t late = top + VALIDATORS_EVIDENCE_MAX_AGE;
	make_evidence(&ev, &f.alice, f.p.chain_id, top, 1, false);
	evidence_tx(&f, &tx, &f.bob, &ev);
	tx.valid_until = late + 10;
	CHECK(run_call(&f, &tx, late + 1) == TX_CALL_EVIDENCE_TOO_OLD);
	evidence_tx(&f, &tx, &f.bob, &ev); /* the next nonce */
	tx.valid_until = late + 10;
	CHECK(run_call(&f, &tx, late) == TX_OK);
	mem_release(&f.mem);
}

/* ---- records and decoders ---- */

static void records_round_trip(void)
{
	struct key k;
	uint8_t chain[32] = {7};
	dev_key(&k, "eve");
	struct dup_vote_evidence ev, back;
	make_evidence(&ev, &k, chain, 99, 7, true);
	ev.type = VOTE_PRECOMMIT;
	uint8_t buf[VALIDATORS_EVIDENCE_RECORD_LEN + 1];
	struct enc e;
	enc_init_fixed(&e, buf, sizeof(buf));
	validators_evidence_encode(&e, &ev);
	CHECK(enc_finish(&e) == CODEC_OK && e.len == VALIDATORS_EVIDENCE_LEN);
	CHECK(validators_evidence_decode(&back, buf, e.len) == CODEC_OK);
	CHECK(evidence_equal(&back, &ev));
	CHECK(validators_evidence_decode(&back, buf, e.len - 1) == CODEC_TRUNCATED);
	buf[e.len] = 0;
	CHECK(validators_evidence_decode(&back, buf, e.len + 1) == CODEC_TRAILING);
	CHECK(!validators_evidence_verify(&ev, chain)); /* signed as prevotes */

	struct validators_evidence_record rec = {.height = 12345, .ev = ev}, rback;
	memset(rec.reporter, 0xab, 32);
	enc_init_fixed(&e, buf, sizeof(buf));
	validators_evidence_record_encode(&e, &rec);
	CHECK(enc_finish(&e) == CODEC_OK && e.len == VALIDATORS_EVIDENCE_RECORD_LEN);
	CHECK(validators_evidence_record_decode(&rback, buf, e.len) == CODEC_OK);
	CHECK(rback.height == rec.height && memcmp(rback.reporter, rec.reporter, 32) == 0);
	CHECK(evidence_equal(&rback.ev, &rec.ev));

	/* The evidence id is hash_tagged(tag, pub_key ‖ type ‖ height ‖ round). */
	uint8_t id[32], want[32], pre[45];
	memcpy(pre, ev.pub_key, 32);
	pre[32] = VOTE_PRECOMMIT;
	memcpy(pre + 33, (uint8_t[]){99, 0, 0, 0, 0, 0, 0, 0}, 8);
	memcpy(pre + 41, (uint8_t[]){7, 0, 0, 0}, 4);
	hash_tagged(want, VALIDATORS_EVIDENCE_TAG, pre, sizeof(pre));
	validators_evidence_id(id, &ev);
	CHECK_EQ_MEM(id, want, 32);
	/* Pinned (docs/protocol/runtime.md; computed independently with Python's hashlib). */
	struct dup_vote_evidence doc = {.type = VOTE_PREVOTE, .height = 5, .round = 2};
	for (size_t i = 0; i < 32; i++)
		doc.pub_key[i] = (uint8_t)(i + 1);
	uint8_t pinned[32];
	CHECK(hex_decode_exact(pinned, sizeof(pinned),
	                       "20f7105a12479eb13afc10ed7bb480d099fbaa295b87894748ed8ff7e52bbae5"));
	validators_evidence_id(want, &doc);
	CHECK_EQ_MEM(want, pinned, 32);
	uint8_t key[VALIDATORS_EVIDENCE_KEY_LEN];
	validators_evidence_key(key, id);
	CHECK(memcmp(key, "val/evidence/", 13) == 0 && memcmp(key + 13, id, 32) == 0);
}

static void set_power_codec(void)
{
	struct key k;
	dev_key(&k, "eve");
	uint8_t p[VALIDATORS_SET_POWER_PAYLOAD_LEN + 1], pk[32];
	uint64_t power;
	validators_set_power_payload(p, k.pk, 0x0102030405060708);
	CHECK(p[32] == 8 && p[39] == 1);
	CHECK(validators_set_power_decode(pk, &power, p, 40) == CODEC_OK &&
	      power == 0x0102030405060708);
	CHECK_EQ_MEM(pk, k.pk, 32);
	CHECK(validators_set_power_decode(pk, &power, p, 39) == CODEC_TRUNCATED);
	CHECK(validators_set_power_decode(pk, &power, p, 41) == CODEC_TRAILING);
}

/* Epochs: first_height 0, an unsorted set, an invalid set are rejected. */
static void epoch_records(void)
{
	struct enc e;
	struct validators_epoch ep = {.first_height = 3, .set = {.n = 2}}, eback;
	memset(ep.set.v[0].pub_key, 1, 32);
	memset(ep.set.v[1].pub_key, 2, 32);
	ep.set.v[0].power = 9;
	ep.set.v[1].power = 4;
	uint8_t eb[VALIDATORS_EPOCH_MAX_BYTES];
	enc_init_fixed(&e, eb, sizeof(eb));
	validators_epoch_encode(&e, &ep);
	CHECK(enc_finish(&e) == CODEC_OK && e.len == 8 + 1 + 80);
	size_t n = e.len;
	CHECK(validators_epoch_decode(&eback, eb, n) == CODEC_OK && eback.first_height == 3);
	CHECK(validators_equal(&eback.set, &ep.set));
	CHECK(validators_epoch_decode(&eback, eb, 7) == CODEC_TRUNCATED);
	CHECK(validators_epoch_decode(&eback, eb, n - 1) == CODEC_TRUNCATED);
	eb[0] = 0;
	CHECK(validators_epoch_decode(&eback, eb, n) == CODEC_NONCANONICAL);
	eb[0] = 3;
	eb[8 + 1 + 32] = 1; /* power 9 -> 1: below the second validator's 4 */
	CHECK(validators_epoch_decode(&eback, eb, n) == CODEC_NONCANONICAL);
	CHECK(validators_set_decode(&eback.set, eb + 8, n - 8) == CODEC_NONCANONICAL);
	eb[8 + 1 + 32] = 0; /* power 0: an invalid set */
	CHECK(validators_set_decode(&eback.set, eb + 8, n - 8) == CODEC_NONCANONICAL);
}

/* Missing or malformed validator records are storage errors, never a guess. */
static void malformed_state(void)
{
	struct memstate m = {0};
	struct state_reader r = mem_reader(&m);
	struct state_overlay o;
	struct valset vs;
	struct validators_epoch ep;
	bool changed;
	state_overlay_init(&o, &r, NULL);
	CHECK(runtime_end_block(&o, 1, &vs, &changed) == TX_STORAGE);
	state_overlay_release(&o);
	CHECK(validators_load_next(&r, &vs) == 0 && validators_load_current(&r, &ep) == 0);
	CHECK(validators_set_at(&r, 1, &vs) == -1);

	uint8_t unsorted[1 + 80] = {2};
	memset(unsorted + 1, 1, 32);
	unsorted[33] = 1;
	memset(unsorted + 41, 2, 32);
	unsorted[73] = 5;
	mem_put(&m, (const uint8_t *)VALIDATORS_NEXT_KEY, 8, unsorted, sizeof(unsorted));
	CHECK(validators_load_next(&r, &vs) == -1 && vs.n == 0);
	uint8_t epoch[8 + 41] = {1, 0, 0, 0, 0, 0, 0, 0, 1};
	memset(epoch + 9, 1, 32);
	epoch[41] = 1;
	mem_put(&m, (const uint8_t *)VALIDATORS_EPOCH_KEY, 9, epoch, sizeof(epoch));
	state_overlay_init(&o, &r, NULL);
	CHECK(runtime_end_block(&o, 1, &vs, &changed) == TX_STORAGE);
	state_overlay_release(&o);
	mem_put(&m, (const uint8_t *)VALIDATORS_NEXT_KEY, 8, epoch + 8, 41);
	mem_put(&m, (const uint8_t *)VALIDATORS_PREV_EPOCH_KEY, 14, epoch, 20);
	CHECK(validators_set_at(&r, 1, &vs) == 1);
	CHECK(validators_set_at(&r, 0, &vs) == -1); /* needs the malformed previous epoch */
	/* An epoch that starts after the block being ended is corrupt state. */
	epoch[0] = 9;
	mem_put(&m, (const uint8_t *)VALIDATORS_EPOCH_KEY, 9, epoch, sizeof(epoch));
	state_overlay_init(&o, &r, NULL);
	CHECK(runtime_end_block(&o, 7, &vs, &changed) == TX_STORAGE);
	CHECK(runtime_end_block(&o, 8, &vs, &changed) == TX_STORAGE);
	CHECK(runtime_end_block(&o, 9, &vs, &changed) == TX_OK && !changed);
	state_overlay_release(&o);
	/* The history ring: a counted slot that is missing or malformed, or a malformed count, is
	 * corrupt state; a height below every kept epoch is unknown. */
	uint8_t prev[sizeof(epoch)], old[sizeof(epoch)], one[8] = {1};
	memcpy(prev, epoch, sizeof(epoch));
	prev[0] = 5;
	memcpy(old, epoch, sizeof(epoch));
	old[0] = 2;
	uint8_t slot0[sizeof(VALIDATORS_HIST_PREFIX)];
	memcpy(slot0, VALIDATORS_HIST_PREFIX, sizeof(slot0) - 1);
	slot0[sizeof(slot0) - 1] = 0;
	mem_put(&m, (const uint8_t *)VALIDATORS_PREV_EPOCH_KEY, 14, prev, sizeof(prev));
	CHECK(validators_set_at(&r, 3, &vs) == 0); /* no history yet */
	mem_put(&m, (const uint8_t *)VALIDATORS_HIST_COUNT_KEY, 10, one, sizeof(one));
	CHECK(validators_set_at(&r, 3, &vs) == -1); /* counted, not there */
	mem_put(&m, slot0, sizeof(slot0), old, sizeof(old));
	CHECK(validators_set_at(&r, 3, &vs) == 1 && validators_set_at(&r, 1, &vs) == 0);
	mem_put(&m, slot0, sizeof(slot0), old, 20);
	CHECK(validators_set_at(&r, 3, &vs) == -1);
	mem_put(&m, (const uint8_t *)VALIDATORS_HIST_COUNT_KEY, 10, one, 3);
	CHECK(validators_set_at(&r, 3, &vs) == -1);
	m.fail = true;
	CHECK(validators_load_next(&r, &vs) == -1 && validators_set_at(&r, 1, &vs) == -1);
	uint8_t id[32] = {0};
	struct validators_evidence_record rec;
	CHECK(validators_evidence_get(&r, id, &rec) == -1);
	mem_release(&m);
}

CHECK_MAIN(CASE(canonical_order), CASE(genesis_set_in_state), CASE(set_power_epochs),
           CASE(set_power_accumulates), CASE(set_power_refusals), CASE(set_power_limits),
           CASE(set_power_full), CASE(evidence_committed), CASE(evidence_malformed),
           CASE(evidence_refusals), CASE(evidence_history), CASE(records_round_trip),
           CASE(set_power_codec), CASE(epoch_records), CASE(malformed_state))
