/*
 * The p2p runtime (src/net/p2p.h) over real sockets on 127.0.0.1: two and four nodes connecting
 * from config, messages both ways on channels (small, empty, split over frames), broadcast,
 * duplicate-connection resolution, refusal of a wrong key, another chain and ourselves, a raw
 * socket peer that speaks the handshake then sends tampered, oversized or early frames, handshake
 * and idle timeouts, a restarted node redialled with back-off, caps on inbound peers and on send
 * queues, and stop/free with connections open (leaks show under ASan).
 */
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/hex.h"
#include "base/log.h"
#include "net/p2p.h"

#define MAX_LOG 4096

struct rec {
	uint64_t peer;
	uint8_t channel;
	size_t len;
	uint8_t hash[32];
	uint32_t seq; /* first 4 bytes of the message, if any */
};

struct tnode {
	struct p2p *p;
	uint8_t pk[SIG_PK_LEN], sk[SIG_SK_LEN];
	pthread_mutex_t mu;
	size_t connects, disconnects, n;
	struct rec log[MAX_LOG];
	uint8_t last_app[P2P_APP_MAX];
	size_t last_app_len;
	enum p2p_result last_why;
	bool echo; /* answer channel 1 with the same bytes on channel 2, from the loop thread */
	enum p2p_result echo_result;
	uint16_t port;
};

static uint8_t chain_a[32] = {1, 2, 3};
static uint8_t chain_b[32] = {9, 9, 9};

static void on_msg(void *ctx, uint64_t peer, const uint8_t key[32], uint8_t ch, const uint8_t *m,
                   size_t len)
{
	(void)key;
	struct tnode *n = ctx;
	pthread_mutex_lock(&n->mu);
	if (n->n < MAX_LOG) {
		struct rec *r = &n->log[n->n++];
		r->peer = peer;
		r->channel = ch;
		r->len = len;
		crypto_generichash(r->hash, 32, m, len, NULL, 0);
		r->seq = 0;
		if (len >= 4)
			memcpy(&r->seq, m, 4);
	}
	pthread_mutex_unlock(&n->mu);
	if (n->echo && ch == 1)
		n->echo_result = p2p_send(n->p, peer, 2, m, len);
}

static void on_connect(void *ctx, const struct p2p_peer_info *pi, const uint8_t *app, size_t len)
{
	(void)pi;
	struct tnode *n = ctx;
	pthread_mutex_lock(&n->mu);
	n->connects++;
	memcpy(n->last_app, app, len);
	n->last_app_len = len;
	pthread_mutex_unlock(&n->mu);
}

static void on_disconnect(void *ctx, const struct p2p_peer_info *pi, enum p2p_result why)
{
	(void)pi;
	struct tnode *n = ctx;
	pthread_mutex_lock(&n->mu);
	n->disconnects++;
	n->last_why = why;
	pthread_mutex_unlock(&n->mu);
}

/* A config for node n (key from seed byte s) with fast timers. */
static void tnode_config(struct tnode *n, uint8_t s, struct p2p_config *cfg)
{
	memset(n, 0, sizeof(*n));
	pthread_mutex_init(&n->mu, NULL);
	uint8_t seed[32];
	memset(seed, s, sizeof(seed));
	sig_keypair_from_seed(n->pk, n->sk, seed);
	p2p_config_default(cfg);
	memcpy(cfg->node_sk, n->sk, SIG_SK_LEN);
	memcpy(cfg->chain_id, chain_a, 32);
	cfg->listen = "127.0.0.1:0";
	cfg->handshake_timeout_ms = 2000;
	cfg->ping_interval_ms = 100;
	cfg->idle_timeout_ms = 2000;
	cfg->backoff_min_ms = 20;
	cfg->backoff_max_ms = 200;
	cfg->on_msg = on_msg;
	cfg->on_connect = on_connect;
	cfg->on_disconnect = on_disconnect;
	cfg->ctx = n;
}

static bool tnode_start(struct tnode *n, const struct p2p_config *cfg)
{
	if (p2p_new(cfg, &n->p) != P2P_OK || p2p_start(n->p) != P2P_OK)
		return false;
	n->port = p2p_listen_port(n->p);
	return n->port != 0 || !cfg->listen;
}

static void tnode_free(struct tnode *n)
{
	p2p_free(n->p);
	n->p = NULL;
	pthread_mutex_destroy(&n->mu);
}

/* "KEYHEX@127.0.0.1:port" of n (or of key if given) into out. */
static const char *peer_str(char *out, const struct tnode *n, const uint8_t *key)
{
	char hex[65];
	hex_encode(hex, key ? key : n->pk, 32);
	snprintf(out, 128, "%s@127.0.0.1:%u", hex, n->port);
	return out;
}

static size_t npeers(struct tnode *n)
{
	return p2p_peers(n->p, NULL, 0);
}

