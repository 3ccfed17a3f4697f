/* The sync thread (worker.h): feeds, checkpoints, registration, egress. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "base/log.h"
#include "chain/feed.h"
#include "chain/mq.h"
#include "chain/registry.h"
#include "chain/tx.h"
#include "crypto/hash.h"
#include "worker/platform_int.h"
#include "worker/worker_int.h"
#include "worker/worker_tx.h"

#define RPC_NOT_FOUND_CODE (-32011) /* the node's "not found" (docs/rpc.md) */

/* Logs a refusal once (until another one happens) and records it for /status. */
static void note_error(struct worker *w, const char *msg)
{
	worker_set_text(w, w->st.last_error, sizeof(w->st.last_error), "%s", msg);
	if (strcmp(w->sync.last_logged, msg) != 0) {
		log_warn("worker", "%s", msg);
		snprintf(w->sync.last_logged, sizeof(w->sync.last_logged), "%s", msg);
	}
}

static uint64_t enclave_height(struct worker *w)
{
	struct enclave_status st;
	pthread_rwlock_rdlock(&w->lock);
	enclave_status(w->e, &st);
	pthread_rwlock_unlock(&w->lock);
	return st.height;
}

static uint64_t node_height(struct worker *w)
{
	pthread_mutex_lock(&w->st_mu);
	uint64_t h = w->st.node_height;
	pthread_mutex_unlock(&w->st_mu);
	return h;
}

/* ---- checkpoints ------------------------------------------------------------------------- */

int worker_checkpoint(struct worker *w)
{
	struct enc out;
	struct enclave_status st;
	enc_init(&out, (size_t)1 << 30);
	pthread_rwlock_wrlock(&w->lock);
	enum enclave_result r = enclave_checkpoint(w->e, &out);
	enclave_status(w->e, &st);
	pthread_rwlock_unlock(&w->lock);
	int ret = -1;
	if (r != ENCLAVE_OK)
		log_error("worker", "checkpoint at height %llu: %s", (unsigned long long)st.height,
		          enclave_strerror(r));
	else if (platform_write_new(w->data_dir, WORKER_CHECKPOINT_FILE, out.buf, out.len) !=
	         PLATFORM_OK)
		log_error("worker", "cannot write %s/%s", w->data_dir, WORKER_CHECKPOINT_FILE);
	else
		ret = 0;
	if (ret == 0) {
		pthread_mutex_lock(&w->st_mu);
		w->st.checkpoint_height = st.height;
		pthread_mutex_unlock(&w->st_mu);
		log_debug("worker", "checkpoint at height %llu (%zu bytes)",
		          (unsigned long long)st.height, out.len);
	}
	enc_release(&out);
	return ret;
}

/* ---- feeds ------------------------------------------------------------------------------- */

/* Feeds one block feed. 0 accepted, -1 refused (noted). */
static int feed_one(struct worker *w, const uint8_t *feed, size_t len)
{
	char why[256] = "", msg[320];
	pthread_rwlock_wrlock(&w->lock);
	enum enclave_result r = enclave_feed_block(w->e, feed, len, why, sizeof(why));
	pthread_rwlock_unlock(&w->lock);
	if (r == ENCLAVE_OK)
		return 0;
	snprintf(msg, sizeof(msg), "block %llu refused by the enclave: %s%s%s",
	         (unsigned long long)enclave_height(w) + 1, enclave_strerror(r), why[0] ? ": " : "",
	         why);
	pthread_mutex_lock(&w->st_mu);
	w->st.feeds_refused++;
	pthread_mutex_unlock(&w->st_mu);
	note_error(w, msg);
	return -1;
}

/* Fetches and feeds the next batch. Returns the number of blocks fed, or -1 on a node error or
 * a refused block. */
