/*
 * Reading a keystore password for the CLI. Sources, first match wins:
 *   1. the environment variable TENEBRA_PASSWORD (for scripts; visible to processes of the same
 *      user through /proc, so prefer 2 or 3 on shared machines);
 *   2. the terminal, when stdin is a TTY: a prompt on stderr and no echo; with confirm, asked
 * twice;
 *   3. otherwise one line from stdin (the newline, and a "\r" before it, is not part of it).
 * Input is read with read(2), never through stdio buffers, so no copy is left behind; the caller
 * wipes the output buffer with sodium_memzero on every path.
 */
#ifndef TN_CLI_PASSWORD_H
#define TN_CLI_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_ENV "TENEBRA_PASSWORD"
#define PASSWORD_MAX 1024 /* bytes, without the NUL */

enum password_result {
	PASSWORD_OK = 0,
	PASSWORD_EMPTY,    /* an empty password */
	PASSWORD_TOO_LONG, /* more than PASSWORD_MAX bytes */
	PASSWORD_MISMATCH, /* the two entries differ (confirm) */
	PASSWORD_NO_INPUT, /* stdin ended before any line */
	PASSWORD_IO,       /* reading stdin or setting the terminal failed */
};

/* A static English message for r; never NULL. */
const char *password_strerror(enum password_result r);

/* Reads a password into out (NUL-terminated; holds PASSWORD_MAX + 1 bytes). prompt is shown on a
 * TTY only ("Password for key 'x': "); confirm asks a second time on a TTY. On failure out is
 * wiped. */
enum password_result password_read(char out[PASSWORD_MAX + 1], const char *prompt, bool confirm);

#endif
