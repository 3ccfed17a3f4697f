/*
 * Message dispatch (docs/protocol/worker.md "Dispatch"): the outbound messages of a verified
 * block, in order, first to the egress queue and the backlog (a message of an origin, or mq's
 * notice that it consumed one, shows the chain took that sequence), then by topic through the
 * table below. A topic may have several handlers; they run in table order, so the system side
 * has recorded a deploy (and fixed its key epoch) before the contract host asks for the
 * contract's keys, and a key that arrived with a system message is used (catch-up) before the
 * next message.
 */
#include <string.h>

#include "base/log.h"
#include "chain/contracts.h"
#include "enclave/enclave_sys_int.h"

struct route {
	const char *topic;
	bool prefix; /* topic is a prefix of the message's topic, not the whole of it */
	enum enclave_result (*fn)(struct enclave *e, const struct mq_message *m);
};

static const struct route routes[] = {
    {REGISTRY_EVENT_TOPIC, false, sys_on_registry},
    {REGISTRY_EVENT_TOPIC, false, enclave_contracts_catch_up},
    {CONTRACTS_EVENT_TOPIC, false, sys_on_contracts},
    {CONTRACTS_EVENT_TOPIC, false, enclave_contracts_on_message},
    {SYS_KEYS_TOPIC_PREFIX, true, sys_on_keys},
    {SYS_KEYS_TOPIC_PREFIX, true, enclave_contracts_catch_up},
    {"contract/", true, enclave_contracts_on_message},
};

static bool route_matches(const struct route *r, const struct mq_message *m)
{
	size_t n = strlen(r->topic);
	if (r->prefix ? m->topic_len < n : m->topic_len != n)
		return false;
	return memcmp(m->topic, r->topic, n) == 0;
}

enum enclave_result enclave_dispatch(struct enclave *e, const struct mq_message *m)
{
	struct mq_origin o;
	uint64_t seq;
	if (sys_taken(m, &o, &seq)) {
		sys_egress_observe(e, &o, seq);
		enclave_backlog_observe(e, &o, seq);
	}
	enum enclave_result r = ENCLAVE_OK;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]) && r == ENCLAVE_OK; i++)
		if (route_matches(&routes[i], m))
			r = routes[i].fn(e, m);
	if (r != ENCLAVE_OK && r != ENCLAVE_NOMEM && !e->failed) {
		/* A handler's refusal is about this message only. */
		enclave_log(e, LOG_WARN, "dispatch: message %.*s refused: %s", (int)m->topic_len,
		            (const char *)m->topic, enclave_strerror(r));
		r = ENCLAVE_OK;
	}
	return r;
}

enum enclave_result enclave_dispatch_block(struct enclave *e, const struct block_feed *f)
{
	enum enclave_result r = ENCLAVE_OK;
	for (size_t i = 0; i < f->n_msgs && r == ENCLAVE_OK && !e->failed; i++) {
		struct mq_message m;
		if (mq_message_decode(&m, f->msgs[i], f->msg_lens[i]) != CODEC_OK) {
			/* The chain committed it, but it is not a message this build can read. */
			enclave_log(e, LOG_WARN,
			            "dispatch: message %zu of block %llu does not decode", i,
			            (unsigned long long)f->header.height);
			continue;
		}
		r = enclave_dispatch(e, &m);
	}
	if (r == ENCLAVE_OK && !e->failed)
		enclave_contracts_on_block(e);
	if (r == ENCLAVE_OK && !e->failed)
		r = enclave_backlog_block_end(e);
	if (r != ENCLAVE_OK || e->failed) {
		e->failed = true;
		r = r == ENCLAVE_OK ? ENCLAVE_FAILED : r;
	}
	return r;
}
