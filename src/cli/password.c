#include "cli/password.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

const char *password_strerror(enum password_result r)
{
	switch (r) {
	case PASSWORD_OK:
		return "ok";
	case PASSWORD_EMPTY:
		return "empty password";
	case PASSWORD_TOO_LONG:
		return "password longer than 1024 bytes";
	case PASSWORD_MISMATCH:
		return "passwords do not match";
	case PASSWORD_NO_INPUT:
		return "no password given (stdin is empty; set " PASSWORD_ENV " or use a terminal)";
	case PASSWORD_IO:
		return "cannot read the password";
	}
	return "unknown password error";
}

/* Reads one line from fd byte by byte (so nothing past it is consumed or buffered). */
static enum password_result password_line(int fd, char out[PASSWORD_MAX + 1])
{
	size_t n = 0;
	bool any = false, too_long = false;
	for (;;) {
		char ch;
		ssize_t r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return PASSWORD_IO;
		if (r == 0)
			break;
		any = true;
		if (ch == '\n')
			break;
		if (n == PASSWORD_MAX)
			too_long = true;
		else
			out[n++] = ch;
	}
	if (n > 0 && out[n - 1] == '\r')
		n--;
	out[n] = '\0';
	if (too_long)
		return PASSWORD_TOO_LONG;
	if (!any)
		return PASSWORD_NO_INPUT;
	return n == 0 ? PASSWORD_EMPTY : PASSWORD_OK;
}

/* The terminal settings to restore if a signal ends the process while echo is off. */
static struct termios password_saved;

static void password_on_signal(int sig)
{
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &password_saved); /* async-signal-safe */
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Prompts on stderr and reads a line from the terminal on stdin with echo off. */
static enum password_result password_tty(const char *prompt, char out[PASSWORD_MAX + 1])
{
	struct termios quiet;
	struct sigaction sa = {.sa_handler = password_on_signal}, old_int, old_term;
	if (tcgetattr(STDIN_FILENO, &password_saved) != 0)
		return PASSWORD_IO;
	quiet = password_saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	fputs(prompt, stderr);
	fflush(stderr);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	enum password_result r = PASSWORD_IO;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0) {
		r = password_line(STDIN_FILENO, out);
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &password_saved);
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	fputc('\n', stderr);
	return r == PASSWORD_NO_INPUT ? PASSWORD_EMPTY : r;
}

static enum password_result password_tty_confirm(char out[PASSWORD_MAX + 1], const char *prompt)
{
	char again[PASSWORD_MAX + 1] = {0}; /* zero tail: compared in full */
	enum password_result r = password_tty(prompt, out);
	if (r == PASSWORD_OK)
		r = password_tty("Repeat password: ", again);
	if (r == PASSWORD_OK && sodium_memcmp(out, again, sizeof(again)) != 0)
		r = PASSWORD_MISMATCH;
	sodium_memzero(again, sizeof(again));
	return r;
}

enum password_result password_read(char out[PASSWORD_MAX + 1], const char *prompt, bool confirm)
{
	const char *env = getenv(PASSWORD_ENV);
	enum password_result r;
	memset(out, 0, PASSWORD_MAX + 1);
	if (env != NULL) {
		size_t n = strlen(env);
		r = n == 0 ? PASSWORD_EMPTY : n > PASSWORD_MAX ? PASSWORD_TOO_LONG : PASSWORD_OK;
		if (r == PASSWORD_OK)
			memcpy(out, env, n + 1);
	} else if (isatty(STDIN_FILENO)) {
		r = confirm ? password_tty_confirm(out, prompt) : password_tty(prompt, out);
	} else {
		r = password_line(STDIN_FILENO, out);
	}
	if (r != PASSWORD_OK)
		sodium_memzero(out, PASSWORD_MAX + 1);
	return r;
}
