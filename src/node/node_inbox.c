/* A bounded event queue between the network thread and the node's worker threads. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/node_cons_int.h"

bool node_inbox_init(struct node_inbox *q, size_t cap)
{
	pthread_condattr_t ca;
	memset(q, 0, sizeof(*q));
	q->cap = cap;
	if (pthread_condattr_init(&ca) != 0)
		return false;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	bool ok = pthread_cond_init(&q->cv, &ca) == 0;
	pthread_condattr_destroy(&ca);
	if (ok && pthread_mutex_init(&q->mu, NULL) != 0) {
		pthread_cond_destroy(&q->cv);
		ok = false;
	}
	return ok;
}

void node_inbox_release(struct node_inbox *q)
{
	struct node_event *e = q->head;
	while (e) {
		struct node_event *next = e->next;
		free(e);
		e = next;
	}
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	memset(q, 0, sizeof(*q));
}

bool node_inbox_push(struct node_inbox *q, enum node_event_kind kind, uint64_t peer,
                     uint8_t channel, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t len = alen + blen;
	struct node_event *e = malloc(sizeof(*e) + len);
	if (!e) {
		pthread_mutex_lock(&q->mu);
		q->dropped++;
		pthread_mutex_unlock(&q->mu);
		return false;
	}
	e->next = NULL;
	e->kind = kind;
	e->peer = peer;
	e->channel = channel;
	e->len = len;
	if (alen)
		memcpy(e->data, a, alen);
	if (blen)
		memcpy(e->data + alen, b, blen);
	pthread_mutex_lock(&q->mu);
	bool ok = !q->closed && q->bytes + len <= q->cap;
	if (ok) {
		if (q->tail)
			q->tail->next = e;
		else
			q->head = e;
		q->tail = e;
		q->bytes += len;
		pthread_cond_signal(&q->cv);
	} else {
		q->dropped++;
	}
	pthread_mutex_unlock(&q->mu);
	if (!ok)
		free(e);
	return ok;
}

struct node_event *node_inbox_take(struct node_inbox *q, uint64_t deadline_us)
{
	struct timespec ts = {(time_t)(deadline_us / 1000000),
	                      (long)(deadline_us % 1000000) * 1000};
	struct node_event *e;
	pthread_mutex_lock(&q->mu);
	while (!q->head && !q->closed && deadline_us)
		if (pthread_cond_timedwait(&q->cv, &q->mu, &ts) == ETIMEDOUT)
			break;
	e = q->closed ? NULL : q->head;
	if (e) {
		q->head = q->tail = NULL;
		q->bytes = 0;
	}
	pthread_mutex_unlock(&q->mu);
	return e;
}

void node_inbox_close(struct node_inbox *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}
