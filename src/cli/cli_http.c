/* The worker's HTTP routes from the CLI (cmd_worker.h cli_http): a bounded libcurl request. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_worker.h"

#define CLI_HTTP_MAX     (16u << 20)
#define CLI_HTTP_TIMEOUT 30000L

struct sink {
	uint8_t *buf;
	size_t len;
	bool over;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t k = size * n;
	if (s->len + k > CLI_HTTP_MAX) {
		s->over = true;
		return 0;
	}
	uint8_t *b = realloc(s->buf, s->len + k + 1);
	if (!b)
		return 0;
	memcpy(b + s->len, p, k);
	s->buf = b;
	s->len += k;
	s->buf[s->len] = 0;
	return k;
}

bool cli_http(const char *url, const char *path, const uint8_t *body, size_t len,
              struct cli_http_reply *out, char *err, size_t errlen)
{
	char full[2048];
	struct sink s = {NULL, 0, false};
	struct curl_slist *hdr = NULL;
	memset(out, 0, sizeof(*out));
	if ((size_t)snprintf(full, sizeof(full), "%s%s%s", strstr(url, "://") ? "" : "http://", url,
	                     path) >= sizeof(full)) {
		snprintf(err, errlen, "URL too long");
		return false;
	}
	CURL *c = curl_easy_init();
	if (!c) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return false;
	}
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, CLI_HTTP_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	if (body) {
		hdr = curl_slist_append(hdr, "Content-Type: application/octet-stream");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	CURLcode r = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	if (r != CURLE_OK) {
		snprintf(err, errlen, "worker at %s: %s", url,
		         s.over ? "answer too large" : curl_easy_strerror(r));
		free(s.buf);
		return false;
	}
	out->body = s.buf ? s.buf : calloc(1, 1);
	out->len = s.len;
	return out->body != NULL;
}
