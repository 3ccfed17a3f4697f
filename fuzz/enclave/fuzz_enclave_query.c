/* enclave_query as an anonymous HTTP client drives it. One enclave (built once) hosts the counter
 * contract with some state, and holds one valid signed query and one valid session query (HPKE
 * auth mode, through the enclave's session cache). The first input byte picks a mode:
 *
 *   'V'  the valid query itself: answered, and the answer opens for the asker
 *   'M'  the valid query with bytes changed (then triples of u16 position, xor value): refused
 *   'S'  the valid session query: answered, and the answer opens for the asker
 *   'T'  the session query with bytes changed as for 'M': refused, however warm the cache
 *   else the rest of the input as a query envelope: any result, never a crash; an answer that
 *        is not refused is sealed (at least nonce + tag)
 *
 * After every input the enclave's checkpoint plaintext is unchanged (queries never write) - checked
 * on every 64th input to keep the rate up. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../tests/contracts/counter.c"
#include "../../tests/contracts/harness.h"
#include "crypto/seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fz {
	struct harness_world w;
	uint8_t id[32], pk[32];
	uint8_t q[1024], sq[1024];
	size_t qn, sqn;
	struct env_query_client k, sk;
	uint8_t *state;
	size_t state_len;
	uint64_t runs;
} * fz;

/* The checkpoint plaintext (malloc'ed) of the fuzz enclave. */
static uint8_t *fz_state(size_t *n)
{
	struct enc ck;
	enc_init(&ck, 1 << 22);
	struct enclave_status st;
	enclave_status(fz->w.e, &st);
	uint8_t *pt = NULL;
	if (enclave_checkpoint(fz->w.e, &ck) != ENCLAVE_OK || !(pt = malloc(ck.len)) ||
	    seal_unwrap(fz->w.plat.seal_key, st.chain_id, fz->w.plat.measurement, "checkpoint",
	                ck.buf, ck.len, pt, n) != SEAL_OK)
		abort();
	enc_release(&ck);
	return pt;
}

static void fz_init(void)
{
	fz = calloc(1, sizeof(*fz));
	struct enclave_config cfg = harness_config(1 << 20);
	fz->w.plat.quiet = 1;
	harness_world_init(&fz->w, &cfg);
	uint8_t spk[32];
	harness_deploy_counter(&fz->w, 0, 1, fz->id, fz->pk, spk);
	harness_command(&fz->w.chain, &fz->w.plat, fz->pk, fz->id, "alice", 1, "add 5");
	harness_world_block(&fz->w);
	fz->qn = harness_seal_query(&fz->w.plat, &fz->w.chain, fz->pk, fz->id, "alice",
	                            fz->w.chain.height + 50, "get mine", fz->q, &fz->k);
	uint8_t seed[32], xpk[32], xsk[32];
	memset(seed, 0x53, sizeof(seed));
	hpke_keypair_from_seed(xpk, xsk, seed);
	fz->sqn = harness_seal_session_query(&fz->w.plat, &fz->w.chain, fz->pk, fz->id, "alice",
	                                     xpk, xsk, fz->w.chain.height + 50,
	                                     fz->w.chain.height + 50, "get mine", fz->sq, &fz->sk);
	fz->state = fz_state(&fz->state_len);
}

static enum enclave_result fz_query(const uint8_t *q, size_t n, struct enc *out)
{
	enc_init(out, 1 << 16);
	enum enclave_result r = enclave_query(fz->w.e, q, n, out);
	if (r != ENCLAVE_OK && out->len != 0)
		abort(); /* a refusal writes nothing */
	if (r == ENCLAVE_OK && out->len < ENV_RESPONSE_OVERHEAD)
		abort();
	return r;
}

/* The valid query vq[0..n) with its client keys k: answered, and the answer opens. */
static void fz_valid(const uint8_t *vq, size_t n, const struct env_query_client *k)
{
	struct enc out;
	uint32_t res;
	uint8_t body[64];
	size_t len;
	if (fz_query(vq, n, &out) != ENCLAVE_OK ||
	    !harness_open_answer(k, out.buf, out.len, &res, body, &len) || res != CONTRACT_OK ||
	    len != 8 || body[0] != 5)
		abort();
	enc_release(&out);
}

static void fz_mutated(const uint8_t *vq, size_t n, const uint8_t *data, size_t size)
{
	uint8_t q[sizeof(fz->q)];
	memcpy(q, vq, n);
	bool changed = false;
	for (size_t i = 0; i + 3 <= size; i += 3) {
		size_t at = ((size_t)data[i] | (size_t)data[i + 1] << 8) % n;
		q[at] ^= data[i + 2];
	}
	changed = memcmp(q, vq, n) != 0;
	struct enc out;
	enum enclave_result r = fz_query(q, n, &out);
	if (changed && r == ENCLAVE_OK)
		abort(); /* a changed byte slipped through */
	enc_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!fz)
		fz_init();
	if (size >= 1 && data[0] == 'V')
		fz_valid(fz->q, fz->qn, &fz->k);
	else if (size >= 1 && data[0] == 'M')
		fz_mutated(fz->q, fz->qn, data + 1, size - 1);
	else if (size >= 1 && data[0] == 'S')
		fz_valid(fz->sq, fz->sqn, &fz->sk);
	else if (size >= 1 && data[0] == 'T')
		fz_mutated(fz->sq, fz->sqn, data + 1, size - 1);
	else {
		struct enc out;
		(void)fz_query(size ? data + 1 : data, size ? size - 1 : 0, &out);
		enc_release(&out);
	}
	if (fz->runs++ % 64 == 0) {
		size_t n;
		uint8_t *now = fz_state(&n);
		if (n != fz->state_len || memcmp(now, fz->state, n) != 0)
			abort();
		free(now);
	}
	return 0;
}
