/* The node's parallel loop (src/node/node_par.h): every index runs exactly once, and a loop's job,
 * which lives in the caller's stack frame, is never touched after node_par_for returns. A worker
 * that woke late once claimed an index in a frame that was gone; nodes then crashed at random. */
#include "check.h"

#include <sched.h>
#include <stdatomic.h>

#include "node/node_par.h"

#define THREADS 6

static void count_index(void *ctx, size_t i)
{
	atomic_int *hits = ctx;
	atomic_fetch_add(&hits[i], 1);
}

static void test_every_index_once(void)
{
	struct node_par *p = node_par_new(THREADS);
	CHECK(p != NULL);
	static atomic_int hits[1000];
	for (size_t n = 0; n <= 1000; n += 37) {
		for (size_t i = 0; i < 1000; i++)
			atomic_store(&hits[i], 0);
		node_par_for(p, n, count_index, hits);
		size_t wrong = 0;
		for (size_t i = 0; i < 1000; i++)
			wrong += atomic_load(&hits[i]) != (i < n ? 1 : 0);
		CHECK(wrong == 0);
	}
	node_par_free(p);
}

static __attribute__((noinline)) void one_item_loop(struct node_par *p, atomic_int *hits)
{
	node_par_for(p, 1, count_index, hits);
}

/* Lays a zeroed buffer over the stack that node_par_for's frame used, gives late workers time to
 * run, and reports whether any of them wrote into it. */
static __attribute__((noinline)) int stack_was_written(void)
{
	volatile unsigned char below[4096];
	for (size_t i = 0; i < sizeof(below); i++)
		below[i] = 0;
	for (int k = 0; k < 3; k++)
		sched_yield();
	for (size_t i = 0; i < sizeof(below); i++)
		if (below[i] != 0)
			return 1;
	return 0;
}

static void test_no_touch_after_return(void)
{
	struct node_par *p = node_par_new(THREADS);
	CHECK(p != NULL);
	static atomic_int hit[1];
	long iters = check_iters(20000);
	int written = 0;
	for (long k = 0; k < iters; k++) {
		atomic_store(&hit[0], 0);
		one_item_loop(p, hit);
		written += stack_was_written();
		if (atomic_load(&hit[0]) != 1)
			break;
	}
	CHECK(atomic_load(&hit[0]) == 1);
	CHECK(written == 0);
	node_par_free(p);
}

static void test_no_threads(void)
{
	struct node_par *p = node_par_new(0);
	CHECK(p != NULL);
	static atomic_int hits[10];
	node_par_for(p, 10, count_index, hits);
	int sum = 0;
	for (size_t i = 0; i < 10; i++)
		sum += atomic_load(&hits[i]);
	CHECK(sum == 10);
	node_par_free(p);
}

CHECK_MAIN(CASE(test_every_index_once), CASE(test_no_touch_after_return), CASE(test_no_threads))
