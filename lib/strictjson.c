/* strictjson.c: strict JSON for request bodies. A validating scanner over
 * the raw bytes refuses everything RFC 8259 does not allow and json-c would
 * let through; only then does json_tokener build the tree from those bytes. */

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "buf.h"
#include "num.h"
#include "strictjson.h"
#include "xmalloc.h"

#define ECHO_MAX 32			/* input bytes an error may quote */
#define ECHO_LEN (ECHO_MAX * 4 + 4)	/* each as \xHH, "...", NUL */
#define REASON_LEN (ECHO_LEN + 64)
#define NAME_LEN 24			/* "character 'x'", "byte 0xC3" */
#define NUM_COPY 64			/* numbers shorter than this skip malloc */
#define KEYS_MIN 16

/* What the scanner expects next; the step functions return one, or -1. */
enum { STEP_VALUE, STEP_AFTER, STEP_END };

struct frame {
	int is_object;
	size_t key0;		/* the object's first entry in scan.keys */
};

/* A decoded key, arena bytes [off, off + len), found at input byte at. */
struct key {
	size_t off, len, at;
};

struct scan {
	const unsigned char *p;
	size_t len, pos;
	struct frame *stack;	/* max_depth frames */
	int depth, max_depth;
	struct key *keys;	/* keys of the objects still open */
	size_t nkeys, capkeys;
	struct buf arena;	/* decoded key bytes */
	size_t err_at;
	char reason[REASON_LEN];
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct scan *s, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
fail(struct scan *s, size_t at, const char *fmt, ...)
{
	va_list ap;

	s->err_at = at;
	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof s->reason, fmt, ap);
	va_end(ap);
	return -1;
}

/* Input quoted in an error ends up in an API reply and a log line: keep it
 * short, one line, printable, and free of quotes and backslashes. */
static const char *
echo(char out[ECHO_LEN], const unsigned char *p, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n && i < ECHO_MAX; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
			out[o++] = (char)p[i];
		else
			o += (size_t)snprintf(out + o, ECHO_LEN - o, "\\x%02X",
			    p[i]);
	}
	if (n > ECHO_MAX)
		o += (size_t)snprintf(out + o, ECHO_LEN - o, "...");
	out[o] = '\0';
	return out;
}

static const char *
byte_name(char out[NAME_LEN], unsigned char c)
{
	if (c == '\0')
		snprintf(out, NAME_LEN, "NUL byte");
	else if (c >= 0x20 && c < 0x7f)
		snprintf(out, NAME_LEN, "character '%c'", c);
	else
		snprintf(out, NAME_LEN, "byte 0x%02X", c);
	return out;
}

/* The lax forms json-c or JavaScript take, named so a client sees why. */
static const char *
lax_form(unsigned char c, int at_value)
{
	if (c == '\'')
		return "single quotes are not JSON";
	if (c == '/' || c == '#')
		return "comments are not JSON";
	if (!at_value)
		return NULL;
	if (c == '+')
		return "a number may not start with '+'";
	if (c == 'N')
		return "NaN is not JSON";
	if (c == 'I')
		return "Infinity is not JSON";
	if (c == '.')
		return "a number must start with a digit";
	return NULL;
}

/* Fails at the current byte, or at the end of the input. */
static int
unexpected(struct scan *s, const char *expected, int at_value)
{
	char name[NAME_LEN];
	const char *lax;

	if (s->pos >= s->len)
		return fail(s, s->pos, "unexpected end of input, expected %s",
		    expected);
	lax = lax_form(s->p[s->pos], at_value);
	if (lax != NULL)
		return fail(s, s->pos, "%s", lax);
	return fail(s, s->pos, "unexpected %s, expected %s",
	    byte_name(name, s->p[s->pos]), expected);
}

static int
is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void
skip_ws(struct scan *s)
{
	while (s->pos < s->len && is_ws(s->p[s->pos]))
		s->pos++;
}

static int
next_is(const struct scan *s, unsigned char c)
{
	return s->pos < s->len && s->p[s->pos] == c;
}

static void
add_utf8(struct buf *b, uint32_t cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18);
		n = 4;
	}
	if (n > 3)
		u[n - 3] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	if (n > 2)
		u[n - 2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	if (n > 1)
		u[n - 1] = (unsigned char)(0x80 | (cp & 0x3f));
	buf_add(b, u, n);
}