static size_t nmsgs(struct tnode *n)
{
	pthread_mutex_lock(&n->mu);
	size_t r = n->n;
	pthread_mutex_unlock(&n->mu);
	return r;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Polls until every node in ns has `want` peers (or timeout). */
static bool wait_peers(struct tnode **ns, size_t k, size_t want, int ms)
{
	double end = now_ms() + ms;
	while (now_ms() < end) {
		size_t ok = 0;
		for (size_t i = 0; i < k; i++)
			ok += npeers(ns[i]) == want;
		if (ok == k)
			return true;
		sleep_ms(5);
	}
	return false;
}

static bool wait_msgs(struct tnode *n, size_t want, int ms)
{
	double end = now_ms() + ms;
	while (now_ms() < end && nmsgs(n) < want)
		sleep_ms(2);
	return nmsgs(n) >= want;
}

/* The id of n's only peer. */
static uint64_t only_peer(struct tnode *n, struct p2p_peer_info *pi)
{
	struct p2p_peer_info tmp;
	if (!pi)
		pi = &tmp;
	return p2p_peers(n->p, pi, 1) == 1 ? pi->id : 0;
}

static uint16_t free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		abort();
	close(fd);
	return ntohs(a.sin_port);
}

static void fill_msg(uint8_t *m, size_t len, uint32_t seq)
{
	randombytes_buf(m, len);
	if (len >= 4)
		memcpy(m, &seq, 4);
}

static bool rec_is(const struct rec *r, uint8_t ch, const uint8_t *m, size_t len)
{
	uint8_t h[32];
	crypto_generichash(h, 32, m, len, NULL, 0);
	return r->channel == ch && r->len == len && memcmp(r->hash, h, 32) == 0;
}

/* 100 messages A -> B on channel 1 (0..3663 bytes), echoed back on channel 2; then an empty one
 * and one of exactly msg_max (4 MiB: five frames). */
static void echo_many(struct tnode *a, struct tnode *b, uint64_t a2b, size_t msg_max)
{
	enum { N = 100 };
	static uint8_t msgs[N + 2][N * 37];
	uint8_t *big = malloc(msg_max + 1);
	size_t lens[N + 2];
	for (uint32_t i = 0; i < N; i++) {
		lens[i] = i * 37;
		fill_msg(msgs[i], lens[i], i);
		CHECK(p2p_send(a->p, a2b, 1, msgs[i], lens[i]) == P2P_OK);
	}
	CHECK(p2p_send(a->p, a2b, 1, NULL, 0) == P2P_OK);
	fill_msg(big, msg_max, 7);
	CHECK(p2p_send(a->p, a2b, 1, big, msg_max) == P2P_OK);
	CHECK(p2p_send(a->p, a2b, 1, big, msg_max + 1) == P2P_ERR_MSG_TOO_LARGE);
	CHECK(wait_msgs(b, N + 2, 10000) && wait_msgs(a, N + 2, 10000));
	for (uint32_t i = 0; i < N; i++) {
		CHECK(rec_is(&b->log[i], 1, msgs[i], lens[i]));
		CHECK(rec_is(&a->log[i], 2, msgs[i], lens[i]));
	}
	CHECK(rec_is(&b->log[N], 1, NULL, 0) && rec_is(&a->log[N], 2, NULL, 0));
	CHECK(rec_is(&b->log[N + 1], 1, big, msg_max) && rec_is(&a->log[N + 1], 2, big, msg_max));
	CHECK(b->echo_result == P2P_OK);
	struct p2p_stats st;
	struct p2p_peer_info ia;
	p2p_stats(a->p, &st);
	CHECK(st.msgs_out == N + 2 && st.msgs_in == N + 2 && st.bytes_out > msg_max);
	CHECK(only_peer(a, &ia) == a2b && ia.msgs_out == N + 2 && ia.bytes_in > msg_max);
	CHECK(p2p_send(a->p, 999, 1, big, 1) == P2P_OK); /* unknown id: dropped on the loop */
	free(big);
}

