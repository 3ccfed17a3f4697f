/* The Assets contract (src/contracts/assets/assets.h) through the real contract host: deploys,
 * deposits and encrypted commands arrive in signed block feeds of the test chain, effects are read
 * back with real signed queries and receipts. The fee is charged by the real Balances contract,
 * synchronously in one cluster, or prepaid through the chain's queue across two clusters. */
#include "check.h"

#include "../../contracts/counter.c"
#include "../../contracts/harness.h"
#include "base/amount.h"
#include "contracts/assets/assets.h"
#include "contracts/balances/balances.h"
#include "contracts/kit/kit.h"

#define PHA AMOUNT_ONE_PHA
#define NA  6 /* dev accounts */
#define CMD ASSETS_COMMAND_LEN

static const struct contract_code *const codes[] = {&balances_code, &assets_code};

/* A chain, one enclave hosting both contracts in cluster 0, or two: es[0] (the gatekeeper,
 * cluster 0) hosting Balances and es[1] (cluster 1) hosting Assets. */
struct aw {
	struct harness_world w;
	struct enclave_config cfg;
	struct testplat p2;
	struct enclave *es[2];
	size_t n;
	uint8_t bal[32], bal_pk[32], ast[32], ast_pk[32];
	struct enclave *bal_e, *ast_e;
	uint64_t nonce;
};

static void acct(const char *who, uint8_t pk[32])
{
	uint8_t sk[64];
	CHECK(devkeys_keypair(who, pk, sk));
}

static void aw_block(struct aw *t)
{
	CHECK(testplat_block(&t->w.chain, t->es, t->n) == ENCLAVE_OK);
}

static void aw_config(struct aw *t)
{
	t->cfg = harness_config_codes(codes, 2, 1 << 24);
}

/* Cluster 1 with es[1] in it (es[0], the gatekeeper, stays in cluster 0). */
static void aw_second_cluster(struct aw *t)
{
	uint32_t one = 1;
	testplat_registry_event(&t->w.chain, REGISTRY_EV_CLUSTER_CREATED, &one, 4);
	harness_register_assign(&t->w.chain, t->es[1], 1);
	aw_block(t);
	harness_publish(&t->w.chain, t->w.e);
	CHECK(harness_relay(&t->w.chain, t->w.e, "worker/") == 1);
	aw_block(t);
	struct enclave_status st;
	enclave_status(t->es[1], &st);
	CHECK(st.has_cluster_key && st.cluster == 1);
}

/* Deploys Balances (alice, cluster 0) and Assets (dave, the fee collector, in cluster 0 or 1)
 * with args[0..args_len) (NULL: balances id ‖ fee). */
static void aw_deploy(struct aw *t, uint32_t assets_cluster, const uint8_t *args, size_t args_len,
                      u128 fee)
{
	uint8_t alice[32], dave[32], spk[32], a[ASSETS_ARGS_LEN];
	acct("alice", alice);
	acct("dave", dave);
	testplat_deploy(&t->w.chain, alice, 0, BALANCES_CODE_NAME, 1, t->bal);
	memcpy(a, t->bal, 32);
	struct enc e;
	enc_init_fixed(&e, a + 32, 16);
	enc_u128(&e, fee);
	testplat_deploy_args(&t->w.chain, dave, assets_cluster, ASSETS_CODE_NAME, 1,
	                     args ? args : a, args ? args_len : sizeof(a), t->ast);
	aw_block(t);
	harness_contract_keys(t->w.e, t->bal, t->bal_pk, spk);
	harness_contract_keys(t->w.e, t->ast, t->ast_pk, spk);
	t->bal_e = t->es[0];
	t->ast_e = t->es[assets_cluster];
}

static void aw_init_args(struct aw *t, bool two, const uint8_t *args, size_t args_len, u128 fee)
{
	memset(t, 0, sizeof(*t));
	aw_config(t);
	t->w.plat.quiet = 1;
	t->n = two ? 2 : 1;
	harness_world_many(&t->w, &t->cfg, &t->p2, t->es, t->n, 1);
	if (two)
		aw_second_cluster(t);
	aw_deploy(t, two ? 1 : 0, args, args_len, fee);
	t->nonce = 1;
}

static void aw_init(struct aw *t, bool two, u128 fee)
{
	aw_init_args(t, two, NULL, 0, fee);
}

static void aw_release(struct aw *t)
{
	if (t->n == 2)
		enclave_free(t->es[1]);
	harness_world_release(&t->w);
}

/* ---- Balances ------------------------------------------------------------------------------ */

/* The contracts module's deposit message: who's public PHA locked, credited in Balances. */
static void deposit(struct aw *t, const char *who, u128 amount)
{
	uint8_t p[49] = {0x00};
	acct(who, p + 1);
	kit_put_u128(p + 33, amount);
	char topic[KIT_TOPIC_LEN + 1];
	kit_message_topic(topic, t->bal);
	testplat_module_msg(&t->w.chain, "contracts", topic, p, sizeof(p));
}

/* A Balances command (kind ‖ key ‖ amount) from who; returns its nonce. */
static uint64_t bal_send(struct aw *t, const char *who, uint8_t kind, const uint8_t key[32],
                         u128 amount)
{
	uint8_t c[BALANCES_COMMAND_LEN] = {kind};
	memcpy(c + 1, key, 32);
	kit_put_u128(c + 33, amount);
	harness_command_bin(&t->w.chain, &t->w.plat, t->bal_pk, t->bal, who, t->nonce, c,
	                    sizeof(c));
	return t->nonce++;
}

/* who's dark PHA, asked by who. */
static u128 dark(struct aw *t, const char *who)
{
	uint8_t req[33] = {BALANCES_Q_BALANCE}, body[64];
	acct(who, req + 1);
	uint32_t r = 99;
	size_t len = 0;
	CHECK(harness_ask_n(&t->w, t->bal_e, t->bal_pk, t->bal, who, req, sizeof(req), &r, body,
	                    &len) == ENCLAVE_OK);
	CHECK(r == CONTRACT_OK && len == 24);
	return kit_get_u128(body);
}

static u128 issuance(struct aw *t)
{
	uint8_t req[1] = {BALANCES_Q_ISSUANCE}, body[64];
	uint32_t r = 99;
	size_t len = 0;
	CHECK(harness_ask_n(&t->w, t->bal_e, t->bal_pk, t->bal, "alice", req, 1, &r, body, &len) ==
	      ENCLAVE_OK);
	CHECK(r == CONTRACT_OK && len == 40);
	return kit_get_u128(body);
}

/* ---- Assets commands ----------------------------------------------------------------------------
 */

static void sym12(uint8_t out[12], const char *s)
{
	memset(out, 0, 12);
	memcpy(out, s, strlen(s) < 12 ? strlen(s) : 12);
}

static void c_issue(uint8_t c[CMD], const char *sym, uint8_t dec, u128 supply, uint8_t hide)
{
	memset(c, 0, CMD);
	c[0] = ASSETS_CMD_ISSUE;
	sym12(c + 1, sym);
	c[13] = dec;
	kit_put_u128(c + 14, supply);
	c[30] = hide;
}

static void c_transfer(uint8_t c[CMD], const char *sym, const uint8_t dest[32], u128 amount)
{
	memset(c, 0, CMD);
	c[0] = ASSETS_CMD_TRANSFER;
	sym12(c + 1, sym);
	memcpy(c + 13, dest, 32);
	kit_put_u128(c + 45, amount);
}

