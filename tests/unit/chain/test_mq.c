/*
 * Message queue: signed messages relayed by any account, exactly-once in-order sequences per
 * sender (the gatekeepers share one), distinct refusals (origin, signature, sequence), a
 * failing message reverting its whole push, consumed ('^') messages taking their sequence even
 * when their consumer refuses them (recorded in mq's notice), the block's outbound list (order,
 * root, caps, no trace in committed state) and the list format the enclave checks.
 */
#include "check.h"

#include "chain/merkle.h"
#include "chain/modfix.h"

static uint64_t next_seq(struct mfx *f, const struct mq_origin *o)
{
	uint64_t s;
	struct state_reader r = mfx_reader(f);
	CHECK(mq_next_sequence(&r, o, &s) >= 0);
	return s;
}

static void registered(struct mfx *f, struct mfx_worker *w, const char *label)
{
	mfx_worker_init(w, label);
	CHECK(mfx_register(f, w, BOB) == TX_OK);
}

/* Encodes a push of n messages from signer sk (message i has sequence seq0 + i). */
static void push_payload(struct enc *e, struct mfx *f, const struct mq_message *tmpl, size_t n,
                         uint64_t seq0, const uint8_t sk[64])
{
	enc_init(e, TX_MAX_PAYLOAD);
	enc_uleb(e, n);
	for (size_t i = 0; i < n; i++) {
		struct mq_message m = *tmpl;
		m.sequence = seq0 + i;
		mq_sign_encode(e, f->p.chain_id, &m, sk);
	}
	CHECK(enc_finish(e) == CODEC_OK);
}

/* Encodes a push of two messages, a signed by ska and b by skb. */
static void push_two(struct enc *e, struct mfx *f, const struct mq_message *a,
                     const uint8_t ska[64], const struct mq_message *b, const uint8_t skb[64])
{
	enc_init(e, TX_MAX_PAYLOAD);
	enc_uleb(e, 2);
	mq_sign_encode(e, f->p.chain_id, a, ska);
	mq_sign_encode(e, f->p.chain_id, b, skb);
	CHECK(enc_finish(e) == CODEC_OK);
}

static void worker_message_outbound(void)
{
	struct mfx f;
	struct mfx_worker w;
	mfx_init(&f);
	registered(&f, &w, "w");
	struct mq_message m = mfx_msg(MQ_ORIGIN_WORKER, w.id.pk, "app/out", "hello", 5, 0);
	CHECK(next_seq(&f, &m.origin) == 0);
	CHECK(mfx_push(&f, CHARLIE, &m, w.id.sk) == TX_OK); /* any account relays */
	CHECK(next_seq(&f, &m.origin) == 1);
	CHECK(mfx_out_count(&f) == 1);
	struct mq_message got;
	CHECK(mfx_out_msg(&f, 0, &got));
	CHECK(got.origin.kind == MQ_ORIGIN_WORKER && memcmp(got.origin.id, w.id.pk, 32) == 0);
	CHECK(mfx_topic_is(&got, "app/out") && got.payload_len == 5 && got.sequence == 0);
	CHECK(memcmp(got.payload, "hello", 5) == 0);
	/* msgs_root is the merkle root of the message encodings */
	struct enc e;
	uint8_t leaf[32], root[32];
	enc_init(&e, MQ_MESSAGE_MAX);
	mq_message_encode(&e, &m);
	CHECK(enc_finish(&e) == CODEC_OK);
	merkle_leaf(leaf, e.buf, e.len);
	merkle_root(root, (const uint8_t(*)[32])leaf, 1);
	CHECK_EQ_MEM(root, f.root, 32);
	enc_release(&e);
	/* a block without messages has the empty root */
	CHECK(mfx_call(&f, BOB, RUNTIME_MODULE_SYSTEM, SYSTEM_FN_REMARK, "x", 1) == TX_OK);
	merkle_root(root, NULL, 0);
	CHECK_EQ_MEM(root, f.root, 32);
	CHECK(mfx_out_count(&f) == 0);
	mfx_release(&f);
}

