/* The enclave's message dispatch as the chain could drive it: validly signed blocks (alice, the
 * dev validator, signs every commit here) whose outbound messages come from the fuzz input —
 * registry and contract events that may name this enclave, key shares on its topic, arbitrary
 * origins and topics. Properties: every such block is accepted, nothing crashes or leaks, the
 * egress list always decodes into messages whose sequences increase per origin and, for
 * gatekeeper messages, carry a valid signature; a checkpoint restores to the same status. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "chain/contracts.h"
#include "chain/feed.h"
#include "chain/genesis.h"
#include "chain/mq.h"
#include "chain/registry.h"
#include "crypto/devkeys.h"
#include "crypto/hash.h"
#include "crypto/sig.h"
#include "enclave/enclave.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BLOCKS 12
#define MAX_MSGS   48

static void fz_measurement(void *ctx, uint8_t out[32])
{
	(void)ctx;
	memset(out, 0x11, 32);
}

static int fz_seal_key(void *ctx, uint8_t out[32])
{
	(void)ctx;
	memset(out, 0x22, 32);
	return 0;
}

static int fz_attest(void *ctx, const uint8_t rd[32], uint64_t height, uint8_t *out, size_t cap,
                     size_t *len)
{
	(void)ctx;
	(void)height;
	if (cap < 32)
		return -1;
	memcpy(out, rd, 32);
	*len = 32;
	return 0;
}

static void fz_random(void *ctx, uint8_t *buf, size_t n)
{
	uint64_t *counter = ctx;
	for (size_t i = 0; i < n; i += 32) {
		uint8_t h[32];
		uint64_t c = (*counter)++;
		hash_tagged(h, "fuzz-random", &c, sizeof(c));
		memcpy(buf + i, h, n - i < 32 ? n - i : 32);
	}
}

static void fz_log(void *ctx, int level, const char *line)
{
	(void)ctx;
	(void)level;
	(void)line;
}

struct input {
	const uint8_t *p;
	size_t n;
};

static uint8_t take8(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static void take(struct input *in, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = take8(in);
}

struct chain {
	uint8_t chain_id[32], prev[32], sk[64];
	struct valset vs;
	uint64_t height, module_seq;
	uint8_t *msgs[MAX_MSGS];
	size_t lens[MAX_MSGS], n;
};

static struct enclave *fz_enclave(uint64_t *counter, const uint8_t *sealed, size_t len)
{
	struct enclave_platform plat = {.ctx = counter,
	                                .backend = ENCLAVE_BACKEND_SIM,
	                                .measurement = fz_measurement,
	                                .seal_key = fz_seal_key,
	                                .attest = fz_attest,
	                                .random = fz_random,
	                                .log = fz_log};
	struct enclave_config cfg = {
	    .max_contracts = 4, .max_egress = 32, .max_state_bytes = 4 << 20};
	struct enclave *e = enclave_new(&plat, &cfg);
	char *g = genesis_dev_json(1000);
	if (!e || !g || enclave_start(e, (const uint8_t *)g, strlen(g), sealed, len) != ENCLAVE_OK)
		abort();
	free(g);
	return e;
}

static void add_msg(struct chain *c, const struct mq_message *m)
{
	if (c->n == MAX_MSGS)
		return;
	struct enc e;
	enc_init(&e, MQ_MESSAGE_MAX);
	mq_message_encode(&e, m);
	if (enc_finish(&e) != CODEC_OK)
		abort();
	c->msgs[c->n] = e.buf;
	c->lens[c->n++] = e.len;
}

/* A message from module:registry or module:contracts with a payload from the input. */
static void module_msg(struct chain *c, const char *module, const char *topic, const uint8_t *p,
                       size_t n)
{
	struct mq_message m = {.topic = (const uint8_t *)topic,
	                       .topic_len = strlen(topic),
	                       .payload = p,
	                       .payload_len = n,
	                       .sequence = c->module_seq++};
	m.origin.kind = MQ_ORIGIN_MODULE;
	strcpy(m.origin.module, module);
	add_msg(c, &m);
}