static void c_burn(uint8_t c[CMD], const char *sym, u128 amount)
{
	memset(c, 0, CMD);
	c[0] = ASSETS_CMD_BURN;
	sym12(c + 1, sym);
	kit_put_u128(c + 13, amount);
}

static void c_destroy(uint8_t c[CMD], const char *sym)
{
	memset(c, 0, CMD);
	c[0] = ASSETS_CMD_DESTROY;
	sym12(c + 1, sym);
}

static void c_collect(uint8_t c[CMD], const uint8_t dest[32], u128 amount)
{
	memset(c, 0, CMD);
	c[0] = ASSETS_CMD_COLLECT;
	memcpy(c + 1, dest, 32);
	kit_put_u128(c + 33, amount);
}

static uint64_t send_n(struct aw *t, const char *who, const uint8_t *c, size_t n)
{
	harness_command_bin(&t->w.chain, &t->w.plat, t->ast_pk, t->ast, who, t->nonce, c, n);
	return t->nonce++;
}

static uint64_t send(struct aw *t, const char *who, const uint8_t c[CMD])
{
	return send_n(t, who, c, CMD);
}

/* The result of who's Assets command `nonce`, with its reply. */
static uint32_t result_of(struct aw *t, const char *who, uint64_t nonce,
                          char reply[CONTRACT_REPLY_MAX + 1])
{
	uint64_t h;
	uint32_t r = 99;
	CHECK(harness_receipt(&t->w, t->ast_e, t->ast_pk, t->ast, who, nonce, &h, &r, reply) ==
	      CONTRACT_OK);
	return r;
}

/* Sends one command in its own block and returns its result (reply into `reply` if not NULL). */
static uint32_t run(struct aw *t, const char *who, const uint8_t c[CMD], char *reply)
{
	char tmp[CONTRACT_REPLY_MAX + 1];
	uint64_t n = send(t, who, c);
	aw_block(t);
	return result_of(t, who, n, reply ? reply : tmp);
}

/* ---- Assets queries -----------------------------------------------------------------------------
 */

static uint32_t ask(struct aw *t, const char *who, const uint8_t *req, size_t n, uint8_t *body,
                    size_t *len)
{
	uint32_t r = 99;
	CHECK(harness_ask_n(&t->w, t->ast_e, t->ast_pk, t->ast, who, req, n, &r, body, len) ==
	      ENCLAVE_OK);
	return r;
}

/* who's holding of sym, asked by who. */
static u128 held(struct aw *t, const char *who, const char *sym)
{
	uint8_t req[45] = {ASSETS_Q_BALANCE}, body[64];
	size_t len = 0;
	acct(who, req + 1);
	sym12(req + 33, sym);
	uint32_t r = ask(t, who, req, sizeof(req), body, &len);
	if (r == ASSETS_UNKNOWN_SYMBOL)
		return 0;
	CHECK(r == CONTRACT_OK && len == 25);
	return kit_get_u128(body);
}

/* A token as LIST answers it to the asker; false when not listed. */
struct listed {
	uint8_t decimals, hidden;
	uint8_t owner[32];
	u128 supply;
};

static bool list_find(struct aw *t, const char *asker, const char *sym, struct listed *out,
                      size_t *count)
{
	uint8_t req[1] = {ASSETS_Q_LIST}, body[4096], s[12];
	size_t len = 0;
	sym12(s, sym);
	CHECK(ask(t, asker, req, 1, body, &len) == CONTRACT_OK);
	struct dec d;
	dec_init(&d, body, len);
	size_t n = (size_t)dec_uleb(&d, 1024);
	bool found = false;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = dec_view(&d, 12);
		struct listed l;
		l.decimals = dec_u8(&d);
		dec_raw(&d, l.owner, 32);
		l.hidden = dec_u8(&d);
		l.supply = dec_u128(&d);
		if (p && memcmp(p, s, 12) == 0) {
			*out = l;
			found = true;
		}
	}
	CHECK(dec_finish(&d) == CODEC_OK);
	if (count)
		*count = n;
	return found;
}

static size_t history_kinds(struct aw *t, const char *who, uint8_t *kinds, size_t max)
{
	uint8_t req[33] = {ASSETS_Q_HISTORY}, body[4096];
	size_t len = 0;
	acct(who, req + 1);
	CHECK(ask(t, who, req, sizeof(req), body, &len) == CONTRACT_OK);
	struct dec d;
	dec_init(&d, body, len);
	size_t n = (size_t)dec_uleb(&d, ASSETS_HISTORY_MAX);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *e = dec_view(&d, 69);
		if (e && i < max)
			kinds[i] = e[0];
	}
	CHECK(dec_finish(&d) == CODEC_OK);
	return n;
}

/* Every answer a refusal must leave unchanged, concatenated. */
static void fingerprint(struct aw *t, struct enc *out)
{
	static const char *const who[] = {"alice", "bob", "charlie"};
	static const uint8_t kinds[] = {ASSETS_Q_HOLDINGS, ASSETS_Q_HISTORY};
	uint8_t req[33], body[4096];
	size_t len;
	enc_init(out, 1 << 16);
	for (size_t i = 0; i < 3; i++) {
		acct(who[i], req + 1);
		for (size_t k = 0; k < 2; k++) {
			req[0] = kinds[k];
			CHECK(ask(t, who[i], req, 33, body, &len) == CONTRACT_OK);
			enc_bytes(out, body, len);
		}
		req[0] = ASSETS_Q_LIST;
		CHECK(ask(t, who[i], req, 1, body, &len) == CONTRACT_OK);
		enc_bytes(out, body, len);
		req[0] = ASSETS_Q_CONFIG;
		CHECK(ask(t, who[i], req, 1, body, &len) == CONTRACT_OK);
		enc_bytes(out, body, len);
		enc_u128(out, dark(t, who[i]));
	}
}

/* ---- the lifecycle ------------------------------------------------------------------------------
 */

