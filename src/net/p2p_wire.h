/*
 * The peer-to-peer wire protocol without I/O (docs/protocol/p2p.md has the byte layouts): the
 * handshake that turns two ephemeral X25519 keys and two Ed25519 node keys into an authenticated
 * session, the sealed frames of the stream, the reader that cuts a byte stream into handshake and
 * frame units, and the reassembly of messages split across frames. Everything here is a pure
 * function of its inputs (the handshake's ephemeral key excepted, which has a _derand variant),
 * so it is unit-tested with known answers and fuzzed (fuzz/net/fuzz_p2p_frame.c); src/net/p2p.c
 * drives it from the event loop.
 *
 * Secrets: the ephemeral X25519 key and the DH output live in struct p2p_handshake and are wiped
 * as soon as the session keys are derived (and by p2p_handshake_release on every other path);
 * the session keys live in struct p2p_cipher until p2p_cipher_release.
 */
#ifndef TN_NET_P2P_WIRE_H
#define TN_NET_P2P_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/sig.h"

enum p2p_result {
	P2P_OK = 0,
	P2P_ERR_MAGIC,     /* the peer does not speak this protocol version ("tnp1") */
	P2P_ERR_CHAIN_ID,  /* the peer is on another chain */
	P2P_ERR_WEAK_KEY,  /* an X25519 key of small order (all-zero shared secret) */
	P2P_ERR_DECRYPT,   /* a frame failed authentication: tampered, replayed or reordered */
	P2P_ERR_MALFORMED, /* a frame body or hello that does not decode canonically */
	P2P_ERR_BAD_SIG,   /* the peer's signature over the transcript does not verify */
	P2P_ERR_SELF,      /* we connected to ourselves */
	P2P_ERR_WRONG_KEY, /* the peer's node key is not the one configured for its address */
	P2P_ERR_VERSION,   /* the hello names another protocol version */
	P2P_ERR_PROTOCOL,  /* a frame out of place: a second AUTH, data before AUTH, a channel
	                      switched in the middle of a split message */
	P2P_ERR_FRAME_TOO_LARGE, /* a frame over the cap (or under the minimum) */
	P2P_ERR_MSG_TOO_LARGE,   /* a message over the cap (received, or passed to send) */
	P2P_ERR_NONCE_EXHAUSTED, /* 2^64 - 1 frames sent or received: the session must end */
	P2P_ERR_QUEUE_FULL,      /* the peer's send queue is at its cap: message dropped */
	P2P_ERR_BUSY,            /* the cross-thread command queue is at its cap: message dropped */
	P2P_ERR_NO_PEER,         /* no connected peer has that id */
	P2P_ERR_STOPPED,         /* the network is not running */
	P2P_ERR_ADDR,            /* an address or peer string that does not parse or resolve */
	P2P_ERR_IO,              /* a socket error (connect, read, write, bind) */
	P2P_ERR_CLOSED,          /* the peer closed the connection */
	P2P_ERR_TIMEOUT,         /* handshake deadline passed, or nothing received for too long */
	P2P_ERR_DUPLICATE,       /* another connection to the same node key was kept instead */
	P2P_ERR_TOO_MANY_PEERS,  /* inbound or outbound connection cap reached */
	P2P_ERR_NOMEM,           /* allocation failed */
	P2P_ERR_SHUTDOWN,        /* the local node is stopping */
	P2P_ERR_KICKED,          /* p2p_disconnect was called for this peer */
};

/* A static English message for r; never NULL. */
const char *p2p_strerror(enum p2p_result r);