/* A registry event of kind (sel & 0x3f) % 10. Bit 0x40 of sel makes its last u32 (cluster,
 * epoch) small, so events meet each other; bit 0x80 makes it name this enclave. */
static void registry_event(struct chain *c, struct input *in, const struct enclave_status *st,
                           const uint8_t hpke[32])
{
	static const uint8_t lens[] = {REGISTRY_WORKER_LEN, 64, 32, 4, 68, 4, 36, 72, 104, 3};
	uint8_t sel = take8(in), p[1 + 256] = {0};
	p[0] = (uint8_t)((sel & 0x3f) % sizeof(lens));
	size_t n = lens[p[0]];
	take(in, p + 1, n);
	if ((sel & 0x40) && n >= 4)
		memset(p + n - 2, 0, 3);
	if (sel & 0x80) { /* every event that names a worker starts with identity ‖ hpke_pk */
		memcpy(p + 1, st->identity, 32);
		if (n >= 64)
			memcpy(p + 33, hpke, 32);
	}
	module_msg(c, "registry", REGISTRY_EVENT_TOPIC, p, 1 + n);
}

static void deploy_event(struct chain *c, struct input *in)
{
	uint8_t p[1 + 32 + 4 + 32 + 1 + 7] = {CONTRACTS_EV_DEPLOYED};
	take(in, p + 1, 32);
	p[33] = take8(in) & 3;
	take(in, p + 37, 32);
	p[69] = 7;
	memcpy(p + 70, "counter", 7);
	module_msg(c, "contracts", CONTRACTS_EVENT_TOPIC, p, sizeof(p));
}

/* Any origin (gatekeeper by default), on this enclave's key topic or a topic from the input. */
static void other_msg(struct chain *c, struct input *in, const struct enclave_status *st)
{
	uint8_t sel = take8(in), payload[256], topic[MQ_TOPIC_MAX];
	struct mq_message m = {.payload = payload};
	m.origin.kind = sel & 0x80 ? take8(in) % 4 : MQ_ORIGIN_GATEKEEPER;
	take(in, m.origin.id, 32);
	m.origin.cluster = take8(in);
	m.sequence = take8(in);
	m.payload_len = take8(in);
	take(in, payload, m.payload_len);
	if (sel & 0x40) {
		m.topic_len = 1 + take8(in) % MQ_TOPIC_MAX;
		for (size_t i = 0; i < m.topic_len; i++)
			topic[i] = (uint8_t)(0x21 + take8(in) % 94);
	} else {
		memcpy(topic, "worker/", 7);
		hex_encode((char *)topic + 7, st->identity, 32); /* writes a NUL we overwrite */
		memcpy(topic + 71, "/keys", 5);
		m.topic_len = 76;
	}
	m.topic = topic;
	add_msg(c, &m);
}

static void feed_block(struct chain *c, struct enclave *e)
{
	struct block_feed f;
	memset(&f, 0, sizeof(f));
	f.header.version = HEADER_VERSION;
	f.header.height = ++c->height;
	f.header.time_ms = GENESIS_DEV_TIME_MS + c->height * 1000;
	memcpy(f.header.chain_id, c->chain_id, 32);
	memcpy(f.header.prev_hash, c->prev, 32);
	valset_hash(f.header.validators_hash, &c->vs);
	memcpy(f.header.next_validators_hash, f.header.validators_hash, 32);
	f.msgs = (const uint8_t **)c->msgs;
	f.msg_lens = c->lens;
	f.n_msgs = c->n;
	block_msgs_root(f.header.msgs_root, f.msgs, f.msg_lens, f.n_msgs);
	header_hash(c->prev, &f.header);
	commit_init(&f.commit, c->height, 0, c->prev, 1);
	commit_sign(&f.commit, 0, c->chain_id, c->sk);
	struct enc out;
	enc_init(&out, FEED_MAX_BYTES);
	block_feed_encode(&out, &f);
	char err[256];
	if (enc_finish(&out) != CODEC_OK ||
	    enclave_feed_block(e, out.buf, out.len, err, sizeof(err)) != ENCLAVE_OK)
		abort(); /* a block the chain signed is always taken */
	enc_release(&out);
	for (size_t i = 0; i < c->n; i++)
		free(c->msgs[i]);
	c->n = 0;
}