static void issue_transfer_burn_destroy(void)
{
	struct aw t;
	aw_init(&t, false, PHA);
	uint8_t bob[32], alice[32], c[CMD];
	char reply[CONTRACT_REPLY_MAX + 1];
	acct("bob", bob);
	acct("alice", alice);
	deposit(&t, "alice", 10 * PHA);
	aw_block(&t);
	CHECK(dark(&t, "alice") == 10 * PHA);

	c_issue(c, "GOLD", 2, 100000, 0);
	CHECK(run(&t, "alice", c, reply) == CONTRACT_OK);
	CHECK_STR(reply, "ok: issued 1000 GOLD");
	CHECK(dark(&t, "alice") == 9 * PHA); /* the fee left alice's dark PHA */
	CHECK(issuance(&t) == 10 * PHA);     /* and stayed in Balances (Assets' dark account) */
	CHECK(held(&t, "alice", "GOLD") == 100000);
	struct listed l;
	CHECK(list_find(&t, "bob", "GOLD", &l, NULL));
	CHECK(l.supply == 100000 && l.decimals == 2 && !l.hidden &&
	      memcmp(l.owner, alice, 32) == 0);

	c_transfer(c, "GOLD", bob, 2505);
	CHECK(run(&t, "alice", c, reply) == CONTRACT_OK);
	CHECK(strncmp(reply, "ok: sent 25.05 GOLD to ", 23) == 0 &&
	      strstr(reply, "974.95 GOLD left"));
	CHECK(held(&t, "alice", "GOLD") == 97495 && held(&t, "bob", "GOLD") == 2505);
	uint8_t req[45] = {ASSETS_Q_HOLDINGS}, body[256];
	size_t len = 0;
	memcpy(req + 1, bob, 32);
	CHECK(ask(&t, "bob", req, 33, body, &len) == CONTRACT_OK);
	CHECK(len == 1 + 12 + 1 + 16 && body[0] == 1 && memcmp(body + 1, "GOLD", 4) == 0 &&
	      body[13] == 2 && kit_get_u128(body + 14) == 2505);

	c_burn(c, "GOLD", 505);
	CHECK(run(&t, "bob", c, reply) == CONTRACT_OK);
	CHECK_STR(reply, "ok: burned 5.05 GOLD, 20 GOLD left");
	CHECK(list_find(&t, "bob", "GOLD", &l, NULL) && l.supply == 99495);

	c_destroy(c, "GOLD");
	CHECK(run(&t, "alice", c, reply) == ASSETS_STILL_HELD);
	CHECK_STR(reply, "others still hold 20 GOLD");
	c_transfer(c, "GOLD", alice, 2000);
	CHECK(run(&t, "bob", c, NULL) == CONTRACT_OK);
	c_destroy(c, "GOLD");
	CHECK(run(&t, "alice", c, reply) == CONTRACT_OK);
	CHECK_STR(reply, "ok: destroyed GOLD, burning your 994.95 GOLD");
	size_t count = 9;
	CHECK(!list_find(&t, "alice", "GOLD", &l, &count) && count == 0);
	CHECK(held(&t, "alice", "GOLD") == 0);

	uint8_t k[8];
	CHECK(history_kinds(&t, "alice", k, 8) == 4);
	CHECK(k[0] == ASSETS_H_ISSUED && k[1] == ASSETS_H_SENT && k[2] == ASSETS_H_RECEIVED &&
	      k[3] == ASSETS_H_DESTROYED);
	CHECK(history_kinds(&t, "bob", k, 8) == 3);
	CHECK(k[0] == ASSETS_H_RECEIVED && k[1] == ASSETS_H_BURNED && k[2] == ASSETS_H_SENT);

	/* The symbol is free again; a second fee is charged. */
	c_issue(c, "GOLD", 0, 7, 0);
	CHECK(run(&t, "alice", c, NULL) == CONTRACT_OK);
	CHECK(dark(&t, "alice") == 8 * PHA);
	aw_release(&t);
}

/* The deployer moves the fees held to any dark account; nobody else can, and never more
 * than the fees. */
static void collect_pays_the_fees_out(void)
{
	struct aw t;
	aw_init(&t, false, 3 * PHA);
	uint8_t charlie[32], c[CMD];
	char reply[CONTRACT_REPLY_MAX + 1];
	acct("charlie", charlie);
	deposit(&t, "alice", 10 * PHA);
	aw_block(&t);
	c_issue(c, "A1", 0, 1, 0);
	CHECK(run(&t, "alice", c, NULL) == CONTRACT_OK);
	c_issue(c, "A2", 0, 1, 0);
	CHECK(run(&t, "alice", c, NULL) == CONTRACT_OK);
	CHECK(dark(&t, "alice") == 4 * PHA);

	c_collect(c, charlie, 2 * PHA);
	CHECK(run(&t, "bob", c, reply) == CONTRACT_DENIED);
	CHECK(run(&t, "alice", c, NULL) == CONTRACT_DENIED);
	c_collect(c, charlie, 7 * PHA);
	CHECK(run(&t, "dave", c, reply) == ASSETS_INSUFFICIENT);
	CHECK_STR(reply, "insufficient fees: have 6 PHA, need 7 PHA");
	c_collect(c, charlie, 0);
	CHECK(run(&t, "dave", c, NULL) == ASSETS_ZERO_AMOUNT);
	static const uint8_t zero[32];
	c_collect(c, zero, PHA);
	CHECK(run(&t, "dave", c, NULL) == ASSETS_BAD_DEST);
	c_collect(c, t.ast, PHA); /* Balances would refuse it: Assets pays itself */
	CHECK(run(&t, "dave", c, reply) == ASSETS_BAD_DEST);
	CHECK_STR(reply, "bad destination: this contract");
	CHECK(dark(&t, "charlie") == 0);

	c_collect(c, charlie, 2 * PHA + PHA / 2);
	CHECK(run(&t, "dave", c, reply) == CONTRACT_OK);
	CHECK(strstr(reply, "ok: paid 2.5 PHA to ") && strstr(reply, "3.5 PHA left to collect"));
	CHECK(dark(&t, "charlie") == 2 * PHA + PHA / 2);
	CHECK(issuance(&t) == 10 * PHA);
	c_collect(c, charlie, 4 * PHA);
	CHECK(run(&t, "dave", c, NULL) == ASSETS_INSUFFICIENT);
	aw_release(&t);
}

/* ---- refusals -----------------------------------------------------------------------------------
 */

/* cmd from who is refused with `want`, and nothing any query shows changes. */
static void refused(struct aw *t, const char *who, const uint8_t *c, size_t n, uint32_t want)
{
	struct enc before, after;
	char reply[CONTRACT_REPLY_MAX + 1];
	fingerprint(t, &before);
	uint64_t nonce = send_n(t, who, c, n);
	aw_block(t);
	uint32_t r = result_of(t, who, nonce, reply);
	if (r != want)
		fprintf(stderr, "command %02x from %s: result %u, want %u (%s)\n", c[0], who, r,
		        want, reply);
	CHECK(r == want && reply[0] != '\0');
	fingerprint(t, &after);
	CHECK(before.len == after.len && memcmp(before.buf, after.buf, before.len) == 0);
	enc_release(&before);
	enc_release(&after);
}

/* alice issued GOLD (3 decimals, 1 unit) and sent bob 0.01; she has half a PHA left, bob has
 * half a PHA; the fee is 1 PHA. */
static void gold_world(struct aw *t)
{
	uint8_t bob[32], c[CMD];
	acct("bob", bob);
	aw_init(t, false, PHA);
	deposit(t, "alice", PHA + PHA / 2);
	deposit(t, "bob", PHA / 2);
	aw_block(t);
	c_issue(c, "GOLD", 3, 1000, 0);
	CHECK(run(t, "alice", c, NULL) == CONTRACT_OK);
	c_transfer(c, "GOLD", bob, 10);
	CHECK(run(t, "alice", c, NULL) == CONTRACT_OK);
}

