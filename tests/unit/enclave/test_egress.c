/* The egress queue: signed messages with strictly increasing sequences per origin, a cap that
 * refuses, drops only when a verified block shows the chain took the sequence (a forwarded
 * message, or mq's consumed notice, applied or refused), sequences already taken on chain not
 * queued again, and a checkpoint that keeps the queue and the sequences. */
#include "crypto/kdf.h"
#include "enclave/enclave_sys_int.h"
#include "sysfix.h"

struct signer {
	struct mq_origin o;
	uint8_t pk[32], sk[64];
};

static void test_contract_signer(struct signer *s, uint8_t tag)
{
	uint8_t node[32] = {tag};
	memset(s, 0, sizeof(*s));
	s->o.kind = MQ_ORIGIN_CONTRACT;
	memset(s->o.id, tag, 32);
	kdf_sign_keypair(s->pk, s->sk, node);
}

static enum enclave_result push(struct enclave *e, const struct signer *s, const char *topic,
                                uint8_t byte)
{
	return enclave_egress_push(e, &s->o, s->sk, topic, &byte, 1);
}

static size_t pending(struct enclave *e)
{
	struct enclave_status st;
	enclave_status(e, &st);
	return st.n_egress;
}

static void sequences_increase_per_origin(void)
{
	struct testplat tp = {.measurement = {1}, .seal_key = {2}};
	struct enclave_config cfg = fix_config(16);
	struct enclave *e = testplat_enclave(&tp, &cfg);
	struct enc out;
	enc_init(&out, 1 << 20);
	CHECK(enclave_egress(e, 10, &out) == ENCLAVE_NOT_STARTED);
	enc_release(&out);
	CHECK(testplat_start(e, NULL, 0) == ENCLAVE_OK);
	struct signer a, b;
	test_contract_signer(&a, 0xa1);
	test_contract_signer(&b, 0xb2);
	const struct signer *order[] = {&a, &b, &a, &a, &b};
	for (size_t i = 0; i < 5; i++)
		CHECK(push(e, order[i], "contract/x/message", (uint8_t)i) == ENCLAVE_OK);
	CHECK(pending(e) == 5);
	struct mq_message m[8];
	const uint8_t *sig[8];
	struct fix_chain c;
	fix_chain_init(&c);
	CHECK(fix_egress(e, &out, m, sig, 8) == 5);
	uint64_t want[] = {0, 0, 1, 2, 1};
	for (size_t i = 0; i < 5; i++) {
		CHECK(m[i].sequence == want[i]);
		CHECK(memcmp(m[i].origin.id, order[i]->o.id, 32) == 0);
		CHECK(m[i].payload_len == 1 && m[i].payload[0] == i);
		uint8_t h[32];
		mq_signing_hash(h, c.tc.chain_id, &m[i]);
		CHECK(sig_verify(sig[i], h, 32, order[i]->pk));
	}
	enc_release(&out);
	/* At most max messages, oldest first. */
	CHECK(fix_egress(e, &out, m, NULL, 2) == 2 && m[0].payload[0] == 0 && m[1].payload[0] == 1);
	enc_release(&out);
	enclave_free(e);
}