#define P2P_MAGIC_LEN    4  /* "tnp1": protocol family and version 1 */
#define P2P_VERSION      1u /* carried in the hello */
#define P2P_CHAIN_ID_LEN 32 /* the genesis hash */
#define P2P_X25519_LEN   32
#define P2P_KEY_LEN      32 /* a ChaCha20-Poly1305 session key */
#define P2P_TAG_LEN      16
#define P2P_NONCE_LEN    12
#define P2P_HASH_LEN     32
/* The one plaintext message of the handshake: magic ‖ chain id ‖ ephemeral X25519 public key. */
#define P2P_INIT_LEN (P2P_MAGIC_LEN + P2P_CHAIN_ID_LEN + P2P_X25519_LEN)
#define P2P_LEN_LEN  4 /* a frame starts with its ciphertext length, u32 little-endian */
/* Caps of the hello's fields and so of the AUTH frame, which is read before the peer is known. */
#define P2P_LISTEN_MAX 255
#define P2P_APP_MAX    1024
#define P2P_AUTH_PT_MAX                                                                            \
	(1 + SIG_PK_LEN + SIG_LEN + 4 + P2P_CHAIN_ID_LEN + 2 + P2P_LISTEN_MAX + 2 + P2P_APP_MAX)
/* Bounds of the configurable frame cap (plaintext bytes of one frame, kind byte included). */
#define P2P_FRAME_MIN_CAP 1024
#define P2P_FRAME_MAX_CAP ((size_t)16 << 20)

/* --- Sessions ----------------------------------------------------------------------------------
 */

/* One direction of a session: a ChaCha20-Poly1305 (IETF) key and the counter that is the nonce of
 * the next frame. Never copied after setup (a copy would reuse nonces). */
struct p2p_cipher {
	uint8_t key[P2P_KEY_LEN];
	uint64_t counter;
	bool ready;
};

/* Wipes the key; the cipher is unusable until set up again. Accepts a never-set-up cipher. */
void p2p_cipher_release(struct p2p_cipher *c);

/* Handshake state of one side. */
struct p2p_handshake {
	uint8_t chain_id[P2P_CHAIN_ID_LEN];
	uint8_t eph_sk[P2P_X25519_LEN];
	uint8_t eph_pk[P2P_X25519_LEN];
	uint8_t transcript[P2P_HASH_LEN]; /* valid once derived */
	bool derived;
};

/* The hello carried (encrypted and signed over) in each side's AUTH frame. listen and app are
 * borrowed: from the caller when encoding, from the decoded frame when decoding. */
struct p2p_hello {
	uint32_t version;
	uint8_t chain_id[P2P_CHAIN_ID_LEN];
	const char *listen; /* advertised "host:port" (not NUL-terminated when decoded) */
	size_t listen_len;  /* <= P2P_LISTEN_MAX */
	const uint8_t *app; /* opaque to the network: the node's status (height, ...) */
	size_t app_len;     /* <= P2P_APP_MAX */
};

/* What a verified AUTH frame says about the peer. */
struct p2p_auth {
	uint8_t node_pk[SIG_PK_LEN];
	struct p2p_hello hello;
};

/* Starts a handshake for chain_id with a fresh random ephemeral key. */
void p2p_handshake_init(struct p2p_handshake *hs, const uint8_t chain_id[P2P_CHAIN_ID_LEN]);
/* The same with the ephemeral secret eph_sk (clamped by X25519): for known-answer tests only. */
void p2p_handshake_init_derand(struct p2p_handshake *hs, const uint8_t chain_id[P2P_CHAIN_ID_LEN],
                               const uint8_t eph_sk[P2P_X25519_LEN]);
/* Writes our init message (magic ‖ chain id ‖ ephemeral public key). */
void p2p_handshake_init_msg(const struct p2p_handshake *hs, uint8_t out[P2P_INIT_LEN]);
/* Takes the peer's init message, computes the transcript hash and the two session keys, sets up
 * send (frames we seal) and recv (frames we open), and wipes the ephemeral secret. On error the
 * ciphers are not set up and the ephemeral secret is wiped too. Errors: P2P_ERR_MAGIC,
 * P2P_ERR_CHAIN_ID, P2P_ERR_SELF (the peer echoed our own ephemeral key), P2P_ERR_WEAK_KEY. */