static int
hex4(const unsigned char *p, size_t n, uint32_t *v)
{
	uint32_t x = 0;
	size_t i;

	if (n < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			x = x << 4 | (uint32_t)(p[i] - '0');
		else if (p[i] >= 'a' && p[i] <= 'f')
			x = x << 4 | (uint32_t)(p[i] - 'a' + 10);
		else if (p[i] >= 'A' && p[i] <= 'F')
			x = x << 4 | (uint32_t)(p[i] - 'A' + 10);
		else
			return -1;
	}
	*v = x;
	return 0;
}

/* \uXXXX, or a \uD8xx\uDCxx pair, at s->pos. */
static int
scan_uescape(struct scan *s, int is_key)
{
	const unsigned char *p = s->p + s->pos;
	size_t at = s->pos, rest = s->len - s->pos;
	uint32_t cp, lo;

	if (hex4(p + 2, rest - 2, &cp) < 0)
		return fail(s, at, "bad \\u escape");
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return fail(s, at, "unpaired surrogate \\u%.4s", p + 2);
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (rest < 12 || p[6] != '\\' || p[7] != 'u' ||
		    hex4(p + 8, rest - 8, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
			return fail(s, at, "unpaired surrogate \\u%.4s", p + 2);
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		s->pos += 6;
	}
	/* json-c keeps keys as C strings: "a\u0000b" would become "a". */
	if (is_key && cp == 0)
		return fail(s, at, "\\u0000 in a key");
	if (is_key)
		add_utf8(&s->arena, cp);
	s->pos += 6;
	return 0;
}

static unsigned char
unescape(unsigned char e)
{
	switch (e) {
	case '"':
	case '\\':
	case '/':
		return e;
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	default:
		return 0;
	}
}

static int
scan_escape(struct scan *s, int is_key)
{
	char name[NAME_LEN];
	unsigned char c;

	if (s->pos + 1 >= s->len)
		return fail(s, s->pos, "unterminated string");
	if (s->p[s->pos + 1] == 'u')
		return scan_uescape(s, is_key);
	c = unescape(s->p[s->pos + 1]);
	if (c == 0)
		return fail(s, s->pos, "bad escape: %s after a backslash",
		    byte_name(name, s->p[s->pos + 1]));
	if (is_key)
		buf_add(&s->arena, &c, 1);
	s->pos += 2;
	return 0;
}

static void
add_key(struct scan *s, size_t off, size_t at)
{
	if (s->nkeys == s->capkeys) {
		s->capkeys = s->capkeys ? s->capkeys * 2 : KEYS_MIN;
		s->keys = xrealloc(s->keys, s->capkeys * sizeof *s->keys);
	}
	s->keys[s->nkeys].off = off;
	s->keys[s->nkeys].len = s->arena.len - off;
	s->keys[s->nkeys].at = at;
	s->nkeys++;
}

/* A string at s->pos; a key is also decoded into the arena and recorded. */
static int
scan_string(struct scan *s, int is_key)
{
	char name[NAME_LEN];
	size_t start = s->pos, off = s->arena.len, n;
	unsigned char c;

	s->pos++;
	while (s->pos < s->len && s->p[s->pos] != '"') {
		c = s->p[s->pos];
		if (c == '\\') {
			if (scan_escape(s, is_key) < 0)
				return -1;
			continue;
		}
		if (c < 0x20)
			return fail(s, s->pos, "unescaped %s in a string",
			    byte_name(name, c));
		n = buf_utf8_seq_len((const char *)s->p + s->pos,
		    s->len - s->pos);
		if (n == 0)
			return fail(s, s->pos, "invalid UTF-8");
		if (is_key)
			buf_add(&s->arena, s->p + s->pos, n);
		s->pos += n;
	}
	if (s->pos >= s->len)
		return fail(s, start, "unterminated string");
	s->pos++;
	if (is_key)
		add_key(s, off, start);
	return 0;
}

static size_t
count_digits(const struct scan *s, size_t i)
{
	size_t n = 0;

	while (i + n < s->len && s->p[i + n] >= '0' && s->p[i + n] <= '9')
		n++;
	return n;
}

/* json-c saturates out-of-range integers silently. */
static int
check_int(struct scan *s, size_t start)
{
	int64_t v;

	if (num_parse_i64((const char *)s->p + start, s->pos - start,
	    INT64_MIN, INT64_MAX, &v, NULL, 0) < 0)
		return fail(s, start, "integer out of range");
	return STEP_AFTER;
}

/* Assumes the C locale, as json-c's own strtod() call does. */
static int
check_double(struct scan *s, size_t start)
{
	char small[NUM_COPY], *text = small, *end;
	size_t n = s->pos - start;
	double d;
	int rc = -1;

	if (n >= sizeof small)
		text = xmalloc(n + 1);
	memcpy(text, s->p + start, n);
	text[n] = '\0';
	d = strtod(text, &end);
	if (end != text + n)
		rc = fail(s, start, "number not understood by strtod");
	else if (!isfinite(d))
		rc = fail(s, start, "number out of range");
	else
		rc = STEP_AFTER;
	if (text != small)
		free(text);
	return rc;
}

static int
scan_number(struct scan *s)
{
	size_t start = s->pos, i = s->pos, n;
	int is_int = 1;

	if (s->p[i] == '-')
		i++;
	if (i < s->len && s->p[i] == 'I')
		return fail(s, start, "-Infinity is not JSON");
	n = count_digits(s, i);
	if (n == 0)
		return fail(s, i, "a number needs a digit after '-'");
	if (s->p[i] == '0' && n > 1)
		return fail(s, i, "leading zero in a number");
	i += n;
	if (i < s->len && s->p[i] == '.') {
		is_int = 0;
		i++;
		n = count_digits(s, i);
		if (n == 0)
			return fail(s, i, "a number needs a digit after '.'");
		i += n;
	}
	if (i < s->len && (s->p[i] == 'e' || s->p[i] == 'E')) {
		is_int = 0;
		i++;
		if (i < s->len && (s->p[i] == '+' || s->p[i] == '-'))
			i++;
		n = count_digits(s, i);
		if (n == 0)
			return fail(s, i, "a number needs a digit in its exponent");
		i += n;
	}
	s->pos = i;
	return is_int ? check_int(s, start) : check_double(s, start);
}

static int
scan_literal(struct scan *s)
{
	static const char *const words[] = { "true", "false", "null" };
	size_t i, n;

	for (i = 0; i < sizeof words / sizeof words[0]; i++) {
		n = strlen(words[i]);
		if (s->len - s->pos >= n &&
		    memcmp(s->p + s->pos, words[i], n) == 0) {
			s->pos += n;
			return STEP_AFTER;
		}
	}
	return fail(s, s->pos, "unknown literal, expected true, false or null");
}

static int
key_cmp(const void *a, const void *b, void *arena)
{
	const struct key *x = a, *y = b;
	const char *base = arena;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = n > 0 ? memcmp(base + x->off, base + y->off, n) : 0;

	if (c != 0)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return (x->at > y->at) - (x->at < y->at);
}

static int
same_key(const struct key *x, const struct key *y, const char *arena)
{
	return x->len == y->len && (x->len == 0 ||
	    memcmp(arena + x->off, arena + y->off, x->len) == 0);
}

/* Sorting keeps a body with many keys at O(n log n). Reports the earliest
 * repeat in input order: after the sort, repeats follow their first use. */
static int
check_dups(struct scan *s, size_t first)
{
	char shown[ECHO_LEN];
	struct key *k, *dup = NULL;
	size_t n = s->nkeys - first, i;

	if (n < 2)
		return 0;
	k = s->keys + first;
	qsort_r(k, n, sizeof *k, key_cmp, s->arena.data);
	for (i = 1; i < n; i++)
		if (same_key(&k[i - 1], &k[i], s->arena.data) &&
		    (dup == NULL || k[i].at < dup->at))
			dup = &k[i];
	if (dup == NULL)
		return 0;
	return fail(s, dup->at, "duplicate key \"%s\"",
	    echo(shown, (const unsigned char *)s->arena.data + dup->off,
	    dup->len));
}

static int
close_container(struct scan *s)
{
	struct frame *f = &s->stack[s->depth - 1];

	if (f->is_object && check_dups(s, f->key0) < 0)
		return -1;
	s->nkeys = f->key0;
	s->depth--;
	s->pos++;
	return STEP_AFTER;
}

/* A member's key and colon, after '{' or ','. */
static int
scan_key(struct scan *s)
{
	if (next_is(s, '}'))
		return fail(s, s->pos, "trailing comma");
	if (!next_is(s, '"'))
		return unexpected(s, "a string key", 0);
	if (scan_string(s, 1) < 0)
		return -1;
	skip_ws(s);
	if (!next_is(s, ':'))
		return unexpected(s, "':' after a key", 0);
	s->pos++;
	return STEP_VALUE;
}

static int
open_container(struct scan *s, int is_object)
{
	struct frame *f;

	if (s->depth == s->max_depth)
		return fail(s, s->pos, "nested deeper than %d levels",
		    s->max_depth);
	f = &s->stack[s->depth++];
	f->is_object = is_object;
	f->key0 = s->nkeys;
	s->pos++;
	skip_ws(s);
	if (next_is(s, is_object ? '}' : ']'))
		return close_container(s);
	return is_object ? scan_key(s) : STEP_VALUE;
}

static int
scan_value(struct scan *s)
{
	unsigned char c;

	skip_ws(s);
	if (s->pos >= s->len)
		return unexpected(s, "a value", 1);
	c = s->p[s->pos];
	if (c == '{' || c == '[')
		return open_container(s, c == '{');
	if (c == '"')
		return scan_string(s, 0) < 0 ? -1 : STEP_AFTER;
	if (c == '-' || (c >= '0' && c <= '9'))
		return scan_number(s);
	if (c == 't' || c == 'f' || c == 'n')
		return scan_literal(s);
	return unexpected(s, "a value", 1);
}

/* After a value: a comma, the end of its container, or the end of input. */
static int
scan_after(struct scan *s)
{
	const char *want;
	int is_object;

	skip_ws(s);
	if (s->depth == 0)
		return s->pos == s->len ? STEP_END :
		    unexpected(s, "nothing after the object", 0);
	is_object = s->stack[s->depth - 1].is_object;
	want = is_object ? "',' or '}'" : "',' or ']'";
	if (next_is(s, is_object ? '}' : ']'))
		return close_container(s);
	if (!next_is(s, ','))
		return unexpected(s, want, 0);
	s->pos++;
	skip_ws(s);
	if (is_object)
		return scan_key(s);
	if (next_is(s, ']'))
		return fail(s, s->pos, "trailing comma");
	return STEP_VALUE;
}

static int
scan_doc(struct scan *s)
{
	size_t rounds;
	int step = STEP_VALUE;

	skip_ws(s);
	if (s->pos == s->len)
		return fail(s, s->pos, "the body is empty");
	if (!next_is(s, '{'))
		return fail(s, s->pos, "the body is not a JSON object");
	/* Each step consumes at least one byte, except the last. */
	for (rounds = 0; rounds <= s->len && step != STEP_END; rounds++) {
		step = step == STEP_VALUE ? scan_value(s) : scan_after(s);
		if (step < 0)
			return -1;
	}
	assert(step == STEP_END);
	return 0;
}

/* json-c builds the tree from bytes the scanner has already accepted. */
static struct json_object *
build(const char *buf, size_t len, int max_depth, char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error e;
	char *text;

	text = xmalloc(len + 1);
	memcpy(text, buf, len);
	text[len] = '\0';
	tok = json_tokener_new_ex(max_depth + 1);
	if (tok == NULL)
		xoom();
	/* Length with the NUL, or json-c answers "continue" for a whole body. */
	o = json_tokener_parse_ex(tok, text, (int)len + 1);
	e = json_tokener_get_error(tok);
	if (o == NULL || e != json_tokener_success ||
	    !json_object_is_type(o, json_type_object)) {
		seterr(err, errlen, "invalid JSON at byte %zu: json-c: %s",
		    json_tokener_get_parse_end(tok), json_tokener_error_desc(e));
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	free(text);
	return o;
}

struct json_object *
sj_parse(const char *buf, size_t len, int max_depth, char *err,
    size_t errlen)
{
	struct json_object *o = NULL;
	struct scan s;

	memset(&s, 0, sizeof s);
	buf_init(&s.arena);
	if (max_depth < 1 || max_depth > SJ_DEPTH_MAX) {
		seterr(err, errlen, "max_depth %d is out of range", max_depth);
		goto out;
	}
	if (len >= INT_MAX) {
		seterr(err, errlen, "the body is too large for json-c");
		goto out;
	}
	s.p = (const unsigned char *)buf;
	s.len = buf != NULL ? len : 0;
	s.max_depth = max_depth;
	s.stack = xmalloc((size_t)max_depth * sizeof *s.stack);
	buf_add(&s.arena, "", 0);	/* a base for key offsets, never NULL */
	if (scan_doc(&s) < 0) {
		seterr(err, errlen, "invalid JSON at byte %zu: %s", s.err_at,
		    s.reason);
		goto out;
	}
	o = build(buf, len, max_depth, err, errlen);
out:
	free(s.stack);
	free(s.keys);
	buf_free(&s.arena);
	return o;
}

char *
sj_to_text(struct json_object *o, size_t *len)
{
	const char *text;
	size_t n = 0;
	char *copy;

	if (o == NULL)
		return NULL;
	text = json_object_to_json_string_length(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	if (text == NULL)	/* json-c's printbuf could not grow */
		xoom();
	copy = xmalloc(n + 1);
	memcpy(copy, text, n);
	copy[n] = '\0';
	if (len != NULL)
		*len = n;
	return copy;
}
