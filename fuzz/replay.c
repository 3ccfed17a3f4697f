/*
 * Regression-corpus driver for builds without libFuzzer: feeds every file of the directories (or
 * files) named on the command line to LLVMFuzzerTestOneInput once. A crash, sanitizer report or
 * abort fails the ctest case; an empty or missing corpus directory is an error, so a corpus cannot
 * silently vanish.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		return -1;
	}
	uint8_t *buf = malloc(1 << 20);
	size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
	fclose(f);
	if (!buf)
		return -1;
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

static int run_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s does not exist\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path) == 0 ? 1 : -1;
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char full[4096];
		snprintf(full, sizeof(full), "%s/%s", path, e->d_name);
		if (run_file(full) != 0) {
			count = -1;
			break;
		}
		count++;
	}
	closedir(d);
	return count;
}

int main(int argc, char **argv)
{
	int total = 0;
	for (int i = 1; i < argc; i++) {
		int n = run_path(argv[i]);
		if (n < 0)
			return 1;
		total += n;
	}
	if (total == 0) {
		fprintf(stderr, "replay: no corpus inputs found\n");
		return 1;
	}
	printf("replayed %d inputs\n", total);
	return 0;
}
