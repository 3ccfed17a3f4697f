/*
 * The peer-to-peer network: authenticated, encrypted TCP connections between node keys, run by a
 * libuv event loop in its own thread. The wire protocol is in p2p_wire.h and
 * docs/protocol/p2p.md; this is the runtime around it.
 *
 * - Identity: each node has an Ed25519 node key (a validator's key, or any key for a full node).
 *   A connection is usable only after both sides proved their key over the session transcript.
 *   Connections to ourselves, to a key other than the one configured for that address, or from
 *   another chain are refused.
 * - Peers: persistent peers come from config as "PUBKEYHEX@host:port" (the key is checked) or
 *   "host:port" (the key is learned at the first handshake and then checked on every redial).
 *   They are redialled after any disconnect with exponential back-off and jitter: the n-th
 *   consecutive failure waits a uniform time in [d/2, d], d = min(backoff_max, backoff_min * 2^n).
 *   Any node may also connect inbound, up to max_inbound at once (handshaking ones included).
 *   One connection per node key: if two exist (both sides dialled), the one dialled by the
 *   lower key is kept on both sides; a newer connection in the same direction replaces an older.
 * - Messages: channel (u8, meaning chosen by the node) ‖ payload of at most msg_max bytes, split
 *   into frames of at most frame_max bytes. Delivery is in order per connection, at most once,
 *   and not guaranteed: a message queued for a peer that disconnects is lost.
 * - Queues: each peer has a send queue capped at queue_max_msgs messages and queue_max_bytes
 *   bytes. When full, new messages for that peer are DROPPED and counted (struct
 *   p2p_peer_info.dropped, struct p2p_stats.dropped); the connection stays up. A peer that stops
 *   reading therefore costs at most its queue; a peer that sends nothing at all (not even pongs)
 *   is closed after idle_timeout. Messages from other threads pass through one command queue
 *   capped at cmd_max_bytes (P2P_ERR_BUSY beyond it).
 * - Threads: p2p_new, p2p_start, p2p_stop and p2p_free are called by the owner thread only, not
 *   concurrently with other calls. p2p_send, p2p_broadcast, p2p_disconnect, p2p_peers and
 *   p2p_stats may be called from any thread, including from inside the callbacks.
 * - Callbacks run on the loop thread. The data they get is borrowed for the duration of the call:
 *   the node must copy what it keeps and hand work off to its own threads; a callback that
 *   blocks stalls all networking.
 */
#ifndef TN_NET_P2P_H
#define TN_NET_P2P_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/sig.h"
#include "net/p2p_wire.h"

#define P2P_ADDR_MAX 64 /* "[v6 address]:port" and NUL */

/* A connected (authenticated) peer. */
struct p2p_peer_info {
	uint64_t id;                     /* unique per connection for the life of the struct p2p */
	uint8_t key[SIG_PK_LEN];         /* the peer's Ed25519 node key */
	char addr[P2P_ADDR_MAX];         /* remote socket address "ip:port" */
	char listen[P2P_LISTEN_MAX + 1]; /* the address the peer advertised in its hello */
	bool outbound;                   /* we dialled it */
	bool persistent;                 /* it is one of the configured peers */
	uint64_t bytes_in, bytes_out;    /* wire bytes, handshake included */
	uint64_t msgs_in, msgs_out;
	uint64_t dropped; /* messages dropped because its send queue was full */
	size_t queued_msgs, queued_bytes;
};

/* Counters since p2p_new. */
struct p2p_stats {
	uint64_t dials;              /* outbound connection attempts */
	uint64_t dial_failures;      /* attempts that did not reach an authenticated session */
	uint64_t accepted;           /* inbound connections accepted for a handshake */
	uint64_t inbound_refused;    /* inbound connections closed at once: max_inbound reached */
	uint64_t handshakes;         /* sessions established, both directions */
	uint64_t handshake_failures; /* sessions that failed during the handshake */
	uint64_t protocol_errors;    /* sessions closed for a bad frame, message or cap violation */
	uint64_t dropped;            /* messages dropped: a full peer queue, or no such peer */
	uint64_t msgs_in, msgs_out;
	uint64_t bytes_in, bytes_out;
};

/* Called with each complete message received. peer_key and msg are borrowed for the call. */
typedef void p2p_msg_fn(void *ctx, uint64_t peer_id, const uint8_t peer_key[SIG_PK_LEN],
                        uint8_t channel, const uint8_t *msg, size_t len);
/* Called when a session is established; app[0..app_len) is the peer's hello blob (borrowed). */
typedef void p2p_connect_fn(void *ctx, const struct p2p_peer_info *peer, const uint8_t *app,
                            size_t app_len);
/* Called when an established session ends, with the reason. */
typedef void p2p_disconnect_fn(void *ctx, const struct p2p_peer_info *peer, enum p2p_result why);