static void bad_issues_change_nothing(void)
{
	struct aw t;
	uint8_t c[CMD];
	gold_world(&t);
	c_issue(c, "SILVER", 0, 5, 0); /* bob has half a PHA: the fee is not paid */
	refused(&t, "bob", c, CMD, ASSETS_FEE_UNPAID);
	char reply[CONTRACT_REPLY_MAX + 1];
	CHECK(result_of(&t, "bob", t.nonce - 1, reply) == ASSETS_FEE_UNPAID);
	CHECK_STR(reply, "issuing fee unpaid: insufficient dark PHA for the fee of 1 PHA");
	c_issue(c, "GOLD", 0, 5, 0);
	refused(&t, "alice", c, CMD, ASSETS_SYMBOL_EXISTS);
	static const char *const bad_syms[] = {"", "gold", "G D", "G-D", "GOLD\x01"};
	for (size_t i = 0; i < sizeof(bad_syms) / sizeof(bad_syms[0]); i++) {
		c_issue(c, bad_syms[i], 0, 5, 0);
		refused(&t, "alice", c, CMD, ASSETS_BAD_SYMBOL);
	}
	c_issue(c, "AB", 0, 5, 0);
	c[4] = 'C'; /* "AB\0C": a NUL inside */
	refused(&t, "alice", c, CMD, ASSETS_BAD_SYMBOL);
	c_issue(c, "NEW", ASSETS_DECIMALS_MAX + 1, 5, 0);
	refused(&t, "alice", c, CMD, CONTRACT_BAD_REQUEST);
	c_issue(c, "NEW", 0, 0, 0);
	refused(&t, "alice", c, CMD, ASSETS_ZERO_AMOUNT);
	c_issue(c, "NEW", 0, 5, 2);
	refused(&t, "alice", c, CMD, CONTRACT_BAD_REQUEST);
	c_issue(c, "NEW", 0, 5, 0);
	c[CMD - 1] = 1; /* padding must be zero */
	refused(&t, "alice", c, CMD, CONTRACT_BAD_REQUEST);
	c_issue(c, "NEW", 0, 5, 0);
	refused(&t, "alice", c, CMD - 1, CONTRACT_BAD_REQUEST);
	c[0] = 0x06;
	refused(&t, "alice", c, CMD, CONTRACT_BAD_REQUEST);
	aw_release(&t);
}

static void bad_transfers_burns_and_destroys_change_nothing(void)
{
	struct aw t;
	uint8_t bob[32], alice[32], c[CMD];
	char reply[CONTRACT_REPLY_MAX + 1];
	acct("bob", bob);
	acct("alice", alice);
	gold_world(&t);
	c_transfer(c, "GOLD", bob, 0);
	refused(&t, "alice", c, CMD, ASSETS_ZERO_AMOUNT);
	c_transfer(c, "GOLD", bob, 991);
	refused(&t, "alice", c, CMD, ASSETS_INSUFFICIENT);
	CHECK(result_of(&t, "alice", t.nonce - 1, reply) == ASSETS_INSUFFICIENT);
	CHECK_STR(reply, "insufficient GOLD: have 0.99 GOLD, need 0.991 GOLD");
	c_transfer(c, "GOLD", alice, 1);
	refused(&t, "alice", c, CMD, ASSETS_BAD_DEST);
	static const uint8_t zero[32];
	c_transfer(c, "GOLD", zero, 1);
	refused(&t, "alice", c, CMD, ASSETS_BAD_DEST);
	c_transfer(c, "LEAD", bob, 1);
	refused(&t, "alice", c, CMD, ASSETS_UNKNOWN_SYMBOL);
	c_transfer(c, "lead", bob, 1);
	refused(&t, "alice", c, CMD, ASSETS_BAD_SYMBOL);
	c_transfer(c, "GOLD", alice, 11);
	refused(&t, "bob", c, CMD, ASSETS_INSUFFICIENT);
	c_burn(c, "GOLD", 11);
	refused(&t, "bob", c, CMD, ASSETS_INSUFFICIENT);
	c_burn(c, "GOLD", 0);
	refused(&t, "bob", c, CMD, ASSETS_ZERO_AMOUNT);
	c_destroy(c, "GOLD");
	refused(&t, "bob", c, CMD, ASSETS_NOT_OWNER);
	refused(&t, "alice", c, CMD, ASSETS_STILL_HELD);
	c_destroy(c, "LEAD");
	refused(&t, "alice", c, CMD, ASSETS_UNKNOWN_SYMBOL);
	aw_release(&t);
}

/* Balances, holdings and histories answer the holder only; the list hides a hidden supply from
 * everyone but the owner; malformed queries are refused. */
static void queries_answer_the_holder_only(void)
{
	struct aw t;
	aw_init(&t, false, 0); /* a free token */
	uint8_t alice[32], c[CMD], body[256];
	acct("alice", alice);
	c_issue(c, "SECRET", 4, 123456789, 1);
	CHECK(run(&t, "alice", c, NULL) == CONTRACT_OK);
	uint8_t req[45] = {ASSETS_Q_BALANCE};
	memcpy(req + 1, alice, 32);
	sym12(req + 33, "SECRET");
	size_t len;
	CHECK(ask(&t, "bob", req, 45, body, &len) == CONTRACT_DENIED && len == 0);
	CHECK(ask(&t, "alice", req, 45, body, &len) == CONTRACT_OK && len == 25);
	CHECK(kit_get_u128(body) == 123456789 && body[16] == 4);
	sym12(req + 33, "s");
	CHECK(ask(&t, "alice", req, 45, body, &len) == ASSETS_BAD_SYMBOL);
	sym12(req + 33, "NONE");
	CHECK(ask(&t, "alice", req, 45, body, &len) == ASSETS_UNKNOWN_SYMBOL);
	CHECK(ask(&t, "alice", req, 44, body, &len) == CONTRACT_BAD_REQUEST);
	for (uint8_t k = ASSETS_Q_HOLDINGS; k <= ASSETS_Q_HISTORY; k += 2) {
		req[0] = k;
		CHECK(ask(&t, "bob", req, 33, body, &len) == CONTRACT_DENIED);
		CHECK(ask(&t, "alice", req, 33, body, &len) == CONTRACT_OK && body[0] == 1);
		CHECK(ask(&t, "alice", req, 34, body, &len) == CONTRACT_BAD_REQUEST);
	}
	struct listed l;
	CHECK(list_find(&t, "bob", "SECRET", &l, NULL) && l.hidden == 1 && l.supply == 0);
	CHECK(list_find(&t, "alice", "SECRET", &l, NULL) && l.hidden == 1 && l.supply == 123456789);
	req[0] = ASSETS_Q_LIST;
	CHECK(ask(&t, "bob", req, 2, body, &len) == CONTRACT_BAD_REQUEST);
	req[0] = ASSETS_Q_CONFIG;
	CHECK(ask(&t, "bob", req, 1, body, &len) == CONTRACT_OK && len == 64);
	CHECK(memcmp(body, t.bal, 32) == 0 && kit_get_u128(body + 32) == 0 &&
	      kit_get_u128(body + 48) == 0);
	req[0] = 0x09;
	CHECK(ask(&t, "bob", req, 1, body, &len) == CONTRACT_BAD_REQUEST);
	CHECK(ask(&t, "bob", req, 0, body, &len) == CONTRACT_BAD_REQUEST);
	aw_release(&t);
}

/* Deployed without (valid) arguments, the contract refuses every command and query. */
static void without_arguments_nothing_works(void)
{
	static const uint8_t short_args[47] = {1};
	const struct {
		const uint8_t *args;
		size_t len;
	} cases[] = {{(const uint8_t *)"", 0}, {short_args, sizeof(short_args)}};
	for (size_t i = 0; i < 2; i++) {
		struct aw t;
		aw_init_args(&t, false, cases[i].args, cases[i].len, 0);
		uint8_t c[CMD], body[64];
		size_t len;
		char reply[CONTRACT_REPLY_MAX + 1];
		c_issue(c, "GOLD", 0, 5, 0);
		CHECK(run(&t, "alice", c, reply) == ASSETS_NOT_CONFIGURED);
		CHECK(strstr(reply, "not configured") != NULL);
		uint8_t req[1] = {ASSETS_Q_LIST};
		CHECK(ask(&t, "alice", req, 1, body, &len) == ASSETS_NOT_CONFIGURED);
		aw_release(&t);
	}
}