enum p2p_result p2p_handshake_derive(struct p2p_handshake *hs,
                                     const uint8_t peer_init[P2P_INIT_LEN], struct p2p_cipher *send,
                                     struct p2p_cipher *recv) __attribute__((warn_unused_result));
/* Writes the plaintext of our AUTH frame into out[0..*len): kind ‖ node public key ‖ signature of
 * the transcript under node_sk ‖ hello. out holds P2P_AUTH_PT_MAX bytes. Needs a derived
 * handshake; hello's fields within their caps (asserted). */
void p2p_handshake_auth_encode(const struct p2p_handshake *hs, uint8_t *out, size_t *len,
                               const uint8_t node_sk[SIG_SK_LEN], const struct p2p_hello *hello);
/* Decodes and checks the peer's AUTH frame plaintext pt[0..n) (kind byte included): the signature
 * over our common transcript, the hello's version and chain id. out borrows from pt. Errors:
 * P2P_ERR_PROTOCOL (not an AUTH frame), P2P_ERR_MALFORMED, P2P_ERR_BAD_SIG, P2P_ERR_VERSION,
 * P2P_ERR_CHAIN_ID. (Whether the key is ours or the expected one is the caller's check.) */
enum p2p_result p2p_handshake_auth_decode(const struct p2p_handshake *hs, const uint8_t *pt,
                                          size_t n, struct p2p_auth *out)
    __attribute__((warn_unused_result));
/* Wipes the handshake's secrets. */
void p2p_handshake_release(struct p2p_handshake *hs);

/* --- Frames ------------------------------------------------------------------------------------
 */

/* The first byte of a frame's plaintext. */
enum p2p_kind {
	P2P_KIND_AUTH =
	    1, /* node key ‖ signature ‖ hello: the first frame each way, and only then */
	P2P_KIND_PING = 2, /* u64 nonce */
	P2P_KIND_PONG = 3, /* u64 nonce of the ping answered */
	P2P_KIND_MORE = 4, /* channel ‖ part of a message; more parts follow */
	P2P_KIND_LAST = 5, /* channel ‖ the last (or only) part of a message */
};

/* Bytes a frame adds to its plaintext on the wire: length and tag. */
#define P2P_FRAME_OVERHEAD (P2P_LEN_LEN + P2P_TAG_LEN)

/* Seals one frame in place: frame[P2P_LEN_LEN..P2P_LEN_LEN + n) holds the plaintext (n >= 1) on
 * entry; on return frame[0..n + P2P_FRAME_OVERHEAD) is the frame: the length, then the ciphertext
 * under the next nonce, with the length bytes as associated data. Errors:
 * P2P_ERR_NONCE_EXHAUSTED (nothing written; the session must end). */
enum p2p_result p2p_frame_seal(struct p2p_cipher *c, uint8_t *frame, size_t n)
    __attribute__((warn_unused_result));
/* Opens the frame frame[0..n) (length prefix included, as cut by the reader) in place: on success
 * *pt points into frame at the plaintext of *pt_len bytes. Errors: P2P_ERR_FRAME_TOO_LARGE (the
 * length prefix disagrees with n, or no room for a tag and a kind byte), P2P_ERR_DECRYPT,
 * P2P_ERR_NONCE_EXHAUSTED. On error the frame's bytes are unspecified. */
enum p2p_result p2p_frame_open(struct p2p_cipher *c, uint8_t *frame, size_t n, uint8_t **pt,
                               size_t *pt_len) __attribute__((warn_unused_result));

/* A decoded frame plaintext other than AUTH (which p2p_handshake_auth_decode reads). */
struct p2p_body {
	enum p2p_kind kind;
	uint64_t nonce;      /* PING, PONG */
	uint8_t channel;     /* MORE, LAST */
	const uint8_t *data; /* MORE, LAST: the part, borrowed from the plaintext */
	size_t len;
};

