#include "check.h"
#include "consensus/crash_harness.h"

#include "base/log.h"
#include "consensus/wal.h"

#include <sys/stat.h>

#define PAT_MAX 2048 /* largest pattern record in the unit cases */

/* ---- helpers ------------------------------------------------------------------------------ */

/* The deterministic record i of height h: type 1..255, up to maxlen bytes. */
static size_t pattern(uint8_t *buf, uint64_t h, uint64_t i, size_t maxlen, uint8_t *type)
{
	uint64_t x = h * 0x9e3779b97f4a7c15ULL ^ (i + 1) * 0xbf58476d1ce4e5b9ULL;
	size_t len = (size_t)(check_rand(&x) % (maxlen + 1));
	for (size_t k = 0; k < len; k++)
		buf[k] = (uint8_t)(check_rand(&x) >> 56);
	*type = (uint8_t)(1 + (h + i) % 255);
	return len;
}

static struct wal *open_ok(const char *dir, const struct wal_config *cfg)
{
	struct wal *w = NULL;
	enum wal_result r = wal_open(&w, dir, cfg);
	if (r != WAL_OK)
		fprintf(stderr, "wal_open(%s): %s\n", dir, wal_strerror(r));
	CHECK(r == WAL_OK);
	return w;
}

static struct wal *open_default(const char *dir)
{
	struct wal_config cfg;
	wal_config_default(&cfg);
	return open_ok(dir, &cfg);
}

static enum wal_result append_pattern(struct wal *w, uint64_t h, uint64_t i, size_t maxlen,
                                      bool sync)
{
	static uint8_t buf[1 << 17];
	uint8_t type;
	size_t len = pattern(buf, h, i, maxlen, &type);
	return wal_append(w, type, buf, len, sync);
}

/* Number of records of height h in the log if every one of them is pattern(h, 0..n-1);
 * -1 if any differs or iteration fails, -2 if the log does not hold height h. */
static long count_pattern(struct wal *w, uint64_t h, size_t maxlen)
{
	static uint8_t want[1 << 17];
	struct wal_iter it;
	if (wal_iter_init(&it, w, h) != WAL_OK)
		return -2;
	struct wal_record rec;
	enum wal_result r;
	long n = 0;
	while ((r = wal_iter_next(&it, &rec)) == WAL_OK) {
		uint8_t type;
		size_t len = pattern(want, h, (uint64_t)n, maxlen, &type);
		if (rec.type != type || rec.len != len || (len && memcmp(rec.data, want, len) != 0))
			return -1;
		n++;
	}
	return r == WAL_END ? n : -1;
}

static uint64_t file_size(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, WAL_FILE);
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : UINT64_MAX;
}

static uint8_t *read_wal_file(const char *dir, size_t *n)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, WAL_FILE);
	FILE *f = fopen(path, "rb");
	CHECK(f != NULL);
	uint8_t *buf = malloc(1 << 20);
	*n = f ? fread(buf, 1, 1 << 20, f) : 0;
	if (f)
		fclose(f);
	return buf;
}

static void write_wal_file(const char *dir, const uint8_t *p, size_t n)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, WAL_FILE);
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	if (f) {
		CHECK(fwrite(p, 1, n, f) == n);
		fclose(f);
	}
}

/* Writes height h with n pattern records into a fresh log in dir; returns the file offsets
 * where each record starts (offs[n] = the end) and the file's bytes (*size of them; the caller
 * frees them). */
static uint8_t *build_log(char dir[HARNESS_DIR_MAX], uint64_t h, size_t n, size_t maxlen,
                          uint64_t *offs, size_t *size)
{
	harness_tmpdir(dir);
	struct wal *w = open_default(dir);
	CHECK(wal_start_height(w, h) == WAL_OK);
	for (size_t i = 0; i < n; i++) {
		struct wal_info info;
		wal_info(w, &info);
		offs[i] = info.size;
		CHECK(append_pattern(w, h, i, maxlen, i + 1 == n) == WAL_OK);
	}
	struct wal_info info;
	wal_info(w, &info);
	offs[n] = info.size;
	wal_free(w);
	uint8_t *b = read_wal_file(dir, size);
	CHECK(*size == offs[n]);
	return b;
}