/* PAID credits only from the configured Balances; a forged one from elsewhere changes nothing. */
static void paid_messages_only_from_balances(void)
{
	struct aw t;
	aw_init(&t, false, PHA);
	uint8_t p[49] = {BALANCES_MSG_PAID}, body[64], req[1] = {ASSETS_Q_CONFIG};
	acct("bob", p + 1);
	kit_put_u128(p + 33, 5 * PHA);
	char topic[KIT_TOPIC_LEN + 1];
	kit_message_topic(topic, t.ast);
	testplat_module_msg(&t.w.chain, "contracts", topic, p, sizeof(p));
	uint8_t other[32] = {9};
	struct mq_message m = {.origin = {.kind = MQ_ORIGIN_CONTRACT},
	                       .topic = (const uint8_t *)topic,
	                       .topic_len = strlen(topic),
	                       .payload = p,
	                       .payload_len = sizeof(p)};
	memcpy(m.origin.id, other, 32);
	testplat_queue(&t.w.chain, &m);
	aw_block(&t);
	size_t len;
	CHECK(ask(&t, "bob", req, 1, body, &len) == CONTRACT_OK && kit_get_u128(body + 48) == 0);

	/* The real thing, in one cluster: bob pays Assets with Balances' PAY_CONTRACT. */
	deposit(&t, "bob", 5 * PHA);
	aw_block(&t);
	uint64_t n = bal_send(&t, "bob", BALANCES_CMD_PAY_CONTRACT, t.ast, 2 * PHA);
	aw_block(&t);
	uint64_t h;
	uint32_t r = 99;
	char reply[CONTRACT_REPLY_MAX + 1];
	CHECK(harness_receipt(&t.w, t.bal_e, t.bal_pk, t.bal, "bob", n, &h, &r, reply) ==
	          CONTRACT_OK &&
	      r == CONTRACT_OK);
	CHECK(harness_relay(&t.w.chain, t.bal_e, topic) == 1);
	aw_block(&t);
	CHECK(ask(&t, "bob", req, 1, body, &len) == CONTRACT_OK &&
	      kit_get_u128(body + 48) == 2 * PHA);
	CHECK(dark(&t, "bob") == 3 * PHA);
	uint8_t c[CMD];
	c_issue(c, "BOB", 0, 1, 0);
	CHECK(run(&t, "bob", c, NULL) == CONTRACT_OK); /* from the credit, not the dark PHA */
	CHECK(dark(&t, "bob") == 3 * PHA);
	CHECK(ask(&t, "bob", req, 1, body, &len) == CONTRACT_OK && kit_get_u128(body + 48) == PHA);
	aw_release(&t);
}

static u128 credit_of(struct aw *t, const char *who)
{
	uint8_t req[1] = {ASSETS_Q_CONFIG}, body[64];
	size_t len;
	CHECK(ask(t, who, req, 1, body, &len) == CONTRACT_OK && len == 64);
	return kit_get_u128(body + 48);
}

/* Assets' pending egress to Balances (topic contract/<balances>/message): each must be signed
 * by Assets and be a PAY_OUT; the chain delivers them in the next block. The count, and the last
 * payload in last[49]. */
static size_t relay_pay_outs(struct aw *t, uint8_t last[49])
{
	char topic[KIT_TOPIC_LEN + 1];
	kit_message_topic(topic, t->bal);
	struct testplat_egress it;
	size_t n = 0;
	testplat_egress_begin(&it, t->ast_e, 1024);
	while (testplat_egress_next(&it))
		if (testplat_topic_is(&it.m, topic)) {
			CHECK(it.m.origin.kind == MQ_ORIGIN_CONTRACT);
			CHECK_EQ_MEM(it.m.origin.id, t->ast, 32);
			CHECK(it.m.payload_len == 49 && it.m.payload[0] == BALANCES_MSG_PAY_OUT);
			memcpy(last, it.m.payload, 49);
			n++;
		}
	testplat_egress_end(&it);
	CHECK(harness_relay(&t->w.chain, t->ast_e, topic) == n);
	aw_block(t);
	return n;
}

/* The state of the_fee_crosses_clusters_through_the_queue: bob paid 1.5 PHA ahead and issued
 * FAR for 1 PHA, so Assets' dark account at Balances holds 1.5 PHA: 1 PHA of fees, 0.5 PHA of
 * bob's credit. COLLECT cannot call PAY across clusters: it sends PAY_OUT through the queue,
 * never beyond the fees (the credit stays bob's), and only for the deployer. */
static void collect_through_the_queue(struct aw *t)
{
	uint8_t c[CMD], charlie[32], msg[49];
	char reply[CONTRACT_REPLY_MAX + 1], k[12], want[CONTRACT_REPLY_MAX + 1];
	acct("charlie", charlie);
	c_collect(c, charlie, PHA / 2);
	CHECK(run(t, "bob", c, NULL) == CONTRACT_DENIED);
	c_collect(c, charlie, PHA + 1);
	CHECK(run(t, "dave", c, reply) == ASSETS_INSUFFICIENT);
	CHECK_STR(reply, "insufficient fees: have 1 PHA, need 1.000000000001 PHA");
	c_collect(c, t->bal, PHA / 2);
	CHECK(run(t, "dave", c, reply) == ASSETS_BAD_DEST);
	CHECK_STR(reply, "bad destination: the Balances contract");
	c_collect(c, t->ast, PHA / 2);
	CHECK(run(t, "dave", c, reply) == ASSETS_BAD_DEST);
	CHECK(relay_pay_outs(t, msg) == 0);

	c_collect(c, charlie, 3 * PHA / 4);
	CHECK(run(t, "dave", c, reply) == CONTRACT_OK);
	snprintf(
	    want, sizeof(want),
	    "ok: 0.75 PHA sent to %s through the chain's queue (Balances applies it in a later "
	    "block)",
	    kit_short(k, charlie));
	CHECK_STR(reply, want);
	CHECK(dark(t, "charlie") == 0); /* not before Balances has the message */
	CHECK(relay_pay_outs(t, msg) == 1);
	CHECK_EQ_MEM(msg + 1, charlie, 32);
	CHECK(kit_get_u128(msg + 33) == 3 * PHA / 4);
	CHECK(dark(t, "charlie") == 3 * PHA / 4);
	/* Conservation: bob's and charlie's dark PHA and Assets' 0.75 PHA (0.25 PHA of fees, 0.5 of
	 * credit) are the 5 PHA deposited. */
	CHECK(dark(t, "bob") == 3 * PHA + PHA / 2 && issuance(t) == 5 * PHA);

	/* The rest of the fees, then nothing: bob's credit is not the deployer's. */
	c_collect(c, charlie, PHA / 4 + 1);
	CHECK(run(t, "dave", c, reply) == ASSETS_INSUFFICIENT);
	CHECK_STR(reply, "insufficient fees: have 0.25 PHA, need 0.250000000001 PHA");
	c_collect(c, charlie, PHA / 4);
	CHECK(run(t, "dave", c, NULL) == CONTRACT_OK);
	CHECK(relay_pay_outs(t, msg) == 1);
	CHECK(dark(t, "charlie") == PHA && issuance(t) == 5 * PHA);
	c_collect(c, charlie, 1);
	CHECK(run(t, "dave", c, reply) == ASSETS_INSUFFICIENT);
	CHECK(relay_pay_outs(t, msg) == 0);
	CHECK(credit_of(t, "bob") == PHA / 2);
}

