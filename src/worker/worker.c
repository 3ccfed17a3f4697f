/* The worker host's lifecycle (worker.h). */
#include "worker/worker_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "chain/genesis.h"
#include "worker/platform_int.h"

#define WORKER_MAX_CHECKPOINT ((size_t)1 << 30)

static const char *const worker_errors[] = {
    [WORKER_OK] = "ok",
    [WORKER_BAD_CONFIG] = "invalid worker configuration",
    [WORKER_NODE] = "the node could not be reached or answered badly",
    [WORKER_DATA] = "the data directory cannot be used",
    [WORKER_PLATFORM] = "the enclave backend could not be opened",
    [WORKER_ENCLAVE] = "the enclave refused to start",
    [WORKER_HTTP] = "the HTTP server could not start",
    [WORKER_NOMEM] = "out of memory",
};

const char *worker_strerror(enum worker_result r)
{
	if ((size_t)r < sizeof(worker_errors) / sizeof(worker_errors[0]) && worker_errors[r])
		return worker_errors[r];
	return "unknown worker error";
}

void worker_config_default(struct worker_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen_host = WORKER_DEFAULT_HOST;
	cfg->listen_port = WORKER_DEFAULT_PORT;
	cfg->backend = ENCLAVE_BACKEND_SIM;
	cfg->checkpoint_every = 1000;
	cfg->http_threads = 2;
	cfg->max_queries = 64;
	cfg->max_query_bytes = 256 * 1024;
	cfg->max_response_bytes = 64 * 1024;
	cfg->query_wait_ms = 2000;
	cfg->query_slow_ms = 1000;
	cfg->poll_ms = 200;
	cfg->register_worker = true;
}

__attribute__((format(printf, 4, 5))) static enum worker_result
fail(char *err, size_t errlen, enum worker_result r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return r;
}

bool worker_sleep(struct worker *w, unsigned ms)
{
	struct pollfd p = {w->stop_pipe[0], POLLIN, 0};
	int r;
	while ((r = poll(&p, 1, (int)ms)) < 0 && errno == EINTR)
		;
	return r > 0 || atomic_load(&w->stopping);
}

void worker_set_text(struct worker *w, char *field, size_t cap, const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&w->st_mu);
	va_start(ap, fmt);
	vsnprintf(field, cap, fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&w->st_mu);
}

int worker_call(struct worker *w, const char *method, json_t *params, json_t **result, long *code,
                char *err, size_t errlen)
{
	long c = 0;
	*result = NULL;
	int r = w->cfg.node.call(w->cfg.node.ctx, method, params, result, &c, err, errlen);
	if (code)
		*code = c;
	return r;
}

/* Creates (0700) and locks the data directory, so two workers never share one enclave state. */
static enum worker_result open_data_dir(struct worker *w, char *err, size_t errlen)
{
	char path[PATH_MAX + 32];
	if (mkdir(w->data_dir, 0700) != 0 && errno != EEXIST)
		return fail(err, errlen, WORKER_DATA, "cannot create %s: %s", w->data_dir,
		            strerror(errno));
	snprintf(path, sizeof(path), "%s/%s", w->data_dir, WORKER_LOCK_FILE);
	w->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (w->lock_fd < 0)
		return fail(err, errlen, WORKER_DATA, "cannot open %s: %s", path, strerror(errno));
	if (flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0)
		return fail(err, errlen, WORKER_DATA, "%s is in use by another worker",
		            w->data_dir);
	return WORKER_OK;
}

/* chain_genesis from the node, retried while the node is unreachable. */
static enum worker_result fetch_genesis(struct worker *w, char *err, size_t errlen)
{
	char why[RPC_ERROR_MSG_MAX + 64] = "";
	json_t *res = NULL;
	long code = 0;
	bool logged = false;
	while (worker_call(w, "chain_genesis", NULL, &res, &code, why, sizeof(why)) != 0) {
		if (code != 0)
			return fail(err, errlen, WORKER_NODE, "chain_genesis: %s", why);
		if (!logged)
			log_warn("worker", "waiting for the node: %s", why);
		logged = true;
		if (worker_sleep(w, WORKER_REFUSED_WAIT_MS))
			return fail(err, errlen, WORKER_NODE, "stopped while waiting for the node");
	}
	const char *text = json_string_value(json_object_get(res, "json"));
	if (text)
		w->genesis = strdup(text);
	json_decref(res);
	if (!text)
		return fail(err, errlen, WORKER_NODE, "chain_genesis: no \"json\" in the answer");
	if (!w->genesis)
		return fail(err, errlen, WORKER_NOMEM, "out of memory");
	w->genesis_len = strlen(w->genesis);
	return WORKER_OK;
}

