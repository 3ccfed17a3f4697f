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
 *
 * Exit status: 0 success, 1 an HPKE error (its hpke_strerror on stderr), 2 bad usage or hex.
 */
#include "crypto/hpke.h"

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
	      "aead: chacha20poly1305 | aes256gcm; byte strings in hex\n",
	      stderr);
	exit(2);
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
	uint8_t skR[32];
	size_t info_len, aad_len, in_len, pt_len = 0;
	tool_hex32(skR, argv[3]);
	uint8_t *info = tool_hex(argv[4], &info_len), *aad = tool_hex(argv[5], &aad_len);
	uint8_t *in = tool_hex(argv[6], &in_len);
	uint8_t *pt = malloc(in_len + 1);
	if (!pt)
		return 2;
	enum hpke_result r = hpke_open_base(tool_aead(argv[2]), skR, info, info_len, aad, aad_len,
	                                    in, in_len, pt, &pt_len, NULL);
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
	uint8_t key[32], third[32], enc[32];
	size_t info_len, ctx_len, len = (size_t)tool_u64(argv[7], HPKE_EXPORT_MAX);
	tool_hex32(key, argv[3]);
	tool_hex32(third, argv[5]);
	uint8_t *info = tool_hex(argv[4], &info_len), *ectx = tool_hex(argv[6], &ctx_len);
	uint8_t *out = malloc(len + 1);
	if (!out)
		return 2;
	enum hpke_aead aead = tool_aead(argv[2]);
	struct hpke_ctx ctx;
	enum hpke_result r =
	    sender ? hpke_setup_base_s_derand(&ctx, enc, key, info, info_len, aead, third)
	           : hpke_setup_base_r(&ctx, third, key, info, info_len, aead);
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

static const struct tool_cmd commands[] = {
    {"keygen", cmd_keygen},     {"seal", cmd_seal},         {"open", cmd_open},
    {"export-s", cmd_export_s}, {"export-r", cmd_export_r},
};

int main(int argc, char **argv)
{
	return tool_main(argc, argv, commands, sizeof(commands) / sizeof(commands[0]), usage);
}