/* Balances in cluster 0 on one enclave, Assets in cluster 1 on another: CHARGE cannot cross,
 * so ISSUE without credit is refused; a PAY_CONTRACT's PAID message relayed through the chain
 * becomes the payer's credit, and ISSUE then succeeds from it; the deployer collects the fee
 * through the queue. */
static void the_fee_crosses_clusters_through_the_queue(void)
{
	struct aw t;
	aw_init(&t, true, PHA);
	CHECK(t.ast_e == t.es[1] && t.bal_e == t.es[0]);
	uint8_t c[CMD], body[64], req[1] = {ASSETS_Q_CONFIG};
	char reply[CONTRACT_REPLY_MAX + 1];
	deposit(&t, "bob", 5 * PHA);
	aw_block(&t);
	c_issue(c, "FAR", 1, 10, 0);
	CHECK(run(&t, "bob", c, reply) == ASSETS_FEE_UNPAID);
	CHECK(strncmp(reply, "issuing fee unpaid: Balances is not in this cluster", 51) == 0);
	CHECK(dark(&t, "bob") == 5 * PHA);

	uint64_t n = bal_send(&t, "bob", BALANCES_CMD_PAY_CONTRACT, t.ast, PHA + PHA / 2);
	aw_block(&t);
	uint64_t h;
	uint32_t r = 99;
	CHECK(harness_receipt(&t.w, t.bal_e, t.bal_pk, t.bal, "bob", n, &h, &r, reply) ==
	          CONTRACT_OK &&
	      r == CONTRACT_OK);
	CHECK(dark(&t, "bob") == 3 * PHA + PHA / 2);
	size_t len;
	CHECK(ask(&t, "bob", req, 1, body, &len) == CONTRACT_OK && kit_get_u128(body + 48) == 0);
	char topic[KIT_TOPIC_LEN + 1];
	kit_message_topic(topic, t.ast);
	CHECK(harness_relay(&t.w.chain, t.bal_e, topic) == 1);
	aw_block(&t);
	CHECK(ask(&t, "bob", req, 1, body, &len) == CONTRACT_OK &&
	      kit_get_u128(body + 48) == PHA + PHA / 2);

	CHECK(run(&t, "bob", c, reply) == CONTRACT_OK);
	CHECK_STR(reply, "ok: issued 1 FAR");
	CHECK(ask(&t, "bob", req, 1, body, &len) == CONTRACT_OK &&
	      kit_get_u128(body + 48) == PHA / 2);
	c_issue(c, "FAR2", 0, 1, 0); /* half a PHA of credit is not a fee */
	CHECK(run(&t, "bob", c, NULL) == ASSETS_FEE_UNPAID);
	c_issue(c, "CAROL", 0, 1, 0);
	CHECK(run(&t, "charlie", c, NULL) == ASSETS_FEE_UNPAID);
	/* The checkpoint of this state restores. */
	struct enclave *back = testplat_started(&t.p2, &t.cfg, t.es[1]);
	enclave_free(back);
	collect_through_the_queue(&t);
	struct listed l;
	size_t count;
	CHECK(list_find(&t, "alice", "FAR", &l, &count) && count == 1 && l.supply == 10);
	aw_release(&t);
}

/* ---- caps ---------------------------------------------------------------------------------- */

/* A PAID message as Balances would send it, for payer key {tag, i}. */
static void paid_from_balances(struct aw *t, const uint8_t payer[32], u128 amount)
{
	uint8_t p[49] = {BALANCES_MSG_PAID};
	memcpy(p + 1, payer, 32);
	kit_put_u128(p + 33, amount);
	char topic[KIT_TOPIC_LEN + 1];
	kit_message_topic(topic, t->ast);
	struct mq_message m = {.origin = {.kind = MQ_ORIGIN_CONTRACT},
	                       .topic = (const uint8_t *)topic,
	                       .topic_len = strlen(topic),
	                       .payload = p,
	                       .payload_len = sizeof(p),
	                       .sequence = t->nonce++};
	memcpy(m.origin.id, t->bal, 32);
	testplat_queue(&t->w.chain, &m);
	if (t->w.chain.n_msgs == TESTPLAT_MAX_MSGS)
		aw_block(t);
}

/* ASSETS_TOKENS_MAX tokens, then ASSETS_FULL; ASSETS_CREDITS_MAX payers, then a new payer's
 * PAID is refused while a known payer's still adds up. */
static void caps_refuse_cleanly(void)
{
	struct aw t;
	aw_init(&t, false, 0);
	uint8_t c[CMD], bob[32], alice[32];
	char sym[13], reply[CONTRACT_REPLY_MAX + 1];
	acct("bob", bob);
	acct("alice", alice);
	for (int i = 0; i < ASSETS_TOKENS_MAX; i++) {
		snprintf(sym, sizeof(sym), "T%d", i);
		c_issue(c, sym, 0, 1, 0);
		send(&t, devkeys_names[i % NA], c);
		if (t.w.chain.n_msgs == TESTPLAT_MAX_MSGS)
			aw_block(&t);
	}
	aw_block(&t);
	CHECK(held(&t, "alice", "T0") == 1 && held(&t, "bob", "T1") == 1);
	CHECK(held(&t, devkeys_names[(ASSETS_TOKENS_MAX - 1) % NA], "T1023") == 1);
	c_issue(c, "ONEMORE", 0, 1, 0);
	CHECK(run(&t, "alice", c, reply) == ASSETS_FULL);
	CHECK_STR(reply, "no room for another token");
	CHECK(held(&t, "alice", "ONEMORE") == 0);
	c_destroy(c, "T0"); /* a destroyed token makes room */
	CHECK(run(&t, "alice", c, NULL) == CONTRACT_OK);
	c_issue(c, "ONEMORE", 0, 1, 0);
	CHECK(run(&t, "alice", c, NULL) == CONTRACT_OK);

	paid_from_balances(&t, bob, 1);
	for (uint32_t i = 1; i < ASSETS_CREDITS_MAX; i++) {
		uint8_t payer[32] = {0xee};
		memcpy(payer + 1, &i, 4);
		paid_from_balances(&t, payer, 1);
	}
	paid_from_balances(&t, alice, 5); /* the table is full: refused */
	paid_from_balances(&t, bob, 2);   /* a known payer: fine */
	aw_block(&t);
	CHECK(credit_of(&t, "alice") == 0 && credit_of(&t, "bob") == 3);
	/* The state at its caps still checkpoints and restores. */
	struct enclave *back = testplat_started(&t.w.plat, &t.cfg, t.w.e);
	t.ast_e = t.bal_e = back;
	CHECK(credit_of(&t, "bob") == 3 && held(&t, "alice", "ONEMORE") == 1);
	enclave_free(back);
	aw_release(&t);
}

/* ---- snapshots ----------------------------------------------------------------------------------
 */