/* Replaces the log file with b[0..n) and opens it: the log (NULL if it does not open) and its
 * info. */
static struct wal *reopen_as(const char *dir, const uint8_t *b, size_t n, struct wal_info *info)
{
	write_wal_file(dir, b, n);
	struct wal *w = open_default(dir);
	if (w)
		wal_info(w, info);
	return w;
}

/* ---- format --------------------------------------------------------------------------- */

static void crc32c_vectors(void)
{
	/* RFC 3720 B.4 and the usual check value. */
	uint8_t b[32];
	memset(b, 0, sizeof(b));
	CHECK(wal_crc32c(b, 32) == 0x8A9136AAu);
	memset(b, 0xff, sizeof(b));
	CHECK(wal_crc32c(b, 32) == 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		b[i] = (uint8_t)i;
	CHECK(wal_crc32c(b, 32) == 0x46DD794Eu);
	for (int i = 0; i < 32; i++)
		b[i] = (uint8_t)(31 - i);
	CHECK(wal_crc32c(b, 32) == 0x113FDB5Cu);
	CHECK(wal_crc32c((const uint8_t *)"123456789", 9) == 0xE3069283u);
	CHECK(wal_crc32c(NULL, 0) == 0);
}

/* The bytes on disk are exactly the documented layout (docs/protocol/wal.md). */
static void frame_layout(void)
{
	char dir[HARNESS_DIR_MAX];
	harness_tmpdir(dir);
	struct wal *w = open_default(dir);
	CHECK(wal_start_height(w, 0x0102030405060708ULL) == WAL_OK);
	CHECK(wal_append(w, 7, (const uint8_t *)"abc", 3, true) == WAL_OK);
	wal_free(w);
	size_t n;
	uint8_t *got = read_wal_file(dir, &n);
	/* len ‖ crc ‖ type 0 ‖ height LE, then len ‖ crc ‖ type 7 ‖ "abc"; the CRCs computed by
	 * an independent implementation (the example in docs/protocol/wal.md). */
	static const uint8_t want[29] = {0x09, 0x00, 0x00, 0x00, 0xce, 0x98, 0x25, 0xa5, 0x00, 0x08,
	                                 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x04, 0x00, 0x00,
	                                 0x00, 0xe0, 0x14, 0x1a, 0xe2, 0x07, 0x61, 0x62, 0x63};
	CHECK(n == sizeof(want));
	CHECK_EQ_MEM(got, want, sizeof(want));
	free(got);
	harness_rmdir(dir);
}

/* ---- behaviour -------------------------------------------------------------------------- */

static void round_trip(void)
{
	char dir[HARNESS_DIR_MAX];
	harness_tmpdir(dir);
	struct wal *w = open_default(dir);
	struct wal_info info;
	wal_info(w, &info);
	CHECK(!info.has_height && info.size == 0 && info.dropped == 0);
	struct wal_iter it;
	CHECK(wal_iter_init(&it, w, 0) == WAL_NO_HEIGHT);
	CHECK(wal_start_height(w, 5) == WAL_OK);
	for (uint64_t i = 0; i < 200; i++)
		CHECK(append_pattern(w, 5, i, PAT_MAX, i % 3 == 0) == WAL_OK);
	CHECK(wal_sync(w) == WAL_OK);
	CHECK(count_pattern(w, 5, PAT_MAX) == 200);
	CHECK(count_pattern(w, 4, PAT_MAX) == -2);
	wal_info(w, &info);
	uint64_t size = info.size;
	CHECK(size == file_size(dir));
	wal_free(w);

	w = open_default(dir);
	wal_info(w, &info);
	CHECK(info.has_height && info.height == 5 && info.size == size && info.dropped == 0);
	CHECK(count_pattern(w, 5, PAT_MAX) == 200);
	/* It carries on after a reopen, and an iterator does not see records appended after it
	 * started. */
	CHECK(wal_iter_init(&it, w, 5) == WAL_OK);
	for (uint64_t i = 200; i < 210; i++)
		CHECK(append_pattern(w, 5, i, PAT_MAX, false) == WAL_OK);
	struct wal_record rec;
	long seen = 0;
	while (wal_iter_next(&it, &rec) == WAL_OK)
		seen++;
	CHECK(seen == 200);
	CHECK(count_pattern(w, 5, PAT_MAX) == 210);
	wal_free(w);
	harness_rmdir(dir);
}

static void start_height_drops_older(void)
{
	char dir[HARNESS_DIR_MAX];
	harness_tmpdir(dir);
	struct wal *w = open_default(dir);
	CHECK(wal_start_height(w, 1) == WAL_OK);
	for (uint64_t i = 0; i < 50; i++)
		CHECK(append_pattern(w, 1, i, PAT_MAX, false) == WAL_OK);
	CHECK(wal_start_height(w, 2) == WAL_OK);
	struct wal_info info;
	wal_info(w, &info);
	CHECK(info.height == 2 && info.size == WAL_HEADER_LEN + 9 && file_size(dir) == info.size);
	CHECK(count_pattern(w, 1, PAT_MAX) == -2);
	CHECK(count_pattern(w, 2, PAT_MAX) == 0);
	CHECK(append_pattern(w, 2, 0, PAT_MAX, true) == WAL_OK);
	CHECK(count_pattern(w, 2, PAT_MAX) == 1);
	wal_free(w);
	w = open_default(dir);
	CHECK(count_pattern(w, 2, PAT_MAX) == 1);
	CHECK(count_pattern(w, 1, PAT_MAX) == -2);
	wal_free(w);
	harness_rmdir(dir);
}

static void caps(void)
{
	char dir[HARNESS_DIR_MAX];
	harness_tmpdir(dir);
	struct wal_config cfg;
	wal_config_default(&cfg);
	cfg.max_record = 100;
	cfg.max_size = 1000;
	struct wal *w = open_ok(dir, &cfg);
	uint8_t buf[100] = {0};
	CHECK(wal_start_height(w, 1) == WAL_OK);
	CHECK(wal_append(w, 1, buf, 99, false) == WAL_OK); /* type + 99 = 100 */
	CHECK(wal_append(w, 1, buf, 100, false) == WAL_TOO_LARGE);
	int n = 1;
	enum wal_result r;
	while ((r = wal_append(w, 2, buf, 50, false)) == WAL_OK)
		n++;
	CHECK(r == WAL_FULL);
	struct wal_info info;
	wal_info(w, &info);
	CHECK(info.size <= 1000 && info.size + WAL_HEADER_LEN + 51 > 1000);
	/* 17 + 108 + 14 * 59 = 951: refusals leave the log usable, and a 9-byte record fits. */
	CHECK(n == 15 && info.size == 951);
	CHECK(wal_append(w, 3, NULL, 0, true) == WAL_OK);
	n++;
	wal_free(w);
	w = open_ok(dir, &cfg);
	struct wal_iter it;
	struct wal_record rec;
	CHECK(wal_iter_init(&it, w, 1) == WAL_OK);
	int seen = 0;
	while (wal_iter_next(&it, &rec) == WAL_OK)
		seen++;
	CHECK(seen == n);
	/* A smaller cap on reopen does not cut records written under a larger one. */
	wal_free(w);
	cfg.max_record = 10;
	w = open_ok(dir, &cfg);
	wal_info(w, &info);
	CHECK(info.dropped == 0);
	wal_free(w);
	harness_rmdir(dir);
}

/* Cut the file at every byte offset: the records wholly before the cut survive, the rest is
 * dropped and the drop reported; the log then carries on. */
static void torn_tail_every_offset(void)
{
	char dir[HARNESS_DIR_MAX];
	enum { N = 10 };
	uint64_t offs[N + 1];
	size_t size;
	uint8_t *orig = build_log(dir, 3, N, 120, offs, &size);
	log_set_level(LOG_ERROR); /* one truncation warning per offset is noise here */
	for (size_t cut = 0; cut <= size; cut++) {
		struct wal_info info;
		struct wal *w = reopen_as(dir, orig, cut, &info);
		if (!w)
			continue;
		long whole = 0;
		while (whole < N && offs[whole + 1] <= cut)
			whole++;
		uint64_t keep = cut < offs[0] ? 0 : offs[whole];
		CHECK(info.size == keep && info.dropped == cut - keep && file_size(dir) == keep);
		CHECK(count_pattern(w, 3, 120) == (cut < offs[0] ? -2 : whole));
		if (cut >= offs[0]) {
			CHECK(append_pattern(w, 3, (uint64_t)whole, 120, true) == WAL_OK);
			CHECK(count_pattern(w, 3, 120) == whole + 1);
		}
		wal_free(w);
	}
	log_set_level(LOG_INFO);
	free(orig);
	harness_rmdir(dir);
}

/* A flipped bit anywhere in record k (its length, CRC, type or data) drops k and everything
 * after it; records before k are intact. Also a zero-filled tail (a crash after the file size
 * grew but before the data reached the disk). */
static void corrupt_middle(void)
{
	char dir[HARNESS_DIR_MAX];
	enum { N = 8 };
	uint64_t offs[N + 1];
	size_t size;
	uint8_t *orig = build_log(dir, 9, N, 200, offs, &size);
	uint8_t *mod = malloc(size + 4096);
	log_set_level(LOG_ERROR);
	for (long k = 0; k < N; k++) {
		for (uint64_t pos = offs[k]; pos < offs[k + 1]; pos++) {
			memcpy(mod, orig, size);
			mod[pos] ^= (uint8_t)(1u << (pos % 8));
			struct wal_info info;
			struct wal *w = reopen_as(dir, mod, size, &info);
			if (!w)
				continue;
			CHECK(info.size == offs[k] && info.dropped == size - offs[k]);
			CHECK(count_pattern(w, 9, 200) == k);
			wal_free(w);
		}
	}
	memcpy(mod, orig, size);
	memset(mod + size, 0, 4096);
	struct wal_info info;
	struct wal *w = reopen_as(dir, mod, size + 4096, &info);
	CHECK(w != NULL);
	CHECK(info.size == size && info.dropped == 4096 && count_pattern(w, 9, 200) == N);
	wal_free(w);
	log_set_level(LOG_INFO);
	free(mod);
	free(orig);
	harness_rmdir(dir);
}

static void sticky_failure(void)
{
	char dir[HARNESS_DIR_MAX];
	harness_tmpdir(dir);
	struct wal_fault fault = {0};
	struct wal_config cfg;
	wal_config_default(&cfg);
	cfg.fault = &fault;
	struct wal *w = open_ok(dir, &cfg);
	CHECK(wal_start_height(w, 1) == WAL_OK);
	CHECK(append_pattern(w, 1, 0, 100, true) == WAL_OK);
	fault.fail_at = fault.calls + 1; /* the next write */
	CHECK(append_pattern(w, 1, 1, 100, false) == WAL_IO);
	CHECK(append_pattern(w, 1, 1, 100, false) == WAL_FAILED);
	CHECK(wal_sync(w) == WAL_FAILED);
	CHECK(wal_start_height(w, 2) == WAL_FAILED);
	wal_free(w);
	/* A failed fsync is sticky too (the kernel may have dropped the dirty pages). */
	w = open_ok(dir, &cfg);
	CHECK(count_pattern(w, 1, 100) == 1);
	fault.fail_at = fault.calls + 2; /* the fdatasync after the write */
	CHECK(append_pattern(w, 1, 1, 100, true) == WAL_IO);
	CHECK(append_pattern(w, 1, 2, 100, false) == WAL_FAILED);
	wal_free(w);
	harness_rmdir(dir);
}

/* Power loss cannot be simulated by killing a process, so pin the durability calls instead:
 * a synced append is a write then an fdatasync, an unsynced one a write, a height start a write,
 * an fsync, a rename and an fsync of the directory. */
static void durability_calls(void)
{
	char dir[HARNESS_DIR_MAX];
	harness_tmpdir(dir);
	struct wal_fault fault = {0};
	struct wal_config cfg;
	wal_config_default(&cfg);
	cfg.fault = &fault;
	struct wal *w = open_ok(dir, &cfg);
	uint64_t c = fault.calls;
	CHECK(wal_start_height(w, 1) == WAL_OK && fault.calls == c + 4);
	c = fault.calls;
	CHECK(append_pattern(w, 1, 0, 100, true) == WAL_OK && fault.calls == c + 2);
	c = fault.calls;
	CHECK(append_pattern(w, 1, 1, 100, false) == WAL_OK && fault.calls == c + 1);
	c = fault.calls;
	CHECK(wal_sync(w) == WAL_OK && fault.calls == c + 1);
	/* Each of the four steps of a height start, failing, leaves the log failed. */
	for (uint64_t step = 1; step <= 4; step++) {
		fault.fail_at = fault.calls + step;
		log_set_level(LOG_OFF);
		CHECK(wal_start_height(w, 2) == WAL_IO);
		log_set_level(LOG_INFO);
		CHECK(append_pattern(w, 1, 2, 100, true) == WAL_FAILED);
		wal_free(w);
		fault.fail_at = 0;
		w = open_ok(dir, &cfg);
		struct wal_info info;
		wal_info(w, &info);
		/* Only a failed directory sync comes after the rename. */
		CHECK(info.height == (step == 4 ? 2 : 1));
		CHECK(count_pattern(w, info.height, 100) == (step == 4 ? 0 : 2));
	}
	wal_free(w);
	harness_rmdir(dir);
}

static void lock_and_leftovers(void)
{
	char dir[HARNESS_DIR_MAX];
	harness_tmpdir(dir);
	struct wal *w = open_default(dir), *w2 = NULL;
	struct wal_config cfg;
	wal_config_default(&cfg);
	CHECK(wal_open(&w2, dir, &cfg) == WAL_LOCKED && w2 == NULL);
	wal_free(w);
	/* A temp file from an interrupted wal_start_height is removed, the log is untouched. */
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s.tmp", dir, WAL_FILE);
	FILE *f = fopen(path, "wb");
	CHECK(f && fwrite("junk", 1, 4, f) == 4);
	if (f)
		fclose(f);
	w = open_default(dir);
	CHECK(access(path, F_OK) != 0 && errno == ENOENT);
	wal_free(w);
	/* The parent of the directory must exist. */
	snprintf(path, sizeof(path), "%s/missing/wal", dir);
	log_set_level(LOG_OFF);
	CHECK(wal_open(&w2, path, &cfg) == WAL_IO && w2 == NULL);
	log_set_level(LOG_INFO);
	harness_rmdir(dir);
}

static void small_files(void)
{
	char dir[HARNESS_DIR_MAX];
	harness_tmpdir(dir);
	int dfd = -1, lfd = -1;
	CHECK(wal_dir_open(dir, "x.lock", &dfd, &lfd) == WAL_OK);
	uint8_t buf[16];
	size_t n = 99;
	CHECK(wal_file_read(dfd, "f", buf, sizeof(buf), &n) == WAL_NOT_FOUND && n == 0);
	CHECK(wal_file_replace(dfd, "f", (const uint8_t *)"hello", 5, NULL) == WAL_OK);
	CHECK(wal_file_read(dfd, "f", buf, sizeof(buf), &n) == WAL_OK && n == 5);
	CHECK_EQ_MEM(buf, "hello", 5);
	CHECK(wal_file_read(dfd, "f", buf, 5, &n) == WAL_OK && n == 5);
	CHECK(wal_file_read(dfd, "f", buf, 4, &n) == WAL_TOO_LARGE);
	CHECK(wal_file_replace(dfd, "f", (const uint8_t *)"", 0, NULL) == WAL_OK);
	CHECK(wal_file_read(dfd, "f", buf, sizeof(buf), &n) == WAL_OK && n == 0);
	/* Symlinks are not followed (a planted link cannot redirect the signer state). */
	CHECK(symlinkat("f", dfd, "link") == 0);
	CHECK(wal_file_read(dfd, "link", buf, sizeof(buf), &n) == WAL_IO);
	/* A second lock holder in the same process is refused too. */
	int dfd2 = -1, lfd2 = -1;
	CHECK(wal_dir_open(dir, "x.lock", &dfd2, &lfd2) == WAL_LOCKED && dfd2 < 0 && lfd2 < 0);
	close(dfd);
	close(lfd);
	CHECK(wal_dir_open(dir, "x.lock", &dfd2, &lfd2) == WAL_OK);
	close(dfd2);
	close(lfd2);
	CHECK(strcmp(wal_strerror(WAL_FULL), wal_strerror(WAL_IO)) != 0);
	CHECK(strcmp(wal_strerror((enum wal_result)99), "unknown wal error") == 0);
	harness_rmdir(dir);
}

/* ---- crash at every write ------------------------------------------------------------- */

/* What the workload had confirmed when it stopped. */
struct ack {
	bool opened;
	uint64_t height; /* last height whose wal_start_height returned OK (0: none) */
	bool next_tried; /* a wal_start_height(height + 1) was attempted and failed */
	long durable;    /* records of height known durable */
	long issued;     /* appends of height attempted, the failing one included */
};

#define WL_HEIGHTS 3
#define WL_RECORDS 5

/* Starts heights 1..WL_HEIGHTS with WL_RECORDS records each (every other one synced); stops at
 * the first error, as a crashed node would. */
static void workload(const char *dir, struct wal_fault *fault, struct ack *a)
{
	struct wal_config cfg;
	wal_config_default(&cfg);
	cfg.fault = fault;
	memset(a, 0, sizeof(*a));
	struct wal *w = NULL;
	if (wal_open(&w, dir, &cfg) != WAL_OK)
		return;
	a->opened = true;
	for (uint64_t h = 1; h <= WL_HEIGHTS; h++) {
		if (wal_start_height(w, h) != WAL_OK) {
			a->next_tried = true;
			break;
		}
		a->height = h;
		a->durable = a->issued = 0;
		long i = 0;
		for (; i < WL_RECORDS; i++) {
			bool sync = i % 2 == 1;
			a->issued++;
			if (append_pattern(w, h, (uint64_t)i, 700, sync) != WAL_OK)
				break;
			if (sync)
				a->durable = i + 1;
		}
		if (i < WL_RECORDS)
			break;
	}
	wal_free(w);
}

static void crash_at_every_write(void)
{
	char dir[HARNESS_DIR_MAX];
	struct wal_fault fault = {0};
	struct ack a;
	harness_tmpdir(dir);
	workload(dir, &fault, &a);
	harness_rmdir(dir);
	uint64_t total = fault.calls;
	CHECK(a.height == WL_HEIGHTS && a.durable == WL_RECORDS - 1 && total > 20);
	uint64_t seed = check_seed();
	log_set_level(LOG_OFF); /* every run logs its injected failure */
	for (uint64_t n = 1; n <= total; n++) {
		harness_tmpdir(dir);
		fault = (struct wal_fault){.fail_at = n, .seed = seed + n};
		workload(dir, &fault, &a);
		struct wal *w = open_default(dir);
		struct wal_info info;
		wal_info(w, &info);
		if (!a.opened || a.height == 0) {
			CHECK(!info.has_height || (a.next_tried && info.height == 1));
		} else if (info.height == a.height) {
			long got = count_pattern(w, a.height, 700);
			CHECK(got >= a.durable && got <= a.issued);
		} else {
			/* The failure hit the directory sync after the rename of height + 1. */
			CHECK(a.next_tried && info.height == a.height + 1);
			CHECK(count_pattern(w, info.height, 700) == 0);
		}
		/* The log carries on. */
		CHECK(wal_start_height(w, 100) == WAL_OK);
		CHECK(append_pattern(w, 100, 0, 700, true) == WAL_OK);
		wal_free(w);
		w = open_default(dir);
		CHECK(count_pattern(w, 100, 700) == 1);
		wal_free(w);
		harness_rmdir(dir);
	}
	log_set_level(LOG_INFO);
	fprintf(stderr, "crash_at_every_write: %llu injection points\n", (unsigned long long)total);
}

/* ---- crash with real processes ---------------------------------------------------------- */

#define KILL_MAX_LEN (96 << 10) /* large records, so a kill can land inside one write */

struct kill_report {
	uint64_t height, durable; /* records 0..durable-1 of height are synced */
};

struct kill_ctx {
	const char *dir;
	uint64_t seed;
	struct kill_report last; /* the parent's view */
	long reports;
};

/* The child: reopens the log, checks what it holds, and appends until killed. Exit codes: 2 the
 * log held something it never wrote, 3 an unexpected error. */
static void kill_child(int wfd, void *arg)
{
	struct kill_ctx *c = arg;
	log_set_level(LOG_OFF);
	struct wal *w = NULL;
	struct wal_config cfg;
	wal_config_default(&cfg);
	if (wal_open(&w, c->dir, &cfg) != WAL_OK)
		_exit(3);
	struct wal_info info;
	wal_info(w, &info);
	uint64_t h = info.has_height ? info.height : 0;
	long n = info.has_height ? count_pattern(w, h, KILL_MAX_LEN) : 0;
	if (n < 0)
		_exit(2);
	uint64_t x = c->seed;
	for (;;) {
		if (h == 0 || check_rand(&x) % 40 == 0) {
			if (wal_start_height(w, ++h) != WAL_OK)
				_exit(3);
			n = 0;
			struct kill_report r = {h, 0};
			harness_report(wfd, &r, sizeof(r));
			continue;
		}
		bool sync = check_rand(&x) % 3 != 0;
		if (append_pattern(w, h, (uint64_t)n++, KILL_MAX_LEN, sync) != WAL_OK)
			_exit(3);
		if (sync) {
			struct kill_report r = {h, (uint64_t)n};
			harness_report(wfd, &r, sizeof(r));
		}
	}
}

static void kill_on_report(const uint8_t *msg, void *arg)
{
	struct kill_ctx *c = arg;
	memcpy(&c->last, msg, sizeof(c->last));
	c->reports++;
}

static void crash_kill(void)
{
	char dir[HARNESS_DIR_MAX];
	harness_tmpdir(dir);
	uint64_t seed = check_seed();
	long iters = check_iters(60);
	struct kill_ctx c = {.dir = dir};
	struct harness_reader rd = {
	    .msg_len = sizeof(struct kill_report), .on_msg = kill_on_report, .ctx = &c};
	long dropped_runs = 0;
	int failures_before = check_failures;
	log_set_level(LOG_ERROR);
	for (long it = 0; it < iters; it++) {
		c.seed = seed + (uint64_t)it;
		uint64_t x = c.seed;
		int status =
		    harness_run_and_kill(kill_child, &c, (int64_t)(check_rand(&x) % 40000), &rd);
		CHECK(harness_killed(status));
		if (!harness_killed(status)) {
			fprintf(stderr, "child exited with %d at iteration %ld\n",
			        WIFEXITED(status) ? WEXITSTATUS(status) : -1, it);
			break;
		}
		struct wal *w = open_default(dir);
		if (!w)
			break;
		struct wal_info info;
		wal_info(w, &info);
		dropped_runs += info.dropped > 0;
		long n = info.has_height ? count_pattern(w, info.height, KILL_MAX_LEN) : 0;
		CHECK(n >= 0);
		if (c.last.height > 0) {
			/* The child reports a height right after starting it, so the log is at most
			 * one height ahead of the reports (killed before it could report). */
			CHECK(info.height == c.last.height || info.height == c.last.height + 1);
			if (info.height == c.last.height)
				CHECK(n >= (long)c.last.durable);
		}
		wal_free(w);
		if (check_failures != failures_before)
			break;
	}
	log_set_level(LOG_INFO);
	fprintf(stderr,
	        "crash_kill: %ld kills, %ld synced reports, %ld reopenings cut a torn tail\n",
	        iters, c.reports, dropped_runs);
	CHECK(c.reports > 0);
	harness_rmdir(dir);
}

CHECK_MAIN(CASE(crc32c_vectors), CASE(frame_layout), CASE(round_trip),
           CASE(start_height_drops_older), CASE(caps), CASE(torn_tail_every_offset),
           CASE(corrupt_middle), CASE(sticky_failure), CASE(durability_calls),
           CASE(lock_and_leftovers), CASE(small_files), CASE(crash_at_every_write),
           CASE(crash_kill))
