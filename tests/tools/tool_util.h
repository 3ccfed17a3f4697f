/*
 * Shared by the interop tools (envelope_tool.c, hpke_tool.c): arguments in hex or decimal, hex
 * output and the table of sub-commands. A bad argument prints "<TOOL_NAME>: <why>" and exits 2.
 * Define TOOL_NAME (the program's name) and TOOL_ARG_MAX (the cap on one decoded hex argument)
 * before including this file.
 */
#ifndef TN_TESTS_TOOL_UTIL_H
#define TN_TESTS_TOOL_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "crypto/hpke.h"

static inline _Noreturn void tool_die(const char *why)
{
	fprintf(stderr, TOOL_NAME ": %s\n", why);
	exit(2);
}

/* Reports a refusal (the library's own error text): returns exit status 1. */
static inline int tool_fail(const char *why)
{
	fprintf(stderr, TOOL_NAME ": %s\n", why);
	return 1;
}

/* A hex argument of any length up to TOOL_ARG_MAX bytes (malloc'ed; "" gives length 0). */
static inline uint8_t *tool_hex(const char *s, size_t *len)
{
	uint8_t *p = NULL;
	if (!hex_decode_alloc(&p, len, s, TOOL_ARG_MAX))
		tool_die("bad hex argument");
	return p;
}

static inline void tool_hex32(uint8_t out[32], const char *s)
{
	if (!hex_decode_exact(out, 32, s))
		tool_die("expected 32 bytes of hex");
}

/* A decimal argument of at most max. */
static inline uint64_t tool_u64(const char *s, uint64_t max)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v > max)
		tool_die("bad number");
	return v;
}

static inline enum hpke_aead tool_aead(const char *s)
{
	if (strcmp(s, "chacha20poly1305") == 0)
		return HPKE_AEAD_CHACHA20POLY1305;
	if (strcmp(s, "aes256gcm") == 0)
		return HPKE_AEAD_AES256GCM;
	tool_die("aead is chacha20poly1305 or aes256gcm");
}

/* Prints p[0..n) as hex, then sep. */
static inline void tool_print_hex(const uint8_t *p, size_t n, const char *sep)
{
	char *s = malloc(2 * n + 1);
	if (!s)
		tool_die("out of memory");
	fputs(hex_encode(s, p, n), stdout);
	fputs(sep, stdout);
	free(s);
}

struct tool_cmd {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[1] is the command's name */
};

/* Runs the command argv[1] names, or usage() (which exits) when none does. */
static inline int tool_main(int argc, char **argv, const struct tool_cmd *cmds, size_t n,
                            void (*usage)(void))
{
	for (size_t i = 0; argc >= 2 && i < n; i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].run(argc, argv);
	usage();
	return 2;
}

#endif