/* A checkpoint restores the contract to the same answers, and both carry on alike. */
static void a_checkpoint_restores_the_same_answers(void)
{
	struct aw t;
	aw_init(&t, false, PHA);
	uint8_t bob[32], c[CMD];
	acct("bob", bob);
	deposit(&t, "alice", 3 * PHA);
	aw_block(&t);
	c_issue(c, "GOLD", 2, 1000, 1);
	CHECK(run(&t, "alice", c, NULL) == CONTRACT_OK);
	c_transfer(c, "GOLD", bob, 10);
	CHECK(run(&t, "alice", c, NULL) == CONTRACT_OK);
	struct enc before, after;
	fingerprint(&t, &before);
	struct enclave *back = testplat_started(&t.w.plat, &t.cfg, t.w.e);
	struct enclave *orig = t.w.e;
	t.ast_e = t.bal_e = back;
	fingerprint(&t, &after);
	CHECK(before.len == after.len && memcmp(before.buf, after.buf, before.len) == 0);
	enc_release(&before);
	enc_release(&after);
	struct enclave *two[2] = {orig, back};
	c_transfer(c, "GOLD", bob, 5);
	uint64_t n = send(&t, "alice", c);
	CHECK(testplat_block(&t.w.chain, two, 2) == ENCLAVE_OK);
	char reply[CONTRACT_REPLY_MAX + 1];
	CHECK(result_of(&t, "alice", n, reply) == CONTRACT_OK);
	fingerprint(&t, &after);
	t.ast_e = t.bal_e = orig;
	fingerprint(&t, &before);
	CHECK(before.len == after.len && memcmp(before.buf, after.buf, before.len) == 0);
	enc_release(&before);
	enc_release(&after);
	enclave_free(back);
	aw_release(&t);
}

/* Snapshot bytes written by hand (the v1 layout of assets.c) and their mutations. */

static void key(uint8_t k[32], uint8_t b)
{
	memset(k, 0, 32);
	k[0] = b;
}

/* version ‖ configured ‖ balances {bal} ‖ fee ‖ collector {col} ‖ fees held. */
static void snap_header(struct enc *e, uint8_t version, bool configured, uint8_t bal, uint8_t col)
{
	uint8_t k[32];
	enc_u8(e, version);
	enc_bool(e, configured);
	key(k, bal);
	enc_raw(e, k, 32);
	enc_u128(e, configured ? PHA : 0);
	key(k, col);
	enc_raw(e, k, 32);
	enc_u128(e, configured ? 3 * PHA : 0);
}

/* A token owned by {7} with decimals dec and the given supply, held by {7}: a, {h}: b. */
static void snap_token(struct enc *e, const char *sym, uint8_t dec, u128 supply, u128 a, uint8_t h,
                       u128 b)
{
	uint8_t s[12], k[32];
	sym12(s, sym);
	enc_raw(e, s, 12);
	enc_u8(e, dec);
	enc_bool(e, false);
	key(k, 7);
	enc_raw(e, k, 32);
	enc_u128(e, supply);
	enc_uleb(e, (a != 0) + (b != 0));
	for (int pass = 0; pass < 2; pass++) { /* keys increasing */
		bool first = (h < 7) == (pass == 0);
		if (first && b) {
			key(k, h);
			enc_raw(e, k, 32);
			enc_u128(e, b);
		} else if (!first && a) {
			key(k, 7);
			enc_raw(e, k, 32);
			enc_u128(e, a);
		}
	}
}

/* credits {3}: 42 (if credit) ‖ history: {7} with `entries` entries of kind `kind`. */
static void snap_tail(struct enc *e, bool credit, uint8_t kind, size_t entries)
{
	uint8_t k[32], entry[69] = {kind, 'A', 'A', 'A'};
	enc_uleb(e, credit);
	if (credit) {
		key(k, 3);
		enc_raw(e, k, 32);
		enc_u128(e, 42);
	}
	enc_uleb(e, 1);
	key(k, 7);
	enc_raw(e, k, 32);
	enc_uleb(e, entries);
	for (size_t i = 0; i < entries; i++)
		enc_raw(e, entry, sizeof(entry));
}

/* The valid snapshot, or one mutation of it (1..). */
static void snap_build(struct enc *e, int mutation)
{
	enc_init(e, 1 << 16);
	bool unconfigured = mutation == 9;
	snap_header(e, mutation == 1 ? 2 : 1, !unconfigured, unconfigured || mutation == 10 ? 0 : 1,
	            unconfigured ? 0 : 2);
	enc_uleb(e, 2);
	snap_token(e, mutation == 3 ? "CCC" : "AAA", mutation == 8 ? 19 : 2,
	           mutation == 5 ? 12 : 11, 5, mutation == 6 ? 0 : 8, 6);
	snap_token(e, mutation == 4 ? "AAA" : mutation == 7 ? "b" : "BBB", 0, 9, 9, 0, 0);
	snap_tail(e, mutation != 9, mutation == 11 ? 9 : ASSETS_H_ISSUED, mutation == 12 ? 0 : 1);
	if (mutation == 2)
		enc_u8(e, 0);
	CHECK(enc_finish(e) == CODEC_OK);
}

static enum contract_result restore_bytes(const uint8_t *b, size_t n, struct enc *again)
{
	void *s = assets_code.create();
	CHECK(s != NULL);
	enum contract_result r = assets_code.restore(s, b, n);
	if (r == CONTRACT_OK && again) {
		enc_init(again, 1 << 16);
		CHECK(assets_code.snapshot(s, again) == CONTRACT_OK);
	}
	assets_code.destroy(s);
	return r;
}

static void restore_refuses_what_snapshot_would_not_write(void)
{
	struct enc v, again;
	snap_build(&v, 0);
	CHECK(restore_bytes(v.buf, v.len, &again) == CONTRACT_OK);
	CHECK(again.len == v.len && memcmp(again.buf, v.buf, v.len) == 0);
	enc_release(&again);
	for (size_t n = 0; n < v.len; n++) /* every truncation */
		CHECK(restore_bytes(v.buf, n, NULL) == CONTRACT_BAD_REQUEST);
	/* Every single-byte change is refused or canonical (restores and writes back the same). */
	size_t accepted = 0;
	for (size_t at = 0; at < v.len; at++) {
		v.buf[at] ^= 0x41;
		if (restore_bytes(v.buf, v.len, &again) == CONTRACT_OK) {
			CHECK(again.len == v.len && memcmp(again.buf, v.buf, v.len) == 0);
			enc_release(&again);
			accepted++;
		}
		v.buf[at] ^= 0x41;
	}
	CHECK(accepted > 0 && accepted < v.len);
	enc_release(&v);

	static const char *const what[] = {"",
	                                   "version",
	                                   "trailing byte",
	                                   "unsorted tokens",
	                                   "duplicate symbol",
	                                   "sum",
	                                   "zero holder",
	                                   "bad symbol",
	                                   "decimals",
	                                   "unconfigured",
	                                   "zero balances id",
	                                   "history kind",
	                                   "empty history ring"};
	for (int k = 1; k < (int)(sizeof(what) / sizeof(what[0])); k++) {
		snap_build(&v, k);
		enum contract_result r = restore_bytes(v.buf, v.len, NULL);
		if (r != CONTRACT_BAD_REQUEST)
			fprintf(stderr, "restore accepted: %s\n", what[k]);
		CHECK(r == CONTRACT_BAD_REQUEST);
		enc_release(&v);
	}
}

/* Credits are separate payers' money: together they may pass 2^128 - 1 (found by fuzzing: forged
 * PAID messages are impossible on chain, but restore must take whatever snapshot writes). */
