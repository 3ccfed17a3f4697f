/*
 * Internals of the p2p runtime (p2p.c: lifecycle, API and the cross-thread command queue;
 * p2p_conn.c: one connection's handshake, frames and queues; p2p_dial.c: the listener,
 * persistent peers and back-off). Everything here runs on the loop thread unless marked.
 */
#ifndef TN_NET_P2P_INT_H
#define TN_NET_P2P_INT_H

#include <pthread.h>
#include <uv.h>

#include "net/p2p.h"

#define P2P_RBUF_LEN  ((size_t)64 << 10) /* one socket read */
#define P2P_BATCH_LEN ((size_t)64 << 10) /* frames sealed per write, beyond one frame */

/* A message queued for one or more connections; refs is touched on the loop thread only. */
struct p2p_msg {
	uint32_t refs;
	uint8_t channel;
	size_t len;
	uint8_t data[];
};

enum p2p_conn_state {
	P2P_CONN_CONNECTING, /* outbound, TCP connect in progress */
	P2P_CONN_HANDSHAKE,  /* init and AUTH being exchanged */
	P2P_CONN_ESTABLISHED,
	P2P_CONN_CLOSING,
};

struct p2p_entry;

/* Bytes waiting for a write, or being written. */
struct p2p_buf {
	uint8_t *b;
	size_t len, cap;
};

struct p2p_conn {
	struct p2p *p;
	struct p2p_conn *next, *prev; /* p->conns */
	uv_tcp_t tcp;
	uv_timer_t timer; /* handshake deadline, then keepalive */
	uv_connect_t connect;
	uv_write_t wreq;
	int handles; /* open uv handles; freed when 0 */
	enum p2p_conn_state state;
	struct p2p_entry *entry; /* the persistent peer this outbound connection dials, or NULL */
	struct p2p_handshake hs;
	struct p2p_cipher tx, rx;
	struct p2p_reader rd;
	struct p2p_assembly as;
	uint8_t *rbuf;
	struct p2p_buf out[2]; /* out[w]: being written while writing; out[!w] accumulates */
	int w;
	bool writing;
	bool ping_due, pong_due;
	uint64_t pong_nonce, ping_nonce;
	uint64_t last_rx_ms, write_start_ms;
	struct p2p_msg **q; /* ring of queue_max_msgs */
	size_t q_head, q_len, q_bytes, head_off;
	struct p2p_peer_info info;
};

/* A configured persistent peer. */
struct p2p_entry {
	struct p2p *p;
	char host[256];
	uint16_t port;
	uint8_t key[SIG_PK_LEN];
	bool has_key;
	bool self; /* it turned out to be us: never dialled again */
	bool resolving;
	unsigned failures;     /* consecutive dials that did not reach a session */
	struct p2p_conn *dial; /* our outbound connection to it, in any state */
	uv_timer_t timer;
	uv_getaddrinfo_t gai;
};

enum p2p_cmd_type { P2P_CMD_SEND, P2P_CMD_BROADCAST, P2P_CMD_KICK, P2P_CMD_PEERS };

struct p2p_peers_req {
	struct p2p_peer_info *out;
	size_t max, total;
	bool done;
};

struct p2p_cmd {
	struct p2p_cmd *next;
	enum p2p_cmd_type type;
	uint64_t peer;
	struct p2p_msg *msg;
	struct p2p_peers_req *req;
};

struct p2p {
	struct p2p_config cfg; /* strings and arrays below are our copies */
	uint8_t *node_sk;      /* sodium guarded memory, read-only but while copied in */
	uint8_t node_pk[SIG_PK_LEN];
	char *listen, *advertise;
	struct p2p_entry *entries;
	size_t n_entries;

	uv_loop_t loop;
	uv_tcp_t listener;
	uv_async_t async;
	pthread_t thread;
	bool started, running, listening;
	bool closing; /* the loop saw the stop request (loop thread) */
	uint16_t port;

	struct p2p_conn *conns;
	size_t n_inbound, n_outbound;
	uint64_t next_id;

	/* Shared with other threads, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct p2p_cmd *cmd_head, *cmd_tail;
	size_t cmd_bytes;
	bool stopping;
	uint8_t app[P2P_APP_MAX];
	size_t app_len;
	struct p2p_stats stats; /* updated with relaxed atomics */
};

#define P2P_STAT_ADD(p, field, n) __atomic_fetch_add(&(p)->stats.field, (n), __ATOMIC_RELAXED)

/* p2p.c */
bool p2p_on_loop(const struct p2p *p);
void p2p_msg_unref(struct p2p_msg *m);

/* p2p_conn.c */
/* A new connection (tcp and timer initialised, in p->conns). NULL on allocation failure. */
struct p2p_conn *p2p_conn_new(struct p2p *p, bool outbound);
/* Sends our init message, arms the handshake deadline and starts reading. */
void p2p_conn_begin(struct p2p_conn *c);
/* Ends the connection for why (once; later calls are ignored). */
void p2p_conn_close(struct p2p_conn *c, enum p2p_result why);
/* For libuv callbacks on c: false when c is closing, or when status is an error (c is then
 * closed with P2P_ERR_IO); true when the callback should go on. */
bool p2p_conn_io_ok(struct p2p_conn *c, int status);
/* Queues m for c (taking a reference) unless its queue is full. */
enum p2p_result p2p_conn_enqueue(struct p2p_conn *c, struct p2p_msg *m);
/* The established connection with that id, or NULL. */
struct p2p_conn *p2p_conn_find(struct p2p *p, uint64_t id);

/* p2p_dial.c */
/* Parses the persistent peers. Errors: P2P_ERR_ADDR, P2P_ERR_NOMEM. */
enum p2p_result p2p_entries_init(struct p2p *p, const char *const *peers, size_t n);
enum p2p_result p2p_listen_start(struct p2p *p);
/* Arms every entry's first dial. */
void p2p_dial_all(struct p2p *p);
/* Bookkeeping after c established: learns or checks the entry's key. Returns P2P_OK or the
 * reason to close c (P2P_ERR_WRONG_KEY, P2P_ERR_SELF). */
enum p2p_result p2p_dial_established(struct p2p *p, struct p2p_conn *c);
/* Bookkeeping after c closed: redials the persistent peers it served after back-off. */
void p2p_dial_closed(struct p2p *p, struct p2p_conn *c, bool was_established);
/* Closes the listener and the entries' timers (stop). */
void p2p_dial_shutdown(struct p2p *p);

#endif