static void sequences(void)
{
	struct mfx f;
	struct mfx_worker w;
	mfx_init(&f);
	registered(&f, &w, "w");
	struct mq_message m = mfx_msg(MQ_ORIGIN_WORKER, w.id.pk, "t", "p", 1, 1);
	CHECK(mfx_push(&f, CHARLIE, &m, w.id.sk) == TX_CALL_MQ_WRONG_SEQUENCE); /* a gap */
	m.sequence = 0;
	CHECK(mfx_push(&f, CHARLIE, &m, w.id.sk) == TX_OK);
	CHECK(mfx_push(&f, DAVE, &m, w.id.sk) == TX_CALL_MQ_WRONG_SEQUENCE); /* a replay */
	CHECK(mfx_out_count(&f) == 0);
	m.sequence = 1;
	CHECK(mfx_push(&f, DAVE, &m, w.id.sk) == TX_OK);
	CHECK(next_seq(&f, &m.origin) == 2);
	mfx_release(&f);
}

static void signatures_and_origins(void)
{
	struct mfx f;
	struct mfx_worker w, stranger;
	mfx_init(&f);
	registered(&f, &w, "w");
	mfx_worker_init(&stranger, "stranger");
	struct mq_message m = mfx_msg(MQ_ORIGIN_WORKER, w.id.pk, "t", "p", 1, 0);
	CHECK(mfx_push(&f, CHARLIE, &m, stranger.id.sk) == TX_CALL_MQ_BAD_SIGNATURE);
	/* signed for another chain */
	struct enc e;
	uint8_t other[32];
	hash_tagged(other, "tenebra/v1/test-chain", "other", 5);
	enc_init(&e, TX_MAX_PAYLOAD);
	enc_uleb(&e, 1);
	mq_sign_encode(&e, other, &m, w.id.sk);
	CHECK(mfx_call(&f, CHARLIE, RUNTIME_MODULE_MQ, MQ_FN_PUSH, e.buf, e.len) ==
	      TX_CALL_MQ_BAD_SIGNATURE);
	/* a flipped payload byte breaks the signature */
	e.len = 0;
	enc_uleb(&e, 1);
	mq_sign_encode(&e, f.p.chain_id, &m, w.id.sk);
	e.buf[e.len - 64 - 8 - 1] ^= 1;
	CHECK(mfx_call(&f, CHARLIE, RUNTIME_MODULE_MQ, MQ_FN_PUSH, e.buf, e.len) ==
	      TX_CALL_MQ_BAD_SIGNATURE);
	enc_release(&e);
	CHECK(next_seq(&f, &m.origin) == 0);
	/* unknown senders */
	struct mq_message s = mfx_msg(MQ_ORIGIN_WORKER, stranger.id.pk, "t", "p", 1, 0);
	CHECK(mfx_push(&f, CHARLIE, &s, stranger.id.sk) == TX_CALL_MQ_BAD_ORIGIN);
	s.origin.kind = MQ_ORIGIN_CONTRACT; /* no such contract / no published key */
	CHECK(mfx_push(&f, CHARLIE, &s, stranger.id.sk) == TX_CALL_MQ_BAD_ORIGIN);
	s.origin.kind = MQ_ORIGIN_CLUSTER;
	s.origin.cluster = 4;
	CHECK(mfx_push(&f, CHARLIE, &s, stranger.id.sk) == TX_CALL_MQ_BAD_ORIGIN);
	s = mfx_msg(MQ_ORIGIN_GATEKEEPER, w.id.pk, "t", "p", 1, 0);
	CHECK(mfx_push(&f, CHARLIE, &s, w.id.sk) == TX_CALL_REG_NOT_GATEKEEPER);
	/* a module origin can never come from a tx: refused at admission and execution */
	s = mfx_msg(MQ_ORIGIN_MODULE, NULL, "t", "p", 1, 0);
	strcpy(s.origin.module, "registry");
	enc_init(&e, TX_MAX_PAYLOAD);
	enc_uleb(&e, 1);
	mq_sign_encode(&e, f.p.chain_id, &s, w.id.sk);
	CHECK(mfx_admit(&f, CHARLIE, RUNTIME_MODULE_MQ, MQ_FN_PUSH, e.buf, e.len) ==
	      TX_CALL_MQ_BAD_ORIGIN);
	CHECK(mfx_call(&f, CHARLIE, RUNTIME_MODULE_MQ, MQ_FN_PUSH, e.buf, e.len) ==
	      TX_CALL_MQ_BAD_ORIGIN);
	enc_release(&e);
	mfx_release(&f);
}

