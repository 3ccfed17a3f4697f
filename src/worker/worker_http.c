/* The worker's HTTP server (worker.h): POST /query, GET /status, GET /health, worker_status. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/hex.h"
#include "base/log.h"
#include "worker/worker_int.h"

static json_t *hexj(const uint8_t *p, size_t n)
{
	char s[2 * 32 + 1];
	return n <= 32 ? json_string(hex_encode(s, p, n)) : NULL;
}

json_t *worker_status_json(const struct worker_status *s)
{
	const struct enclave_status *e = &s->enclave;
	bool sim = e->backend == ENCLAVE_BACKEND_SIM;
	json_t *j = json_pack(
	    "{s:s, s:b, s:o, s:o, s:I, s:I, s:b, s:s, s:b, s:o, s:I, s:I, s:I, s:I, s:s, s:I, s:I, "
	    "s:{s:I, s:I, s:I, s:I}}",
	    "backend", sim ? "sim" : "gramine-sgx", "hardware_protected", !sim, "chain_id",
	    hexj(e->chain_id, 32), "identity", hexj(e->identity, 32), "synced_height",
	    (json_int_t)e->height, "node_height", (json_int_t)s->node_height, "registered",
	    s->registered, "registration", s->registration, "gatekeeper", e->gatekeeper, "cluster",
	    e->cluster == UINT32_MAX ? json_null() : json_integer(e->cluster), "contracts",
	    (json_int_t)e->n_contracts, "checkpoint_height", (json_int_t)s->checkpoint_height,
	    "egress_pending", (json_int_t)e->n_egress, "messages_dispatched",
	    (json_int_t)e->messages_dispatched, "last_error", s->last_error, "feeds_refused",
	    (json_int_t)s->feeds_refused, "egress_submitted", (json_int_t)s->egress_submitted,
	    "queries", "answered", (json_int_t)s->queries, "failed", (json_int_t)s->queries_failed,
	    "busy", (json_int_t)s->queries_busy, "slow", (json_int_t)s->queries_slow);
	if (j) {
		json_object_set_new(j, "has_cluster_key", json_boolean(e->has_cluster_key));
		json_object_set_new(j, "contracts_unavailable",
		                    json_integer((json_int_t)e->n_unavailable));
		json_object_set_new(j, "backlog",
		                    json_pack("{s:I, s:I}", "messages", (json_int_t)e->backlog_msgs,
		                              "bytes", (json_int_t)e->backlog_bytes));
	}
	if (j && sim)
		json_object_set_new(
		    j, "warning",
		    json_string("sim backend: NOT hardware-protected; for development "
		                "and tests only"));
	return j;
}

static void error_reply(struct rpc_get_reply *r, unsigned status, const char *code,
                        const char *message)
{
	rpc_get_reply_json(r, status,
	                   json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message));
}

static void get_status(void *app, struct rpc_get_reply *r)
{
	struct worker_status st;
	worker_status(app, &st);
	rpc_get_reply_json(r, 200, worker_status_json(&st));
}

static void get_health(void *app, struct rpc_get_reply *r)
{
	struct worker_status st;
	worker_status(app, &st);
	bool ok = st.enclave.started && !atomic_load(&((struct worker *)app)->stopping);
	rpc_get_reply_json(r, ok ? 200 : 503,
	                   json_pack("{s:b, s:I, s:I}", "ok", ok, "synced_height",
	                             (json_int_t)st.enclave.height, "node_height",
	                             (json_int_t)st.node_height));
}

static int m_worker_status(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	struct worker_status st;
	if (rpc_params_check(params, NULL, 0, err))
		return -1;
	worker_status(app, &st);
	*result = worker_status_json(&st);
	return *result ? 0 : rpc_error_set(err, RPC_CODE_INTERNAL_ERROR, "out of memory");
}

/* How a refused query is answered: HTTP status and a stable code name. */
static const struct {
	unsigned status;
	const char *code;
} query_errors[] = {
    [ENCLAVE_BAD_INPUT] = {400, "bad_input"},
    [ENCLAVE_QUERY_DECRYPT] = {400, "decrypt"},
    [ENCLAVE_QUERY_SIGNATURE] = {403, "signature"},
    [ENCLAVE_QUERY_EXPIRED] = {403, "expired"},
    [ENCLAVE_QUERY_NO_CONTRACT] = {404, "no_contract"},
    [ENCLAVE_QUERY_REFUSED] = {422, "refused"},
    [ENCLAVE_TOO_LARGE] = {413, "too_large"},
    [ENCLAVE_NOT_STARTED] = {503, "unavailable"},
    [ENCLAVE_FAILED] = {503, "unavailable"},
    [ENCLAVE_QUERY_UNAVAILABLE] = {503, "contract_unavailable"},
};