/* The egress list decodes; sequences increase per origin; gatekeeper messages verify. */
static void check_egress(struct chain *c, struct enclave *e)
{
	struct enc out;
	enc_init(&out, 1 << 24);
	if (enclave_egress(e, 1000, &out) != ENCLAVE_OK)
		abort();
	struct dec d;
	dec_init(&d, out.buf, out.len);
	size_t n = (size_t)dec_uleb(&d, 1000);
	uint64_t last_gk = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len;
		const uint8_t *b = dec_bytes(&d, &len, MQ_MESSAGE_MAX + SIG_LEN);
		struct mq_message m;
		uint8_t h[32];
		if (!b || len <= SIG_LEN || mq_message_decode(&m, b, len - SIG_LEN) != CODEC_OK)
			abort();
		if (m.origin.kind != MQ_ORIGIN_GATEKEEPER)
			continue;
		mq_signing_hash(h, c->chain_id, &m);
		if (!sig_verify(b + len - SIG_LEN, h, 32, m.origin.id) ||
		    (i && m.sequence < last_gk))
			abort();
		last_gk = m.sequence + 1;
	}
	if (dec_finish(&d) != CODEC_OK)
		abort();
	enc_release(&out);
}

static void check_checkpoint(struct enclave *e, uint64_t *counter)
{
	struct enc ck;
	enc_init(&ck, 64 << 20);
	if (enclave_checkpoint(e, &ck) != ENCLAVE_OK)
		abort();
	struct enclave *r = fz_enclave(counter, ck.buf, ck.len);
	struct enclave_status a, b;
	enclave_status(e, &a);
	enclave_status(r, &b);
	if (memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	enclave_free(r);
	enc_release(&ck);
}

static void chain_init(struct chain *c)
{
	memset(c, 0, sizeof(*c));
	char *g = genesis_dev_json(1000);
	struct genesis gen;
	char err[128];
	if (!g || genesis_parse(&gen, g, strlen(g), err, sizeof(err)) != GENESIS_OK)
		abort();
	genesis_hash(c->chain_id, &gen);
	c->vs.n = 1;
	memcpy(c->vs.v[0].pub_key, gen.validators[0].public_key, 32);
	c->vs.v[0].power = gen.validators[0].power;
	genesis_release(&gen);
	free(g);
	uint8_t pk[32];
	if (!devkeys_keypair("alice", pk, c->sk))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct chain base;
	if (!base.vs.n)
		chain_init(&base);
	struct chain c = base;
	uint64_t counter = 0;
	struct enclave *e = fz_enclave(&counter, NULL, 0);
	struct enclave_status st;
	struct enclave_registration reg;
	uint8_t op_acct[32] = {0};
	if (enclave_registration(e, op_acct, &reg) != ENCLAVE_OK)
		abort();
	struct input in = {data, size};
	bool checkpointed = false;
	while (in.n && c.height < MAX_BLOCKS) {
		enclave_status(e, &st);
		switch (take8(&in) % 6) {
		case 0:
			feed_block(&c, e);
			check_egress(&c, e);
			break;
		case 1:
		case 2:
			registry_event(&c, &in, &st, reg.hpke_pk);
			break;
		case 3:
			deploy_event(&c, &in);
			break;
		case 4:
			other_msg(&c, &in, &st);
			break;
		default:
			if (!checkpointed)
				check_checkpoint(e, &counter);
			checkpointed = true;
		}
	}
	feed_block(&c, e);
	check_egress(&c, e);
	enclave_free(e);
	return 0;
}