struct p2p_config {
	uint8_t node_sk[SIG_SK_LEN];        /* copied into guarded memory by p2p_new */
	uint8_t chain_id[P2P_CHAIN_ID_LEN]; /* the genesis hash */
	const char *listen;       /* "host:port" to accept on (port 0: any); NULL: dial only */
	const char *advertise;    /* sent in the hello as our address; NULL: listen */
	const char *const *peers; /* persistent peers, "PUBKEYHEX@host:port" or "host:port" */
	size_t n_peers;
	const uint8_t *app; /* hello blob (copied), <= P2P_APP_MAX bytes; see p2p_set_app */
	size_t app_len;
	size_t max_inbound, max_outbound; /* simultaneous connections by direction */
	size_t frame_max; /* plaintext bytes per frame, in [P2P_FRAME_MIN_CAP, P2P_FRAME_MAX_CAP] */
	size_t msg_max;   /* bytes per message (channel excluded) */
	size_t queue_max_msgs, queue_max_bytes; /* per peer send queue */
	size_t cmd_max_bytes;          /* messages in flight from other threads to the loop */
	uint32_t handshake_timeout_ms; /* from dial or accept to an authenticated session */
	uint32_t ping_interval_ms;     /* keepalive ping period */
	uint32_t idle_timeout_ms;      /* close when nothing was received for this long */
	uint32_t backoff_min_ms, backoff_max_ms; /* redial delays of persistent peers */
	p2p_msg_fn *on_msg;                      /* required */
	p2p_connect_fn *on_connect;              /* optional */
	p2p_disconnect_fn *on_disconnect;        /* optional */
	void *ctx;                               /* passed to the callbacks */
};

struct p2p;

/* Fills cfg with the defaults (no key, chain id, addresses or callbacks): 40 inbound, 10
 * outbound, frames of 1 MiB, messages of 4 MiB, queues of 4096 messages / 16 MiB, a command
 * queue of 64 MiB, 10 s handshake timeout, 10 s ping, 40 s idle timeout, back-off 200 ms..30 s. */
void p2p_config_default(struct p2p_config *cfg);

/* Creates a stopped network from cfg (which the caller may then wipe and free: everything is
 * copied). Errors: P2P_ERR_ADDR (a peer string or the listen address does not parse: the bad
 * string is logged), P2P_ERR_MALFORMED (caps out of range, app too long), P2P_ERR_NOMEM. Misuse
 * (NULL cfg or on_msg) aborts. */
enum p2p_result p2p_new(const struct p2p_config *cfg, struct p2p **out)
    __attribute__((warn_unused_result));
/* Binds the listener (if any) and starts the loop thread, which dials the persistent peers.
 * Errors: P2P_ERR_ADDR (listen host does not resolve), P2P_ERR_IO (bind/listen failed),
 * P2P_ERR_NOMEM. A network can be started once. */
enum p2p_result p2p_start(struct p2p *p) __attribute__((warn_unused_result));
/* The bound listen port after p2p_start (useful with port 0), 0 if not listening. */
uint16_t p2p_listen_port(const struct p2p *p);
/* Our node public key. */
const uint8_t *p2p_node_key(const struct p2p *p);
/* Closes every connection (calling on_disconnect with P2P_ERR_SHUTDOWN for established ones),
 * stops the loop and joins its thread. Messages not yet written are lost. Idempotent. */
void p2p_stop(struct p2p *p);
/* Stops if needed, wipes the node key and frees everything. Accepts NULL. */
void p2p_free(struct p2p *p);

/* Queues msg[0..len) (copied) on channel for peer peer_id. Errors: P2P_ERR_MSG_TOO_LARGE,
 * P2P_ERR_STOPPED (not started or stopping), P2P_ERR_BUSY (from another thread: command queue
 * full), P2P_ERR_NOMEM; on the loop thread also P2P_ERR_NO_PEER and P2P_ERR_QUEUE_FULL (from other
 * threads those are only counted in the stats, since the call returns before the loop acts). */
enum p2p_result p2p_send(struct p2p *p, uint64_t peer_id, uint8_t channel, const uint8_t *msg,
                         size_t len);
/* Queues msg (copied once, shared) on channel for every established peer except except_peer
 * (0: none). Errors as p2p_send, without P2P_ERR_NO_PEER and P2P_ERR_QUEUE_FULL (a full peer
 * queue drops that peer's copy only, counted). */
enum p2p_result p2p_broadcast(struct p2p *p, uint8_t channel, const uint8_t *msg, size_t len,
                              uint64_t except_peer);
/* Closes the connection peer_id (on_disconnect with P2P_ERR_KICKED); a persistent peer is
 * redialled after back-off. Errors: P2P_ERR_STOPPED, P2P_ERR_BUSY, P2P_ERR_NOMEM; an unknown id
 * is ignored. */
enum p2p_result p2p_disconnect(struct p2p *p, uint64_t peer_id);
/* Replaces the hello blob sent in future handshakes (copied). Errors: P2P_ERR_MALFORMED (over
 * P2P_APP_MAX). Any thread. */
enum p2p_result p2p_set_app(struct p2p *p, const uint8_t *app, size_t app_len);
/* Writes up to max established peers into out and returns how many there are in total (which
 * may exceed max). Returns 0 when stopped. Any thread (waits for the loop to answer). */
size_t p2p_peers(struct p2p *p, struct p2p_peer_info *out, size_t max);
/* Copies the counters. Any thread. */
void p2p_stats(struct p2p *p, struct p2p_stats *out);

/* Parses "PUBKEYHEX@host:port" or "host:port" (host: a name, an IPv4 address or "[IPv6]"; port
 * 1..65535, or 0 when allow_port0). host gets the host without brackets (NUL-terminated, up to
 * host_cap bytes), *has_key whether a key was given. Errors: P2P_ERR_ADDR. */
enum p2p_result p2p_parse_peer(const char *s, uint8_t key[SIG_PK_LEN], bool *has_key, char *host,
                               size_t host_cap, uint16_t *port, bool allow_port0)
    __attribute__((warn_unused_result));

#endif
