/*
 * The parser is driven by field tables: each JSON object of the format is a `spec` listing its
 * fields (name, kind, where the value goes, its range), so strictness (unknown and missing
 * fields) and error paths are handled once, in parse_object. Cross-field rules run afterwards in
 * check_rules.
 */
#include "chain/genesis.h"

#include <assert.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/amount.h"
#include "base/hex.h"
#include "base/ss58.h"
#include "chain/registry.h"
#include "chain/validators.h"
#include "crypto/devkeys.h"
#include "crypto/hash.h"

#define PATH_MAX_LEN 96

/* A parsed genesis always holds a valid validator set (so genesis_build_state cannot fail on it):
 * at most VALSET_MAX validators whose total power cannot overflow. */
_Static_assert(GENESIS_MAX_VALIDATORS == VALSET_MAX, "genesis validators form one valset");
_Static_assert(GENESIS_MAX_POWER <= VALSET_MAX_TOTAL_POWER / VALSET_MAX, "genesis total power");

static const char *const genesis_messages[] = {
    [GENESIS_OK] = "ok",
    [GENESIS_BAD_JSON] = "genesis is not valid JSON",
    [GENESIS_MISSING_FIELD] = "genesis lacks a required field",
    [GENESIS_UNKNOWN_FIELD] = "genesis has an unknown field",
    [GENESIS_BAD_TYPE] = "genesis field has the wrong JSON type",
    [GENESIS_BAD_VALUE] = "genesis field value is out of range or badly formed",
    [GENESIS_BAD_ADDRESS] = "genesis field is not a valid address for this chain",
    [GENESIS_BAD_AMOUNT] = "genesis field is not a PHA amount",
    [GENESIS_SUM_MISMATCH] = "genesis allocations do not add up to total_supply",
    [GENESIS_DUPLICATE] = "genesis lists an account twice",
    [GENESIS_RULE] = "genesis breaks a rule",
    [GENESIS_TOO_LARGE] = "genesis is too large",
    [GENESIS_NOMEM] = "out of memory",
};

const char *genesis_strerror(enum genesis_result r)
{
	if ((size_t)r < sizeof(genesis_messages) / sizeof(genesis_messages[0]))
		return genesis_messages[r];
	return "unknown genesis error";
}

/* ---- field tables ---- */

enum kind {
	K_STRING,
	K_UINT,
	K_AMOUNT,
	K_ADDRESS,
	K_OBJECT,
	K_ARRAY,
	K_FLAGGED, /* an optional K_OBJECT whose presence sets the bool at offset */
	K_BOOL,
	K_KEY_LIST, /* array of 32-byte hex strings: count u8 at offset, entries after it; <= max */
	K_BACKENDS, /* array of attestation backend names: a bit mask u8 at offset */
};

struct charset {
	const char *chars;
	const char *desc;
};

struct spec;

struct field {
	const char *name;
	enum kind kind;
	bool optional;
	size_t offset;     /* where the value goes, from the base of the object being parsed */
	size_t width;      /* K_UINT: 1, 2 or 8 bytes */
	uint64_t min, max; /* K_UINT: value range; K_STRING: length range */
	const struct charset *charset; /* K_STRING: allowed bytes (NULL: printable/UTF-8) */
	const struct spec *sub; /* K_OBJECT: fields into the same base; K_ARRAY: the element */
};

struct spec {
	const struct field *fields;
	size_t n;
	size_t elem_size; /* K_ARRAY element */
	size_t max_elems; /* K_ARRAY cap */
	size_t count_off; /* K_ARRAY: where the element count goes in the parent base */
};

static const struct charset name_chars = {
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
    "letters, digits, '.', '_' and '-'"};
static const struct charset symbol_chars = {"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
                                            "upper-case letters and digits"};
#define NAME_CHARS   (&name_chars)
#define SYMBOL_CHARS (&symbol_chars)
#define G(f)         offsetof(struct genesis, f)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const struct field token_fields[] = {
    {"symbol", K_STRING, false, G(token_symbol), 0, 1, GENESIS_SYMBOL_MAX, SYMBOL_CHARS, NULL},
    {"decimals", K_UINT, false, G(token_decimals), 1, AMOUNT_DECIMALS, AMOUNT_DECIMALS, NULL, NULL},
};
static const struct spec token_spec = {token_fields, ARRAY_LEN(token_fields), 0, 0, 0};

static const struct field fee_fields[] = {
    {"base", K_AMOUNT, false, G(fee_base), 0, 0, 0, NULL, NULL},
    {"per_byte", K_AMOUNT, false, G(fee_per_byte), 0, 0, 0, NULL, NULL},
    {"per_weight", K_AMOUNT, false, G(fee_per_weight), 0, 0, 0, NULL, NULL},
};
static const struct spec fee_spec = {fee_fields, ARRAY_LEN(fee_fields), 0, 0, 0};