static void query_error(struct worker *w, struct rpc_get_reply *r, enum enclave_result er)
{
	bool known = (size_t)er < sizeof(query_errors) / sizeof(query_errors[0]) &&
	             query_errors[er].status != 0;
	atomic_fetch_add(&w->queries_failed, 1);
	error_reply(r, known ? query_errors[er].status : 500,
	            known ? query_errors[er].code : "internal", enclave_strerror(er));
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The read side of the enclave lock within query_wait_ms. */
static bool query_lock(struct worker *w)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	uint64_t ns = (uint64_t)dl.tv_nsec + (uint64_t)w->cfg.query_wait_ms * 1000000;
	dl.tv_sec += (time_t)(ns / 1000000000);
	dl.tv_nsec = (long)(ns % 1000000000);
	int r;
	while ((r = pthread_rwlock_timedrdlock(&w->lock, &dl)) == EINTR)
		;
	return r == 0;
}

static void run_query(struct worker *w, const uint8_t *body, size_t len, struct rpc_get_reply *r)
{
	struct enc out;
	enc_init(&out, w->cfg.max_response_bytes);
	if (!query_lock(w)) {
		atomic_fetch_add(&w->queries_busy, 1);
		error_reply(r, 503, "busy", "the enclave is busy: try again");
		enc_release(&out);
		return;
	}
	uint64_t t0 = mono_ms();
	enum enclave_result er = enclave_query(w->e, body, len, &out);
	pthread_rwlock_unlock(&w->lock);
	uint64_t took = mono_ms() - t0;
	if (took > w->cfg.query_slow_ms) {
		atomic_fetch_add(&w->queries_slow, 1);
		log_warn("worker", "a query took %llu ms (cap %u ms)", (unsigned long long)took,
		         w->cfg.query_slow_ms);
	}
	if (er != ENCLAVE_OK) {
		query_error(w, r, er);
		enc_release(&out);
		return;
	}
	atomic_fetch_add(&w->queries, 1);
	r->status = 200;
	r->content_type = "application/octet-stream";
	r->body = (char *)out.buf; /* the server frees it */
	r->len = out.len;
}

static void post_query(void *app, const uint8_t *body, size_t len, struct rpc_get_reply *r)
{
	struct worker *w = app;
	if (atomic_fetch_add(&w->in_flight, 1) >= w->cfg.max_queries) {
		atomic_fetch_add(&w->queries_busy, 1);
		error_reply(r, 503, "busy", "too many queries in flight: try again");
	} else if (len > w->cfg.max_query_bytes) {
		query_error(w, r, ENCLAVE_TOO_LARGE);
	} else {
		run_query(w, body, len, r);
	}
	atomic_fetch_sub(&w->in_flight, 1);
}

static const struct rpc_method worker_methods[] = {
    {"worker_status", m_worker_status, "-> the worker's status (as GET /status)"},
};

enum worker_result worker_http_start(struct worker *w, char *err, size_t errlen)
{
	struct rpc_config rc;
	char rerr[256] = "";
	memset(&rc, 0, sizeof(rc));
	rc.host = w->host;
	rc.port = w->cfg.listen_port;
	rc.threads = w->cfg.http_threads;
	rc.max_body = w->cfg.max_query_bytes;
	rc.max_connections = w->cfg.max_queries + 16;
	if (rpc_server_start(&w->http, &rc, worker_methods,
	                     sizeof(worker_methods) / sizeof(worker_methods[0]), w, rerr,
	                     sizeof(rerr)) != RPC_SERVER_OK) {
		snprintf(err, errlen, "%s", rerr);
		return WORKER_HTTP;
	}
	rpc_add_get(w->http, "/status", get_status);
	rpc_add_get(w->http, "/health", get_health);
	rpc_add_post(w->http, "/query", "application/octet-stream", post_query);
	return WORKER_OK;
}
