/*
 * hpke_tool: the C side of tests/js/hpke.test.mjs (interop with @hpke/core). Every byte string is
 * lower-case hex on the command line and on stdout; an empty string is "". <aead> is
 * "chacha20poly1305" or "aes256gcm".
 *
 *   hpke_tool keygen [ikm]                                  -> "<pk> <sk>" (DeriveKeyPair(ikm))
 *   hpke_tool seal <aead> <pkR> <info> <aad> <pt> [ikmE]    -> "<enc ‖ ct>"
 *   hpke_tool open <aead> <skR> <info> <aad> <enc ‖ ct>     -> "<pt>"
 *   hpke_tool export-s <aead> <pkR> <info> <ikmE> <ctx> <L> -> "<enc> <secret>"
 *   hpke_tool export-r <aead> <skR> <info> <enc> <ctx> <L>  -> "<secret>"
 *   hpke_tool seal-auth <aead> <pkR> <skS> <info> <aad> <pt> <ikmE> [ctx]
 *                                                   -> "<enc ‖ ct> <Export(ctx, 32)>" (mode_auth)
 *   hpke_tool open-auth <aead> <skR> <pkS> <info> <aad> <enc ‖ ct> [ctx]
 *                                                   -> "<pt> <Export(ctx, 32)>", opened once
 *                                                      with SetupAuthR and once with the cached
 *                                                      static DH (both must agree)
 *
 * The recipient's public key, which the receiver side takes with its secret, is derived here
 * from skR.
 *
 * Exit status: 0 success, 1 an HPKE error (its hpke_strerror on stderr), 2 bad usage or hex.
 */
#include "crypto/hpke.h"

#include <sodium.h>

#define TOOL_NAME    "hpke_tool"
#define TOOL_ARG_MAX (1u << 20)
#include "tool_util.h"

static void usage(void)
{
	fputs("usage: hpke_tool keygen [ikm]\n"
	      "       hpke_tool seal <aead> <pkR> <info> <aad> <pt> [ikmE]\n"
	      "       hpke_tool open <aead> <skR> <info> <aad> <enc||ct>\n"
	      "       hpke_tool export-s <aead> <pkR> <info> <ikmE> <ctx> <L>\n"
	      "       hpke_tool export-r <aead> <skR> <info> <enc> <ctx> <L>\n"
	      "       hpke_tool seal-auth <aead> <pkR> <skS> <info> <aad> <pt> <ikmE> [ctx]\n"
	      "       hpke_tool open-auth <aead> <skR> <pkS> <info> <aad> <enc||ct> [ctx]\n"
	      "aead: chacha20poly1305 | aes256gcm; byte strings in hex\n",
	      stderr);
	exit(2);
}

static void pk_of(uint8_t pk[32], const uint8_t sk[32])
{
	if (crypto_scalarmult_base(pk, sk) != 0)
		tool_die("bad secret key");
}

static int cmd_keygen(int argc, char **argv)
{
	uint8_t ikm[32], pk[32], sk[32];
	if (argc == 3) {
		tool_hex32(ikm, argv[2]);
		hpke_keypair_from_seed(pk, sk, ikm);
	} else if (argc == 2) {
		hpke_keygen(pk, sk);
	} else {
		usage();
	}
	tool_print_hex(pk, 32, " ");
	tool_print_hex(sk, 32, "\n");
	return 0;
}

static int cmd_seal(int argc, char **argv)
{
	if (argc != 7 && argc != 8)
		usage();
	uint8_t pkR[32], ikmE[32];
	size_t info_len, aad_len, pt_len;
	tool_hex32(pkR, argv[3]);
	uint8_t *info = tool_hex(argv[4], &info_len), *aad = tool_hex(argv[5], &aad_len);
	uint8_t *pt = tool_hex(argv[6], &pt_len);
	uint8_t *out = malloc(pt_len + HPKE_ENVELOPE_OVERHEAD);
	if (!out)
		return 2;
	enum hpke_aead aead = tool_aead(argv[2]);
	enum hpke_result r;
	if (argc == 8) {
		tool_hex32(ikmE, argv[7]);
		r = hpke_seal_base_derand(aead, pkR, info, info_len, aad, aad_len, pt, pt_len, ikmE,
		                          out, NULL);
	} else {
		r = hpke_seal_base(aead, pkR, info, info_len, aad, aad_len, pt, pt_len, out, NULL);
	}
	if (r == HPKE_OK)
		tool_print_hex(out, pt_len + HPKE_ENVELOPE_OVERHEAD, "\n");
	free(info);
	free(aad);
	free(pt);
	free(out);
	return r == HPKE_OK ? 0 : tool_fail(hpke_strerror(r));
}