/* Admission (the pool's check against the head) refuses what execution would refuse for
 * certain: a forged or unknown sender, and a sequence already taken (a relayer's stale copy).
 * A sequence above the next one passes: the messages before it may still wait in the pool. */
static void admission(void)
{
	struct mfx f;
	struct mfx_worker w, stranger;
	struct enc e;
	mfx_init(&f);
	registered(&f, &w, "w");
	mfx_worker_init(&stranger, "stranger");
	struct mq_message m = mfx_msg(MQ_ORIGIN_WORKER, w.id.pk, "t", "p", 1, 0);
	push_payload(&e, &f, &m, 2, 0, w.id.sk);
	CHECK(mfx_admit(&f, CHARLIE, RUNTIME_MODULE_MQ, MQ_FN_PUSH, e.buf, e.len) == TX_OK);
	CHECK(mfx_call(&f, CHARLIE, RUNTIME_MODULE_MQ, MQ_FN_PUSH, e.buf, e.len) == TX_OK);
	CHECK(mfx_admit(&f, DAVE, RUNTIME_MODULE_MQ, MQ_FN_PUSH, e.buf, e.len) ==
	      TX_CALL_MQ_WRONG_SEQUENCE); /* the same push again */
	enc_release(&e);
	push_payload(&e, &f, &m, 1, 1, w.id.sk); /* 1 was taken by the push above */
	CHECK(mfx_admit(&f, DAVE, RUNTIME_MODULE_MQ, MQ_FN_PUSH, e.buf, e.len) ==
	      TX_CALL_MQ_WRONG_SEQUENCE);
	enc_release(&e);
	push_payload(&e, &f, &m, 1, 5, w.id.sk); /* a later one: may wait for 2..4 */
	CHECK(mfx_admit(&f, DAVE, RUNTIME_MODULE_MQ, MQ_FN_PUSH, e.buf, e.len) == TX_OK);
	enc_release(&e);
	push_payload(&e, &f, &m, 1, 2, stranger.id.sk); /* signed by someone else */
	CHECK(mfx_admit(&f, DAVE, RUNTIME_MODULE_MQ, MQ_FN_PUSH, e.buf, e.len) ==
	      TX_CALL_MQ_BAD_SIGNATURE);
	enc_release(&e);
	struct mq_message s = mfx_msg(MQ_ORIGIN_WORKER, stranger.id.pk, "t", "p", 1, 0);
	push_payload(&e, &f, &s, 1, 0, stranger.id.sk); /* not registered */
	CHECK(mfx_admit(&f, DAVE, RUNTIME_MODULE_MQ, MQ_FN_PUSH, e.buf, e.len) ==
	      TX_CALL_MQ_BAD_ORIGIN);
	enc_release(&e);
	/* a good message after a bad one in the same push: the push is refused */
	struct mq_message good = mfx_msg(MQ_ORIGIN_WORKER, w.id.pk, "t", "p", 1, 2);
	push_two(&e, &f, &s, stranger.id.sk, &good, w.id.sk);
	CHECK(mfx_admit(&f, DAVE, RUNTIME_MODULE_MQ, MQ_FN_PUSH, e.buf, e.len) ==
	      TX_CALL_MQ_BAD_ORIGIN);
	enc_release(&e);
	CHECK(next_seq(&f, &m.origin) == 2);
	mfx_release(&f);
}

/* The i-th message of the last block is mq's consumed notice for (origin of m, seq); returns
 * the result it records. */
static uint32_t notice_at(struct mfx *f, size_t i, const struct mq_message *m, uint64_t seq)
{
	struct mq_message n;
	struct mq_consumed c;
	CHECK(mfx_out_msg(f, i, &n));
	CHECK(n.origin.kind == MQ_ORIGIN_MODULE && strcmp(n.origin.module, MQ_MODULE_NAME) == 0);
	CHECK(mfx_topic_is(&n, MQ_CONSUMED_TOPIC));
	CHECK(mq_consumed_decode(&c, n.payload, n.payload_len) == CODEC_OK);
	CHECK(c.origin.kind == m->origin.kind && memcmp(c.origin.id, m->origin.id, 32) == 0);
	CHECK(c.sequence == seq && c.topic_len == m->topic_len);
	CHECK(memcmp(c.topic, m->topic, m->topic_len) == 0);
	return c.result;
}