#define V(f) offsetof(struct genesis_validator, f)
static const struct field validator_fields[] = {
    {"name", K_STRING, false, V(name), 0, 1, GENESIS_NAME_MAX, NAME_CHARS, NULL},
    {"public_key", K_ADDRESS, false, V(public_key), 0, 0, 0, NULL, NULL},
    {"power", K_UINT, false, V(power), 8, 1, GENESIS_MAX_POWER, NULL, NULL},
};
static const struct spec validator_spec = {validator_fields, ARRAY_LEN(validator_fields),
                                           sizeof(struct genesis_validator), GENESIS_MAX_VALIDATORS,
                                           G(n_validators)};

#define A(f) offsetof(struct genesis_allocation, f)
static const struct field allocation_fields[] = {
    {"account", K_ADDRESS, false, A(account), 0, 0, 0, NULL, NULL},
    {"amount", K_AMOUNT, false, A(amount), 0, 0, 0, NULL, NULL},
    {"label", K_STRING, true, A(label), 0, 0, GENESIS_LABEL_MAX, NULL, NULL},
};
static const struct spec allocation_spec = {allocation_fields, ARRAY_LEN(allocation_fields),
                                            sizeof(struct genesis_allocation),
                                            GENESIS_MAX_ALLOCATIONS, G(n_allocations)};

#define P(f) G(attestation.f)
_Static_assert(offsetof(struct attest_policy, measurements) ==
                   offsetof(struct attest_policy, n_measurements) + 1,
               "K_KEY_LIST layout");
_Static_assert(offsetof(struct attest_policy, sim_keys) ==
                   offsetof(struct attest_policy, n_sim_keys) + 1,
               "K_KEY_LIST layout");
static const struct field attestation_fields[] = {
    {"backends", K_BACKENDS, false, P(backends), 0, 0, 0, NULL, NULL},
    {"any_measurement", K_BOOL, false, P(any_measurement), 0, 0, 0, NULL, NULL},
    {"measurements", K_KEY_LIST, false, P(n_measurements), 0, 0, ATTEST_MAX_MEASUREMENTS, NULL,
     NULL},
    {"sim_attestation_keys", K_KEY_LIST, false, P(n_sim_keys), 0, 0, ATTEST_MAX_SIM_KEYS, NULL,
     NULL},
    {"max_report_age", K_UINT, false, P(max_report_age), 8, 1, 1000000, NULL, NULL},
    {"max_confidence_level", K_UINT, false, P(max_confidence_level), 1, 1, 255, NULL, NULL},
};
static const struct spec attestation_spec = {attestation_fields, ARRAY_LEN(attestation_fields), 0,
                                             0, 0};

/* ss58_prefix comes first: the address fields after it are checked against it. */
static const struct field top_fields[] = {
    {"ss58_prefix", K_UINT, false, G(ss58_prefix), 2, 0, SS58_PREFIX_MAX, NULL, NULL},
    {"chain_name", K_STRING, false, G(chain_name), 0, 1, GENESIS_NAME_MAX, NAME_CHARS, NULL},
    {"genesis_time_ms", K_UINT, false, G(genesis_time_ms), 8, 0, (uint64_t)1 << 53, NULL, NULL},
    {"block_time_ms", K_UINT, false, G(block_time_ms), 8, 10, 600000, NULL, NULL},
    {"token", K_OBJECT, false, 0, 0, 0, 0, NULL, &token_spec},
    {"total_supply", K_AMOUNT, false, G(total_supply), 0, 0, 0, NULL, NULL},
    {"existential_deposit", K_AMOUNT, false, G(existential_deposit), 0, 0, 0, NULL, NULL},
    {"fees", K_OBJECT, false, 0, 0, 0, 0, NULL, &fee_spec},
    {"treasury", K_ADDRESS, false, G(treasury), 0, 0, 0, NULL, NULL},
    {"mining_reward_pool", K_ADDRESS, false, G(mining_reward_pool), 0, 0, 0, NULL, NULL},
    {"sudo", K_ADDRESS, false, G(sudo), 0, 0, 0, NULL, NULL},
    {"validators", K_ARRAY, false, G(validators), 0, 0, 0, NULL, &validator_spec},
    {"allocations", K_ARRAY, false, G(allocations), 0, 0, 0, NULL, &allocation_spec},
    {"attestation", K_FLAGGED, true, G(has_attestation), 0, 0, 0, NULL, &attestation_spec},
};
static const struct spec top_spec = {top_fields, ARRAY_LEN(top_fields), 0, 0, 0};

