/*
 * envelope_tool: the C side of tests/js/envelope.test.mjs (interop of src/crypto/envelope.c and
 * kdf.c with @hpke/core and node:crypto). Byte strings are lower-case hex; numbers decimal; <aead>
 * is "chacha20poly1305" or "aes256gcm".
 *
 *   envelope_tool contract-key <master> <cluster_id> <contract_id>
 *       -> "<hpke_pk> <hpke_sk> <sign_pk>" of the contract key kdf derives
 *   envelope_tool command-seal <aead> <pk> <chain> <contract> <sender> <nonce> <pt> <ikmE>
 *       -> "<enc ‖ ct>" (the ephemeral seed ikmE stands in for the random generator)
 *   envelope_tool command-open <aead> <sk> <chain> <contract> <sender> <nonce> <env>  -> "<pt>"
 *   envelope_tool query-answer <sk> <chain> <contract> <height> <query> <answer>
 *       -> "<request_id> <account> <expiry> <request> <response>": opens the query (signed or
 *          session) and seals the answer (nonce ‖ ct ‖ tag, random nonce) under its response key
 *   envelope_tool session-seal <aead> <pk> <chain> <contract> <expiry> <session_sk> <cert>
 *                              <request> <rand>
 *       -> "<query> <request_id> <response_key>": a session query (HPKE auth mode) from the X25519
 *          session key session_sk certified by cert (136 bytes); rand (64 bytes) stands in for the
 *          generator: the request id, then the ephemeral seed ikmE
 *   envelope_tool keyshare-seal <secret> <rcpt_pk> <chain> <sender> <recipient> <seq> <purpose>
 *                               <pt>  -> "<enc ‖ ct>"
 *
 * The contract's public key, which the opening side takes with its secret, is derived here from
 * the secret.
 *
 * Exit status: 0 success, 1 refused (env_strerror on stderr), 2 bad usage or hex.
 */
#include "crypto/envelope.h"
#include "crypto/kdf.h"

#include <sodium.h>

#define TOOL_NAME    "envelope_tool"
#define TOOL_ARG_MAX (2u << 20)
#include "tool_util.h"

static void usage(void)
{
	fputs("usage: envelope_tool contract-key|command-seal|command-open|query-answer|"
	      "session-seal|keyshare-seal ... (see tests/tools/envelope_tool.c)\n",
	      stderr);
	exit(2);
}

/* A "generator" that hands out fixed bytes: makes the client side reproducible. */
struct fixed_rng {
	const uint8_t *p;
	size_t left;
};

static void fixed_fill(void *ctx, uint8_t *buf, size_t n)
{
	struct fixed_rng *r = ctx;
	if (n > r->left)
		abort();
	memcpy(buf, r->p, n);
	r->p += n;
	r->left -= n;
}

/* What the sim backend does for the enclave's random bytes. */
static void sodium_rand(void *ctx, uint8_t *buf, size_t n)
{
	(void)ctx;
	randombytes_buf(buf, n);
}

static void pk_of(uint8_t pk[32], const uint8_t sk[32])
{
	if (crypto_scalarmult_base(pk, sk) != 0)
		tool_die("bad secret key");
}

static int cmd_contract_key(int argc, char **argv)
{
	if (argc != 5)
		usage();
	uint8_t master[32], cid[32], cluster[32], contract[32], pk[32], sk[32];
	tool_hex32(master, argv[2]);
	tool_hex32(cid, argv[4]);
	kdf_cluster_key(cluster, master, (uint32_t)tool_u64(argv[3], UINT32_MAX));
	kdf_contract_key(contract, cluster, cid);
	kdf_hpke_keypair(pk, sk, contract);
	struct kdf_identity id;
	kdf_public_identity(&id, contract);
	tool_print_hex(pk, 32, " ");
	tool_print_hex(sk, 32, " ");
	tool_print_hex(id.sign_pk, 32, "\n");
	return 0;
}

static void arg_command_ctx(struct env_command_ctx *c, char **argv)
{
	tool_hex32(c->chain_id, argv[0]);
	tool_hex32(c->contract_id, argv[1]);
	tool_hex32(c->sender, argv[2]);
	c->nonce = tool_u64(argv[3], UINT64_MAX);
}

static int cmd_command_seal(int argc, char **argv)
{
	if (argc != 10)
		usage();
	uint8_t pk[32], ikmE[32];
	struct env_command_ctx c;
	tool_hex32(pk, argv[3]);
	arg_command_ctx(&c, argv + 4);
	tool_hex32(ikmE, argv[9]);
	size_t pt_len;
	uint8_t *pt = tool_hex(argv[8], &pt_len), *out = malloc(pt_len + HPKE_ENVELOPE_OVERHEAD);
	if (!out)
		return 2;
	struct fixed_rng rng = {ikmE, 32};
	enum env_result r =
	    env_command_seal(tool_aead(argv[2]), pk, &c, pt, pt_len, fixed_fill, &rng, out);
	if (r == ENV_OK)
		tool_print_hex(out, pt_len + HPKE_ENVELOPE_OVERHEAD, "\n");
	free(pt);
	free(out);
	return r == ENV_OK ? 0 : tool_fail(env_strerror(r));
}