/* A '^' message whose signature and sequence pass always takes its sequence: no consumer for
 * the topic, or a consumer's refusal, is recorded in a notice, never rolled back, so a refused
 * message cannot block its sender's later ones. */
static void consumed_topics(void)
{
	struct mfx f;
	struct mfx_worker w;
	struct enc e;
	mfx_init(&f);
	registered(&f, &w, "w");
	struct mq_message m = mfx_msg(MQ_ORIGIN_WORKER, w.id.pk, "^nobody/listens", "p", 1, 0);
	CHECK(mfx_push(&f, CHARLIE, &m, w.id.sk) == TX_OK);
	CHECK(next_seq(&f, &m.origin) == 1);
	CHECK(mfx_out_count(&f) == 1);
	CHECK(notice_at(&f, 0, &m, 0) == TX_CALL_MQ_UNKNOWN_TOPIC);
	/* a prefix of a consumed topic is not that topic; in a batch, the forwarded message after
	 * the refused one goes through */
	struct mq_message pre = mfx_msg(MQ_ORIGIN_WORKER, w.id.pk, "^registry/master", "", 0, 1);
	struct mq_message fwd = mfx_msg(MQ_ORIGIN_WORKER, w.id.pk, "a/b", "x", 1, 2);
	push_two(&e, &f, &pre, w.id.sk, &fwd, w.id.sk);
	CHECK(mfx_call(&f, EVE, RUNTIME_MODULE_MQ, MQ_FN_PUSH, e.buf, e.len) == TX_OK);
	enc_release(&e);
	CHECK(mfx_out_count(&f) == 2);
	CHECK(notice_at(&f, 0, &pre, 1) == TX_CALL_MQ_UNKNOWN_TOPIC);
	struct mq_message got;
	CHECK(mfx_out_msg(&f, 1, &got) && got.sequence == 2 && mfx_topic_is(&got, "a/b"));
	CHECK(next_seq(&f, &m.origin) == 3);
	/* a worker may not publish keys: the registry refuses, the sequence is taken */
	uint8_t pl[36] = {0};
	struct mq_message mk =
	    mfx_msg(MQ_ORIGIN_WORKER, w.id.pk, REGISTRY_TOPIC_MASTER_KEY, pl, 36, 3);
	CHECK(mfx_push(&f, CHARLIE, &mk, w.id.sk) == TX_OK);
	CHECK(mfx_out_count(&f) == 1 && notice_at(&f, 0, &mk, 3) == TX_CALL_MQ_BAD_ORIGIN);
	/* a signature or sequence failure still refuses the whole push: nothing is consumed */
	mk.sequence = 3;
	CHECK(mfx_push(&f, CHARLIE, &mk, w.id.sk) == TX_CALL_MQ_WRONG_SEQUENCE);
	CHECK(next_seq(&f, &m.origin) == 4);
	mfx_release(&f);
}

/* The gatekeepers' shared sequence moves past a refused publication: the next gatekeeper
 * message, from any gatekeeper, is taken. */
static void a_refused_gatekeeper_message_does_not_block(void)
{
	struct mfx f;
	struct mfx_worker g1, g2;
	mfx_init(&f);
	registered(&f, &g1, "g1");
	registered(&f, &g2, "g2");
	CHECK(mfx_sudo_id(&f, REGISTRY_FN_ADD_GATEKEEPER, g1.id.pk) == TX_OK);
	CHECK(mfx_sudo_id(&f, REGISTRY_FN_ADD_GATEKEEPER, g2.id.pk) == TX_OK);
	uint8_t k[32] = {9}, pl[36];
	registry_master_key_payload(pl, 5, k); /* an epoch the chain is not at */
	struct mq_message m1 =
	    mfx_msg(MQ_ORIGIN_GATEKEEPER, g1.id.pk, REGISTRY_TOPIC_MASTER_KEY, pl, 36, 0);
	CHECK(mfx_push(&f, CHARLIE, &m1, g1.id.sk) == TX_OK);
	CHECK(mfx_out_count(&f) == 1 && notice_at(&f, 0, &m1, 0) == TX_CALL_REG_KEY_CONFLICT);
	struct registry_master rm;
	struct state_reader r = mfx_reader(&f);
	CHECK(registry_master_get(&r, &rm) == 0 && !rm.published);
	registry_master_key_payload(pl, 0, k);
	struct mq_message m2 =
	    mfx_msg(MQ_ORIGIN_GATEKEEPER, g2.id.pk, REGISTRY_TOPIC_MASTER_KEY, pl, 36, 1);
	CHECK(mfx_push(&f, CHARLIE, &m2, g2.id.sk) == TX_OK);
	CHECK(mfx_out_count(&f) == 2 && notice_at(&f, 1, &m2, 1) == TX_OK);
	CHECK(registry_master_get(&r, &rm) == 1 && rm.published);
	CHECK(next_seq(&f, &m1.origin) == 2);
	mfx_release(&f);
}