static enum worker_result open_platform(struct worker *w, struct enclave_platform *p, char *err,
                                        size_t errlen)
{
	char why[256] = "";
	enum platform_result r = w->cfg.backend == ENCLAVE_BACKEND_SIM
	                             ? platform_sim_open(&w->pl, p, w->data_dir, w->cfg.attest_pk,
	                                                 w->sec->attest_sk, why, sizeof(why))
	                             : platform_gramine_open(&w->pl, p, why, sizeof(why));
	sodium_memzero(w->sec->attest_sk, sizeof(w->sec->attest_sk));
	if (r != PLATFORM_OK)
		return fail(err, errlen, WORKER_PLATFORM, "%s: %s", platform_strerror(r), why);
	return WORKER_OK;
}

/* Reads DATA/checkpoint.sealed into *buf (NULL when there is none). */
static enum worker_result read_checkpoint(struct worker *w, uint8_t **buf, size_t *len, char *err,
                                          size_t errlen)
{
	char path[PATH_MAX + 32];
	struct stat sb;
	*buf = NULL;
	*len = 0;
	snprintf(path, sizeof(path), "%s/%s", w->data_dir, WORKER_CHECKPOINT_FILE);
	if (stat(path, &sb) != 0)
		return errno == ENOENT
		           ? WORKER_OK
		           : fail(err, errlen, WORKER_DATA, "%s: %s", path, strerror(errno));
	if (sb.st_size <= 0 || (size_t)sb.st_size > WORKER_MAX_CHECKPOINT)
		return fail(err, errlen, WORKER_DATA, "%s: implausible size %lld", path,
		            (long long)sb.st_size);
	*buf = malloc((size_t)sb.st_size);
	if (!*buf)
		return fail(err, errlen, WORKER_NOMEM, "out of memory");
	*len = (size_t)sb.st_size;
	if (platform_read_exact(path, *buf, *len) != PLATFORM_OK) {
		free(*buf);
		*buf = NULL;
		return fail(err, errlen, WORKER_DATA, "cannot read %s", path);
	}
	return WORKER_OK;
}

static enum worker_result start_enclave(struct worker *w, char *err, size_t errlen)
{
	struct enclave_platform p;
	struct enclave_config ec = {.codes = w->cfg.codes,
	                            .n_codes = w->cfg.n_codes,
	                            .max_contracts = 256,
	                            .max_egress = 4096,
	                            .max_query_bytes = w->cfg.max_query_bytes,
	                            .max_response_bytes = w->cfg.max_response_bytes,
	                            .max_query_ahead = 14400, /* a day of 6 s blocks */
	                            .max_state_bytes = 64u << 20};
	uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	enum worker_result r = open_platform(w, &p, err, errlen);
	if (r == WORKER_OK)
		r = read_checkpoint(w, &sealed, &sealed_len, err, errlen);
	if (r != WORKER_OK)
		return r;
	w->e = enclave_new(&p, &ec);
	if (!w->e) {
		free(sealed);
		return fail(err, errlen, WORKER_NOMEM, "out of memory");
	}
	enum enclave_result er =
	    enclave_start(w->e, (const uint8_t *)w->genesis, w->genesis_len, sealed, sealed_len);
	free(sealed);
	if (er == ENCLAVE_UNSEAL)
		return fail(err, errlen, WORKER_ENCLAVE,
		            "%s/%s: %s (was it written by another build or for another chain? move "
		            "it away to start with a new identity)",
		            w->data_dir, WORKER_CHECKPOINT_FILE, enclave_strerror(er));
	if (er != ENCLAVE_OK)
		return fail(err, errlen, WORKER_ENCLAVE, "enclave: %s", enclave_strerror(er));
	struct enclave_status st;
	enclave_status(w->e, &st);
	w->st.checkpoint_height = sealed_len ? st.height : 0;
	log_info("worker", "enclave started at height %llu%s", (unsigned long long)st.height,
	         sealed_len ? " (from its checkpoint)" : " (first start: new identity)");
	/* A new identity is sealed before anything (registration, egress) shows it to the chain:
	 * a crash before the first periodic checkpoint must not make the worker someone else. */
	if (!sealed_len && worker_checkpoint(w) != 0)
		return fail(err, errlen, WORKER_DATA, "cannot write the first checkpoint in %s",
		            w->data_dir);
	return WORKER_OK;
}

