#include "consensus/wal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* renameat */
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/codec.h"
#include "base/log.h"

#define WAL_TMP_SUFFIX ".tmp"
#define MARKER_LEN     (1 + 8) /* type ‖ height */

/* ---- CRC32C ------------------------------------------------------------------------------ */

/* The 256-entry table of the reflected Castagnoli polynomial, built by the preprocessor so it is
 * a constant (no init race, no runtime cost). */
#define CRC_B(c)   (((c) >> 1) ^ (((c)&1u) ? 0x82F63B78u : 0u))
#define CRC_T(i)   CRC_B(CRC_B(CRC_B(CRC_B(CRC_B(CRC_B(CRC_B(CRC_B((uint32_t)(i)))))))))
#define CRC_T4(i)  CRC_T(i), CRC_T((i) + 1), CRC_T((i) + 2), CRC_T((i) + 3)
#define CRC_T16(i) CRC_T4(i), CRC_T4((i) + 4), CRC_T4((i) + 8), CRC_T4((i) + 12)
#define CRC_T64(i) CRC_T16(i), CRC_T16((i) + 16), CRC_T16((i) + 32), CRC_T16((i) + 48)
static const uint32_t crc_table[256] = {CRC_T64(0), CRC_T64(64), CRC_T64(128), CRC_T64(192)};

static uint32_t crc_update(uint32_t c, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return c;
}

uint32_t wal_crc32c(const uint8_t *p, size_t n)
{
	return ~crc_update(~0u, p, n);
}

/* The frame's CRC: over the 4 length bytes, then the payload (type ‖ data). */
static uint32_t frame_crc(const uint8_t len_le[4], const uint8_t *payload, size_t n)
{
	return ~crc_update(crc_update(~0u, len_le, 4), payload, n);
}

const char *wal_strerror(enum wal_result r)
{
	static const char *const msg[] = {
	    [WAL_OK] = "ok",
	    [WAL_END] = "end of log",
	    [WAL_NO_HEIGHT] = "the log does not hold that height",
	    [WAL_NOT_FOUND] = "file not found",
	    [WAL_TOO_LARGE] = "record or file too large",
	    [WAL_FULL] = "write-ahead log full (raise its size cap)",
	    [WAL_IO] = "i/o error",
	    [WAL_FAILED] = "an earlier write failed; reopen the log",
	    [WAL_LOCKED] = "directory in use by another process",
	    [WAL_CORRUPT] = "log changed on disk",
	    [WAL_NOMEM] = "out of memory",
	};
	if ((size_t)r >= sizeof(msg) / sizeof(msg[0]) || !msg[r])
		return "unknown wal error";
	return msg[r];
}

/* ---- Checked system calls with fault injection ------------------------------------------ */

/* True if this mutating call is the one the test wants to fail. */
static bool fault_hit(struct wal_fault *f)
{
	return f && ++f->calls == f->fail_at;
}

static bool pwrite_full(int fd, const uint8_t *p, size_t n, uint64_t off, struct wal_fault *f)
{
	bool fail = fault_hit(f);
	size_t want = n;
	if (fail) { /* a torn write: some prefix reached the file, then the "crash" */
		f->seed = f->seed * 6364136223846793005ULL + 1442695040888963407ULL;
		want = n ? (size_t)((f->seed >> 33) % n) : 0;
	}
	while (want > 0) {
		ssize_t w = pwrite(fd, p, want, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return false;
		}
		p += w;
		off += (uint64_t)w;
		want -= (size_t)w;
	}
	if (fail)
		errno = EIO;
	return !fail;
}