static void consumed_notice_codec(void)
{
	struct mq_consumed c = {.origin = {.kind = MQ_ORIGIN_CLUSTER, .cluster = 7},
	                        .sequence = 1234567,
	                        .topic = (const uint8_t *)"^x/y",
	                        .topic_len = 4,
	                        .result = TX_CALL_REG_KEY_CONFLICT},
	                   d;
	uint8_t b[256];
	struct enc e;
	enc_init_fixed(&e, b, sizeof(b));
	mq_consumed_encode(&e, &c);
	CHECK(enc_finish(&e) == CODEC_OK && e.len == 1 + 4 + 8 + 1 + 4 + 4);
	CHECK(mq_consumed_decode(&d, b, e.len) == CODEC_OK);
	CHECK(d.origin.kind == MQ_ORIGIN_CLUSTER && d.origin.cluster == 7);
	CHECK(d.sequence == c.sequence && d.result == c.result && d.topic_len == 4);
	CHECK(memcmp(d.topic, "^x/y", 4) == 0);
	CHECK(mq_consumed_decode(&d, b, e.len - 1) != CODEC_OK); /* truncated */
	b[e.len] = 0;
	CHECK(mq_consumed_decode(&d, b, e.len + 1) != CODEC_OK); /* trailing */
	b[14] = 0x0a;                                            /* a topic byte below 0x21 */
	CHECK(mq_consumed_decode(&d, b, e.len) != CODEC_OK);
	b[14] = '^';
	b[0] = 9; /* no such origin kind */
	CHECK(mq_consumed_decode(&d, b, e.len) != CODEC_OK);
}

static void batches(void)
{
	struct mfx f;
	struct mfx_worker w, v;
	struct enc e;
	mfx_init(&f);
	registered(&f, &w, "w");
	registered(&f, &v, "v");
	struct mq_message m = mfx_msg(MQ_ORIGIN_WORKER, w.id.pk, "a/b", "xyz", 3, 0);
	push_payload(&e, &f, &m, 3, 0, w.id.sk);
	CHECK(mfx_call(&f, EVE, RUNTIME_MODULE_MQ, MQ_FN_PUSH, e.buf, e.len) == TX_OK);
	enc_release(&e);
	CHECK(mfx_out_count(&f) == 3);
	for (size_t i = 0; i < 3; i++) {
		struct mq_message got;
		CHECK(mfx_out_msg(&f, i, &got) && got.sequence == i);
	}
	/* a batch whose second message is bad: nothing of it stays */
	push_payload(&e, &f, &m, 3, 3, w.id.sk);
	e.buf[e.len - 1] ^= 1; /* breaks the third message's signature */
	CHECK(mfx_call(&f, EVE, RUNTIME_MODULE_MQ, MQ_FN_PUSH, e.buf, e.len) ==
	      TX_CALL_MQ_BAD_SIGNATURE);
	enc_release(&e);
	CHECK(next_seq(&f, &m.origin) == 3);
	CHECK(mfx_out_count(&f) == 0);
	/* messages of several senders in one push */
	struct mq_message mv = mfx_msg(MQ_ORIGIN_WORKER, v.id.pk, "a/b", "v", 1, 0);
	m.sequence = 3;
	push_two(&e, &f, &m, w.id.sk, &mv, v.id.sk);
	CHECK(mfx_call(&f, EVE, RUNTIME_MODULE_MQ, MQ_FN_PUSH, e.buf, e.len) == TX_OK);
	enc_release(&e);
	CHECK(mfx_out_count(&f) == 2);
	mfx_release(&f);
}

