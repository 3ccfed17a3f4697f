#include "consensus/signer.h"

#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/codec.h"
#include "base/log.h"

/* signer.state, docs/protocol/wal.md: magic ‖ pk ‖ height u64 ‖ round u32 ‖ step u8 ‖
 * uleb len ‖ sign bytes ‖ sig ‖ crc32c u32 (over everything before it). */
#define STATE_MAGIC     "TNSIGNv1"
#define STATE_MAGIC_LEN 8
#define STATE_MAX                                                                                  \
	(STATE_MAGIC_LEN + SIG_PK_LEN + 8 + 4 + 1 + 2 + SIGNER_MAX_SIGN_BYTES + SIG_LEN + 4)

struct signer {
	int dirfd, lockfd;
	uint8_t *sk; /* sodium_malloc'd; no-access except inside signer_sign */
	uint8_t pk[SIG_PK_LEN];
	struct signer_last last;
	uint8_t last_msg[SIGNER_MAX_SIGN_BYTES];
	size_t last_len;
	uint8_t last_sig[SIG_LEN];
	bool failed;
	struct wal_fault *fault;
};

const char *signer_strerror(enum signer_result r)
{
	static const char *const msg[] = {
	    [SIGNER_OK] = "ok",
	    [SIGNER_DOUBLE_SIGN] = "refused: another message was signed at this height/round/step",
	    [SIGNER_REGRESSION] = "refused: a later height, round or step was already signed",
	    [SIGNER_IO] = "i/o error on the signer state",
	    [SIGNER_FAILED] = "an earlier write of the signer state failed; restart",
	    [SIGNER_LOCKED] = "signer directory in use by another process",
	    [SIGNER_CORRUPT] = "signer state file is malformed",
	    [SIGNER_WRONG_KEY] = "signer state file belongs to another key",
	    [SIGNER_NOMEM] = "out of memory",
	};
	if ((size_t)r >= sizeof(msg) / sizeof(msg[0]) || !msg[r])
		return "unknown signer error";
	return msg[r];
}

static size_t encode_state(uint8_t out[STATE_MAX], const struct signer *s,
                           const struct signer_last *l, const uint8_t *msg, size_t len,
                           const uint8_t sig[SIG_LEN])
{
	struct enc e;
	enc_init_fixed(&e, out, STATE_MAX);
	enc_raw(&e, STATE_MAGIC, STATE_MAGIC_LEN);
	enc_raw(&e, s->pk, SIG_PK_LEN);
	enc_u64(&e, l->height);
	enc_u32(&e, l->round);
	enc_u8(&e, (uint8_t)l->step);
	enc_bytes(&e, msg, len);
	enc_raw(&e, sig, SIG_LEN);
	enc_u32(&e, wal_crc32c(out, e.len));
	assert(enc_finish(&e) == CODEC_OK);
	return e.len;
}

static enum signer_result decode_state(struct signer *s, const uint8_t *b, size_t n)
{
	struct dec d;
	uint8_t pk[SIG_PK_LEN];
	dec_init(&d, b, n);
	const uint8_t *magic = dec_view(&d, STATE_MAGIC_LEN);
	dec_raw(&d, pk, sizeof(pk));
	s->last.height = dec_u64(&d);
	s->last.round = dec_u32(&d);
	uint8_t step = dec_u8(&d);
	const uint8_t *msg = dec_bytes(&d, &s->last_len, SIGNER_MAX_SIGN_BYTES);
	dec_raw(&d, s->last_sig, SIG_LEN);
	size_t covered = d.pos;
	uint32_t crc = dec_u32(&d);
	if (dec_finish(&d) != CODEC_OK || memcmp(magic, STATE_MAGIC, STATE_MAGIC_LEN) != 0 ||
	    step < SIGNER_PROPOSAL || step > SIGNER_PRECOMMIT || crc != wal_crc32c(b, covered))
		return SIGNER_CORRUPT;
	if (memcmp(pk, s->pk, SIG_PK_LEN) != 0)
		return SIGNER_WRONG_KEY;
	if (s->last_len)
		memcpy(s->last_msg, msg, s->last_len);
	s->last.step = (enum signer_step)step;
	s->last.any = true;
	return SIGNER_OK;
}

static enum signer_result load_state(struct signer *s)
{
	uint8_t buf[STATE_MAX];
	size_t n = 0;
	switch (wal_file_read(s->dirfd, SIGNER_STATE_FILE, buf, sizeof(buf), &n)) {
	case WAL_OK:
		break;
	case WAL_NOT_FOUND:
		return SIGNER_OK; /* nothing signed yet */
	case WAL_TOO_LARGE:
		return SIGNER_CORRUPT;
	default:
		return SIGNER_IO;
	}
	return decode_state(s, buf, n);
}