/* ---- parsing ---- */

struct parser {
	struct genesis *g;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4))) static enum genesis_result
fail(struct parser *p, enum genesis_result r, const char *fmt, ...)
{
	if (p->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->err, p->errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

static enum genesis_result parse_object(struct parser *p, const struct spec *s, json_t *obj,
                                        void *base, const char *path);

typedef enum genesis_result (*parse_fn)(struct parser *p, const struct field *f, json_t *v,
                                        void *base, const char *path);

static enum genesis_result need_string(struct parser *p, json_t *v, const char *path,
                                       const char *what)
{
	if (json_is_string(v))
		return GENESIS_OK;
	return fail(p, GENESIS_BAD_TYPE, "%s: must be a string (%s)", path, what);
}

static enum genesis_result parse_string(struct parser *p, const struct field *f, json_t *v,
                                        void *base, const char *path)
{
	enum genesis_result r = need_string(p, v, path, "text");
	if (r != GENESIS_OK)
		return r;
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (n < f->min || n > f->max)
		return fail(p, GENESIS_BAD_VALUE, "%s: length %zu is not in %llu..%llu", path, n,
		            (unsigned long long)f->min, (unsigned long long)f->max);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool ok =
		    f->charset ? strchr(f->charset->chars, c) != NULL : (c >= 0x20 && c != 0x7f);
		if (!ok)
			return fail(p, GENESIS_BAD_VALUE,
			            "%s: character %zu of \"%.40s\" is not allowed (use %s)", path,
			            i + 1, s,
			            f->charset ? f->charset->desc : "printable characters");
	}
	memcpy((char *)base + f->offset, s, n + 1);
	return GENESIS_OK;
}

static enum genesis_result parse_uint(struct parser *p, const struct field *f, json_t *v,
                                      void *base, const char *path)
{
	if (!json_is_integer(v))
		return fail(p, GENESIS_BAD_TYPE, "%s: must be an integer", path);
	json_int_t x = json_integer_value(v);
	if (x < 0 || (uint64_t)x < f->min || (uint64_t)x > f->max) {
		if (f->min == f->max)
			return fail(p, GENESIS_BAD_VALUE, "%s: must be %llu", path,
			            (unsigned long long)f->min);
		return fail(p, GENESIS_BAD_VALUE, "%s: %lld is not in %llu..%llu", path,
		            (long long)x, (unsigned long long)f->min, (unsigned long long)f->max);
	}
	uint8_t *dst = (uint8_t *)base + f->offset;
	if (f->width == 1)
		*dst = (uint8_t)x;
	else if (f->width == 2)
		*(uint16_t *)(void *)dst = (uint16_t)x;
	else
		*(uint64_t *)(void *)dst = (uint64_t)x;
	return GENESIS_OK;
}

static enum genesis_result parse_amount(struct parser *p, const struct field *f, json_t *v,
                                        void *base, const char *path)
{
	enum genesis_result r = need_string(p, v, path, "a PHA amount such as \"0.01\"");
	if (r != GENESIS_OK)
		return r;
	u128 amount;
	const char *s = json_string_value(v);
	if (!amount_parse_pha(&amount, s))
		return fail(
		    p, GENESIS_BAD_AMOUNT,
		    "%s: not a PHA amount: \"%.40s\" (want digits with at most %d decimals)", path,
		    s, AMOUNT_DECIMALS);
	memcpy((uint8_t *)base + f->offset, &amount, sizeof(amount));
	return GENESIS_OK;
}

static enum genesis_result parse_address(struct parser *p, const struct field *f, json_t *v,
                                         void *base, const char *path)
{
	enum genesis_result r = need_string(p, v, path, "an SS58 address");
	if (r != GENESIS_OK)
		return r;
	const char *s = json_string_value(v);
	uint8_t pk[32];
	uint16_t prefix;
	enum ss58_result sr = ss58_decode(pk, &prefix, s);
	if (sr != SS58_OK)
		return fail(p, GENESIS_BAD_ADDRESS, "%s: not a valid SS58 address: \"%.60s\" (%s)",
		            path, s, ss58_strerror(sr));
	if (prefix != p->g->ss58_prefix)
		return fail(p, GENESIS_BAD_ADDRESS,
		            "%s: address \"%.60s\" has network prefix %u but ss58_prefix is %u",
		            path, s, prefix, p->g->ss58_prefix);
	memcpy((uint8_t *)base + f->offset, pk, 32);
	return GENESIS_OK;
}

static enum genesis_result parse_sub_object(struct parser *p, const struct field *f, json_t *v,
                                            void *base, const char *path)
{
	return parse_object(p, f->sub, v, base, path);
}

static enum genesis_result parse_array(struct parser *p, const struct field *f, json_t *v,
                                       void *base, const char *path)
{
	const struct spec *s = f->sub;
	if (!json_is_array(v))
		return fail(p, GENESIS_BAD_TYPE, "%s: must be an array", path);
	size_t n = json_array_size(v);
	if (n > s->max_elems)
		return fail(p, GENESIS_TOO_LARGE, "%s: %zu entries, at most %zu allowed", path, n,
		            s->max_elems);
	uint8_t *elems = n ? calloc(n, s->elem_size) : NULL;
	if (n && !elems)
		return fail(p, GENESIS_NOMEM, "%s: out of memory", path);
	/* Owned by the genesis from here on, so genesis_release frees it on any failure. */
	memcpy((uint8_t *)base + f->offset, &elems, sizeof(elems));
	memcpy((uint8_t *)base + s->count_off, &n, sizeof(n));
	for (size_t i = 0; i < n; i++) {
		char sub[PATH_MAX_LEN];
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		enum genesis_result r =
		    parse_object(p, s, json_array_get(v, i), elems + i * s->elem_size, sub);
		if (r != GENESIS_OK)
			return r;
	}
	return GENESIS_OK;
}

static enum genesis_result parse_flagged(struct parser *p, const struct field *f, json_t *v,
                                         void *base, const char *path)
{
	*(bool *)(void *)((uint8_t *)base + f->offset) = true;
	return parse_object(p, f->sub, v, base, path);
}

static enum genesis_result parse_bool(struct parser *p, const struct field *f, json_t *v,
                                      void *base, const char *path)
{
	if (!json_is_boolean(v))
		return fail(p, GENESIS_BAD_TYPE, "%s: must be true or false", path);
	*(bool *)(void *)((uint8_t *)base + f->offset) = json_is_true(v);
	return GENESIS_OK;
}

static enum genesis_result need_array(struct parser *p, json_t *v, size_t max, const char *path,
                                      const char *what)
{
	if (!json_is_array(v))
		return fail(p, GENESIS_BAD_TYPE, "%s: must be an array of %s", path, what);
	if (json_array_size(v) > max)
		return fail(p, GENESIS_TOO_LARGE, "%s: %zu entries, at most %zu allowed", path,
		            json_array_size(v), max);
	return GENESIS_OK;
}

static enum genesis_result parse_key_list(struct parser *p, const struct field *f, json_t *v,
                                          void *base, const char *path)
{
	enum genesis_result r = need_array(p, v, f->max, path, "64-digit hex strings");
	if (r != GENESIS_OK)
		return r;
	uint8_t *count = (uint8_t *)base + f->offset, *keys = count + 1;
	size_t n = json_array_size(v);
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(v, i);
		if (!json_is_string(s) ||
		    !hex_decode_exact(keys + 32 * i, 32, json_string_value(s)))
			return fail(p, GENESIS_BAD_VALUE, "%s[%zu]: not a 64-digit hex string",
			            path, i);
		for (size_t j = 0; j < i; j++)
			if (memcmp(keys + 32 * j, keys + 32 * i, 32) == 0)
				return fail(p, GENESIS_DUPLICATE, "%s[%zu]: duplicate of %s[%zu]",
				            path, i, path, j);
	}
	*count = (uint8_t)n;
	return GENESIS_OK;
}