/* A and B (B dials A by key); B echoes channel 1 on channel 2. */
static void two_nodes(void)
{
	struct tnode a, b;
	struct p2p_config ca, cb;
	char ps[128];
	tnode_config(&a, 0xa, &ca);
	ca.app = (const uint8_t *)"height=5";
	ca.app_len = 8;
	CHECK(tnode_start(&a, &ca));
	tnode_config(&b, 0xb, &cb);
	const char *peers[] = {peer_str(ps, &a, NULL)};
	cb.peers = peers;
	cb.n_peers = 1;
	b.echo = true;
	CHECK(tnode_start(&b, &cb));
	struct tnode *both[] = {&a, &b};
	CHECK(wait_peers(both, 2, 1, 5000));
	struct p2p_peer_info ia, ib;
	uint64_t a2b = only_peer(&a, &ia);
	CHECK(only_peer(&b, &ib) != 0);
	CHECK(memcmp(ia.key, b.pk, 32) == 0 && !ia.outbound && !ia.persistent);
	CHECK(memcmp(ib.key, a.pk, 32) == 0 && ib.outbound && ib.persistent);
	char want_listen[32];
	snprintf(want_listen, sizeof(want_listen), "127.0.0.1:%u", a.port);
	CHECK_STR(ib.listen, want_listen);
	CHECK(b.last_app_len == 8 && memcmp(b.last_app, "height=5", 8) == 0);
	CHECK(memcmp(p2p_node_key(a.p), a.pk, 32) == 0);

	echo_many(&a, &b, a2b, ca.msg_max);

	/* Kicked: both sides see the disconnect, and B (the dialler) comes back. */
	CHECK(p2p_disconnect(a.p, a2b) == P2P_OK);
	double end = now_ms() + 5000;
	while (now_ms() < end && (only_peer(&a, NULL) == a2b || npeers(&a) != 1 || npeers(&b) != 1))
		sleep_ms(5);
	CHECK(npeers(&a) == 1 && only_peer(&a, NULL) != a2b && a.connects == 2);
	CHECK(a.disconnects == 1 && a.last_why == P2P_ERR_KICKED);
	CHECK(b.disconnects == 1 && b.last_why == P2P_ERR_CLOSED);
	tnode_free(&b); /* with the connection open */
	CHECK(a.disconnects == 1 || wait_peers(both, 1, 0, 5000));
	tnode_free(&a);
}

static size_t count_channel(struct tnode *n, uint8_t ch)
{
	size_t k = 0;
	pthread_mutex_lock(&n->mu);
	for (size_t i = 0; i < n->n; i++)
		k += n->log[i].channel == ch;
	pthread_mutex_unlock(&n->mu);
	return k;
}

/* Four nodes, node i dialling nodes 0..i-1 (node 3 without keys: learnt at the handshake);
 * each broadcasts once; a broadcast with except_peer skips that peer. */
static void four_nodes(void)
{
	struct tnode n[4];
	struct p2p_config c[4];
	char ps[4][3][128];
	const char *peers[4][3];
	for (int i = 0; i < 4; i++) {
		tnode_config(&n[i], (uint8_t)(0x40 + i), &c[i]);
		for (int j = 0; j < i; j++) {
			peers[i][j] = peer_str(ps[i][j], &n[j], NULL);
			if (i == 3)
				peers[i][j] = strchr(ps[i][j], '@') + 1;
		}
		c[i].peers = peers[i];
		c[i].n_peers = (size_t)i;
		CHECK(tnode_start(&n[i], &c[i]));
	}
	struct tnode *all[] = {&n[0], &n[1], &n[2], &n[3]};
	CHECK(wait_peers(all, 4, 3, 5000));
	for (uint32_t i = 0; i < 4; i++) {
		uint8_t m[8] = {(uint8_t)i};
		CHECK(p2p_broadcast(n[i].p, 7, m, sizeof(m), 0) == P2P_OK);
	}
	for (int i = 0; i < 4; i++) {
		double end = now_ms() + 5000;
		while (now_ms() < end && count_channel(&n[i], 7) < 3)
			sleep_ms(2);
		CHECK(count_channel(&n[i], 7) == 3);
		uint32_t from = 0; /* one from each other node */
		for (size_t k = 0; k < n[i].n; k++)
			from |= 1u << n[i].log[k].seq;
		CHECK(from == (0xfu & ~(1u << i)));
	}
	/* Node 0 broadcasts on channel 8 except to one peer: exactly two receive it. */
	struct p2p_peer_info pi[3];
	CHECK(p2p_peers(n[0].p, pi, 3) == 3);
	CHECK(p2p_broadcast(n[0].p, 8, (const uint8_t *)"x", 1, pi[0].id) == P2P_OK);
	sleep_ms(300);
	size_t got = 0;
	for (int i = 1; i < 4; i++) {
		size_t k = count_channel(&n[i], 8);
		got += k;
		if (memcmp(n[i].pk, pi[0].key, 32) == 0)
			CHECK(k == 0);
	}
	CHECK(got == 2);
	for (int i = 0; i < 4; i++)
		tnode_free(&n[i]);
}