/* The key in guarded memory, readable only while signing. */
static bool guard_key(struct signer *s, const uint8_t sk[SIG_SK_LEN])
{
	if (sodium_init() < 0)
		return false;
	s->sk = sodium_malloc(SIG_SK_LEN);
	if (!s->sk)
		return false;
	memcpy(s->sk, sk, SIG_SK_LEN);
	memcpy(s->pk, sk + SIG_SEED_LEN, SIG_PK_LEN);
	return sodium_mprotect_noaccess(s->sk) == 0;
}

enum signer_result signer_open(struct signer **out, const char *dir, const uint8_t sk[SIG_SK_LEN],
                               struct wal_fault *fault)
{
	assert(out && dir && sk);
	*out = NULL;
	struct signer *s = calloc(1, sizeof(*s));
	if (!s)
		return SIGNER_NOMEM;
	s->dirfd = s->lockfd = -1;
	s->fault = fault;
	enum signer_result r = SIGNER_NOMEM;
	if (!guard_key(s, sk))
		goto fail;
	switch (wal_dir_open(dir, SIGNER_LOCK_FILE, &s->dirfd, &s->lockfd)) {
	case WAL_OK:
		break;
	case WAL_LOCKED:
		r = SIGNER_LOCKED;
		goto fail;
	default:
		r = SIGNER_IO;
		goto fail;
	}
	r = load_state(s);
	if (r != SIGNER_OK) {
		log_error("signer", "cannot load %s/%s: %s", dir, SIGNER_STATE_FILE,
		          signer_strerror(r));
		goto fail;
	}
	*out = s;
	return SIGNER_OK;
fail:
	signer_free(s);
	return r;
}

void signer_free(struct signer *s)
{
	if (!s)
		return;
	sodium_free(s->sk); /* unprotects, wipes and unmaps; NULL ok */
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->lockfd >= 0)
		close(s->lockfd);
	free(s);
}

/* <0, 0, >0 as (h, r, step) is below, equal to or above the last signed position. */
static int compare_last(const struct signer_last *l, uint64_t h, uint32_t r, enum signer_step st)
{
	if (!l->any)
		return 1;
	if (h != l->height)
		return h > l->height ? 1 : -1;
	if (r != l->round)
		return r > l->round ? 1 : -1;
	if (st != l->step)
		return st > l->step ? 1 : -1;
	return 0;
}

enum signer_result signer_sign(struct signer *s, enum signer_step step, uint64_t height,
                               uint32_t round, const uint8_t *msg, size_t len, uint8_t sig[SIG_LEN])
{
	assert(s && sig && (msg || len == 0) && len <= SIGNER_MAX_SIGN_BYTES);
	assert(step >= SIGNER_PROPOSAL && step <= SIGNER_PRECOMMIT);
	if (s->failed)
		return SIGNER_FAILED;
	int c = compare_last(&s->last, height, round, step);
	if (c < 0)
		return SIGNER_REGRESSION;
	if (c == 0) {
		if (len != s->last_len || (len && memcmp(msg, s->last_msg, len) != 0))
			return SIGNER_DOUBLE_SIGN;
		memcpy(sig, s->last_sig, SIG_LEN);
		return SIGNER_OK;
	}
	uint8_t fresh[SIG_LEN], state[STATE_MAX];
	int prot = sodium_mprotect_readonly(s->sk);
	assert(prot == 0);
	sig_sign(fresh, msg, len, s->sk);
	prot = sodium_mprotect_noaccess(s->sk);
	assert(prot == 0);
	(void)prot;
	struct signer_last next = {.any = true, .height = height, .round = round, .step = step};
	size_t n = encode_state(state, s, &next, msg, len, fresh);
	if (wal_file_replace(s->dirfd, SIGNER_STATE_FILE, state, n, s->fault) != WAL_OK) {
		/* Unknown whether the disk holds the old or the new state: stop signing. */
		log_error("signer",
		          "cannot persist the signer state; refusing to sign until restart");
		s->failed = true;
		return SIGNER_IO;
	}
	s->last = next;
	if (len)
		memcpy(s->last_msg, msg, len);
	s->last_len = len;
	memcpy(s->last_sig, fresh, SIG_LEN);
	memcpy(sig, fresh, SIG_LEN);
	return SIGNER_OK;
}

void signer_last(const struct signer *s, struct signer_last *out)
{
	*out = s->last;
}

void signer_pubkey(const struct signer *s, uint8_t pk[SIG_PK_LEN])
{
	memcpy(pk, s->pk, SIG_PK_LEN);
}