static long sync_feeds(struct worker *w)
{
	char why[RPC_ERROR_MSG_MAX + 64], msg[sizeof(why) + 32];
	uint8_t *reply = NULL;
	size_t len = 0;
	struct feed_batch fb;
	uint64_t from = enclave_height(w) + 1;
	if (w->cfg.node.feeds(w->cfg.node.ctx, from, WORKER_FEED_BATCH, &reply, &len, why,
	                      sizeof(why)) != 0) {
		snprintf(msg, sizeof(msg), "feeds: %s", why);
		note_error(w, msg);
		return -1;
	}
	if (feed_batch_decode(&fb, reply, len) != CODEC_OK) {
		free(reply);
		note_error(w, "feeds: the node's answer is not a feed batch");
		return -1;
	}
	pthread_mutex_lock(&w->st_mu);
	w->st.node_height = fb.head;
	pthread_mutex_unlock(&w->st_mu);
	long fed = 0;
	for (size_t i = 0; i < fb.n; i++) {
		if (feed_one(w, fb.feeds[i], fb.lens[i]) != 0) {
			fed = -1;
			break;
		}
		fed++;
		uint64_t h = from + i;
		if (w->cfg.checkpoint_every && h % w->cfg.checkpoint_every == 0)
			worker_checkpoint(w);
	}
	free(reply);
	if (fed > 0)
		worker_set_text(w, w->st.last_error, sizeof(w->st.last_error), "%s", "");
	return fed;
}

/* ---- transactions ------------------------------------------------------------------------ */

/* Builds, signs and submits a call from the operator account; txid (65) gets its id. 0, or -1
 * with the reason in why. */
static int submit_call(struct worker *w, uint8_t module, uint8_t function, const uint8_t *payload,
                       size_t len, char txid[65], char *why, size_t whylen)
{
	struct {
		const char *method;
		json_t *r;
	} q[2] = {{"chain_info", NULL}, {"account_get", NULL}};
	char pkhex[65];
	hex_encode(pkhex, w->operator_pk, 32);
	int ret = -1;
	struct worker_tx_chain ch;
	uint8_t id[32];
	struct enc e;
	enc_init(&e, TX_MAX_BYTES);
	for (int i = 0; i < 2; i++)
		if (worker_call(w, q[i].method, i ? json_pack("[s]", pkhex) : NULL, &q[i].r, NULL,
		                why, whylen) != 0)
			goto out;
	if (!worker_tx_chain_read(&ch, q[0].r, q[1].r)) {
		snprintf(why, whylen, "chain_info or account_get lack the expected fields");
		goto out;
	}
	if (!worker_tx_build(&e, &ch, w->sec->operator_sk, module, function, payload, len, 0, id)) {
		snprintf(why, whylen, "cannot build the transaction (too large?)");
		goto out;
	}
	char *hx = malloc(2 * e.len + 1);
	json_t *res = NULL;
	if (hx && worker_call(w, "tx_submit", json_pack("[s]", hex_encode(hx, e.buf, e.len)), &res,
	                      NULL, why, whylen) == 0) {
		hex_encode(txid, id, 32);
		ret = 0;
	} else if (!hx) {
		snprintf(why, whylen, "out of memory");
	}
	free(hx);
	json_decref(res);
out:
	json_decref(q[0].r);
	json_decref(q[1].r);
	enc_release(&e);
	return ret;
}

/* ---- registration ------------------------------------------------------------------------ */

static void reg_text(struct worker *w, const char *prefix, const char *arg)
{
	worker_set_text(w, w->st.registration, sizeof(w->st.registration), "%s%s", prefix, arg);
}

static void reg_retry_later(struct worker *w, const char *why)
{
	struct worker_sync *s = &w->sync;
	s->reg_backoff = s->reg_backoff ? 2 * s->reg_backoff : WORKER_RESUBMIT_BLOCKS / 4;
	if (s->reg_backoff > WORKER_REGISTER_BACKOFF_MAX)
		s->reg_backoff = WORKER_REGISTER_BACKOFF_MAX;
	s->reg_next_try = node_height(w) + s->reg_backoff;
	s->reg = WORKER_REG_NEEDED;
	reg_text(w, "refused: ", why);
	log_warn("worker", "registration refused: %s (next try in %llu blocks)", why,
	         (unsigned long long)s->reg_backoff);
}