static int cmd_open(int argc, char **argv)
{
	if (argc != 7)
		usage();
	uint8_t skR[32], pkR[32];
	size_t info_len, aad_len, in_len, pt_len = 0;
	tool_hex32(skR, argv[3]);
	pk_of(pkR, skR);
	uint8_t *info = tool_hex(argv[4], &info_len), *aad = tool_hex(argv[5], &aad_len);
	uint8_t *in = tool_hex(argv[6], &in_len);
	uint8_t *pt = malloc(in_len + 1);
	if (!pt)
		return 2;
	enum hpke_result r = hpke_open_base(tool_aead(argv[2]), skR, pkR, info, info_len, aad,
	                                    aad_len, in, in_len, pt, &pt_len, NULL);
	if (r == HPKE_OK)
		tool_print_hex(pt, pt_len, "\n");
	free(info);
	free(aad);
	free(in);
	free(pt);
	return r == HPKE_OK ? 0 : tool_fail(hpke_strerror(r));
}

/* export-s and export-r: set up a context (sender from ikmE, or receiver from enc) and export. */
static int cmd_export(int argc, char **argv, int sender)
{
	if (argc != 8)
		usage();
	uint8_t key[32], third[32], enc[32], pk[32];
	size_t info_len, ctx_len, len = (size_t)tool_u64(argv[7], HPKE_EXPORT_MAX);
	tool_hex32(key, argv[3]);
	tool_hex32(third, argv[5]);
	uint8_t *info = tool_hex(argv[4], &info_len), *ectx = tool_hex(argv[6], &ctx_len);
	uint8_t *out = malloc(len + 1);
	if (!out)
		return 2;
	enum hpke_aead aead = tool_aead(argv[2]);
	if (!sender)
		pk_of(pk, key);
	struct hpke_ctx ctx;
	enum hpke_result r =
	    sender ? hpke_setup_base_s_derand(&ctx, enc, key, info, info_len, aead, third)
	           : hpke_setup_base_r(&ctx, third, key, pk, info, info_len, aead);
	if (r == HPKE_OK)
		r = hpke_export(&ctx, ectx, ctx_len, out, len);
	if (r == HPKE_OK && sender)
		tool_print_hex(enc, 32, " ");
	if (r == HPKE_OK)
		tool_print_hex(out, len, "\n");
	hpke_ctx_release(&ctx);
	free(info);
	free(ectx);
	free(out);
	return r == HPKE_OK ? 0 : tool_fail(hpke_strerror(r));
}

static int cmd_export_s(int argc, char **argv)
{
	return cmd_export(argc, argv, 1);
}

static int cmd_export_r(int argc, char **argv)
{
	return cmd_export(argc, argv, 0);
}

/* Prints hex(pt) (if pt) and Export(ectx, 32) of ctx. */
static void print_export(struct hpke_ctx *ctx, const uint8_t *pt, size_t pt_len,
                         const uint8_t *ectx, size_t ectx_len)
{
	uint8_t out[32];
	if (hpke_export(ctx, ectx, ectx_len, out, 32) != HPKE_OK)
		tool_die("export");
	tool_print_hex(pt, pt_len, " ");
	tool_print_hex(out, 32, "\n");
}

