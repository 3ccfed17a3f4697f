/* The enclave's message dispatch as the chain could drive it: validly signed blocks (alice, the
 * dev validator, signs every commit here) whose outbound messages come from the fuzz input —
 * registry and contract events that may name this enclave, key shares on its topic, arbitrary
 * origins and topics. Properties: every such block is accepted, nothing crashes or leaks, the
 * egress list always decodes into messages whose sequences increase per origin and, for
 * gatekeeper messages, carry a valid signature; a checkpoint restores to the same status. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../tests/contracts/testplat.h"
#include "base/hex.h"
#include "crypto/sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BLOCKS 12

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

/* Fresh, or (from not NULL) restored from a checkpoint of from. */
static struct enclave *fz_enclave(struct testplat *plat, struct enclave *from)
{
	struct enclave_config cfg = {
	    .max_contracts = 4, .max_egress = 32, .max_state_bytes = 4 << 20};
	return testplat_started(plat, &cfg, from);
}

/* A block holds at most TESTPLAT_MAX_MSGS messages: the input's further ones are dropped. */
static void add_msg(struct testplat_chain *c, const struct mq_message *m)
{
	if (c->n_msgs < TESTPLAT_MAX_MSGS)
		testplat_queue(c, m);
}

static void module_msg(struct testplat_chain *c, const char *module, const char *topic,
                       const uint8_t *p, size_t n)
{
	if (c->n_msgs < TESTPLAT_MAX_MSGS)
		testplat_module_msg(c, module, topic, p, n);
}

/* A registry event of kind (sel & 0x3f) % 10. Bit 0x40 of sel makes its last u32 (cluster,
 * epoch) small, so events meet each other; bit 0x80 makes it name this enclave. */
static void registry_event(struct testplat_chain *c, struct input *in,
                           const struct enclave_status *st, const uint8_t hpke[32])
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

static void deploy_event(struct testplat_chain *c, struct input *in)
{
	uint8_t p[1 + 32 + 4 + 32 + 1 + 7 + 1] = {CONTRACTS_EV_DEPLOYED}; /* no args */
	take(in, p + 1, 32);
	p[33] = take8(in) & 3;
	take(in, p + 37, 32);
	p[69] = 7;
	memcpy(p + 70, "counter", 7);
	module_msg(c, "contracts", CONTRACTS_EVENT_TOPIC, p, sizeof(p));
}

/* Any origin (gatekeeper by default), on this enclave's key topic or a topic from the input. */
static void other_msg(struct testplat_chain *c, struct input *in, const struct enclave_status *st)
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

/* The egress list decodes; sequences increase per origin; gatekeeper messages verify. */
static void check_egress(struct testplat_chain *c, struct enclave *e)
{
	struct testplat_egress it;
	uint64_t next_gk = 0;
	testplat_egress_begin(&it, e, 1000);
	while (testplat_egress_next(&it)) {
		if (it.m.origin.kind != MQ_ORIGIN_GATEKEEPER)
			continue;
		uint8_t h[32];
		mq_signing_hash(h, c->chain_id, &it.m);
		if (!sig_verify(it.sig, h, 32, it.m.origin.id) || it.m.sequence < next_gk)
			abort();
		next_gk = it.m.sequence + 1;
	}
	testplat_egress_end(&it);
}

/* A block the chain signed is always taken; then the egress checks. */
static void feed_block(struct testplat_chain *c, struct enclave *e)
{
	if (testplat_block(c, &e, 1) != ENCLAVE_OK)
		abort();
	check_egress(c, e);
}

static void check_checkpoint(struct enclave *e, struct testplat *plat)
{
	struct enclave *r = fz_enclave(plat, e);
	struct enclave_status a, b;
	enclave_status(e, &a);
	enclave_status(r, &b);
	if (memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	enclave_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct testplat_chain base;
	if (!base.vs.n)
		testplat_chain_init(&base);
	struct testplat_chain c = base;
	struct testplat plat = {.measurement = {0x11}, .seal_key = {0x22}};
	struct enclave *e = fz_enclave(&plat, NULL);
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
				check_checkpoint(e, &plat);
			checkpointed = true;
		}
	}
	feed_block(&c, e);
	enclave_free(e);
	return 0;
}
