/*
 * SS58 command-line helper for tests/js/ss58.test.mjs:
 *   ss58_tool encode <prefix> <hex32>   prints the address
 *   ss58_tool decode <address>          prints "<prefix> <hex32>"
 *   ss58_tool batch                     reads lines "e <prefix> <hex32>" or "d <address>" from
 *                                       stdin; prints one line each: "ok <result>" or "err <why>"
 * encode/decode exit 0 on success, 1 with the reason on stderr when the input is rejected; any
 * mode exits 2 on misuse.
 */
#include "base/hex.h"
#include "base/ss58.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_LEN 256

/* Writes the result text to out (cap LINE_MAX_LEN); returns NULL on success or the reason. */
static const char *do_encode(char *out, const char *prefix_s, const char *hex)
{
	char *end;
	unsigned long prefix = strtoul(prefix_s, &end, 10);
	uint8_t pk[SS58_PK_LEN];
	if (*prefix_s == '\0' || *end != '\0' || prefix > UINT16_MAX ||
	    !ss58_prefix_valid((uint16_t)prefix))
		return "bad prefix";
	if (!hex_decode_exact(pk, sizeof(pk), hex))
		return "bad key";
	ss58_encode(out, SS58_ADDR_MAX, (uint16_t)prefix, pk);
	return NULL;
}

static const char *do_decode(char *out, const char *addr)
{
	uint8_t pk[SS58_PK_LEN];
	uint16_t prefix;
	char hex[2 * SS58_PK_LEN + 1];
	enum ss58_result r = ss58_decode(pk, &prefix, addr);
	if (r != SS58_OK)
		return ss58_strerror(r);
	snprintf(out, LINE_MAX_LEN, "%u %s", (unsigned)prefix, hex_encode(hex, pk, sizeof(pk)));
	return NULL;
}

static int report(const char *err, const char *out)
{
	if (err) {
		fprintf(stderr, "ss58_tool: %s\n", err);
		return 1;
	}
	printf("%s\n", out);
	return 0;
}

static int batch(void)
{
	char line[LINE_MAX_LEN], out[LINE_MAX_LEN], a[LINE_MAX_LEN], b[LINE_MAX_LEN];
	while (fgets(line, sizeof(line), stdin)) {
		const char *err;
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "e %255s %255s", a, b) == 2)
			err = do_encode(out, a, b);
		else if (strncmp(line, "d ", 2) == 0)
			err = do_decode(out, line + 2);
		else
			return 2;
		if (err)
			printf("err %s\n", err);
		else
			printf("ok %s\n", out);
	}
	return 0;
}

int main(int argc, char **argv)
{
	char out[LINE_MAX_LEN];
	if (argc == 4 && strcmp(argv[1], "encode") == 0)
		return report(do_encode(out, argv[2], argv[3]), out);
	if (argc == 3 && strcmp(argv[1], "decode") == 0)
		return report(do_decode(out, argv[2]), out);
	if (argc == 2 && strcmp(argv[1], "batch") == 0)
		return batch();
	fprintf(stderr, "usage: ss58_tool encode <prefix> <hex32> | decode <address> | batch\n");
	return 2;
}