static void gatekeepers_share_a_sequence(void)
{
	struct mfx f;
	struct mfx_worker g1, g2;
	mfx_init(&f);
	registered(&f, &g1, "g1");
	registered(&f, &g2, "g2");
	CHECK(mfx_sudo_id(&f, REGISTRY_FN_ADD_GATEKEEPER, g1.id.pk) == TX_OK);
	CHECK(mfx_sudo_id(&f, REGISTRY_FN_ADD_GATEKEEPER, g2.id.pk) == TX_OK);
	struct mq_message m1 = mfx_msg(MQ_ORIGIN_GATEKEEPER, g1.id.pk, "gk/out", "same", 4, 0);
	struct mq_message m2 = mfx_msg(MQ_ORIGIN_GATEKEEPER, g2.id.pk, "gk/out", "same", 4, 0);
	CHECK(mfx_push(&f, CHARLIE, &m1, g1.id.sk) == TX_OK);
	CHECK(mfx_push(&f, CHARLIE, &m2, g2.id.sk) == TX_CALL_MQ_WRONG_SEQUENCE); /* first won */
	m2.sequence = 1;
	CHECK(mfx_push(&f, CHARLIE, &m2, g2.id.sk) == TX_OK);
	CHECK(next_seq(&f, &m1.origin) == 2 && next_seq(&f, &m2.origin) == 2);
	/* the gatekeeper and worker sequences of one identity are distinct */
	struct mq_message wm = mfx_msg(MQ_ORIGIN_WORKER, g1.id.pk, "w/out", "", 0, 0);
	CHECK(mfx_push(&f, CHARLIE, &wm, g1.id.sk) == TX_OK);
	/* a removed gatekeeper can no longer send as one */
	CHECK(mfx_sudo_id(&f, REGISTRY_FN_REMOVE_GATEKEEPER, g1.id.pk) == TX_OK);
	m1.sequence = 2;
	CHECK(mfx_push(&f, CHARLIE, &m1, g1.id.sk) == TX_CALL_REG_NOT_GATEKEEPER);
	mfx_release(&f);
}

static enum tx_result admit_raw(struct mfx *f, const uint8_t *b, size_t n)
{
	return mfx_admit(f, CHARLIE, RUNTIME_MODULE_MQ, MQ_FN_PUSH, b, n);
}

static void malformed_pushes(void)
{
	struct mfx f;
	struct mfx_worker w;
	struct enc e;
	mfx_init(&f);
	registered(&f, &w, "w"); /* well-formed pushes from it pass admission */
	struct mq_message m = mfx_msg(MQ_ORIGIN_WORKER, w.id.pk, "t", "p", 1, 0);
	uint8_t zero = 0;
	CHECK(admit_raw(&f, &zero, 1) == TX_BAD_PAYLOAD); /* no message */
	push_payload(&e, &f, &m, MQ_PUSH_MAX + 1, 0, w.id.sk);
	CHECK(admit_raw(&f, e.buf, e.len) == TX_BAD_PAYLOAD);
	enc_release(&e);
	push_payload(&e, &f, &m, 1, 0, w.id.sk);
	CHECK(admit_raw(&f, e.buf, e.len) == TX_OK);
	CHECK(admit_raw(&f, e.buf, e.len - 1) == TX_BAD_PAYLOAD);
	enc_u8(&e, 0); /* trailing byte */
	CHECK(admit_raw(&f, e.buf, e.len) == TX_BAD_PAYLOAD);
	enc_release(&e);
	static const char *const bad_topics[] = {"", "has space", "tab\t", "\x7f"};
	for (size_t i = 0; i < sizeof(bad_topics) / sizeof(bad_topics[0]); i++) {
		m.topic = (const uint8_t *)bad_topics[i];
		m.topic_len = strlen(bad_topics[i]);
		push_payload(&e, &f, &m, 1, 0, w.id.sk);
		CHECK(admit_raw(&f, e.buf, e.len) == TX_BAD_PAYLOAD);
		enc_release(&e);
	}
	char longt[MQ_TOPIC_MAX + 2];
	memset(longt, 'a', sizeof(longt));
	longt[MQ_TOPIC_MAX + 1] = 0;
	m.topic = (const uint8_t *)longt;
	m.topic_len = MQ_TOPIC_MAX;
	push_payload(&e, &f, &m, 1, 0, w.id.sk);
	CHECK(admit_raw(&f, e.buf, e.len) == TX_OK);
	enc_release(&e);
	m.topic_len = MQ_TOPIC_MAX + 1;
	enc_init(&e, TX_MAX_PAYLOAD);
	enc_uleb(&e, 1);
	mq_message_encode(&e, &m);
	enc_raw(&e, longt, 64);
	CHECK(admit_raw(&f, e.buf, e.len) == TX_BAD_PAYLOAD);
	enc_release(&e);
	mfx_release(&f);
}

