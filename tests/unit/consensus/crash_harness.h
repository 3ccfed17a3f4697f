/*
 * Test scaffolding for the WAL and signer crash tests: throw-away directories, and a child
 * process that reports what it has made durable through a pipe until the parent SIGKILLs it.
 * Each report is one write() of a fixed-size message no larger than PIPE_BUF, so it reaches the
 * parent whole or not at all, whenever the kill lands.
 */
#ifndef TN_TEST_CRASH_HARNESS_H
#define TN_TEST_CRASH_HARNESS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HARNESS_DIR_MAX 256

/* Creates a fresh directory under $TMPDIR (or /tmp) in buf; aborts on failure. */
static inline const char *harness_tmpdir(char buf[HARNESS_DIR_MAX])
{
	const char *base = getenv("TMPDIR");
	int n = snprintf(buf, HARNESS_DIR_MAX, "%s/tn-wal-XXXXXX", base && *base ? base : "/tmp");
	if (n < 0 || n >= HARNESS_DIR_MAX || !mkdtemp(buf)) {
		perror("mkdtemp");
		abort();
	}
	return buf;
}

/* Removes dir and the plain files in it (the WAL and signer make no subdirectories). */
static inline void harness_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(dir);
}

/* Reports one message from the child; a failed write means the parent is gone. */
static inline void harness_report(int wfd, const void *msg, size_t len)
{
	_Static_assert(PIPE_BUF >= 512, "pipe writes of a report must be atomic");
	ssize_t w;
	do
		w = write(wfd, msg, len);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)len)
		_exit(4);
}

struct harness_reader {
	uint8_t buf[4096];
	size_t have, msg_len;
	void (*on_msg)(const uint8_t *msg, void *ctx);
	void *ctx;
};

/* Reads what is available; returns false at end of file. */
static inline bool harness_pump(int rfd, struct harness_reader *r)
{
	ssize_t n;
	do
		n = read(rfd, r->buf + r->have, sizeof(r->buf) - r->have);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return false;
	r->have += (size_t)n;
	size_t off = 0;
	for (; r->have - off >= r->msg_len; off += r->msg_len)
		r->on_msg(r->buf + off, r->ctx);
	memmove(r->buf, r->buf + off, r->have - off);
	r->have -= off;
	return true;
}

static inline int64_t harness_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Forks child(wfd, ctx), lets it run for delay_us while feeding its reports to r, SIGKILLs it,
 * reaps it and reads the reports it sent before dying. Returns the wait status. */
static inline int harness_run_and_kill(void (*child)(int wfd, void *ctx), void *ctx,
                                       int64_t delay_us, struct harness_reader *r)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		abort();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		close(fds[0]);
		child(fds[1], ctx);
		_exit(0);
	}
	close(fds[1]);
	int64_t deadline = harness_now_us() + delay_us;
	for (int64_t left; (left = deadline - harness_now_us()) > 0;) {
		struct pollfd p = {.fd = fds[0], .events = POLLIN};
		int ms = (int)((left + 999) / 1000);
		if (poll(&p, 1, ms) > 0 && !harness_pump(fds[0], r))
			break; /* the child exited by itself */
	}
	kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	while (harness_pump(fds[0], r))
		;
	close(fds[0]);
	return status;
}

/* True if the child died of our SIGKILL rather than exiting (an exit means it found a fault). */
static inline bool harness_killed(int status)
{
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

#endif