/* Decodes a frame plaintext pt[0..n). Errors: P2P_ERR_MALFORMED (unknown kind, wrong length, an
 * empty MORE part), P2P_ERR_PROTOCOL (an AUTH frame after the handshake). */
enum p2p_result p2p_frame_parse(struct p2p_body *b, const uint8_t *pt, size_t n)
    __attribute__((warn_unused_result));
/* Writes a PING or PONG plaintext (kind ‖ u64 nonce) into out[0..9). Returns 9. */
size_t p2p_frame_control(uint8_t out[9], enum p2p_kind kind, uint64_t nonce);

/* --- Reading a stream --------------------------------------------------------------------------
 */

/* Cuts a byte stream into units: first the peer's init message (P2P_INIT_LEN bytes), then frames
 * (length prefix ‖ ciphertext) whose plaintext is at most the current cap. The buffer grows with
 * need, never past the cap. */
struct p2p_reader {
	uint8_t *buf;
	size_t cap;     /* allocated */
	size_t len;     /* bytes of the current unit read so far */
	size_t need;    /* bytes of the current unit (4 while its length is unknown) */
	size_t pt_max;  /* cap on a frame's plaintext */
	bool in_frames; /* past the init message */
	bool ready;     /* buf[0..len) holds one complete unit */
};

/* Starts a reader expecting the init message, then frames of at most pt_max plaintext bytes. */
void p2p_reader_init(struct p2p_reader *r, size_t pt_max);
/* Changes the frame cap (the handshake reads AUTH under P2P_AUTH_PT_MAX, then the session cap). */
void p2p_reader_set_cap(struct p2p_reader *r, size_t pt_max);
/* Consumes bytes of p[0..n) into the current unit and returns how many it took; stops at the end
 * of a unit (r->ready). The caller handles buf[0..len), then calls p2p_reader_next. Errors (in
 * *res; the reader is then unusable): P2P_ERR_FRAME_TOO_LARGE (a length over the cap or too
 * small to hold a tag and a kind byte), P2P_ERR_NOMEM. */
size_t p2p_reader_push(struct p2p_reader *r, const uint8_t *p, size_t n, enum p2p_result *res);
/* Drops the unit just handled and expects a frame. */
void p2p_reader_next(struct p2p_reader *r);
/* Frees the buffer. */
void p2p_reader_release(struct p2p_reader *r);

/* Grows the heap buffer *buf of *cap bytes (doubling, from 4096) to hold at least need bytes:
 * true, or false when allocation fails (*buf and *cap are then unchanged). */
bool p2p_grow(uint8_t **buf, size_t *cap, size_t need) __attribute__((warn_unused_result));

/* Joins the parts of split messages. A message is a run of MORE frames on one channel closed by a
 * LAST frame on the same channel; its total size is capped. */
struct p2p_assembly {
	uint8_t *buf;
	size_t len, cap, max;
	uint8_t channel;
	bool active; /* a MORE frame was seen and its LAST not yet */
};

/* Starts an empty assembly for messages of at most max bytes. */
void p2p_assembly_init(struct p2p_assembly *a, size_t max);
/* Adds a MORE or LAST body. When it completes a message, sets *msg and *len to it (borrowed: from b
 * when the message is one LAST frame, else from the assembly until the next call) and *done.
 * Errors (the assembly is then unusable): P2P_ERR_PROTOCOL (a part on another channel than the
 * message in progress), P2P_ERR_MSG_TOO_LARGE, P2P_ERR_NOMEM. */
enum p2p_result p2p_assembly_add(struct p2p_assembly *a, const struct p2p_body *b,
                                 const uint8_t **msg, size_t *len, bool *done)
    __attribute__((warn_unused_result));
/* Frees the buffer. */
void p2p_assembly_release(struct p2p_assembly *a);

#endif