static int cmd_command_open(int argc, char **argv)
{
	if (argc != 9)
		usage();
	uint8_t sk[32], pk[32];
	struct env_command_ctx c;
	tool_hex32(sk, argv[3]);
	pk_of(pk, sk);
	arg_command_ctx(&c, argv + 4);
	size_t env_len, pt_len = 0;
	uint8_t *env = tool_hex(argv[8], &env_len), *pt = malloc(env_len + 1);
	if (!pt)
		return 2;
	enum env_result r =
	    env_command_open(tool_aead(argv[2]), sk, pk, &c, env, env_len, pt, &pt_len);
	if (r == ENV_OK)
		tool_print_hex(pt, pt_len, "\n");
	free(env);
	free(pt);
	return r == ENV_OK ? 0 : tool_fail(env_strerror(r));
}

static int cmd_query_answer(int argc, char **argv)
{
	if (argc != 8)
		usage();
	uint8_t sk[32], pk[32], chain[32], contract[32];
	tool_hex32(sk, argv[2]);
	pk_of(pk, sk);
	tool_hex32(chain, argv[3]);
	tool_hex32(contract, argv[4]);
	uint64_t height = tool_u64(argv[5], UINT64_MAX);
	size_t len, ans_len;
	uint8_t *msg = tool_hex(argv[6], &len), *ans = tool_hex(argv[7], &ans_len);
	uint8_t *buf = malloc(len + 1), *resp = malloc(ans_len + ENV_RESPONSE_OVERHEAD);
	if (!buf || !resp)
		return 2;
	struct env_query q;
	enum env_result r =
	    env_query_open(sk, pk, chain, contract, height, msg, len, buf, &q, NULL);
	if (r == ENV_OK)
		r = env_response_seal(q.aead, q.response_key, q.request_id, ans, ans_len,
		                      sodium_rand, NULL, resp);
	if (r == ENV_OK) {
		tool_print_hex(q.request_id, 32, " ");
		tool_print_hex(q.account, 32, " ");
		printf("%llu ", (unsigned long long)q.expiry);
		tool_print_hex(q.request, q.request_len, " ");
		tool_print_hex(resp, ans_len + ENV_RESPONSE_OVERHEAD, "\n");
	}
	env_query_release(&q);
	free(msg);
	free(ans);
	free(buf);
	free(resp);
	return r == ENV_OK ? 0 : tool_fail(env_strerror(r));
}

static int cmd_session_seal(int argc, char **argv)
{
	if (argc != 11)
		usage();
	uint8_t pk[32], chain[32], contract[32], ssk[32], cert_raw[ENV_CERT_LEN], rand[64];
	tool_hex32(pk, argv[3]);
	tool_hex32(chain, argv[4]);
	tool_hex32(contract, argv[5]);
	uint64_t expiry = tool_u64(argv[6], UINT64_MAX);
	tool_hex32(ssk, argv[7]);
	if (!hex_decode_exact(cert_raw, sizeof(cert_raw), argv[8]) ||
	    !hex_decode_exact(rand, sizeof(rand), argv[10]))
		tool_die("cert must be 136 bytes, rand 64");
	struct env_cert cert;
	struct dec d;
	dec_init(&d, cert_raw, sizeof(cert_raw));
	env_cert_decode(&d, &cert, ENV_CERT_X25519);
	size_t req_len, len = 0;
	uint8_t *req = tool_hex(argv[9], &req_len);
	uint8_t *out = malloc(env_query_len(req_len, ENV_AUTH_SESSION_HPKE));
	if (!out)
		return 2;
	struct env_signer s = {ssk, &cert};
	struct fixed_rng rng = {rand, sizeof(rand)};
	struct env_query_client k;
	enum env_result r = env_query_seal(tool_aead(argv[2]), pk, chain, contract, expiry, &s, req,
	                                   req_len, fixed_fill, &rng, out, &len, &k);
	if (r == ENV_OK) {
		tool_print_hex(out, len, " ");
		tool_print_hex(k.request_id, 32, " ");
		tool_print_hex(k.response_key, 32, "\n");
		env_query_client_release(&k);
	}
	free(req);
	free(out);
	return r == ENV_OK ? 0 : tool_fail(env_strerror(r));
}

static int cmd_keyshare_seal(int argc, char **argv)
{
	if (argc != 10)
		usage();
	uint8_t secret[32], pk[32];
	struct env_keyshare_ctx c;
	tool_hex32(secret, argv[2]);
	tool_hex32(pk, argv[3]);
	tool_hex32(c.chain_id, argv[4]);
	tool_hex32(c.sender, argv[5]);
	tool_hex32(c.recipient, argv[6]);
	c.seq = tool_u64(argv[7], UINT64_MAX);
	c.purpose = argv[8];
	size_t pt_len;
	uint8_t *pt = tool_hex(argv[9], &pt_len), *out = malloc(pt_len + HPKE_ENVELOPE_OVERHEAD);
	if (!out)
		return 2;
	enum env_result r = env_keyshare_seal(secret, pk, &c, pt, pt_len, out);
	if (r == ENV_OK)
		tool_print_hex(out, pt_len + HPKE_ENVELOPE_OVERHEAD, "\n");
	free(pt);
	free(out);
	return r == ENV_OK ? 0 : tool_fail(env_strerror(r));
}

static const struct tool_cmd commands[] = {
    {"contract-key", cmd_contract_key}, {"command-seal", cmd_command_seal},
    {"command-open", cmd_command_open}, {"query-answer", cmd_query_answer},
    {"session-seal", cmd_session_seal}, {"keyshare-seal", cmd_keyshare_seal},
};

int main(int argc, char **argv)
{
	return tool_main(argc, argv, commands, sizeof(commands) / sizeof(commands[0]), usage);
}