static void caps_and_bad_input_are_refused(void)
{
	struct testplat tp = {.measurement = {1}, .seal_key = {2}};
	struct enclave *e = fix_started(&tp, 4, NULL);
	struct signer a;
	test_contract_signer(&a, 0xa1);
	for (int i = 0; i < 4; i++)
		CHECK(push(e, &a, "contract/x/message", 0) == ENCLAVE_OK);
	CHECK(push(e, &a, "contract/x/message", 0) == ENCLAVE_TOO_LARGE);
	CHECK(pending(e) == 4);
	/* Refused pushes take no sequence: after an ack the next one is 4. */
	struct fix_chain c;
	fix_chain_init(&c);
	struct mq_message ack = {.origin = a.o,
	                         .topic = (const uint8_t *)"contract/x/message",
	                         .topic_len = 18,
	                         .sequence = 3};
	testplat_queue(&c.tc, &ack);
	fix_block(&c, &e, 1);
	CHECK(pending(e) == 0);
	char long_topic[MQ_TOPIC_MAX + 2];
	memset(long_topic, 'a', sizeof(long_topic) - 1);
	long_topic[sizeof(long_topic) - 1] = '\0';
	CHECK(push(e, &a, "", 0) == ENCLAVE_BAD_INPUT);
	CHECK(push(e, &a, "has space", 0) == ENCLAVE_BAD_INPUT);
	CHECK(push(e, &a, long_topic, 0) == ENCLAVE_BAD_INPUT);
	uint8_t *big = calloc(1, MQ_PAYLOAD_MAX + 1);
	CHECK(enclave_egress_push(e, &a.o, a.sk, "t", big, MQ_PAYLOAD_MAX + 1) ==
	      ENCLAVE_TOO_LARGE);
	free(big);
	CHECK(push(e, &a, "t", 0) == ENCLAVE_OK);
	struct enc out;
	struct mq_message m[1];
	CHECK(fix_egress(e, &out, m, NULL, 1) == 1 && m[0].sequence == 4);
	enc_release(&out);
	/* The table of origins is capped too (max_contracts + 8 = 12 here). */
	enum enclave_result r = ENCLAVE_OK;
	int origins = 1;
	for (; origins < 40 && r == ENCLAVE_OK; origins++) {
		struct signer s;
		test_contract_signer(&s, (uint8_t)origins);
		r = push(e, &s, "t", 0);
		if (r == ENCLAVE_OK) /* keep the queue from filling first */
			sys_egress_drop_kind(e, MQ_ORIGIN_CONTRACT);
	}
	CHECK(r == ENCLAVE_TOO_LARGE && origins == 13);
	enclave_free(e);
}

static void only_a_verified_acceptance_drops(void)
{
	struct testplat tp = {.measurement = {1}, .seal_key = {2}};
	struct enclave *e = fix_started(&tp, 16, NULL);
	struct fix_chain c;
	fix_chain_init(&c);
	struct signer a, b;
	test_contract_signer(&a, 0xa1);
	test_contract_signer(&b, 0xb2);
	for (int i = 0; i < 3; i++)
		CHECK(push(e, &a, "contract/x/message", (uint8_t)i) == ENCLAVE_OK);
	CHECK(push(e, &b, "contract/x/message", 9) == ENCLAVE_OK);

	/* Other origins, module messages and gatekeeper sequences say nothing about a's. */
	struct mq_message other = {.origin = a.o,
	                           .topic = (const uint8_t *)"contract/y/message",
	                           .topic_len = 18,
	                           .sequence = 7};
	memset(other.origin.id, 0xcc, 32);
	testplat_queue(&c.tc, &other);
	other.origin.kind = MQ_ORIGIN_GATEKEEPER;
	testplat_queue(&c.tc, &other);
	testplat_module_msg(&c.tc, "contracts", "contract/x/message", NULL, 0);
	fix_block(&c, &e, 1);
	CHECK(pending(e) == 4);

	/* A host that forges the acknowledgment is refused and nothing changes. */
	struct mq_message ack = {.origin = a.o,
	                         .topic = (const uint8_t *)"contract/x/message",
	                         .topic_len = 18,
	                         .sequence = 1};
	testplat_queue(&c.tc, &ack);
	struct enc feed;
	testplat_feed(&c.tc, &feed);
	uint8_t *forged = malloc(feed.len);
	memcpy(forged, feed.buf, feed.len);
	forged[feed.len - 20] ^= 1; /* inside the message list */
	char err[200];
	CHECK(enclave_feed_block(e, forged, feed.len, err, sizeof(err)) != ENCLAVE_OK);
	CHECK(pending(e) == 4);
	free(forged);
	/* The real block: a's sequence 1 was accepted, so 0 and 1 are done. */
	CHECK(enclave_feed_block(e, feed.buf, feed.len, err, sizeof(err)) == ENCLAVE_OK);
	enc_release(&feed);
	CHECK(pending(e) == 2);
	struct enc out;
	struct mq_message m[4];
	CHECK(fix_egress(e, &out, m, NULL, 4) == 2);
	CHECK(m[0].sequence == 2 && memcmp(m[0].origin.id, a.o.id, 32) == 0);
	CHECK(m[1].sequence == 0 && memcmp(m[1].origin.id, b.o.id, 32) == 0);
	enc_release(&out);
	/* A later block carrying an old sequence again (harmless) drops nothing more. */
	testplat_queue(&c.tc, &ack);
	fix_block(&c, &e, 1);
	CHECK(pending(e) == 2);
	enclave_free(e);
}