static void message_codec(void)
{
	struct mq_message m, back;
	struct enc e;
	static const uint8_t id[32] = {1, 2, 3};
	for (uint8_t kind = 0; kind <= MQ_ORIGIN_MODULE; kind++) {
		m = mfx_msg(kind, id, "topic/x", "payload", 7, 0x1122334455667788ull);
		m.origin.cluster = kind == MQ_ORIGIN_CLUSTER ? 0xdeadbeef : 0;
		if (kind != MQ_ORIGIN_CLUSTER && kind != MQ_ORIGIN_MODULE)
			memcpy(m.origin.id, id, 32);
		else
			memset(m.origin.id, 0, 32);
		if (kind == MQ_ORIGIN_MODULE)
			strcpy(m.origin.module, "contracts");
		enc_init(&e, MQ_MESSAGE_MAX);
		mq_message_encode(&e, &m);
		CHECK(enc_finish(&e) == CODEC_OK);
		CHECK(mq_message_decode(&back, e.buf, e.len) == CODEC_OK);
		CHECK(memcmp(&back.origin, &m.origin, sizeof(m.origin)) == 0);
		CHECK(back.sequence == m.sequence && back.payload_len == 7);
		CHECK(mq_message_decode(&back, e.buf, e.len - 1) != CODEC_OK);
		e.buf[0] = 9;
		CHECK(mq_message_decode(&back, e.buf, e.len) == CODEC_NONCANONICAL);
		enc_release(&e);
	}
	m = mfx_msg(MQ_ORIGIN_MODULE, NULL, "t", "", 0, 0);
	strcpy(m.origin.module, "Bad");
	enc_init(&e, MQ_MESSAGE_MAX);
	mq_message_encode(&e, &m);
	CHECK(mq_message_decode(&back, e.buf, e.len) == CODEC_NONCANONICAL);
	enc_release(&e);
	/* the signing hash is tag ‖ chain id ‖ encoding */
	uint8_t chain[32] = {9}, h[32], want[32];
	struct hash_state hs;
	m = mfx_msg(MQ_ORIGIN_WORKER, id, "t", "p", 1, 5);
	mq_signing_hash(h, chain, &m);
	enc_init(&e, MQ_MESSAGE_MAX);
	mq_message_encode(&e, &m);
	hash_init_tagged(&hs, MQ_SIGN_TAG);
	hash_update(&hs, chain, 32);
	hash_update(&hs, e.buf, e.len);
	hash_final(&hs, want);
	CHECK_EQ_MEM(h, want, 32);
	enc_release(&e);
}

/* Several txs in one block: the list keeps their order, failed calls leave nothing, and the
 * transient keys never reach committed state. */