static enum genesis_result parse_backends(struct parser *p, const struct field *f, json_t *v,
                                          void *base, const char *path)
{
	enum genesis_result r = need_array(p, v, ATTEST_BACKEND_MAX, path, "backend names");
	if (r != GENESIS_OK)
		return r;
	uint8_t *mask = (uint8_t *)base + f->offset;
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *s = json_array_get(v, i);
		uint8_t b = json_is_string(s) ? attest_backend_from_name(json_string_value(s)) : 0;
		if (!b)
			return fail(p, GENESIS_BAD_VALUE,
			            "%s[%zu]: not a backend (use \"sim\" or \"gramine-sgx\")", path,
			            i);
		if (*mask & (1u << b))
			return fail(p, GENESIS_DUPLICATE, "%s[%zu]: backend listed twice", path, i);
		*mask |= (uint8_t)(1u << b);
	}
	return GENESIS_OK;
}

static const parse_fn parsers[] = {
    [K_STRING] = parse_string,     [K_UINT] = parse_uint,         [K_AMOUNT] = parse_amount,
    [K_ADDRESS] = parse_address,   [K_OBJECT] = parse_sub_object, [K_ARRAY] = parse_array,
    [K_FLAGGED] = parse_flagged,   [K_BOOL] = parse_bool,         [K_KEY_LIST] = parse_key_list,
    [K_BACKENDS] = parse_backends,
};

