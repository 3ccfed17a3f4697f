/* Worker host internals shared by worker.c (lifecycle), worker_sync.c (the sync thread) and
 * worker_http.c (the HTTP server). */
#ifndef TN_WORKER_WORKER_INT_H
#define TN_WORKER_WORKER_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

#include "rpc/rpc.h"
#include "worker/platform.h"
#include "worker/worker.h"

/* Where the registration stands (sync thread only). */
enum worker_reg {
	WORKER_REG_OFF,     /* not asked to register */
	WORKER_REG_CHECK,   /* ask the chain whether it holds us already */
	WORKER_REG_NEEDED,  /* submit a registration once caught up (and past reg_next_try) */
	WORKER_REG_PENDING, /* a registration tx is waiting for inclusion */
	WORKER_REG_DONE,
};

/* The sync thread's own state. */
struct worker_sync {
	enum worker_reg reg;
	uint64_t reg_next_try; /* node height */
	uint64_t reg_backoff;  /* blocks */
	char reg_txid[65];
	uint64_t reg_submitted_at;
	uint8_t egress_hash[32]; /* the egress last submitted, and when */
	uint64_t egress_at;
	bool egress_sent;
	char last_logged[256]; /* the last refusal logged, so a repeated one is not logged again */
};

struct worker_secrets { /* guarded memory */
	uint8_t operator_sk[64];
	uint8_t attest_sk[64]; /* until the backend holds its copy */
};

struct worker {
	struct worker_config cfg; /* secrets wiped in this copy; strings point into the buffers */
	char data_dir[PATH_MAX];
	char host[256];
	struct worker_secrets *sec;
	uint8_t operator_pk[32];
	int lock_fd;
	char *genesis; /* the genesis document, as the node sent it */
	size_t genesis_len;

	struct platform *pl;
	struct enclave *e;
	pthread_rwlock_t lock; /* the enclave: queries read, every other call writes */
	struct rpc_server *http;

	pthread_t sync_thread;
	bool sync_running;
	int stop_pipe[2];
	atomic_bool stopping;
	struct worker_sync sync;

	pthread_mutex_t st_mu;   /* guards st */
	struct worker_status st; /* enclave part filled on demand */

	atomic_uint in_flight;
	atomic_uint_fast64_t queries, queries_failed, queries_busy, queries_slow;
};

/* Sleeps up to ms, returning early (true) when the worker is asked to stop. */
bool worker_sleep(struct worker *w, unsigned ms);
/* Sets the status text field (st.last_error or st.registration) under st_mu. */
void worker_set_text(struct worker *w, char *field, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* One node call (cfg.node); -1 with err set on failure. */
int worker_call(struct worker *w, const char *method, json_t *params, json_t **result, long *code,
                char *err, size_t errlen);

/* The sync thread (worker_sync.c). */
void *worker_sync_main(void *arg);
/* Seals a checkpoint of the enclave into DATA/checkpoint.sealed. 0, or -1 (logged). */
int worker_checkpoint(struct worker *w);

/* The HTTP server (worker_http.c). */
enum worker_result worker_http_start(struct worker *w, char *err, size_t errlen);

#endif