/* Reads up to n bytes at off; returns how many (short only at end of file), -1 on error. */
static ssize_t pread_full(int fd, uint8_t *p, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, p + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static bool sync_fd(int fd, bool data_only, struct wal_fault *f)
{
	if (fault_hit(f)) {
		errno = EIO;
		return false;
	}
	/* fsync does not return EINTR on Linux, but POSIX allows it; retrying is harmless. */
	int r;
	do
		r = data_only ? fdatasync(fd) : fsync(fd);
	while (r != 0 && errno == EINTR);
	return r == 0;
}

static bool truncate_fd(int fd, uint64_t size, struct wal_fault *f)
{
	if (fault_hit(f)) {
		errno = EIO;
		return false;
	}
	int r;
	do
		r = ftruncate(fd, (off_t)size);
	while (r != 0 && errno == EINTR);
	return r == 0;
}

/* close() must not be retried on EINTR on Linux (the fd is gone either way). */
static bool close_fd(int fd)
{
	return close(fd) == 0 || errno == EINTR;
}

/* ---- Durable small files ---------------------------------------------------------------- */

static bool tmp_name(char *out, size_t cap, const char *name)
{
	size_t n = strlen(name);
	if (n + sizeof(WAL_TMP_SUFFIX) > cap)
		return false;
	memcpy(out, name, n);
	memcpy(out + n, WAL_TMP_SUFFIX, sizeof(WAL_TMP_SUFFIX));
	return true;
}

static enum wal_result sync_parent(int dirfd)
{
	int pfd = openat(dirfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return WAL_IO;
	bool ok = sync_fd(pfd, false, NULL);
	int saved = errno;
	close_fd(pfd);
	errno = saved;
	return ok ? WAL_OK : WAL_IO;
}

static enum wal_result lock_dir(int dirfd, const char *lock_name, int *lockfd)
{
	int fd = openat(dirfd, lock_name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return WAL_IO;
	int r;
	do
		r = flock(fd, LOCK_EX | LOCK_NB);
	while (r != 0 && errno == EINTR);
	if (r != 0) {
		int saved = errno;
		close_fd(fd);
		errno = saved;
		return saved == EWOULDBLOCK ? WAL_LOCKED : WAL_IO;
	}
	*lockfd = fd;
	return WAL_OK;
}

enum wal_result wal_dir_open(const char *dir, const char *lock_name, int *dirfd, int *lockfd)
{
	assert(dir && lock_name && dirfd && lockfd);
	*dirfd = *lockfd = -1;
	bool created = mkdir(dir, 0700) == 0;
	if (!created && errno != EEXIST) {
		log_error("wal", "cannot create directory %s: %s", dir, strerror(errno));
		return WAL_IO;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		log_error("wal", "cannot open directory %s: %s", dir, strerror(errno));
		return WAL_IO;
	}
	enum wal_result r = created ? sync_parent(dfd) : WAL_OK;
	if (r == WAL_OK)
		r = lock_dir(dfd, lock_name, lockfd);
	if (r != WAL_OK) {
		if (r == WAL_IO)
			log_error("wal", "cannot sync or lock directory %s: %s", dir,
			          strerror(errno));
		close_fd(dfd);
		return r;
	}
	*dirfd = dfd;
	return WAL_OK;
}

/* Writes, syncs and closes tmp; the fd is closed on every path. */
static bool write_tmp(int dirfd, const char *tmp, const uint8_t *p, size_t n,
                      struct wal_fault *fault)
{
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return false;
	bool ok = pwrite_full(fd, p, n, 0, fault) && sync_fd(fd, false, fault);
	int saved = errno;
	if (!close_fd(fd) && ok)
		return false;
	errno = saved;
	return ok;
}

enum wal_result wal_file_replace(int dirfd, const char *name, const uint8_t *p, size_t n,
                                 struct wal_fault *fault)
{
	char tmp[256];
	bool fits = tmp_name(tmp, sizeof(tmp), name);
	assert(fits);
	(void)fits;
	const char *what = "write";
	if (!write_tmp(dirfd, tmp, p, n, fault))
		goto fail;
	what = "rename";
	if (fault_hit(fault)) {
		errno = EIO;
		goto fail;
	}
	if (renameat(dirfd, tmp, dirfd, name) != 0)
		goto fail;
	what = "sync the directory of";
	if (!sync_fd(dirfd, false, fault))
		goto fail;
	return WAL_OK;
fail:
	log_error("wal", "cannot %s %s: %s", what, name, strerror(errno));
	unlinkat(dirfd, tmp, 0); /* best effort; a leftover is removed at the next replace */
	return WAL_IO;
}

enum wal_result wal_file_read(int dirfd, const char *name, uint8_t *buf, size_t cap, size_t *len)
{
	*len = 0;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? WAL_NOT_FOUND : WAL_IO;
	struct stat st;
	enum wal_result r = WAL_IO;
	if (fstat(fd, &st) != 0)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto out;
	}
	/* Read one byte past cap to notice a file larger than cap whatever fstat said. */
	uint8_t extra;
	ssize_t got = pread_full(fd, buf, cap, 0);
	if (got < 0)
		goto out;
	if ((size_t)got == cap) {
		ssize_t more = pread_full(fd, &extra, 1, cap);
		if (more < 0)
			goto out;
		if (more > 0) {
			r = WAL_TOO_LARGE;
			goto out;
		}
	}
	*len = (size_t)got;
	r = WAL_OK;
out:;
	int saved = errno;
	close_fd(fd);
	errno = saved;
	return r;
}

/* ---- The log ----------------------------------------------------------------------------- */

struct wal {
	int dirfd, lockfd, fd;
	struct wal_config cfg;
	uint64_t size;       /* end of the last valid record = the file's size */
	bool has_height;     /* a marker was seen */
	uint64_t height;     /* the last marker's height */
	uint64_t marker_end; /* offset just after the last marker */
	uint64_t dropped;
	bool failed;
	uint8_t *wbuf, *rbuf; /* frame being appended; record being read */
	size_t wcap, rcap;
};

void wal_config_default(struct wal_config *cfg)
{
	cfg->max_record = 8u << 20;
	cfg->max_size = UINT64_C(1) << 30;
	cfg->fault = NULL;
}

static bool grow(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap : 4096;
	while (n < need)
		n *= 2;
	uint8_t *p = realloc(*buf, n);
	if (!p)
		return false;
	*buf = p;
	*cap = n;
	return true;
}

enum frame_status { FRAME_OK, FRAME_END, FRAME_TORN, FRAME_BAD, FRAME_IO, FRAME_NOMEM };

/* Decodes the frame at off of a file whose valid bytes end at end; on FRAME_OK fills rec (data
 * in w->rbuf) and *next. A frame reaching past end is torn; a length of 0 or past the limit, a
 * CRC mismatch or a marker of the wrong size is bad. */
static enum frame_status read_frame(struct wal *w, uint64_t off, uint64_t end,
                                    struct wal_record *rec, uint64_t *next)
{
	if (off == end)
		return FRAME_END;
	uint8_t hdr[WAL_HEADER_LEN];
	if (end - off < WAL_HEADER_LEN)
		return FRAME_TORN;
	if (pread_full(w->fd, hdr, sizeof(hdr), off) != (ssize_t)sizeof(hdr))
		return FRAME_IO;
	struct dec d;
	dec_init(&d, hdr, sizeof(hdr));
	uint32_t len = dec_u32(&d), crc = dec_u32(&d);
	if (len == 0 || len > WAL_RECORD_LIMIT)
		return FRAME_BAD;
	if (end - off - WAL_HEADER_LEN < len)
		return FRAME_TORN;
	if (!grow(&w->rbuf, &w->rcap, len))
		return FRAME_NOMEM;
	if (pread_full(w->fd, w->rbuf, len, off + WAL_HEADER_LEN) != (ssize_t)len)
		return FRAME_IO;
	if (frame_crc(hdr, w->rbuf, len) != crc)
		return FRAME_BAD;
	if (w->rbuf[0] == WAL_REC_HEIGHT && len != MARKER_LEN)
		return FRAME_BAD;
	rec->type = w->rbuf[0];
	rec->data = w->rbuf + 1;
	rec->len = len - 1;
	*next = off + WAL_HEADER_LEN + len;
	return FRAME_OK;
}

/* Walks the whole file, noting the last marker, and cuts it after the last good record. */
static enum wal_result scan(struct wal *w)
{
	struct stat st;
	if (fstat(w->fd, &st) != 0)
		return WAL_IO;
	uint64_t file_size = (uint64_t)st.st_size, off = 0, next = 0;
	struct wal_record rec;
	enum frame_status s;
	while ((s = read_frame(w, off, file_size, &rec, &next)) == FRAME_OK) {
		if (rec.type == WAL_REC_HEIGHT) {
			struct dec d;
			dec_init(&d, rec.data, rec.len);
			w->has_height = true;
			w->height = dec_u64(&d);
			w->marker_end = next;
		}
		off = next;
	}
	if (s == FRAME_IO)
		return WAL_IO;
	if (s == FRAME_NOMEM)
		return WAL_NOMEM;
	w->size = off;
	if (off == file_size)
		return WAL_OK;
	w->dropped = file_size - off;
	log_warn("wal",
	         "dropping %llu bytes after offset %llu: %s record (torn write or corruption)",
	         (unsigned long long)w->dropped, (unsigned long long)off,
	         s == FRAME_TORN ? "incomplete" : "bad");
	if (!truncate_fd(w->fd, off, w->cfg.fault) || !sync_fd(w->fd, false, w->cfg.fault))
		return WAL_IO;
	return WAL_OK;
}

static enum wal_result open_file(struct wal *w)
{
	char tmp[sizeof(WAL_FILE) + sizeof(WAL_TMP_SUFFIX)];
	bool fits = tmp_name(tmp, sizeof(tmp), WAL_FILE);
	assert(fits);
	(void)fits;
	if (unlinkat(w->dirfd, tmp, 0) != 0 && errno != ENOENT)
		return WAL_IO;
	w->fd = openat(w->dirfd, WAL_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (w->fd < 0)
		return WAL_IO;
	/* The directory entry of a newly created file is durable only once the directory is. */
	if (!sync_fd(w->dirfd, false, w->cfg.fault))
		return WAL_IO;
	return scan(w);
}

enum wal_result wal_open(struct wal **out, const char *dir, const struct wal_config *cfg)
{
	assert(out && dir && cfg && cfg->max_record >= MARKER_LEN &&
	       cfg->max_record <= WAL_RECORD_LIMIT);
	*out = NULL;
	struct wal *w = calloc(1, sizeof(*w));
	if (!w)
		return WAL_NOMEM;
	w->cfg = *cfg;
	w->fd = -1;
	enum wal_result r = wal_dir_open(dir, WAL_LOCK_FILE, &w->dirfd, &w->lockfd);
	if (r != WAL_OK) {
		free(w);
		return r;
	}
	r = open_file(w);
	if (r != WAL_OK) {
		if (r == WAL_IO)
			log_error("wal", "cannot open %s/%s: %s", dir, WAL_FILE, strerror(errno));
		wal_free(w);
		return r;
	}
	*out = w;
	return WAL_OK;
}

void wal_free(struct wal *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close_fd(w->fd);
	close_fd(w->dirfd);
	close_fd(w->lockfd); /* releases the flock */
	free(w->wbuf);
	free(w->rbuf);
	free(w);
}

void wal_info(const struct wal *w, struct wal_info *out)
{
	out->has_height = w->has_height;
	out->height = w->height;
	out->size = w->size;
	out->dropped = w->dropped;
}

/* Lays out header ‖ type ‖ data in w->wbuf; returns the frame length or 0 on NOMEM. */
static size_t build_frame(struct wal *w, uint8_t type, const uint8_t *data, size_t len)
{
	size_t n = WAL_HEADER_LEN + 1 + len;
	if (!grow(&w->wbuf, &w->wcap, n))
		return 0;
	struct enc e;
	enc_init_fixed(&e, w->wbuf, n);
	enc_u32(&e, (uint32_t)(1 + len));
	enc_u32(&e, 0); /* the CRC, filled below */
	enc_u8(&e, type);
	enc_raw(&e, data, len);
	assert(enc_finish(&e) == CODEC_OK && e.len == n);
	enc_init_fixed(&e, w->wbuf + 4, 4);
	enc_u32(&e, frame_crc(w->wbuf, w->wbuf + WAL_HEADER_LEN, 1 + len));
	return n;
}

static enum wal_result fail(struct wal *w, const char *what)
{
	log_error("wal", "cannot %s the write-ahead log: %s; refusing further writes", what,
	          strerror(errno));
	w->failed = true;
	return WAL_IO;
}

enum wal_result wal_append(struct wal *w, uint8_t type, const uint8_t *data, size_t len, bool sync)
{
	assert(w && type != WAL_REC_HEIGHT && (data || len == 0));
	if (w->failed)
		return WAL_FAILED;
	if (len >= w->cfg.max_record)
		return WAL_TOO_LARGE;
	size_t n = WAL_HEADER_LEN + 1 + len;
	if (w->size > w->cfg.max_size || w->cfg.max_size - w->size < n)
		return WAL_FULL;
	if (!build_frame(w, type, data, len))
		return WAL_NOMEM;
	if (!pwrite_full(w->fd, w->wbuf, n, w->size, w->cfg.fault))
		return fail(w, "append to");
	w->size += n;
	if (sync && !sync_fd(w->fd, true, w->cfg.fault))
		return fail(w, "sync");
	return WAL_OK;
}

enum wal_result wal_sync(struct wal *w)
{
	assert(w);
	if (w->failed)
		return WAL_FAILED;
	if (!sync_fd(w->fd, true, w->cfg.fault))
		return fail(w, "sync");
	return WAL_OK;
}

enum wal_result wal_start_height(struct wal *w, uint64_t height)
{
	assert(w);
	if (w->failed)
		return WAL_FAILED;
	uint8_t h[8];
	struct enc e;
	enc_init_fixed(&e, h, sizeof(h));
	enc_u64(&e, height);
	/* The marker is framed like any record, then written as the whole of a new file. */
	size_t n = build_frame(w, WAL_REC_HEIGHT, h, sizeof(h));
	if (!n)
		return WAL_NOMEM;
	if (wal_file_replace(w->dirfd, WAL_FILE, w->wbuf, n, w->cfg.fault) != WAL_OK) {
		w->failed = true;
		return WAL_IO;
	}
	/* The old fd now names the replaced file; later appends must go to the new one. */
	close_fd(w->fd);
	w->fd = openat(w->dirfd, WAL_FILE, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (w->fd < 0)
		return fail(w, "reopen");
	w->size = n;
	w->has_height = true;
	w->height = height;
	w->marker_end = n;
	return WAL_OK;
}

enum wal_result wal_iter_init(struct wal_iter *it, struct wal *w, uint64_t height)
{
	assert(it && w);
	if (!w->has_height || w->height != height)
		return WAL_NO_HEIGHT;
	it->w = w;
	it->off = w->marker_end;
	it->end = w->size;
	return WAL_OK;
}

enum wal_result wal_iter_next(struct wal_iter *it, struct wal_record *rec)
{
	uint64_t next = 0;
	switch (read_frame(it->w, it->off, it->end, rec, &next)) {
	case FRAME_OK:
		if (rec->type == WAL_REC_HEIGHT) /* the last marker is before it->off */
			return WAL_CORRUPT;
		it->off = next;
		return WAL_OK;
	case FRAME_END:
		return WAL_END;
	case FRAME_IO:
		return WAL_IO;
	case FRAME_NOMEM:
		return WAL_NOMEM;
	case FRAME_TORN:
	case FRAME_BAD:
		break;
	}
	return WAL_CORRUPT;
}