static void join(char out[PATH_MAX_LEN], const char *path, const char *name)
{
	snprintf(out, PATH_MAX_LEN, "%s%s%s", path, *path ? "." : "", name);
}

static const struct field *find_field(const struct spec *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->fields[i].name, name) == 0)
			return &s->fields[i];
	return NULL;
}

/* Edit distance of two short strings (at most 32 bytes; longer ones count as far apart). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[33], prev[33];
	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = row[j - 1] + 1;
			row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, row, sizeof(row));
	}
	return prev[lb];
}

/* The known field closest to an unknown key, if it looks like a typo of it. */
static const char *suggest(const struct spec *s, const char *key)
{
	const char *best = NULL;
	size_t best_d = 3; /* at most two edits */
	for (size_t i = 0; i < s->n; i++) {
		size_t d = edit_distance(key, s->fields[i].name);
		if (d < best_d) {
			best_d = d;
			best = s->fields[i].name;
		}
	}
	return best;
}

static enum genesis_result parse_object(struct parser *p, const struct spec *s, json_t *obj,
                                        void *base, const char *path)
{
	char sub[PATH_MAX_LEN];
	const char *key;
	json_t *v;
	if (!json_is_object(obj))
		return fail(p, GENESIS_BAD_TYPE, "%s: must be an object", *path ? path : "genesis");
	json_object_foreach(obj, key, v)
	{
		if (!find_field(s, key)) {
			join(sub, path, key);
			const char *hint = suggest(s, key);
			return fail(p, GENESIS_UNKNOWN_FIELD, "unknown field \"%.60s\"%s%s%s", sub,
			            hint ? " (did you mean \"" : "", hint ? hint : "",
			            hint ? "\"?)" : "");
		}
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct field *f = &s->fields[i];
		join(sub, path, f->name);
		v = json_object_get(obj, f->name);
		if (!v) {
			if (f->optional)
				continue;
			return fail(p, GENESIS_MISSING_FIELD, "missing field \"%s\"", sub);
		}
		enum genesis_result r = parsers[f->kind](p, f, v, base, sub);
		if (r != GENESIS_OK)
			return r;
	}
	return GENESIS_OK;
}

/* ---- rules ---- */