static void reg_done(struct worker *w)
{
	w->sync.reg = WORKER_REG_DONE;
	w->sync.reg_backoff = 0;
	pthread_mutex_lock(&w->st_mu);
	w->st.registered = true;
	snprintf(w->st.registration, sizeof(w->st.registration), "registered");
	pthread_mutex_unlock(&w->st_mu);
}

/* Does the chain hold our identity with our HPKE key and operator? */
static void reg_check(struct worker *w)
{
	struct enclave_registration *reg = calloc(1, sizeof(*reg));
	char why[RPC_ERROR_MSG_MAX + 64], idhex[65], hpke[65], op[65];
	json_t *res = NULL;
	long code = 0;
	if (!reg)
		return;
	pthread_rwlock_wrlock(&w->lock);
	enum enclave_result r = enclave_registration(w->e, w->operator_pk, reg);
	pthread_rwlock_unlock(&w->lock);
	hex_encode(idhex, reg->identity, 32);
	hex_encode(hpke, reg->hpke_pk, 32);
	hex_encode(op, w->operator_pk, 32);
	free(reg);
	if (r != ENCLAVE_OK)
		return;
	if (worker_call(w, "worker_get", json_pack("[s]", idhex), &res, &code, why, sizeof(why))) {
		if (code == RPC_NOT_FOUND_CODE)
			w->sync.reg = WORKER_REG_NEEDED;
		return;
	}
	const char *h = json_string_value(json_object_get(res, "hpke_pk"));
	if (h && strcmp(h, hpke) == 0)
		reg_done(w);
	else
		w->sync.reg = WORKER_REG_NEEDED;
	json_decref(res);
}

static void reg_submit(struct worker *w)
{
	struct worker_sync *s = &w->sync;
	struct enclave_registration *reg = calloc(1, sizeof(*reg));
	char why[RPC_ERROR_MSG_MAX + 64] = "out of memory";
	struct enc p;
	enc_init(&p, TX_MAX_PAYLOAD);
	if (!reg)
		goto out;
	pthread_rwlock_wrlock(&w->lock);
	enum enclave_result r = enclave_registration(w->e, w->operator_pk, reg);
	pthread_rwlock_unlock(&w->lock);
	if (r != ENCLAVE_OK) {
		snprintf(why, sizeof(why), "enclave: %s", enclave_strerror(r));
		goto out;
	}
	registry_register_payload(&p, reg->identity, reg->hpke_pk, w->operator_pk, reg->report,
	                          reg->report_len);
	if (enc_finish(&p) != CODEC_OK ||
	    submit_call(w, RUNTIME_MODULE_REGISTRY, REGISTRY_FN_REGISTER_WORKER, p.buf, p.len,
	                s->reg_txid, why, sizeof(why)) != 0)
		goto out;
	s->reg = WORKER_REG_PENDING;
	s->reg_submitted_at = node_height(w);
	reg_text(w, "pending tx ", s->reg_txid);
	log_info("worker", "registration submitted in tx %s", s->reg_txid);
	why[0] = '\0';
out:
	if (why[0])
		reg_retry_later(w, why);
	enc_release(&p);
	free(reg);
}

static void reg_poll(struct worker *w)
{
	struct worker_sync *s = &w->sync;
	char why[RPC_ERROR_MSG_MAX + 64];
	json_t *res = NULL;
	if (worker_call(w, "tx_status", json_pack("[s]", s->reg_txid), &res, NULL, why,
	                sizeof(why)) != 0)
		return;
	const char *status = json_string_value(json_object_get(res, "status"));
	if (status && strcmp(status, "included") == 0) {
		if (json_is_true(json_object_get(res, "success")))
			reg_done(w), log_info("worker", "registered on chain");
		else
			reg_retry_later(w, json_string_value(json_object_get(res, "error"))
			                       ? json_string_value(json_object_get(res, "error"))
			                       : "the registration call failed");
	} else if (node_height(w) > s->reg_submitted_at + WORKER_RESUBMIT_BLOCKS) {
		s->reg = WORKER_REG_NEEDED; /* dropped from the pool: submit again */
	}
	json_decref(res);
}