static void checkpoints_keep_the_queue_and_sequences(void)
{
	struct testplat tp = {.measurement = {1}, .seal_key = {2}};
	struct enclave *e = fix_started(&tp, 16, NULL);
	struct signer a;
	test_contract_signer(&a, 0xa1);
	struct mq_origin me = {.kind = MQ_ORIGIN_WORKER};
	memcpy(me.id, e->identity, 32);
	CHECK(push(e, &a, "contract/x/message", 1) == ENCLAVE_OK);
	CHECK(push(e, &a, "contract/x/message", 2) == ENCLAVE_OK);
	CHECK(enclave_egress_push(e, &me, e->sec->identity_sk, "worker/report", NULL, 0) ==
	      ENCLAVE_OK);
	struct enclave *r = fix_started(&tp, 16, e);
	struct enc qa, qb;
	enc_init(&qa, 1 << 20);
	enc_init(&qb, 1 << 20);
	CHECK(enclave_egress(e, 100, &qa) == ENCLAVE_OK &&
	      enclave_egress(r, 100, &qb) == ENCLAVE_OK);
	CHECK(qa.len == qb.len && memcmp(qa.buf, qb.buf, qa.len) == 0);
	enc_release(&qa);
	enc_release(&qb);
	CHECK(push(r, &a, "contract/x/message", 3) == ENCLAVE_OK);
	struct enc out;
	struct mq_message m[4];
	CHECK(fix_egress(r, &out, m, NULL, 4) == 4 && m[3].sequence == 2);
	enc_release(&out);
	enclave_free(r);
	enclave_free(e);
}

/* The notice's payload for (o, seq) on topic, with the consumer's result. */
static size_t notice(uint8_t *b, size_t cap, const struct mq_origin *o, uint64_t seq,
                     const char *topic, uint32_t result)
{
	struct mq_consumed n = {*o, seq, (const uint8_t *)topic, strlen(topic), result};
	struct enc e;
	enc_init_fixed(&e, b, cap);
	mq_consumed_encode(&e, &n);
	CHECK(enc_finish(&e) == CODEC_OK);
	return e.len;
}

/* A '^' message is consumed by a chain module, not forwarded: mq's consumed notice acknowledges
 * it whether the consumer applied or refused it (its sequence is taken either way), so a refused
 * message never blocks the ones behind it. The same bytes from anyone but module:mq prove
 * nothing. */
