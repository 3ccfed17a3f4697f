#include "enclave/enclave.h"

#include <assert.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "chain/genesis.h"
#include "crypto/hash.h"
#include "crypto/hpke.h"
#include "crypto/scache.h"
#include "crypto/sig.h"
#include "enclave/enclave_int.h"

static const char *const enclave_errors[] = {
    [ENCLAVE_OK] = "ok",
    [ENCLAVE_NOMEM] = "out of memory",
    [ENCLAVE_BAD_INPUT] = "input does not decode",
    [ENCLAVE_BAD_GENESIS] = "genesis document does not parse",
    [ENCLAVE_NOT_STARTED] = "enclave not started",
    [ENCLAVE_FAILED] = "enclave failed earlier and must be restarted",
    [ENCLAVE_BLOCK_GAP] = "block does not follow the verified height",
    [ENCLAVE_BLOCK_REPLAY] = "block at or below the verified height",
    [ENCLAVE_BLOCK_BAD_CHAIN] = "block does not chain to the verified block",
    [ENCLAVE_BLOCK_BAD_VALSET] = "block names a validator set the chain did not announce",
    [ENCLAVE_BLOCK_BAD_COMMIT] = "block's commit is not signed by more than 2/3 of the set",
    [ENCLAVE_BLOCK_BAD_MSGS] = "block's messages do not match its msgs_root",
    [ENCLAVE_UNSEAL] = "sealed data is from another chain or code, or tampered",
    [ENCLAVE_PLATFORM] = "platform call failed",
    [ENCLAVE_QUERY_DECRYPT] = "query does not decrypt",
    [ENCLAVE_QUERY_SIGNATURE] = "query signature or session certificate invalid",
    [ENCLAVE_QUERY_EXPIRED] = "query expired",
    [ENCLAVE_QUERY_NO_CONTRACT] = "no such contract in this worker",
    [ENCLAVE_QUERY_REFUSED] = "contract refused the query",
    [ENCLAVE_TOO_LARGE] = "input or output over its cap",
    [ENCLAVE_QUERY_UNAVAILABLE] = "contract state not rebuildable here; ask another worker",
};

const char *enclave_strerror(enum enclave_result r)
{
	if ((size_t)r < sizeof(enclave_errors) / sizeof(enclave_errors[0]) && enclave_errors[r])
		return enclave_errors[r];
	return "unknown enclave error";
}

void enclave_log(struct enclave *e, int level, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	e->plat.log(e->plat.ctx, level, line);
}

/* The session cache of enclave_query. Its tag key only spreads certificates over buckets, so
 * libsodium's generator serves (the platform's stream stays as it was). */
static bool sessions_new(struct enclave *e)
{
	size_t cap =
	    e->cfg.max_query_sessions ? e->cfg.max_query_sessions : ENCLAVE_QUERY_SESSIONS_DEFAULT;
	uint8_t secret[SCACHE_SECRET_LEN];
	randombytes_buf(secret, sizeof(secret));
	e->sessions = scache_new(cap < SCACHE_CAP_MAX ? cap : SCACHE_CAP_MAX, secret);
	sodium_memzero(secret, sizeof(secret));
	return e->sessions != NULL;
}

struct enclave *enclave_new(const struct enclave_platform *p, const struct enclave_config *c)
{
	assert(p && p->measurement && p->seal_key && p->attest && p->random && p->log);
	assert(c && (c->n_codes == 0 || c->codes));
	if (sodium_init() < 0) /* sets up guarded allocation; idempotent */
		return NULL;
	struct enclave *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->sec = sodium_malloc(sizeof(*e->sec));
	if (!e->sec) {
		free(e);
		return NULL;
	}
	sodium_memzero(e->sec, sizeof(*e->sec));
	e->plat = *p;
	e->cfg = *c;
	e->plat.measurement(e->plat.ctx, e->measurement);
	if (!enclave_sys_new(e) || !enclave_backlog_new(e) || !sessions_new(e)) {
		enclave_free(e);
		return NULL;
	}
	return e;
}

void enclave_free(struct enclave *e)
{
	if (!e)
		return;
	enclave_contracts_free(e);
	enclave_backlog_free(e);
	enclave_sys_free(e);
	scache_free(e->sessions);
	sodium_free(e->sec); /* wipes */
	sodium_memzero(e, sizeof(*e));
	free(e);
}