static void registration_step(struct worker *w)
{
	switch (w->sync.reg) {
	case WORKER_REG_CHECK:
		reg_check(w);
		break;
	case WORKER_REG_NEEDED:
		if (node_height(w) >= w->sync.reg_next_try)
			reg_submit(w);
		break;
	case WORKER_REG_PENDING:
		reg_poll(w);
		break;
	case WORKER_REG_OFF:
	case WORKER_REG_DONE:
		break;
	}
}

/* ---- egress ------------------------------------------------------------------------------ */

/* Turns enclave_egress output (uleb count ‖ bytes(signed message)*) into an mq.push payload
 * (uleb count ‖ signed message*). Returns the count, or -1 when it does not decode. */
static long egress_payload(const struct enc *in, struct enc *out)
{
	struct dec d;
	dec_init(&d, in->buf, in->len);
	uint64_t n = dec_uleb(&d, MQ_PUSH_MAX);
	enc_uleb(out, n);
	for (uint64_t i = 0; i < n; i++) {
		size_t len;
		const uint8_t *m = dec_bytes(&d, &len, MQ_MESSAGE_MAX + 64);
		if (m)
			enc_raw(out, m, len);
	}
	return dec_finish(&d) == CODEC_OK && enc_finish(out) == CODEC_OK ? (long)n : -1;
}

static void egress_step(struct worker *w)
{
	struct worker_sync *s = &w->sync;
	struct enc out, p;
	uint8_t h[32];
	char why[RPC_ERROR_MSG_MAX + 64], txid[65];
	enc_init(&out, TX_MAX_BYTES);
	enc_init(&p, TX_MAX_PAYLOAD);
	pthread_rwlock_wrlock(&w->lock);
	enum enclave_result r = enclave_egress(w->e, MQ_PUSH_MAX, &out);
	pthread_rwlock_unlock(&w->lock);
	long n = r == ENCLAVE_OK ? egress_payload(&out, &p) : -1;
	if (n <= 0)
		goto out;
	hash_plain(h, p.buf, p.len);
	if (s->egress_sent && sodium_memcmp(h, s->egress_hash, 32) == 0 &&
	    node_height(w) < s->egress_at + WORKER_RESUBMIT_BLOCKS)
		goto out; /* submitted already: wait for a block to show it, or time out */
	memcpy(s->egress_hash, h, 32);
	s->egress_at = node_height(w);
	s->egress_sent = true;
	if (submit_call(w, RUNTIME_MODULE_MQ, MQ_FN_PUSH, p.buf, p.len, txid, why, sizeof(why))) {
		char msg[sizeof(why) + 64];
		snprintf(msg, sizeof(msg), "mq.push of %ld egress messages: %s", n, why);
		note_error(w, msg);
		goto out;
	}
	pthread_mutex_lock(&w->st_mu);
	w->st.egress_submitted += (uint64_t)n;
	pthread_mutex_unlock(&w->st_mu);
	log_info("worker", "submitted %ld egress message%s in tx %s", n, n == 1 ? "" : "s", txid);
out:
	enc_release(&out);
	enc_release(&p);
}

/* ---- the loop ---------------------------------------------------------------------------- */

void *worker_sync_main(void *arg)
{
	struct worker *w = arg;
	while (!atomic_load(&w->stopping)) {
		long fed = sync_feeds(w);
		unsigned pause = fed < 0 ? WORKER_REFUSED_WAIT_MS : fed == 0 ? w->cfg.poll_ms : 0;
		if (fed >= 0 && enclave_height(w) >= node_height(w)) { /* caught up */
			registration_step(w);
			if (w->sync.reg == WORKER_REG_DONE || w->sync.reg == WORKER_REG_OFF)
				egress_step(w);
		}
		if (pause && worker_sleep(w, pause))
			break;
	}
	return NULL;
}