static void a_consumed_notice_drops_refused_or_not(void)
{
	struct testplat tp = {.measurement = {1}, .seal_key = {2}};
	struct enclave *e = fix_started(&tp, 16, NULL);
	struct fix_chain c;
	fix_chain_init(&c);
	struct signer a;
	test_contract_signer(&a, 0xa1);
	for (int i = 0; i < 3; i++)
		CHECK(push(e, &a, "^bank/withdraw", (uint8_t)i) == ENCLAVE_OK);
	uint8_t b[256];
	size_t n = notice(b, sizeof(b), &a.o, 1, "^bank/withdraw", TX_CALL_MQ_UNKNOWN_TOPIC);
	testplat_module_msg(&c.tc, "registry", MQ_CONSUMED_TOPIC, b, n); /* from module:registry */
	struct mq_message w = {.origin = {.kind = MQ_ORIGIN_WORKER},
	                       .topic = (const uint8_t *)MQ_CONSUMED_TOPIC,
	                       .topic_len = strlen(MQ_CONSUMED_TOPIC),
	                       .payload = b,
	                       .payload_len = n};
	testplat_queue(&c.tc, &w);
	testplat_module_msg(&c.tc, MQ_MODULE_NAME, MQ_CONSUMED_TOPIC, b,
	                    n - 1); /* does not decode */
	fix_block(&c, &e, 1);
	CHECK(pending(e) == 3);
	testplat_module_msg(&c.tc, MQ_MODULE_NAME, MQ_CONSUMED_TOPIC, b,
	                    n); /* refused, but consumed */
	fix_block(&c, &e, 1);
	CHECK(pending(e) == 1);
	struct enc out;
	struct mq_message m[2];
	CHECK(fix_egress(e, &out, m, NULL, 2) == 1 && m[0].sequence == 2);
	enc_release(&out);
	n = notice(b, sizeof(b), &a.o, 2, "^bank/withdraw", 0);
	testplat_module_msg(&c.tc, MQ_MODULE_NAME, MQ_CONSUMED_TOPIC, b, n);
	fix_block(&c, &e, 1);
	CHECK(pending(e) == 0);
	enclave_free(e);
}

/* Sequences the chain is known to have taken (a contract's messages sent by the cluster's other
 * workers before this one could run it) are used but not queued again; the mark follows what
 * verified blocks show and survives a checkpoint. */
static void pushes_below_the_acked_mark_are_not_queued(void)
{
	struct testplat tp = {.measurement = {1}, .seal_key = {2}};
	struct enclave *e = fix_started(&tp, 16, NULL);
	struct signer a;
	test_contract_signer(&a, 0xa1);
	CHECK(sys_egress_acked(e, &a.o, 2) == ENCLAVE_OK);
	CHECK(sys_egress_acked(e, &a.o, 1) == ENCLAVE_OK); /* never lowered */
	for (int i = 0; i < 3; i++)
		CHECK(push(e, &a, "contract/x/message", (uint8_t)i) == ENCLAVE_OK);
	struct enc out;
	struct mq_message m[4];
	CHECK(fix_egress(e, &out, m, NULL, 4) == 1 && m[0].sequence == 2 && m[0].payload[0] == 2);
	enc_release(&out);
	/* Caps are checked below the mark too: a refused push takes no sequence. */
	CHECK(push(e, &a, "has space", 0) == ENCLAVE_BAD_INPUT);
	/* A block shows sequence 5 taken: 3..5 are not queued, 6 is. */
	struct fix_chain c;
	fix_chain_init(&c);
	struct mq_message seen = {.origin = a.o,
	                          .topic = (const uint8_t *)"contract/x/message",
	                          .topic_len = 18,
	                          .sequence = 5};
	testplat_queue(&c.tc, &seen);
	fix_block(&c, &e, 1);
	CHECK(pending(e) == 0);
	struct enclave *r = fix_started(&tp, 16, e);
	for (int i = 3; i < 7; i++)
		CHECK(push(r, &a, "contract/x/message", (uint8_t)i) == ENCLAVE_OK);
	CHECK(fix_egress(r, &out, m, NULL, 4) == 1 && m[0].sequence == 6 && m[0].payload[0] == 6);
	enc_release(&out);
	enclave_free(r);
	enclave_free(e);
}

CHECK_MAIN(CASE(sequences_increase_per_origin), CASE(caps_and_bad_input_are_refused),
           CASE(only_a_verified_acceptance_drops), CASE(checkpoints_keep_the_queue_and_sequences),
           CASE(a_consumed_notice_drops_refused_or_not),
           CASE(pushes_below_the_acked_mark_are_not_queued))