static int cmd_seal_auth(int argc, char **argv)
{
	if (argc != 9 && argc != 10)
		usage();
	uint8_t pkR[32], skS[32], pkS[32], ikmE[32];
	size_t info_len, aad_len, pt_len, ectx_len = 0;
	tool_hex32(pkR, argv[3]);
	tool_hex32(skS, argv[4]);
	pk_of(pkS, skS);
	tool_hex32(ikmE, argv[8]);
	uint8_t *info = tool_hex(argv[5], &info_len), *aad = tool_hex(argv[6], &aad_len);
	uint8_t *pt = tool_hex(argv[7], &pt_len),
	        *ectx = tool_hex(argc == 10 ? argv[9] : "", &ectx_len);
	uint8_t *out = malloc(pt_len + HPKE_ENVELOPE_OVERHEAD);
	if (!out)
		return 2;
	struct hpke_ctx ctx;
	enum hpke_result r = hpke_setup_auth_s_derand(&ctx, out, pkR, skS, pkS, info, info_len,
	                                              tool_aead(argv[2]), ikmE);
	if (r == HPKE_OK)
		r = hpke_seal(&ctx, aad, aad_len, pt, pt_len, out + HPKE_ENC_LEN);
	if (r == HPKE_OK)
		print_export(&ctx, out, pt_len + HPKE_ENVELOPE_OVERHEAD, ectx, ectx_len);
	hpke_ctx_release(&ctx);
	free(info);
	free(aad);
	free(pt);
	free(ectx);
	free(out);
	return r == HPKE_OK ? 0 : tool_fail(hpke_strerror(r));
}

/* Opens with SetupAuthR (cached == 0) or with the static DH computed first (cached == 1). */
static enum hpke_result open_auth(struct hpke_ctx *ctx, int cached, enum hpke_aead aead,
                                  const uint8_t *skR, const uint8_t *pkR, const uint8_t *pkS,
                                  const uint8_t *info, size_t info_len, const uint8_t *aad,
                                  size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *pt)
{
	if (in_len < HPKE_ENVELOPE_OVERHEAD)
		return HPKE_ERR_TRUNCATED;
	uint8_t dh[32];
	enum hpke_result r = cached
	                         ? hpke_auth_static_dh(dh, skR, pkS)
	                         : hpke_setup_auth_r(ctx, in, skR, pkR, pkS, info, info_len, aead);
	if (r == HPKE_OK && cached)
		r = hpke_setup_auth_r_cached(ctx, in, skR, pkR, pkS, dh, info, info_len, aead);
	if (r == HPKE_OK)
		r = hpke_open(ctx, aad, aad_len, in + HPKE_ENC_LEN, in_len - HPKE_ENC_LEN, pt);
	sodium_memzero(dh, sizeof(dh));
	return r;
}

static int cmd_open_auth(int argc, char **argv)
{
	if (argc != 8 && argc != 9)
		usage();
	uint8_t skR[32], pkR[32], pkS[32];
	size_t info_len, aad_len, in_len, ectx_len = 0;
	tool_hex32(skR, argv[3]);
	pk_of(pkR, skR);
	tool_hex32(pkS, argv[4]);
	uint8_t *info = tool_hex(argv[5], &info_len), *aad = tool_hex(argv[6], &aad_len);
	uint8_t *in = tool_hex(argv[7], &in_len),
	        *ectx = tool_hex(argc == 9 ? argv[8] : "", &ectx_len);
	uint8_t *pt = malloc(in_len + 1), *pt2 = malloc(in_len + 1);
	if (!pt || !pt2)
		return 2;
	enum hpke_aead aead = tool_aead(argv[2]);
	struct hpke_ctx a, b;
	enum hpke_result r =
	    open_auth(&a, 0, aead, skR, pkR, pkS, info, info_len, aad, aad_len, in, in_len, pt);
	enum hpke_result r2 =
	    open_auth(&b, 1, aead, skR, pkR, pkS, info, info_len, aad, aad_len, in, in_len, pt2);
	if (r != r2 || (r == HPKE_OK && memcmp(pt, pt2, in_len - HPKE_ENVELOPE_OVERHEAD) != 0))
		tool_die("SetupAuthR and the cached static DH disagree");
	if (r == HPKE_OK)
		print_export(&a, pt, in_len - HPKE_ENVELOPE_OVERHEAD, ectx, ectx_len);
	hpke_ctx_release(&a);
	hpke_ctx_release(&b);
	free(info);
	free(aad);
	free(in);
	free(ectx);
	free(pt);
	free(pt2);
	return r == HPKE_OK ? 0 : tool_fail(hpke_strerror(r));
}

static const struct tool_cmd commands[] = {
    {"keygen", cmd_keygen},       {"seal", cmd_seal},         {"open", cmd_open},
    {"export-s", cmd_export_s},   {"export-r", cmd_export_r}, {"seal-auth", cmd_seal_auth},
    {"open-auth", cmd_open_auth},
};

int main(int argc, char **argv)
{
	return tool_main(argc, argv, commands, sizeof(commands) / sizeof(commands[0]), usage);
}
