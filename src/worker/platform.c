/* Backend plumbing shared by the sim and gramine-sgx backends (worker/platform.h). */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker/platform_int.h"

const char *platform_strerror(enum platform_result r)
{
	switch (r) {
	case PLATFORM_OK:
		return "ok";
	case PLATFORM_IO:
		return "platform file could not be read or written";
	case PLATFORM_UNAVAILABLE:
		return "backend not available on this machine";
	case PLATFORM_NOMEM:
		return "out of memory";
	}
	return "unknown platform error";
}

struct platform *platform_alloc(void)
{
	if (sodium_init() < 0) /* guarded allocation needs it; idempotent */
		return NULL;
	struct platform *pl = calloc(1, sizeof(*pl));
	if (!pl)
		return NULL;
	pl->sec = sodium_malloc(sizeof(*pl->sec));
	if (!pl->sec) {
		free(pl);
		return NULL;
	}
	sodium_memzero(pl->sec, sizeof(*pl->sec));
	return pl;
}

void platform_free(struct platform *pl)
{
	if (!pl)
		return;
	sodium_free(pl->sec);
	free(pl);
}

enum platform_result platform_read_exact(const char *path, uint8_t *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return PLATFORM_IO;
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	uint8_t extra;
	bool exact = got == n && read(fd, &extra, 1) == 0;
	close(fd);
	return exact ? PLATFORM_OK : PLATFORM_IO;
}

enum platform_result platform_write_new(const char *dir, const char *name, const uint8_t *buf,
                                        size_t n)
{
	char tmp[4096], path[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= sizeof(tmp) ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return PLATFORM_IO;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return PLATFORM_IO;
	bool ok = write(fd, buf, n) == (ssize_t)n && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	ok = ok && rename(tmp, path) == 0;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		ok = fsync(dfd) == 0 && ok;
		close(dfd);
	}
	if (!ok)
		unlink(tmp);
	return ok ? PLATFORM_OK : PLATFORM_IO;
}

enum platform_result platform_machine_secret(struct platform *pl, const char *dir, char *err,
                                             size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, PLATFORM_MACHINE_SECRET_FILE);
	uint8_t *secret = pl->sec->machine_secret;
	if (platform_read_exact(path, secret, 32) == PLATFORM_OK)
		return PLATFORM_OK;
	if (access(path, F_OK) == 0) {
		snprintf(err, errlen, "%s: not a 32-byte machine secret", path);
		return PLATFORM_IO;
	}
	randombytes_buf(secret, 32);
	if (platform_write_new(dir, PLATFORM_MACHINE_SECRET_FILE, secret, 32) != PLATFORM_OK) {
		snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
		sodium_memzero(secret, 32);
		return PLATFORM_IO;
	}
	return PLATFORM_OK;
}

void platform_report_init(struct attest_report *r, const struct platform *pl, uint8_t backend,
                          const uint8_t report_data[32], uint64_t height)
{
	r->backend = backend;
	r->height = height;
	memcpy(r->measurement, pl->measurement, 32);
	memcpy(r->report_data, report_data, 32);
}

int platform_report_encode(const struct attest_report *r, uint8_t *out, size_t cap, size_t *len)
{
	struct enc e;
	enc_init_fixed(&e, out, cap);
	attest_report_encode(&e, r);
	if (enc_finish(&e) != CODEC_OK)
		return -1;
	*len = e.len;
	return 0;
}