static void block_list_and_root(void)
{
	struct mfx f;
	struct mfx_worker w;
	mfx_init(&f);
	registered(&f, &w, "w");
	struct state_reader r = mfx_reader(&f);
	struct state_overlay o;
	state_overlay_init(&o, &r, NULL);
	uint8_t leaves[3][32];
	CHECK(mq_emit(&o, "alpha", "x/1", "a", 1) == TX_OK);
	CHECK(mq_emit(&o, "beta", "x/2", "b", 1) == TX_OK);
	state_overlay_savepoint(&o); /* a tx whose call fails */
	CHECK(mq_emit(&o, "alpha", "x/3", "c", 1) == TX_OK);
	state_overlay_rollback(&o);
	CHECK(mq_emit(&o, "alpha", "x/4", "d", 1) == TX_OK);
	CHECK(mq_outbound_count(&o) == 3);
	struct enc out;
	uint8_t root[32], root2[32];
	enc_init(&out, MQ_BLOCK_MAX_BYTES + 16);
	CHECK(mq_block_finish(&o, &out, root) == STATE_OK);
	size_t count;
	CHECK(mq_list_root(out.buf, out.len, &count, root2) == CODEC_OK && count == 3);
	CHECK_EQ_MEM(root, root2, 32);
	struct dec d;
	dec_init(&d, out.buf, out.len);
	(void)dec_uleb(&d, 10);
	static const uint64_t seqs[3] = {0, 0, 1}; /* alpha 0, beta 0, alpha 1 (x/3 rolled back) */
	static const char *const topics[3] = {"x/1", "x/2", "x/4"};
	for (size_t i = 0; i < 3; i++) {
		size_t n;
		struct mq_message m;
		const uint8_t *item = dec_bytes(&d, &n, MQ_MESSAGE_MAX);
		CHECK(item && mq_message_decode(&m, item, n) == CODEC_OK);
		CHECK(m.sequence == seqs[i] && mfx_topic_is(&m, topics[i]));
		merkle_leaf(leaves[i], item, n);
	}
	merkle_root(root2, (const uint8_t(*)[32])leaves, 3);
	CHECK_EQ_MEM(root, root2, 32);
	CHECK(mem_commit(&f.mem, &o));
	for (size_t i = 0; i < f.mem.n; i++)
		CHECK(f.mem.e[i].klen < 7 || memcmp(f.mem.e[i].key, "mq/out/", 7) != 0);
	state_overlay_release(&o);
	/* list-format refusals */
	CHECK(mq_list_root(out.buf, out.len - 1, &count, root2) != CODEC_OK);
	enc_u8(&out, 0);
	CHECK(mq_list_root(out.buf, out.len, &count, root2) == CODEC_TRAILING);
	uint8_t bad_item[] = {1, 3, 9, 0, 0};
	CHECK(mq_list_root(bad_item, sizeof(bad_item), &count, root2) == CODEC_NONCANONICAL);
	enc_release(&out);
	/* the next block's list starts empty and module sequences continue */
	state_overlay_init(&o, &r, NULL);
	CHECK(mq_outbound_count(&o) == 0);
	struct mq_origin a = {.kind = MQ_ORIGIN_MODULE, .module = "alpha"};
	uint64_t s;
	struct state_reader orr;
	state_overlay_reader(&o, &orr);
	CHECK(mq_next_sequence(&orr, &a, &s) == 1 && s == 2);
	state_overlay_release(&o);
	mfx_release(&f);
}

static void block_cap(void)
{
	struct memstate mem = {0};
	struct state_reader r = mem_reader(&mem);
	struct state_overlay o;
	state_overlay_init(&o, &r, NULL);
	for (size_t i = 0; i < MQ_BLOCK_MAX_MSGS; i++)
		CHECK(mq_emit(&o, "m", "t", NULL, 0) == TX_OK);
	CHECK(mq_emit(&o, "m", "t", NULL, 0) == TX_STATE_FULL);
	CHECK(mq_outbound_count(&o) == MQ_BLOCK_MAX_MSGS);
	struct enc out;
	uint8_t root[32];
	enc_init(&out, MQ_BLOCK_MAX_BYTES + 16);
	CHECK(mq_block_finish(&o, &out, root) == STATE_OK);
	enc_release(&out);
	state_overlay_release(&o);
	/* the byte cap */
	static uint8_t big[MQ_PAYLOAD_MAX];
	state_overlay_init(&o, &r, NULL);
	size_t fits = MQ_BLOCK_MAX_BYTES / (MQ_PAYLOAD_MAX + 16);
	for (size_t i = 0; i < fits; i++)
		CHECK(mq_emit(&o, "m", "t", big, sizeof(big)) == TX_OK);
	CHECK(mq_emit(&o, "m", "t", big, sizeof(big)) == TX_STATE_FULL);
	state_overlay_release(&o);
	mem_release(&mem);
}

CHECK_MAIN(CASE(worker_message_outbound), CASE(sequences), CASE(signatures_and_origins),
           CASE(admission), CASE(consumed_topics),
           CASE(a_refused_gatekeeper_message_does_not_block), CASE(consumed_notice_codec),
           CASE(batches), CASE(gatekeepers_share_a_sequence), CASE(malformed_pushes),
           CASE(message_codec), CASE(block_list_and_root), CASE(block_cap))