struct keyed {
	uint8_t pk[32];
	size_t index;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = memcmp(x->pk, y->pk, 32);
	return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Finds two entries with the same 32 bytes at key_off (stride apart); reports the earliest pair.
 * O(n log n). */
static enum genesis_result check_unique(struct parser *p, const void *arr, size_t n, size_t stride,
                                        size_t key_off, const char *what)
{
	if (n < 2)
		return GENESIS_OK;
	struct keyed *k = malloc(n * sizeof(*k));
	if (!k)
		return fail(p, GENESIS_NOMEM, "%s: out of memory", what);
	for (size_t i = 0; i < n; i++) {
		memcpy(k[i].pk, (const uint8_t *)arr + i * stride + key_off, 32);
		k[i].index = i;
	}
	qsort(k, n, sizeof(*k), cmp_keyed);
	size_t first = 0, second = SIZE_MAX;
	for (size_t i = 1; i < n; i++)
		if (memcmp(k[i].pk, k[i - 1].pk, 32) == 0 && k[i].index < second) {
			first = k[i - 1].index;
			second = k[i].index;
		}
	enum genesis_result r = GENESIS_OK;
	if (second != SIZE_MAX) {
		char addr[SS58_ADDR_MAX];
		ss58_encode(addr, sizeof(addr), p->g->ss58_prefix,
		            (const uint8_t *)arr + second * stride + key_off);
		r = fail(p, GENESIS_DUPLICATE, "%s[%zu]: duplicate account %s (also %s[%zu])", what,
		         second, addr, what, first);
	}
	free(k);
	return r;
}

static const struct genesis_allocation *find_allocation(const struct genesis *g,
                                                        const uint8_t pk[32])
{
	for (size_t i = 0; i < g->n_allocations; i++)
		if (memcmp(g->allocations[i].account, pk, 32) == 0)
			return &g->allocations[i];
	return NULL;
}

static enum genesis_result check_amounts(struct parser *p)
{
	const struct genesis *g = p->g;
	char a[AMOUNT_STR_MAX], b[AMOUNT_STR_MAX];
	u128 sum = 0;
	for (size_t i = 0; i < g->n_allocations; i++) {
		u128 amt = g->allocations[i].amount;
		if (amt < g->existential_deposit)
			return fail(p, GENESIS_RULE,
			            "allocations[%zu].amount: %s PHA is below the existential "
			            "deposit %s PHA",
			            i, amount_format_pha(a, amt),
			            amount_format_pha(b, g->existential_deposit));
		if (!amount_add(&sum, sum, amt))
			return fail(p, GENESIS_SUM_MISMATCH, "allocations: the sum overflows");
	}
	if (sum != g->total_supply)
		return fail(p, GENESIS_SUM_MISMATCH,
		            "allocations: they sum to %s PHA but total_supply is %s PHA",
		            amount_format_pha(a, sum), amount_format_pha(b, g->total_supply));
	return GENESIS_OK;
}

/* The mining reward pool holds exactly 70% of the supply (mainnet-like tokenomics, DESIGN.md
 * §11); the treasury must exist because fees are credited to it. */
static enum genesis_result check_module_accounts(struct parser *p)
{
	const struct genesis *g = p->g;
	char a[AMOUNT_STR_MAX], b[AMOUNT_STR_MAX];
	if (memcmp(g->treasury, g->mining_reward_pool, 32) == 0)
		return fail(p, GENESIS_RULE, "treasury: must differ from mining_reward_pool");
	if (!find_allocation(g, g->treasury))
		return fail(p, GENESIS_RULE,
		            "treasury: needs an allocation (fees are credited to it)");
	const struct genesis_allocation *pool = find_allocation(g, g->mining_reward_pool);
	u128 pool_amount = pool ? pool->amount : 0, ten_pool, seven_total;
	if (!amount_mul(&ten_pool, pool_amount, 10) ||
	    !amount_mul(&seven_total, g->total_supply, 7) || ten_pool != seven_total)
		return fail(p, GENESIS_RULE,
		            "mining_reward_pool: its allocation is %s PHA but must be 70%% of "
		            "total_supply %s PHA",
		            amount_format_pha(a, pool_amount),
		            amount_format_pha(b, g->total_supply));
	return GENESIS_OK;
}

/* A policy that could never accept a worker it names is a mistake in the document. */
static enum genesis_result check_attestation(struct parser *p)
{
	const struct attest_policy *a = &p->g->attestation;
	if (!p->g->has_attestation)
		return GENESIS_OK;
	if ((a->backends & (1u << ATTEST_BACKEND_SIM)) && a->n_sim_keys == 0)
		return fail(
		    p, GENESIS_RULE,
		    "attestation.sim_attestation_keys: the sim backend needs at least one key");
	if (a->any_measurement && a->n_measurements)
		return fail(p, GENESIS_RULE,
		            "attestation.measurements: must be empty when any_measurement is true");
	if (a->backends && !a->any_measurement && !a->n_measurements)
		return fail(p, GENESIS_RULE,
		            "attestation.measurements: list the allowed measurements (or set "
		            "any_measurement on a dev chain)");
	return GENESIS_OK;
}

static enum genesis_result check_rules(struct parser *p)
{
	const struct genesis *g = p->g;
	enum genesis_result r;
	if (!ss58_prefix_valid(g->ss58_prefix))
		return fail(p, GENESIS_BAD_VALUE, "ss58_prefix: %u is a reserved network id",
		            g->ss58_prefix);
	if (g->total_supply == 0)
		return fail(p, GENESIS_RULE, "total_supply: must be above 0");
	if (g->existential_deposit == 0)
		return fail(p, GENESIS_RULE, "existential_deposit: must be above 0");
	if (g->n_validators == 0)
		return fail(p, GENESIS_RULE, "validators: at least one validator is required");
	if ((r = check_unique(p, g->validators, g->n_validators, sizeof(*g->validators),
	                      offsetof(struct genesis_validator, public_key), "validators")))
		return r;
	if ((r = check_unique(p, g->allocations, g->n_allocations, sizeof(*g->allocations),
	                      offsetof(struct genesis_allocation, account), "allocations")))
		return r;
	if ((r = check_amounts(p)))
		return r;
	if ((r = check_attestation(p)))
		return r;
	return check_module_accounts(p);
}

enum genesis_result genesis_parse(struct genesis *g, const char *json, size_t len, char *err,
                                  size_t errlen)
{
	struct parser p = {g, err, errlen};
	enum genesis_result r;
	json_error_t je;
	memset(g, 0, sizeof(*g));
	if (errlen)
		err[0] = '\0';
	if (len > GENESIS_MAX_JSON)
		return fail(&p, GENESIS_TOO_LARGE, "genesis: %zu bytes, at most %u allowed", len,
		            GENESIS_MAX_JSON);
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return fail(&p, GENESIS_BAD_JSON, "invalid JSON at line %d, column %d: %s", je.line,
		            je.column, je.text);
	r = parse_object(&p, &top_spec, root, g, "");
	json_decref(root);
	if (r == GENESIS_OK)
		r = check_rules(&p);
	if (r != GENESIS_OK)
		genesis_release(g);
	return r;
}

void genesis_release(struct genesis *g)
{
	free(g->validators);
	free(g->allocations);
	memset(g, 0, sizeof(*g));
}

/* ---- encoding and hash ---- */

static void encode_head(struct enc *e, const struct genesis *g)
{
	enc_u8(e, GENESIS_ENCODING_VERSION);
	enc_bytes(e, g->chain_name, strlen(g->chain_name));
	enc_u64(e, g->genesis_time_ms);
	enc_u64(e, g->block_time_ms);
	enc_u16(e, g->ss58_prefix);
	enc_bytes(e, g->token_symbol, strlen(g->token_symbol));
	enc_u8(e, g->token_decimals);
	enc_u128(e, g->total_supply);
	enc_u128(e, g->existential_deposit);
	enc_u128(e, g->fee_base);
	enc_u128(e, g->fee_per_byte);
	enc_u128(e, g->fee_per_weight);
	enc_raw(e, g->treasury, 32);
	enc_raw(e, g->mining_reward_pool, 32);
	enc_raw(e, g->sudo, 32);
}

static void encode_validator(struct enc *e, const struct genesis_validator *v)
{
	enc_bytes(e, v->name, strlen(v->name));
	enc_raw(e, v->public_key, 32);
	enc_u64(e, v->power);
}

static void encode_allocation(struct enc *e, const struct genesis_allocation *a)
{
	enc_raw(e, a->account, 32);
	enc_u128(e, a->amount);
	enc_bytes(e, a->label, strlen(a->label));
}

/* Feeds the encoding to `sink` piece by piece through a small fixed buffer, so the hash never
 * allocates; genesis_encode uses the same pieces. */
static void encode_pieces(const struct genesis *g, struct enc *e,
                          void (*sink)(void *ctx, struct enc *e), void *ctx)
{
	encode_head(e, g);
	enc_uleb(e, g->n_validators);
	sink(ctx, e);
	for (size_t i = 0; i < g->n_validators; i++) {
		encode_validator(e, &g->validators[i]);
		sink(ctx, e);
	}
	enc_uleb(e, g->n_allocations);
	sink(ctx, e);
	for (size_t i = 0; i < g->n_allocations; i++) {
		encode_allocation(e, &g->allocations[i]);
		sink(ctx, e);
	}
	if (g->has_attestation) { /* absent: nothing, so older documents keep their chain id */
		attest_policy_encode(e, &g->attestation);
		sink(ctx, e);
	}
}

static void keep(void *ctx, struct enc *e)
{
	(void)ctx;
	(void)e;
}

void genesis_encode(struct enc *e, const struct genesis *g)
{
	encode_pieces(g, e, keep, NULL);
}

static void hash_piece(void *ctx, struct enc *e)
{
	assert(enc_finish(e) == CODEC_OK);
	hash_update(ctx, e->buf, e->len);
	e->len = 0;
}

void genesis_hash(uint8_t out[32], const struct genesis *g)
{
	uint8_t buf[ATTEST_POLICY_MAX + 512]; /* largest piece: the policy, else the head (272) */
	struct enc e;
	struct hash_state h;
	enc_init_fixed(&e, buf, sizeof(buf));
	hash_init_tagged(&h, GENESIS_HASH_TAG);
	encode_pieces(g, &e, hash_piece, &h);
	hash_final(&h, out);
}

/* ---- state ---- */

void genesis_params(struct runtime_params *p, const struct genesis *g)
{
	memset(p, 0, sizeof(*p));
	genesis_hash(p->chain_id, g);
	p->ss58_prefix = g->ss58_prefix;
	p->block_time_ms = g->block_time_ms;
	p->existential_deposit = g->existential_deposit;
	p->fee_base = g->fee_base;
	p->fee_per_byte = g->fee_per_byte;
	p->fee_per_weight = g->fee_per_weight;
	memcpy(p->treasury, g->treasury, 32);
	memcpy(p->mining_reward_pool, g->mining_reward_pool, 32);
	memcpy(p->sudo, g->sudo, 32);
}

void genesis_valset(struct valset *vs, const struct genesis *g)
{
	assert(g->n_validators <= VALSET_MAX);
	vs->n = g->n_validators;
	for (size_t i = 0; i < g->n_validators; i++) {
		memcpy(vs->v[i].pub_key, g->validators[i].public_key, 32);
		vs->v[i].power = g->validators[i].power;
	}
	validators_sort(vs);
	assert(valset_check(vs) == BLOCK_OK); /* parsing bounds the count, powers and duplicates */
}

enum state_result genesis_build_state(const struct genesis *g, struct state_overlay *o)
{
	struct runtime_params params;
	struct valset vs;
	genesis_params(&params, g);
	genesis_valset(&vs, g);
	enum state_result r = runtime_params_store(o, &params);
	if (r == STATE_OK)
		r = validators_init_state(o, &vs);
	if (r == STATE_OK && g->has_attestation)
		r = registry_policy_store(o, &g->attestation);
	for (size_t i = 0; i < g->n_allocations && r == STATE_OK; i++) {
		uint8_t key[RUNTIME_ACCOUNT_KEY_LEN], val[RUNTIME_ACCOUNT_VALUE_LEN];
		struct account a = {0, g->allocations[i].amount};
		runtime_account_key(key, g->allocations[i].account);
		runtime_account_encode(val, &a);
		r = state_overlay_put(o, key, sizeof(key), val, sizeof(val));
	}
	return r;
}

/* ---- dev genesis ---- */

static void module_address(char out[SS58_ADDR_MAX], const char *name)
{
	uint8_t pk[32];
	runtime_module_account(pk, name);
	ss58_encode(out, SS58_ADDR_MAX, SS58_PREFIX_PHALA, pk);
}

static bool dev_address(char out[SS58_ADDR_MAX], const char *name)
{
	uint8_t pk[SIG_PK_LEN], sk[SIG_SK_LEN];
	bool ok = devkeys_keypair(name, pk, sk);
	sodium_memzero(sk, sizeof(sk));
	if (ok)
		ss58_encode(out, SS58_ADDR_MAX, SS58_PREFIX_PHALA, pk);
	return ok;
}

static bool add_allocation(json_t *arr, const char *addr, const char *pha, const char *label)
{
	return json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "account", addr, "amount",
	                                            pha, "label", label)) == 0;
}

