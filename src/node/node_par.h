/* A small fixed thread pool for parallel loops inside the node (bulk admission). */
#ifndef TN_NODE_NODE_PAR_H
#define TN_NODE_NODE_PAR_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define NODE_PAR_MAX_THREADS 64

struct node_par;

/* Starts `threads` workers (capped at NODE_PAR_MAX_THREADS; fewer if thread creation fails, down
 * to none, in which case loops run on the caller alone). NULL when out of memory. */
struct node_par *node_par_new(size_t threads);
/* Stops and joins the workers. No loop may be running. NULL is a no-op. */
void node_par_free(struct node_par *p);
/* Runs fn(ctx, i) for every i in [0, n) on the workers and the calling thread, and returns when
 * all have finished. fn must be safe to run concurrently for different i. One loop runs at a
 * time: a second caller waits for the first loop to finish. */
void node_par_for(struct node_par *p, size_t n, void (*fn)(void *ctx, size_t i), void *ctx);

#endif