static enum worker_result worker_init(struct worker *w, const struct worker_config *cfg, char *err,
                                      size_t errlen)
{
	w->cfg = *cfg;
	sodium_memzero(w->cfg.operator_sk, sizeof(w->cfg.operator_sk));
	sodium_memzero(w->cfg.attest_sk, sizeof(w->cfg.attest_sk));
	w->lock_fd = w->stop_pipe[0] = w->stop_pipe[1] = -1;
	pthread_mutex_init(&w->st_mu, NULL);
	pthread_rwlockattr_t ra;
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&w->lock, &ra);
	pthread_rwlockattr_destroy(&ra);
	if (!cfg->data_dir || !*cfg->data_dir || !cfg->node.call || !cfg->node.feeds ||
	    cfg->max_queries == 0 || cfg->max_query_bytes == 0 || cfg->http_threads == 0 ||
	    snprintf(w->data_dir, sizeof(w->data_dir), "%s", cfg->data_dir) >=
	        (int)sizeof(w->data_dir) ||
	    snprintf(w->host, sizeof(w->host), "%s", cfg->listen_host ? cfg->listen_host : "") >=
	        (int)sizeof(w->host))
		return fail(err, errlen, WORKER_BAD_CONFIG, "invalid worker configuration");
	w->cfg.data_dir = w->data_dir;
	w->cfg.listen_host = w->host;
	if (pipe2(w->stop_pipe, O_CLOEXEC) != 0)
		return fail(err, errlen, WORKER_NOMEM, "pipe: %s", strerror(errno));
	w->sec = sodium_malloc(sizeof(*w->sec));
	if (!w->sec)
		return fail(err, errlen, WORKER_NOMEM, "out of memory");
	memcpy(w->sec->operator_sk, cfg->operator_sk, 64);
	memcpy(w->sec->attest_sk, cfg->attest_sk, 64);
	memcpy(w->operator_pk, cfg->operator_sk + 32, 32);
	w->sync.reg = cfg->register_worker ? WORKER_REG_CHECK : WORKER_REG_OFF;
	snprintf(w->st.registration, sizeof(w->st.registration), "%s",
	         cfg->register_worker ? "not checked yet" : "off");
	return WORKER_OK;
}

enum worker_result worker_start(struct worker **out, const struct worker_config *cfg, char *err,
                                size_t errlen)
{
	struct worker *w = calloc(1, sizeof(*w));
	*out = NULL;
	if (!w)
		return fail(err, errlen, WORKER_NOMEM, "out of memory");
	enum worker_result r = worker_init(w, cfg, err, errlen);
	if (r == WORKER_OK)
		r = open_data_dir(w, err, errlen);
	if (r == WORKER_OK)
		r = fetch_genesis(w, err, errlen);
	if (r == WORKER_OK)
		r = start_enclave(w, err, errlen);
	if (r == WORKER_OK)
		r = worker_http_start(w, err, errlen);
	if (r == WORKER_OK) {
		if (pthread_create(&w->sync_thread, NULL, worker_sync_main, w) != 0)
			r = fail(err, errlen, WORKER_NOMEM, "cannot start the sync thread");
		else
			w->sync_running = true;
	}
	if (r != WORKER_OK) {
		worker_free(w);
		return r;
	}
	*out = w;
	return WORKER_OK;
}

uint16_t worker_port(const struct worker *w)
{
	return rpc_server_port(w->http);
}

void worker_request_stop(struct worker *w)
{
	if (atomic_exchange(&w->stopping, true))
		return;
	ssize_t n = write(w->stop_pipe[1], "x", 1);
	(void)n;
}

void worker_wait(struct worker *w)
{
	while (!worker_sleep(w, 60000))
		;
}

void worker_free(struct worker *w)
{
	if (!w)
		return;
	/* Every thread first (HTTP handlers and the sync thread both call the enclave), then the
	 * last checkpoint, then the memory. */
	if (w->stop_pipe[1] >= 0)
		worker_request_stop(w);
	if (w->http)
		rpc_server_stop(w->http); /* no query runs after this */
	if (w->sync_running)
		pthread_join(w->sync_thread, NULL);
	if (w->sync_running)
		worker_checkpoint(w);
	rpc_server_free(w->http);
	enclave_free(w->e);
	platform_free(w->pl);
	if (w->sec)
		sodium_free(w->sec);
	free(w->genesis);
	for (int i = 0; i < 2; i++)
		if (w->stop_pipe[i] >= 0)
			close(w->stop_pipe[i]);
	if (w->lock_fd >= 0)
		close(w->lock_fd);
	pthread_rwlock_destroy(&w->lock);
	pthread_mutex_destroy(&w->st_mu);
	free(w);
}

void worker_status(struct worker *w, struct worker_status *out)
{
	pthread_mutex_lock(&w->st_mu);
	*out = w->st;
	pthread_mutex_unlock(&w->st_mu);
	pthread_rwlock_rdlock(&w->lock);
	enclave_status(w->e, &out->enclave);
	pthread_rwlock_unlock(&w->lock);
	out->queries = atomic_load(&w->queries);
	out->queries_failed = atomic_load(&w->queries_failed);
	out->queries_busy = atomic_load(&w->queries_busy);
	out->queries_slow = atomic_load(&w->queries_slow);
}