static void restore_takes_credits_beyond_u128(void)
{
	struct enc v, again;
	enc_init(&v, 1 << 16);
	snap_header(&v, 1, true, 1, 2);
	enc_uleb(&v, 0);
	enc_uleb(&v, 2);
	for (uint8_t i = 3; i <= 4; i++) {
		uint8_t k[32];
		key(k, i);
		enc_raw(&v, k, 32);
		enc_u128(&v, ~(u128)0);
	}
	enc_uleb(&v, 0);
	CHECK(restore_bytes(v.buf, v.len, &again) == CONTRACT_OK);
	CHECK(again.len == v.len && memcmp(again.buf, v.buf, v.len) == 0);
	enc_release(&again);
	enc_release(&v);
}

/* ---- a randomized run against a model -----------------------------------------------------------
 */

#define NS 4

struct model_token {
	bool live;
	int owner;
	uint8_t decimals;
	u128 supply, held[NA];
};

static const char *const syms[NS] = {"A", "B", "C", "D"};

/* The result the contract must give for command c from account `who`, applied to the model. */
static uint32_t model_apply(struct model_token *m, int who, int kind, int s, int dest, u128 amt,
                            uint8_t dec)
{
	struct model_token *t = &m[s];
	if (kind == 0) {
		if (amt == 0)
			return ASSETS_ZERO_AMOUNT;
		if (t->live)
			return ASSETS_SYMBOL_EXISTS;
		*t = (struct model_token){
		    .live = true, .owner = who, .decimals = dec, .supply = amt};
		t->held[who] = amt;
		return CONTRACT_OK;
	}
	if (!t->live)
		return ASSETS_UNKNOWN_SYMBOL;
	if (kind == 3) {
		if (t->owner != who)
			return ASSETS_NOT_OWNER;
		if (t->supply > t->held[who])
			return ASSETS_STILL_HELD;
		memset(t, 0, sizeof(*t));
		return CONTRACT_OK;
	}
	if (amt == 0)
		return ASSETS_ZERO_AMOUNT;
	if (kind == 1 && dest == who)
		return ASSETS_BAD_DEST;
	if (t->held[who] < amt)
		return ASSETS_INSUFFICIENT;
	t->held[who] -= amt;
	if (kind == 1)
		t->held[dest] += amt;
	else
		t->supply -= amt;
	return CONTRACT_OK;
}

/* Every account's holdings and every token's supply as the contract answers them equal the
 * model, and each supply is the sum of its holdings. */
static void model_check(struct aw *t, const struct model_token *m)
{
	for (int s = 0; s < NS; s++) {
		struct listed l;
		bool live = list_find(t, m[s].live ? devkeys_names[m[s].owner] : "alice", syms[s],
		                      &l, NULL);
		CHECK(live == m[s].live);
		if (!live)
			continue;
		u128 sum = 0;
		for (int a = 0; a < NA; a++) {
			u128 h = held(t, devkeys_names[a], syms[s]);
			CHECK(h == m[s].held[a]);
			sum += h;
		}
		CHECK(l.supply == m[s].supply && sum == l.supply && l.decimals == m[s].decimals);
	}
}

/* One random command, sent and applied to the model: who sent it, and the model's result. */
static uint64_t random_op(struct aw *t, struct model_token *m, uint64_t x, int *who_out,
                          uint32_t *want)
{
	static const int kinds[6] = {0, 1, 1, 1, 2, 3}; /* issue transfer burn destroy */
	int who = (int)(x % NA), kind = kinds[(x >> 8) % 6], s = (int)((x >> 16) % NS);
	int dest = (int)((x >> 24) % NA);
	for (int k = 0; k < NA && (x >> 61) & 1 && !m[s].held[who]; k++)
		who = (who + 1) % NA; /* often a holder, so that more succeed */
	if (kind == 3 && (x >> 62) & 1)
		who = m[s].owner;
	u128 have = m[s].held[who];
	u128 amt = (x >> 32) % 4 == 0 ? have + 1 + (x >> 40) % 3 : (x >> 34) % (have + 2);
	uint8_t dec = (uint8_t)((x >> 56) % 4), dk[32], c[CMD];
	acct(devkeys_names[dest], dk);
	if (kind == 0) {
		amt = (x >> 40) % 1000;
		c_issue(c, syms[s], dec, amt, (uint8_t)((x >> 60) & 1));
	} else if (kind == 1) {
		c_transfer(c, syms[s], dk, amt);
	} else if (kind == 2) {
		c_burn(c, syms[s], amt);
	} else {
		c_destroy(c, syms[s]);
	}
	*want = model_apply(m, who, kind, s, dest, amt, dec);
	*who_out = who;
	return send(t, devkeys_names[who], c);
}

/* Blocks of 8 random commands among 6 accounts and 4 symbols: every result is the model's, and
 * after every block each token's supply is the sum of its holdings, as the model says. */
static void random_operations_conserve_every_token(void)
{
	uint64_t rng = check_seed();
	struct aw t;
	aw_init(&t, false, 1);
	for (int a = 0; a < NA; a++)
		deposit(&t, devkeys_names[a], PHA);
	aw_block(&t);
	struct model_token m[NS];
	memset(m, 0, sizeof(m));
	long blocks = check_iters(25), ok = 0;
	for (long b = 0; b < blocks; b++) {
		uint64_t nonces[8];
		uint32_t want[8];
		int whos[8];
		for (int i = 0; i < 8; i++)
			nonces[i] = random_op(&t, m, check_rand(&rng), &whos[i], &want[i]);
		aw_block(&t);
		for (int i = 0; i < 8; i++) {
			char reply[CONTRACT_REPLY_MAX + 1];
			uint32_t r = result_of(&t, devkeys_names[whos[i]], nonces[i], reply);
			if (r != want[i])
				fprintf(stderr, "block %ld op %d: result %u, model %u (%s)\n", b, i,
				        r, want[i], reply);
			CHECK(r == want[i]);
			ok += r == CONTRACT_OK;
		}
		model_check(&t, m);
	}
	CHECK(blocks < 10 || ok >= blocks); /* the run did something */
	/* The live snapshot restores (which checks every supply against its holdings) and writes
	 * back byte for byte. */
	size_t sn = 0;
	uint8_t *snap = harness_contract_snapshot(&t.w.plat, t.w.e, t.ast, ASSETS_CODE_NAME, &sn);
	struct enc again;
	CHECK(snap && restore_bytes(snap, sn, &again) == CONTRACT_OK);
	CHECK(again.len == sn && memcmp(again.buf, snap, sn) == 0);
	enc_release(&again);
	free(snap);
	aw_release(&t);
}

CHECK_MAIN(CASE(issue_transfer_burn_destroy), CASE(collect_pays_the_fees_out),
           CASE(bad_issues_change_nothing), CASE(bad_transfers_burns_and_destroys_change_nothing),
           CASE(queries_answer_the_holder_only), CASE(without_arguments_nothing_works),
           CASE(paid_messages_only_from_balances), CASE(the_fee_crosses_clusters_through_the_queue),
           CASE(a_checkpoint_restores_the_same_answers),
           CASE(restore_refuses_what_snapshot_would_not_write),
           CASE(restore_takes_credits_beyond_u128), CASE(caps_refuse_cleanly),
           CASE(random_operations_conserve_every_token))