/* Both nodes list each other: the two sessions collapse to one, the same on both sides. */
static void mutual_dial(void)
{
	struct tnode a, b;
	struct p2p_config ca, cb;
	char pa[128], pb[128], la[32], lb[32];
	tnode_config(&a, 0x51, &ca);
	tnode_config(&b, 0x52, &cb);
	a.port = free_port();
	b.port = free_port();
	snprintf(la, sizeof(la), "127.0.0.1:%u", a.port);
	snprintf(lb, sizeof(lb), "127.0.0.1:%u", b.port);
	const char *peers_a[] = {peer_str(pb, &b, NULL)}, *peers_b[] = {peer_str(pa, &a, NULL)};
	ca.listen = la;
	cb.listen = lb;
	ca.peers = peers_a;
	cb.peers = peers_b;
	ca.n_peers = cb.n_peers = 1;
	CHECK(tnode_start(&a, &ca) && tnode_start(&b, &cb));
	struct tnode *both[] = {&a, &b};
	CHECK(wait_peers(both, 2, 1, 5000));
	sleep_ms(300); /* let any duplicate resolve */
	struct p2p_peer_info ia, ib;
	CHECK(only_peer(&a, &ia) && only_peer(&b, &ib));
	/* The kept session is the one dialled by the lower key, on both ends. */
	bool a_lower = memcmp(a.pk, b.pk, 32) < 0;
	CHECK(ia.outbound == a_lower && ib.outbound == !a_lower);
	CHECK(p2p_send(a.p, ia.id, 1, (const uint8_t *)"ping", 4) == P2P_OK);
	CHECK(wait_msgs(&b, 1, 3000));
	tnode_free(&a);
	tnode_free(&b);
}

static void wait_ms_stat(struct tnode *n, uint64_t *field_of_copy, struct p2p_stats *st,
                         uint64_t want, int ms)
{
	double end = now_ms() + ms;
	do {
		p2p_stats(n->p, st);
		if (*field_of_copy >= want)
			return;
		sleep_ms(5);
	} while (now_ms() < end);
}

/* B dials A under C's key; D is on another chain; E lists itself. None connects. */
static void refusals(void)
{
	struct tnode a, b, c, d, e;
	struct p2p_config ca, cb, cc, cd, ce;
	char ps[128], pd[128], pe[128];
	tnode_config(&a, 0x61, &ca);
	CHECK(tnode_start(&a, &ca));
	tnode_config(&c, 0x63, &cc); /* only its key is used */
	tnode_config(&b, 0x62, &cb);
	const char *pb_[] = {peer_str(ps, &a, c.pk)};
	cb.peers = pb_;
	cb.n_peers = 1;
	CHECK(tnode_start(&b, &cb));
	tnode_config(&d, 0x64, &cd);
	memcpy(cd.chain_id, chain_b, 32);
	const char *pd_[] = {strchr(peer_str(pd, &a, NULL), '@') + 1};
	cd.peers = pd_;
	cd.n_peers = 1;
	CHECK(tnode_start(&d, &cd));
	tnode_config(&e, 0x65, &ce);
	char le[32];
	e.port = free_port();
	snprintf(le, sizeof(le), "127.0.0.1:%u", e.port);
	ce.listen = le;
	const char *pe_[] = {peer_str(pe, &e, NULL)};
	ce.peers = pe_;
	ce.n_peers = 1;
	CHECK(tnode_start(&e, &ce));
	struct p2p_stats sb, sd, se, sa;
	wait_ms_stat(&b, &sb.dial_failures, &sb, 3, 5000);
	wait_ms_stat(&d, &sd.dial_failures, &sd, 3, 5000);
	sleep_ms(300);
	p2p_stats(e.p, &se);
	p2p_stats(a.p, &sa);
	CHECK(sb.dial_failures >= 3 && sb.handshakes == 0 && sb.handshake_failures >= 3);
	CHECK(sd.dial_failures >= 3 && sd.handshakes == 0);
	CHECK(se.dials == 1 && se.handshakes == 0); /* found itself once, never again */
	/* A cannot tell B's refusal from a peer leaving: both send AUTH at once, so A may see
	 * short sessions with B. D fails A's handshake (another chain). */
	CHECK(sa.handshake_failures >= 3);
	CHECK(npeers(&b) == 0 && npeers(&d) == 0 && npeers(&e) == 0);
	CHECK(b.connects == 0 && d.connects == 0 && e.connects == 0);
	tnode_free(&a);
	tnode_free(&b);
	tnode_free(&c);
	tnode_free(&d);
	tnode_free(&e);
}

/* --- A raw socket peer that speaks the protocol by hand (p2p_wire.h) ----------------------------
 */

struct raw {
	int fd;
	struct p2p_handshake hs;
	struct p2p_cipher tx, rx;
	uint8_t pk[SIG_PK_LEN], sk[SIG_SK_LEN];
};