/* 700,000,000 to the pool, 10,000,000 to each dev account, the rest (240,000,000) to the
 * treasury: 1,000,000,000 in all. */
static json_t *dev_allocations(const char *pool, const char *treasury)
{
	json_t *arr = json_array();
	bool ok = arr && add_allocation(arr, pool, "700000000", "mining reward pool");
	for (size_t i = 0; ok && i < DEVKEYS_COUNT; i++) {
		char addr[SS58_ADDR_MAX], label[32];
		snprintf(label, sizeof(label), "dev account %s", devkeys_names[i]);
		ok = dev_address(addr, devkeys_names[i]) &&
		     add_allocation(arr, addr, "10000000", label);
	}
	ok = ok && add_allocation(arr, treasury, "240000000", "treasury");
	if (!ok) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* Dev chains accept sim workers of any build (the sim measurement is the binary's hash). */
static json_t *dev_attestation(void)
{
	uint8_t pk[32], sk[64];
	char hex[65];
	attest_dev_sim_keypair(pk, sk);
	sodium_memzero(sk, sizeof(sk));
	hex_encode(hex, pk, 32);
	return json_pack("{s:[s], s:b, s:[], s:[s], s:i, s:i}", "backends", "sim",
	                 "any_measurement", 1, "measurements", "sim_attestation_keys", hex,
	                 "max_report_age", 600, "max_confidence_level", ATTEST_LEVEL_SIM);
}

char *genesis_dev_json(uint64_t block_time_ms)
{
	char alice[SS58_ADDR_MAX], treasury[SS58_ADDR_MAX], pool[SS58_ADDR_MAX];
	module_address(treasury, "treasury");
	module_address(pool, "mining-reward-pool");
	if (!dev_address(alice, "alice"))
		return NULL;
	json_t *allocs = dev_allocations(pool, treasury);
	if (!allocs)
		return NULL;
	json_t *root = json_pack(
	    "{s:s, s:I, s:I, s:i, s:{s:s, s:i}, s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:s, "
	    "s:[{s:s, s:s, s:i}], s:O}",
	    "chain_name", GENESIS_DEV_CHAIN_NAME, "genesis_time_ms",
	    (json_int_t)GENESIS_DEV_TIME_MS, "block_time_ms", (json_int_t)block_time_ms,
	    "ss58_prefix", SS58_PREFIX_PHALA, "token", "symbol", "PHA", "decimals", AMOUNT_DECIMALS,
	    "total_supply", "1000000000", "existential_deposit", "0.01", "fees", "base", "0.0001",
	    "per_byte", "0.000001", "per_weight", "0.000000001", "treasury", treasury,
	    "mining_reward_pool", pool, "sudo", alice, "validators", "name", "alice", "public_key",
	    alice, "power", 1, "allocations", allocs);
	json_decref(allocs);
	if (root && json_object_set_new(root, "attestation", dev_attestation()) != 0) {
		json_decref(root);
		root = NULL;
	}
	char *out = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
	json_decref(root);
	return out;
}
