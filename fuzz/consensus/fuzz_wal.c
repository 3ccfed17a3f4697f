/*
 * Fuzzes WAL recovery: the input becomes the contents of a log file, which is opened (cutting
 * any bad tail), replayed, reopened and appended to. Input: u8 mode ‖ rest.
 *   mode & 1 = 0: rest is the file, byte for byte.
 *   mode & 1 = 1: rest is a list of chunks type u8 ‖ len u8 ‖ data [len] (a type-0 chunk is a
 *                 height marker and takes 8 data bytes, no len), each framed with a correct CRC;
 *                 whatever does not parse as a chunk is appended raw, as a torn or garbage tail.
 * Properties: opening never fails or crashes; the kept prefix plus the dropped bytes is the
 * file; correctly framed records before the first bad byte are never dropped; replay ends
 * cleanly; a second open finds nothing to drop; the log carries on after an append.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "consensus/wal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FILE_MAX (1u << 20)

static char scratch[64];

static void remove_scratch(void)
{
	static const char *const files[] = {WAL_FILE, WAL_LOCK_FILE};
	char path[128];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", scratch, files[i]);
		unlink(path);
	}
	rmdir(scratch);
}

/* One scratch directory per process, on tmpfs when there is one (the log fsyncs). */
static const char *scratch_dir(void)
{
	if (!scratch[0]) {
		snprintf(scratch, sizeof(scratch), "%s/tn-fuzz-wal-XXXXXX",
		         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		if (!mkdtemp(scratch))
			abort();
		atexit(remove_scratch);
	}
	return scratch;
}

static void put_u32(uint8_t *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

/* Appends one correctly framed record; returns the new length. */
static size_t frame(uint8_t *out, size_t at, uint8_t type, const uint8_t *d, size_t n)
{
	uint8_t *f = out + at;
	put_u32(f, (uint32_t)(1 + n));
	f[8] = type;
	memcpy(f + 9, d, n);
	uint8_t crc_in[4 + 1 + 255];
	memcpy(crc_in, f, 4);
	memcpy(crc_in + 4, f + 8, 1 + n);
	put_u32(f + 4, wal_crc32c(crc_in, 5 + n));
	return at + WAL_HEADER_LEN + 1 + n;
}

/* Builds the file for mode 1; *good is the length of the correctly framed prefix. */
static size_t build_framed(uint8_t *out, const uint8_t *p, size_t n, size_t *good)
{
	size_t at = 0, i = 0;
	while (i + 2 <= n) {
		uint8_t type = p[i];
		size_t len = type == WAL_REC_HEIGHT ? 8 : p[i + 1];
		size_t from = type == WAL_REC_HEIGHT ? i + 1 : i + 2;
		if (from + len > n)
			break;
		at = frame(out, at, type, p + from, len);
		i = from + len;
	}
	*good = at;
	memcpy(out + at, p + i, n - i);
	return at + n - i;
}

static void write_file(const char *dir, const uint8_t *p, size_t n)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, WAL_FILE);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n || close(fd) != 0)
		abort();
}

static struct wal *open_or_abort(const char *dir)
{
	struct wal_config cfg;
	wal_config_default(&cfg);
	struct wal *w = NULL;
	if (wal_open(&w, dir, &cfg) != WAL_OK)
		abort();
	return w;
}

/* Replays the last height; returns the number of records, aborting on anything but a clean end. */
static long replay(struct wal *w)
{
	struct wal_info info;
	wal_info(w, &info);
	struct wal_iter it;
	if (!info.has_height) {
		if (wal_iter_init(&it, w, 0) != WAL_NO_HEIGHT)
			abort();
		return 0;
	}
	if (wal_iter_init(&it, w, info.height) != WAL_OK ||
	    wal_iter_init(&it, w, info.height + 1) != WAL_NO_HEIGHT ||
	    wal_iter_init(&it, w, info.height) != WAL_OK)
		abort();
	struct wal_record rec;
	enum wal_result r;
	long n = 0;
	while ((r = wal_iter_next(&it, &rec)) == WAL_OK) {
		if (rec.type == WAL_REC_HEIGHT)
			abort();
		n++;
	}
	if (r != WAL_END)
		abort();
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *file;
	if (size < 1 || size > FILE_MAX / 8) /* framing at most 4.5x the input */
		return 0;
	if (!file && !(file = malloc(FILE_MAX)))
		abort();
	log_set_level(LOG_OFF);
	const char *dir = scratch_dir();
	size_t n = size - 1, good = 0;
	if (data[0] & 1) {
		n = build_framed(file, data + 1, size - 1, &good);
	} else {
		memcpy(file, data + 1, n);
	}
	write_file(dir, file, n);

	struct wal *w = open_or_abort(dir);
	struct wal_info a, b;
	wal_info(w, &a);
	if (a.size + a.dropped != n || a.size < good)
		abort();
	long records = replay(w);
	wal_free(w);

	w = open_or_abort(dir);
	wal_info(w, &b);
	if (b.dropped != 0 || b.size != a.size || b.has_height != a.has_height ||
	    b.height != a.height || replay(w) != records)
		abort();
	static const uint8_t extra[3] = {1, 2, 3};
	if (wal_append(w, 42, extra, sizeof(extra), true) != WAL_OK)
		abort();
	wal_free(w);

	w = open_or_abort(dir);
	wal_info(w, &b);
	if (b.dropped != 0 || b.size != a.size + WAL_HEADER_LEN + 1 + sizeof(extra) ||
	    replay(w) != records + (a.has_height ? 1 : 0))
		abort();
	wal_free(w);
	return 0;
}