static int raw_connect(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons(port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {3, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		abort();
	return fd;
}

static bool raw_read(int fd, uint8_t *b, size_t n)
{
	while (n) {
		ssize_t k = recv(fd, b, n, 0);
		if (k <= 0)
			return false;
		b += k;
		n -= (size_t)k;
	}
	return true;
}

static bool raw_write(int fd, const uint8_t *b, size_t n)
{
	return send(fd, b, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* Sends our init; reads and derives from the node's. */
static bool raw_init(struct raw *r, uint16_t port, const uint8_t *chain)
{
	uint8_t seed[32], init[P2P_INIT_LEN];
	memset(seed, 0x77, sizeof(seed));
	sig_keypair_from_seed(r->pk, r->sk, seed);
	r->fd = raw_connect(port);
	p2p_handshake_init(&r->hs, chain);
	p2p_handshake_init_msg(&r->hs, init);
	return raw_write(r->fd, init, sizeof(init)) && raw_read(r->fd, init, sizeof(init)) &&
	       p2p_handshake_derive(&r->hs, init, &r->tx, &r->rx) == P2P_OK;
}

/* Seals pt[0..n) and writes it; flip_at >= 0 flips that byte of the frame first. */
static bool raw_frame(struct raw *r, const uint8_t *pt, size_t n, long flip_at)
{
	uint8_t *f = malloc(n + P2P_FRAME_OVERHEAD);
	memcpy(f + P2P_LEN_LEN, pt, n);
	bool ok = p2p_frame_seal(&r->tx, f, n) == P2P_OK;
	if (flip_at >= 0)
		f[flip_at] ^= 0x01;
	ok = ok && raw_write(r->fd, f, n + P2P_FRAME_OVERHEAD);
	free(f);
	return ok;
}

/* A complete handshake as a client of the node with key node_pk. */
static bool raw_handshake(struct raw *r, uint16_t port, const uint8_t *node_pk)
{
	if (!raw_init(r, port, chain_a))
		return false;
	uint8_t pt[P2P_AUTH_PT_MAX], hdr[4], buf[P2P_AUTH_PT_MAX + P2P_FRAME_OVERHEAD];
	size_t n;
	struct p2p_hello h = {.version = P2P_VERSION};
	memcpy(h.chain_id, chain_a, 32);
	p2p_handshake_auth_encode(&r->hs, pt, &n, r->sk, &h);
	if (!raw_frame(r, pt, n, -1) || !raw_read(r->fd, hdr, 4))
		return false;
	size_t len = (size_t)hdr[0] | (size_t)hdr[1] << 8;
	if (len > P2P_AUTH_PT_MAX + P2P_TAG_LEN || hdr[2] || hdr[3])
		return false;
	memcpy(buf, hdr, 4);
	uint8_t *ppt;
	size_t pn;
	struct p2p_auth au;
	return raw_read(r->fd, buf + 4, len) &&
	       p2p_frame_open(&r->rx, buf, len + 4, &ppt, &pn) == P2P_OK &&
	       p2p_handshake_auth_decode(&r->hs, ppt, pn, &au) == P2P_OK &&
	       memcmp(au.node_pk, node_pk, 32) == 0;
}

/* True if the node closes the socket within ms (whatever it sends before is drained). */
static bool raw_closed(int fd, int ms)
{
	double end = now_ms() + ms;
	uint8_t b[4096];
	while (now_ms() < end) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, 10) <= 0)
			continue;
		ssize_t k = recv(fd, b, sizeof(b), MSG_DONTWAIT);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			return true;
	}
	return false;
}

static void raw_close(struct raw *r)
{
	close(r->fd);
	p2p_handshake_release(&r->hs);
	p2p_cipher_release(&r->tx);
	p2p_cipher_release(&r->rx);
}

static bool wait_disconnects(struct tnode *n, size_t want, int ms)
{
	double end = now_ms() + ms;
	for (;;) {
		pthread_mutex_lock(&n->mu);
		size_t d = n->disconnects;
		pthread_mutex_unlock(&n->mu);
		if (d >= want || now_ms() > end)
			return d >= want;
		sleep_ms(2);
	}
}

/* Raw peers that misbehave after (or during) the handshake: each is cut off, the node goes on. */
static void raw_peers(void)
{
	struct tnode a;
	struct p2p_config ca;
	tnode_config(&a, 0x71, &ca);
	ca.frame_max = 4096;
	CHECK(tnode_start(&a, &ca));
	struct raw r;
	/* Good messages first (one split into MORE + LAST), then a tampered frame. */
	CHECK(raw_handshake(&r, a.port, a.pk));
	const uint8_t m1[] = {P2P_KIND_LAST, 9, 'o', 'k'};
	const uint8_t m2[] = {P2P_KIND_MORE, 9, 's', 'p'}, m3[] = {P2P_KIND_LAST, 9, 'l', 'i', 't'};
	CHECK(raw_frame(&r, m1, sizeof(m1), -1) && raw_frame(&r, m2, sizeof(m2), -1) &&
	      raw_frame(&r, m3, sizeof(m3), -1));
	CHECK(wait_msgs(&a, 2, 3000));
	CHECK(a.log[0].len == 2 && a.log[1].len == 5 && a.log[1].channel == 9);
	CHECK(raw_frame(&r, m1, sizeof(m1), 6)); /* a ciphertext byte */
	CHECK(raw_closed(r.fd, 3000));
	CHECK(wait_disconnects(&a, 1, 3000) && a.last_why == P2P_ERR_DECRYPT);
	raw_close(&r);
	/* A frame over the cap: refused at its length prefix. */
	CHECK(raw_handshake(&r, a.port, a.pk));
	uint8_t hdr[4] = {0x11, 0x10, 0, 0}; /* 4096 + 17 */
	CHECK(raw_write(r.fd, hdr, 4));
	CHECK(raw_closed(r.fd, 3000));
	CHECK(wait_disconnects(&a, 2, 3000) && a.last_why == P2P_ERR_FRAME_TOO_LARGE);
	raw_close(&r);
	/* A message frame in place of AUTH. */
	CHECK(raw_init(&r, a.port, chain_a));
	CHECK(raw_frame(&r, m1, sizeof(m1), -1));
	CHECK(raw_closed(r.fd, 3000));
	raw_close(&r);
	/* A split message that switches channel. */
	CHECK(raw_handshake(&r, a.port, a.pk));
	const uint8_t m4[] = {P2P_KIND_LAST, 8, 'x'};
	CHECK(raw_frame(&r, m2, sizeof(m2), -1) && raw_frame(&r, m4, sizeof(m4), -1));
	CHECK(raw_closed(r.fd, 3000));
	CHECK(wait_disconnects(&a, 3, 3000) && a.last_why == P2P_ERR_PROTOCOL);
	raw_close(&r);
	/* Garbage instead of an init message. */
	r.fd = raw_connect(a.port);
	uint8_t junk[P2P_INIT_LEN];
	randombytes_buf(junk, sizeof(junk));
	CHECK(raw_write(r.fd, junk, sizeof(junk)) && raw_closed(r.fd, 3000));
	close(r.fd);
	struct p2p_stats st;
	p2p_stats(a.p, &st);
	CHECK(st.protocol_errors == 3 && st.handshake_failures == 2 && st.handshakes == 3);
	/* The node still works. */
	CHECK(raw_handshake(&r, a.port, a.pk));
	CHECK(raw_frame(&r, m1, sizeof(m1), -1) && wait_msgs(&a, 3, 3000));
	raw_close(&r);
	tnode_free(&a);
}

/* A connection that never starts the handshake, and a peer that never answers pings. */
static void timeouts(void)
{
	struct tnode a;
	struct p2p_config ca;
	tnode_config(&a, 0x72, &ca);
	ca.handshake_timeout_ms = 200;
	ca.ping_interval_ms = 50;
	ca.idle_timeout_ms = 300;
	CHECK(tnode_start(&a, &ca));
	double t0 = now_ms();
	int fd = raw_connect(a.port);
	CHECK(raw_closed(fd, 3000));
	double took = now_ms() - t0;
	CHECK(took >= 150 && took < 2000);
	close(fd);
	struct raw r;
	CHECK(raw_handshake(&r, a.port, a.pk));
	t0 = now_ms();
	CHECK(raw_closed(r.fd, 3000)); /* pings arrive, nothing goes back */
	took = now_ms() - t0;
	CHECK(took >= 250 && took < 2000);
	CHECK(wait_disconnects(&a, 1, 1000) && a.last_why == P2P_ERR_TIMEOUT);
	raw_close(&r);
	/* A peer that keeps pinging but reads nothing: the write that cannot finish gets it closed
	 * (loopback buffers hold a few MiB; 16 MiB are queued). */
	CHECK(raw_handshake(&r, a.port, a.pk));
	struct p2p_peer_info pi;
	double end = now_ms() + 3000;
	while (only_peer(&a, &pi) == 0 && now_ms() < end)
		sleep_ms(2);
	uint8_t *big = calloc(1, ca.msg_max);
	for (int i = 0; i < 4; i++)
		CHECK(p2p_send(a.p, pi.id, 1, big, ca.msg_max) == P2P_OK);
	free(big);
	bool closed = false;
	while (!closed && now_ms() < end + 3000) {
		uint8_t ping[9];
		(void)raw_frame(&r, ping, p2p_frame_control(ping, P2P_KIND_PING, 1), -1);
		closed = wait_disconnects(&a, 2, 30);
	}
	CHECK(closed && a.last_why == P2P_ERR_TIMEOUT);
	raw_close(&r);
	tnode_free(&a);
}

/* B goes away: A redials with growing gaps; B comes back on the same port: A reconnects. */
static void restart_reconnect(void)
{
	struct tnode a, b, b2;
	struct p2p_config ca, cb;
	char pb[128], lb[32];
	tnode_config(&b, 0x81, &cb);
	b.port = free_port();
	snprintf(lb, sizeof(lb), "127.0.0.1:%u", b.port);
	cb.listen = lb;
	CHECK(tnode_start(&b, &cb));
	tnode_config(&a, 0x82, &ca);
	ca.backoff_min_ms = 20;
	ca.backoff_max_ms = 320;
	const char *peers[] = {peer_str(pb, &b, NULL)};
	ca.peers = peers;
	ca.n_peers = 1;
	CHECK(tnode_start(&a, &ca));
	struct tnode *both[] = {&a, &b};
	CHECK(wait_peers(both, 2, 1, 5000));
	tnode_free(&b);
	struct p2p_stats st;
	p2p_stats(a.p, &st);
	uint64_t dials0 = st.dials, last = st.dials;
	double t0 = now_ms(), last_t = t0, max_gap = 0, first_gap = -1;
	while (now_ms() - t0 < 2000) {
		p2p_stats(a.p, &st);
		if (st.dials != last) {
			double gap = now_ms() - last_t;
			if (last != dials0 && first_gap < 0)
				first_gap = gap;
			if (gap > max_gap)
				max_gap = gap;
			last = st.dials;
			last_t = now_ms();
		}
		sleep_ms(1);
	}
	uint64_t redials = st.dials - dials0;
	fprintf(stderr, "  %llu redials in 2 s, first gap %.0f ms, largest gap %.0f ms\n",
	        (unsigned long long)redials, first_gap, max_gap);
	/* Without back-off this would be ~100 (20 ms apart); with it: ~10 and gaps of 160-320. */
	CHECK(redials >= 4 && redials <= 20);
	CHECK(max_gap >= 150 && max_gap <= 1000); /* 320 ms cap plus scheduling slack */
	CHECK(first_gap < max_gap);
	struct p2p_config cb2;
	tnode_config(&b2, 0x81, &cb2); /* same key, same port */
	cb2.listen = lb;
	CHECK(tnode_start(&b2, &cb2));
	struct tnode *again[] = {&a, &b2};
	t0 = now_ms();
	CHECK(wait_peers(again, 2, 1, 3000));
	fprintf(stderr, "  reconnected after %.0f ms\n", now_ms() - t0);
	struct p2p_peer_info pi;
	uint64_t id = only_peer(&a, &pi);
	CHECK(pi.persistent && pi.outbound);
	CHECK(p2p_send(a.p, id, 1, (const uint8_t *)"back", 4) == P2P_OK &&
	      wait_msgs(&b2, 1, 3000));
	tnode_free(&a);
	tnode_free(&b2);
}

/* max_inbound counts handshaking connections: the third and fourth are closed at once. */
static void inbound_cap(void)
{
	struct tnode a;
	struct p2p_config ca;
	tnode_config(&a, 0x91, &ca);
	ca.max_inbound = 2;
	ca.handshake_timeout_ms = 10000;
	CHECK(tnode_start(&a, &ca));
	int fds[4];
	for (int i = 0; i < 4; i++) {
		fds[i] = raw_connect(a.port);
		sleep_ms(50); /* in order */
	}
	CHECK(!raw_closed(fds[0], 100) && !raw_closed(fds[1], 100));
	CHECK(raw_closed(fds[2], 1000) && raw_closed(fds[3], 1000));
	struct p2p_stats st;
	p2p_stats(a.p, &st);
	CHECK(st.inbound_refused == 2 && st.accepted == 2);
	close(fds[0]); /* frees a slot */
	sleep_ms(100);
	struct raw r;
	CHECK(raw_handshake(&r, a.port, a.pk));
	raw_close(&r);
	close(fds[1]);
	close(fds[2]);
	close(fds[3]);
	tnode_free(&a);
}

struct burst {
	struct tnode n;
	size_t ok, full;
};

/* On channel 3, sends 500 messages of 2 KiB back at once, from the loop thread. */
static void on_msg_burst(void *ctx, uint64_t peer, const uint8_t key[32], uint8_t ch,
                         const uint8_t *m, size_t len)
{
	struct burst *b = ctx;
	on_msg(&b->n, peer, key, ch, m, len);
	if (ch != 3)
		return;
	uint8_t msg[2048] = {0};
	for (uint32_t i = 0; i < 500; i++) {
		memcpy(msg, &i, 4);
		enum p2p_result r = p2p_send(b->n.p, peer, 4, msg, sizeof(msg));
		b->ok += r == P2P_OK;
		b->full += r == P2P_ERR_QUEUE_FULL;
	}
}

/* A queue of 4 messages: of a burst of 500, the first is being written, 4 wait, 495 drop. */
static void queue_full(void)
{
	static struct burst a;
	struct tnode b;
	struct p2p_config ca, cb;
	char ps[128];
	tnode_config(&a.n, 0xa1, &ca);
	ca.queue_max_msgs = 4;
	ca.on_msg = on_msg_burst;
	ca.ctx = &a;
	CHECK(tnode_start(&a.n, &ca));
	tnode_config(&b, 0xa2, &cb);
	const char *peers[] = {peer_str(ps, &a.n, NULL)};
	cb.peers = peers;
	cb.n_peers = 1;
	CHECK(tnode_start(&b, &cb));
	struct tnode *both[] = {&a.n, &b};
	CHECK(wait_peers(both, 2, 1, 5000));
	CHECK(p2p_send(b.p, only_peer(&b, NULL), 3, (const uint8_t *)"go", 2) == P2P_OK);
	CHECK(wait_msgs(&b, 5, 3000));
	sleep_ms(200);
	CHECK(a.ok == 5 && a.full == 495);
	CHECK(nmsgs(&b) == 5);
	for (uint32_t i = 0; i < 5 && i < b.n; i++)
		CHECK(b.log[i].seq == i && b.log[i].channel == 4);
	struct p2p_peer_info pi;
	CHECK(only_peer(&a.n, &pi) && pi.dropped == 495 && pi.queued_msgs == 0);
	struct p2p_stats st;
	p2p_stats(a.n.p, &st);
	CHECK(st.dropped == 495);
	tnode_free(&a.n);
	tnode_free(&b);
}

static void config_and_api_errors(void)
{
	uint8_t key[32];
	bool has;
	char host[64];
	uint16_t port;
	const char *k = "0101010101010101010101010101010101010101010101010101010101010101";
	char s[160];
	snprintf(s, sizeof(s), "%s@10.0.0.1:26656", k);
	CHECK(p2p_parse_peer(s, key, &has, host, sizeof(host), &port, false) == P2P_OK && has &&
	      key[0] == 1 && port == 26656 && strcmp(host, "10.0.0.1") == 0);
	CHECK(p2p_parse_peer("[::1]:7", key, &has, host, sizeof(host), &port, false) == P2P_OK &&
	      !has && port == 7 && strcmp(host, "::1") == 0);
	CHECK(p2p_parse_peer("node-1.example:0", key, &has, host, sizeof(host), &port, true) ==
	      P2P_OK);
	static const char *const bad[] = {"10.0.0.1",       "10.0.0.1:", ":26656",  "10.0.0.1:0",
	                                  "10.0.0.1:65536", "::1:5",     "[::1]5",  "h:12a",
	                                  "h:-1",           "h: 1",      "zz@h:1",  "@h:1",
	                                  "0101@h:1",       "[::1:5",    "h:123456"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(p2p_parse_peer(bad[i], key, &has, host, sizeof(host), &port, false) ==
		      P2P_ERR_ADDR);
	snprintf(s, sizeof(s), "%.63s@h:1", k); /* key one digit short */
	CHECK(p2p_parse_peer(s, key, &has, host, sizeof(host), &port, false) == P2P_ERR_ADDR);

	struct tnode a;
	struct p2p_config c;
	struct p2p *p;
	tnode_config(&a, 0xb1, &c);
	const char *badpeer[] = {"nope"};
	c.peers = badpeer;
	c.n_peers = 1;
	CHECK(p2p_new(&c, &p) == P2P_ERR_ADDR && p == NULL);
	tnode_config(&a, 0xb1, &c);
	c.frame_max = 100;
	CHECK(p2p_new(&c, &p) == P2P_ERR_MALFORMED);
	tnode_config(&a, 0xb1, &c);
	c.queue_max_bytes = c.msg_max - 1;
	CHECK(p2p_new(&c, &p) == P2P_ERR_MALFORMED);
	tnode_config(&a, 0xb1, &c);
	c.listen = "256.1.1.1:5";
	CHECK(p2p_new(&c, &p) == P2P_OK);
	CHECK(p2p_send(p, 1, 1, (const uint8_t *)"x", 1) == P2P_ERR_STOPPED); /* not started */
	CHECK(p2p_start(p) == P2P_ERR_ADDR);
	p2p_free(p);
	/* A port in use. */
	struct tnode b;
	struct p2p_config cb;
	tnode_config(&b, 0xb2, &cb);
	CHECK(tnode_start(&b, &cb));
	char l[32];
	snprintf(l, sizeof(l), "127.0.0.1:%u", b.port);
	tnode_config(&a, 0xb1, &c);
	c.listen = l;
	CHECK(p2p_new(&c, &p) == P2P_OK && p2p_start(p) == P2P_ERR_IO);
	p2p_free(p);
	/* Stopped twice, then used: refused, not crashed. */
	p2p_stop(b.p);
	p2p_stop(b.p);
	CHECK(p2p_send(b.p, 1, 1, (const uint8_t *)"x", 1) == P2P_ERR_STOPPED);
	CHECK(p2p_broadcast(b.p, 1, (const uint8_t *)"x", 1, 0) == P2P_ERR_STOPPED);
	CHECK(p2p_peers(b.p, NULL, 0) == 0);
	tnode_free(&b);
}

CHECK_MAIN(CASE(two_nodes), CASE(four_nodes), CASE(mutual_dial), CASE(refusals), CASE(raw_peers),
           CASE(timeouts), CASE(restart_reconnect), CASE(inbound_cap), CASE(queue_full),
           CASE(config_and_api_errors))
