/* A fixed pool of worker threads that run one parallel loop at a time, so a bulk submission's
 * signature checks use every CPU whichever HTTP thread received it. */
#include "node/node_par.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>

struct par_job {
	void (*fn)(void *ctx, size_t i);
	void *ctx;
	size_t n;
	atomic_size_t next; /* next index to claim */
	size_t done;        /* items finished (under the pool lock) */
	size_t holders;     /* workers holding a pointer to the job (under the pool lock) */
};

struct node_par {
	pthread_mutex_t lock;
	pthread_cond_t work;      /* a job was posted, or stop */
	pthread_cond_t finished;  /* a job's last item finished */
	pthread_mutex_t run_lock; /* one job at a time */
	struct par_job *job;
	bool stop;
	size_t n_threads;
	pthread_t threads[NODE_PAR_MAX_THREADS];
};

/* Claims and runs items of j until none is left; returns how many it ran. */
static size_t drain(struct par_job *j)
{
	size_t ran = 0;
	for (size_t i; (i = atomic_fetch_add(&j->next, 1)) < j->n; ran++)
		j->fn(j->ctx, i);
	return ran;
}

/* The job lives in its caller's stack frame, so it may end only once every item has run and no
 * worker still holds a pointer to it: a worker that took the job late would otherwise claim an
 * index in a frame that is gone. Called with the pool lock held. */
static bool job_over(const struct par_job *j)
{
	return j->done == j->n && j->holders == 0;
}

static void *worker(void *arg)
{
	struct node_par *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stop && (!p->job || atomic_load(&p->job->next) >= p->job->n))
			pthread_cond_wait(&p->work, &p->lock);
		if (p->stop)
			break;
		struct par_job *j = p->job;
		j->holders++;
		pthread_mutex_unlock(&p->lock);
		size_t ran = drain(j);
		pthread_mutex_lock(&p->lock);
		j->done += ran;
		j->holders--;
		if (job_over(j))
			pthread_cond_broadcast(&p->finished);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct node_par *node_par_new(size_t threads)
{
	struct node_par *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->run_lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->finished, NULL);
	if (threads > NODE_PAR_MAX_THREADS)
		threads = NODE_PAR_MAX_THREADS;
	for (; p->n_threads < threads; p->n_threads++)
		if (pthread_create(&p->threads[p->n_threads], NULL, worker, p) != 0)
			break;
	return p;
}

void node_par_free(struct node_par *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->finished);
	pthread_mutex_destroy(&p->run_lock);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void node_par_for(struct node_par *p, size_t n, void (*fn)(void *ctx, size_t i), void *ctx)
{
	struct par_job j = {.fn = fn, .ctx = ctx, .n = n};
	if (n == 0)
		return;
	pthread_mutex_lock(&p->run_lock);
	pthread_mutex_lock(&p->lock);
	p->job = &j;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	size_t ran = drain(&j); /* the caller works too */
	pthread_mutex_lock(&p->lock);
	j.done += ran;
	while (!job_over(&j))
		pthread_cond_wait(&p->finished, &p->lock);
	p->job = NULL;
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(&p->run_lock);
}
