/*
 * The node's JSON-RPC methods on a running dev node (chain_feed, worker_get, mq_sequence,
 * block_get, account_get, tx_submit, ... every entry of its table): data[0] < 0x80 picks the
 * method, the rest is the "params" value, spliced into a request as is. data[0] >= 0x80 sends the
 * rest as the body of POST /feeds instead, which must answer 200 with a batch that decodes, or
 * 400 for a malformed body. Properties: never crashes, leaks or
 * trips a sanitizer; the answer is one JSON-RPC response with exactly one of "result" and "error";
 * and no input makes a healthy node report an internal or storage error (those would be bugs: bad
 * params are the client's fault, -32602, or name something absent, -32011).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain/feed.h"
#include "node/node_feed.h"
#include "node/node_int.h"

static struct node *fuzz_node;
static char fuzz_dir[] = "/tmp/tn-fuzz-rpc-XXXXXX";

static void stop_node(void)
{
	char cmd[128];
	node_free(fuzz_node);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fuzz_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", fuzz_dir);
}

static struct node *node_once(void)
{
	struct node_config cfg;
	char err[256] = "";
	if (fuzz_node)
		return fuzz_node;
	if (!mkdtemp(fuzz_dir))
		abort();
	node_config_default(&cfg);
	cfg.data_dir = fuzz_dir;
	cfg.dev = true;
	cfg.rpc_port = 0;
	cfg.rpc_threads = 1;
	cfg.block_time_ms = 50;
	cfg.map_size = (size_t)1 << 30;
	if (node_start(&fuzz_node, &cfg, err, sizeof(err)) != NODE_OK) {
		fprintf(stderr, "node_start: %s\n", err);
		abort();
	}
	atexit(stop_node);
	while (node_height(fuzz_node) < 3) /* a few blocks for block and feed methods to read */
		usleep(10000);
	return fuzz_node;
}

static bool valid_response(json_t *r)
{
	json_t *e = json_object_get(r, "error");
	bool has_result = json_object_get(r, "result") != NULL;
	if (!json_is_object(r) || has_result == (e != NULL))
		return false;
	if (!e)
		return true;
	json_int_t code = json_integer_value(json_object_get(e, "code"));
	return json_is_string(json_object_get(e, "message")) && code != RPC_CODE_INTERNAL_ERROR &&
	       code != RPC_STORAGE && code != RPC_CODE_METHOD_NOT_FOUND;
}

static void post_feeds(const uint8_t *body, size_t len)
{
	struct rpc_get_reply r = {0};
	static struct feed_batch fb;
	node_post_feeds(node_once(), body, len, &r);
	bool ok = r.status == 0 || r.status == 200;
	if (ok ? feed_batch_decode(&fb, (const uint8_t *)r.body, r.len) != CODEC_OK
	       : r.status != 400)
		abort();
	free(r.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpc_table t;
	char *out = NULL;
	size_t len;
	if (size < 1 || size > 4096)
		return 0;
	if (data[0] >= 0x80) {
		post_feeds(data + 1, size - 1);
		return 0;
	}
	node_rpc_table(node_once(), &t);
	const char *method = t.methods[data[0] % t.n].name;
	size_t cap = size + strlen(method) + 64;
	char *body = malloc(cap);
	if (!body)
		abort();
	int n =
	    snprintf(body, cap, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":%.*s}",
	             method, (int)(size - 1), (const char *)data + 1);
	if (rpc_dispatch(&t, body, (size_t)n, &out, &len) != RPC_SERVER_OK || !out)
		abort();
	json_t *r = json_loadb(out, len, 0, NULL);
	/* Bytes that break the envelope are the request's fault: parse errors say so. */
	json_t *e = json_object_get(r, "error");
	bool envelope =
	    e && (json_integer_value(json_object_get(e, "code")) == RPC_CODE_PARSE_ERROR ||
	          json_integer_value(json_object_get(e, "code")) == RPC_CODE_INVALID_REQUEST);
	if (!r || (!envelope && !valid_response(r)))
		abort();
	json_decref(r);
	free(out);
	free(body);
	return 0;
}