/* The chain id and the light client's starting point, from the genesis document. */
static enum enclave_result enclave_load_genesis(struct enclave *e, const uint8_t *json, size_t len)
{
	struct genesis g;
	char err[256];
	if (genesis_parse(&g, (const char *)json, len, err, sizeof(err)) != GENESIS_OK) {
		enclave_log(e, LOG_ERROR, "genesis: %s", err);
		return ENCLAVE_BAD_GENESIS;
	}
	struct valset vs;
	genesis_valset(&vs, &g);
	genesis_hash(e->chain_id, &g);
	enclave_lc_genesis(&e->lc, &vs, g.genesis_time_ms);
	genesis_release(&g);
	return ENCLAVE_OK;
}

/* Fresh identity and HPKE keys from platform randomness. */
static void enclave_generate_keys(struct enclave *e)
{
	uint8_t seed[32];
	e->plat.random(e->plat.ctx, seed, sizeof(seed));
	sig_keypair_from_seed(e->identity, e->sec->identity_sk, seed);
	e->plat.random(e->plat.ctx, seed, sizeof(seed));
	hpke_keypair_from_seed(e->hpke_pk, e->sec->hpke_sk, seed);
	sodium_memzero(seed, sizeof(seed));
}

enum enclave_result enclave_start(struct enclave *e, const uint8_t *genesis, size_t len,
                                  const uint8_t *sealed, size_t sealed_len)
{
	assert(!e->started);
	enum enclave_result r = enclave_load_genesis(e, genesis, len);
	if (r != ENCLAVE_OK)
		return r;
	if (sealed)
		r = enclave_restore(e, sealed, sealed_len);
	else
		enclave_generate_keys(e);
	if (r != ENCLAVE_OK) {
		sodium_memzero(e->sec, sizeof(*e->sec));
		return r;
	}
	e->started = true;
	if (e->plat.backend == ENCLAVE_BACKEND_SIM)
		enclave_log(e, LOG_WARN,
		            "backend sim: NOT hardware-protected; for development and tests only");
	return ENCLAVE_OK;
}

enum enclave_result enclave_registration(struct enclave *e, const uint8_t operator_account[32],
                                         struct enclave_registration *out)
{
	if (!e->started)
		return ENCLAVE_NOT_STARTED;
	memset(out, 0, sizeof(*out));
	memcpy(out->identity, e->identity, 32);
	memcpy(out->hpke_pk, e->hpke_pk, 32);
	memcpy(out->measurement, e->measurement, 32);
	out->backend = e->plat.backend;
	uint8_t info[4 * 32], report_data[32];
	memcpy(info, e->identity, 32);
	memcpy(info + 32, e->hpke_pk, 32);
	memcpy(info + 64, operator_account, 32);
	memcpy(info + 96, e->chain_id, 32);
	hash_tagged(report_data, ENCLAVE_REGISTRATION_TAG, info, sizeof(info));
	if (e->plat.attest(e->plat.ctx, report_data, e->lc.height, out->report, sizeof(out->report),
	                   &out->report_len) != 0)
		return ENCLAVE_PLATFORM;
	return ENCLAVE_OK;
}

enum enclave_result enclave_feed_block(struct enclave *e, const uint8_t *feed, size_t len,
                                       char *err, size_t errlen)
{
	char scratch[1];
	if (!err || errlen == 0) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	err[0] = '\0';
	if (!e->started)
		return ENCLAVE_NOT_STARTED;
	if (e->failed)
		return ENCLAVE_FAILED;
	struct block_feed f;
	enum block_result br = block_feed_decode(&f, feed, len);
	if (br != BLOCK_OK) {
		snprintf(err, errlen, "block feed: %s", block_strerror(br));
		return ENCLAVE_BAD_INPUT;
	}
	struct enclave_lc next;
	enum enclave_result r = enclave_lc_verify(&e->lc, e->chain_id, &f, &next, err, errlen);
	if (r == ENCLAVE_OK) {
		e->lc = next;
		e->msgs_dispatched += f.n_msgs;
		r = enclave_dispatch_block(e, &f); /* fails only with e->failed set */
	}
	block_feed_release(&f);
	return r;
}

void enclave_status(const struct enclave *e, struct enclave_status *out)
{
	memset(out, 0, sizeof(*out));
	out->started = e->started;
	out->height = e->lc.height;
	memcpy(out->block_hash, e->lc.hash, 32);
	memcpy(out->chain_id, e->chain_id, 32);
	memcpy(out->identity, e->identity, 32);
	out->backend = e->plat.backend;
	out->messages_dispatched = e->msgs_dispatched;
	enclave_sys_status(e, out);
	enclave_backlog_status(e, out);
	out->n_contracts = enclave_contracts_count(e);
}
