/* test_strictjson.c: sj_parse refuses each class of non-RFC 8259 input that
 * json-c lets through, and accepts the valid input next to it; sj_to_text
 * stores values as they came in. One table row per case. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json.h>

#include "buf.h"
#include "strictjson.h"

#define DEPTH 32		/* max_json_depth's default */
#define ERR_LEN 512
#define ERR_PREFIX "invalid JSON at byte "

struct ok_case {
	const char *in;
	size_t len;		/* 0: strlen(in) */
	int depth;		/* 0: DEPTH */
};

#define OK(s) { s, 0, 0 }
#define OKN(s) { s, sizeof(s) - 1, 0 }

static const struct ok_case ok_cases[] = {
	/* shape and whitespace */
	OK("{}"),
	OK(" \t\r\n{ \t\r\n} \t\r\n"),
	OK("{\"a\" : 1 , \"b\" : [ 1 , 2 ] }"),
	OK("{\"a\":1}   "),
	OK("{\"a\":1}\n"),
	OK("{\"a\":{},\"b\":[],\"c\":[{}],\"d\":[[]]}"),
	OK("{\"a\":true,\"b\":false,\"c\":null}"),
	OK("{\"\":1}"),
	/* strings and escapes */
	OK("{\"a\":\"\"}"),
	OK("{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}"),
	OK("{\"a\":\"\\u00e9\"}"),
	OK("{\"a\":\"\\u00E9\"}"),
	OK("{\"a\":\"\\ud83d\\ude00\"}"),
	OK("{\"a\":\"\\uD83D\\uDE00\"}"),
	OK("{\"a\":\"\\udbff\\udfff\"}"),
	OK("{\"a\":\"\\ud7ff\\ue000\\uffff\"}"),
	OK("{\"a\":\"x\\u0000y\"}"),
	OK("{\"\\u0001\":1}"),
	OK("{\"a\":\"\x7f\"}"),
	OK("{\"a\":\"'single'\"}"),
	OK("{\"a\":\"/* not a comment */\"}"),
	OK("{\"a\":\"NaN\"}"),
	/* UTF-8, RFC 3629 boundaries */
	OK("{\"a\":\"caf\xc3\xa9\"}"),
	OK("{\"caf\xc3\xa9\":1}"),
	OK("{\"a\":\"\xc2\x80\xdf\xbf\"}"),
	OK("{\"a\":\"\xe0\xa0\x80\xe2\x82\xac\"}"),
	OK("{\"a\":\"\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\"}"),
	OK("{\"a\":\"\xf0\x9f\x98\x80\"}"),
	OK("{\"a\":\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"}"),
	OK("{\"a\":\"\xe2\x80\xa8\"}"),
	/* numbers */
	OK("{\"a\":0}"),
	OK("{\"a\":-0}"),
	OK("{\"a\":10}"),
	OK("{\"a\":9223372036854775807}"),
	OK("{\"a\":-9223372036854775808}"),
	OK("{\"a\":0.1}"),
	OK("{\"a\":-0.0}"),
	OK("{\"a\":1e2}"),
	OK("{\"a\":1E+2}"),
	OK("{\"a\":1e-2}"),
	OK("{\"a\":0e0}"),
	OK("{\"a\":1.5e308}"),
	OK("{\"a\":1.7976931348623157e308}"),
	OK("{\"a\":1e-999}"),
	OK("{\"a\":9223372036854775808.0}"),
	OK("{\"a\":9223372036854775808e0}"),
	OK("{\"a\":[1,-1,0.5,-0.5]}"),
	/* keys: same name in different objects, near misses */
	OK("{\"a\":{\"a\":1}}"),
	OK("{\"a\":1,\"A\":2,\"a \":3,\"aa\":4}"),
	OK("{\"a\":[{\"b\":1},{\"b\":1}]}"),
	OK("{\"a\":{\"x\":1},\"b\":{\"x\":1}}"),
	OK("{\"\\u00e9\":1,\"e\":2}"),
	/* depth: exactly the limit */
	{ "{}", 0, 1 },
	{ "{\"a\":{\"b\":{}}}", 0, 3 },
	{ "{\"a\":[[]]}", 0, 3 },
	{ "{\"a\":[{\"b\":[]}]}", 0, 4 },
	/* the length bounds the input, not a NUL */
	{ "{}garbage", 2, 0 },
	{ "{\"a\":1}\0garbage", 7, 0 },
};

struct bad_case {
	const char *in;
	size_t len;		/* 0: strlen(in) */
	int depth;		/* 0: DEPTH */
	const char *want;	/* a part of the error text */
};

#define BAD(s, w) { s, 0, 0, w }
#define BADN(s, w) { s, sizeof(s) - 1, 0, w }

static const struct bad_case bad_cases[] = {
	/* empty, or not one object */
	BAD("", "byte 0: the body is empty"),
	BAD("   \r\n\t", "byte 6: the body is empty"),
	BAD("[]", "byte 0: the body is not a JSON object"),
	BAD("[{}]", "the body is not a JSON object"),
	BAD(" 1", "byte 1: the body is not a JSON object"),
	BAD("\"a\"", "the body is not a JSON object"),
	BAD("null", "the body is not a JSON object"),
	BAD("\xef\xbb\xbf{}", "the body is not a JSON object"),
	BAD("{", "byte 1: unexpected end of input, expected a string key"),
	BAD("{\"a\":1", "byte 6: unexpected end of input, expected ',' or '}'"),
	BAD("{\"a\":", "unexpected end of input, expected a value"),
	BAD("{\"a\":[1", "unexpected end of input, expected ',' or ']'"),
	BAD("{\"a", "byte 1: unterminated string"),
	BAD("{\"a\":\"x", "byte 5: unterminated string"),
	BAD("{\"a\":\"x\\", "unterminated string"),
	BAD("{\"a\" 1}", "byte 5: unexpected character '1', expected ':'"),
	BAD("{\"a\":}", "unexpected character '}', expected a value"),
	BAD("{a:1}", "unexpected character 'a', expected a string key"),
	BAD("{\"a\":1 \"b\":2}", "expected ',' or '}'"),
	BAD("{\"a\":[1 2]}", "expected ',' or ']'"),
	BAD("{\"a\":1]", "expected ',' or '}'"),
	BAD("{\"a\":[1}}", "expected ',' or ']'"),
	/* single quotes */
	BAD("{'a':1}", "byte 1: single quotes are not JSON"),
	BAD("{\"a\":'b'}", "byte 5: single quotes are not JSON"),
	/* NaN and infinities */
	BAD("{\"a\":NaN}", "byte 5: NaN is not JSON"),
	BAD("{\"a\":Infinity}", "byte 5: Infinity is not JSON"),
	BAD("{\"a\":-Infinity}", "byte 5: -Infinity is not JSON"),
	BAD("{\"a\":nan}", "unknown literal"),
	BAD("{\"a\":inf}", "unexpected character 'i', expected a value"),
	/* literals */
	BAD("{\"a\":tru}", "byte 5: unknown literal"),
	BAD("{\"a\":True}", "unexpected character 'T'"),
	BAD("{\"a\":nul}", "unknown literal"),
	BAD("{\"a\":truee}", "byte 9: unexpected character 'e', expected ','"),
	BAD("{\"a\":undefined}", "unexpected character 'u'"),
	/* raw control characters and NUL bytes */
	BAD("{\"a\":\"x\ny\"}", "byte 7: unescaped byte 0x0A in a string"),
	BAD("{\"a\":\"\t\"}", "unescaped byte 0x09 in a string"),
	BAD("{\"a\":\"\x1f\"}", "unescaped byte 0x1F in a string"),
	BAD("{\"a\x01\":1}", "unescaped byte 0x01 in a string"),
	BADN("{\"a\":\"x\0y\"}", "byte 7: unescaped NUL byte in a string"),
	BADN("{\0}", "byte 1: unexpected NUL byte, expected a string key"),
	BADN("{\"a\":1\0}", "byte 6: unexpected NUL byte, expected ','"),
	BADN("{\"a\":\0}", "unexpected NUL byte, expected a value"),
	BADN("{}\0", "byte 2: unexpected NUL byte, expected nothing after"),
	BADN("\0{}", "byte 0: the body is not a JSON object"),
	/* invalid UTF-8, in values, keys and outside strings */
	BAD("{\"a\":\"\xc0\xaf\"}", "byte 6: invalid UTF-8"),
	BAD("{\"a\":\"\xc1\xbf\"}", "invalid UTF-8"),
	BAD("{\"a\":\"\xe0\x80\xaf\"}", "invalid UTF-8"),
	BAD("{\"a\":\"\xe0\x9f\xbf\"}", "invalid UTF-8"),
	BAD("{\"a\":\"\xf0\x80\x80\xaf\"}", "invalid UTF-8"),
	BAD("{\"a\":\"\xf0\x8f\xbf\xbf\"}", "invalid UTF-8"),
	BAD("{\"a\":\"\xed\xa0\x80\"}", "invalid UTF-8"),
	BAD("{\"a\":\"\xed\xbf\xbf\"}", "invalid UTF-8"),
	BAD("{\"a\":\"\xed\xa0\xbd\xed\xb8\x80\"}", "invalid UTF-8"),
	BAD("{\"a\":\"\xf4\x90\x80\x80\"}", "invalid UTF-8"),
	BAD("{\"a\":\"\xf5\x80\x80\x80\"}", "invalid UTF-8"),
	BAD("{\"a\":\"\xf8\x88\x80\x80\x80\"}", "invalid UTF-8"),
	BAD("{\"a\":\"\xfe\"}", "invalid UTF-8"),
	BAD("{\"a\":\"\xff\"}", "invalid UTF-8"),
	BAD("{\"a\":\"\x80\"}", "invalid UTF-8"),
	BAD("{\"a\":\"\xbf\"}", "invalid UTF-8"),
	BAD("{\"a\":\"\xc3\"}", "byte 6: invalid UTF-8"),
	BAD("{\"a\":\"\xe2\x82\"}", "invalid UTF-8"),
	BAD("{\"a\":\"\xf0\x9f\x98\"}", "invalid UTF-8"),
	BAD("{\"a\":\"\xc3", "invalid UTF-8"),
	BAD("{\"a\":\"\xe2\x82" "a\"}", "invalid UTF-8"),
	BAD("{\"caf\xc3\":1}", "byte 5: invalid UTF-8"),
	BAD("{\"a\":\xc3\xa9}", "byte 5: unexpected byte 0xC3, expected a value"),
	BAD("{\"a\":1}\xc3\xa9", "byte 7: unexpected byte 0xC3"),
	BAD("{\"a\":1,\xc2\xa0\"b\":2}", "unexpected byte 0xC2"),
	/* \u escapes that are not one code point */
	BAD("{\"a\":\"\\ud83d\"}", "byte 6: unpaired surrogate \\ud83d"),
	BAD("{\"a\":\"\\ude00\"}", "byte 6: unpaired surrogate \\ude00"),
	BAD("{\"a\":\"\\uDE00\"}", "unpaired surrogate \\uDE00"),
	BAD("{\"a\":\"\\ud83dx\"}", "unpaired surrogate"),
	BAD("{\"a\":\"\\ud83d\\u0041\"}", "unpaired surrogate"),
	BAD("{\"a\":\"\\ud83d\\ud83d\"}", "unpaired surrogate"),
	BAD("{\"a\":\"\\ude00\\ud83d\"}", "unpaired surrogate \\ude00"),
	BAD("{\"a\":\"\\ud83d\\n\"}", "unpaired surrogate"),
	BAD("{\"a\":\"\\ud83d\\ude0\"}", "unpaired surrogate"),
	BAD("{\"\\ud83d\":1}", "byte 2: unpaired surrogate"),
	/* \u0000 in a key (json-c would cut the key there) */
	BAD("{\"\\u0000\":1}", "byte 2: \\u0000 in a key"),
	BAD("{\"a\\u0000b\":1}", "byte 3: \\u0000 in a key"),
	/* bad escapes */
	BAD("{\"a\":\"\\x41\"}", "byte 6: bad escape: character 'x' after"),
	BAD("{\"a\":\"\\'\"}", "bad escape: character '''"),
	BAD("{\"a\":\"\\U0041\"}", "bad escape: character 'U'"),
	BAD("{\"a\":\"\\a\"}", "bad escape"),
	BAD("{\"a\":\"\\0\"}", "bad escape"),
	BAD("{\"a\":\"\\\xc3\xa9\"}", "bad escape: byte 0xC3"),
	BAD("{\"a\":\"\\u12\"}", "byte 6: bad \\u escape"),
	BAD("{\"a\":\"\\u12G4\"}", "bad \\u escape"),
	BAD("{\"a\":\"\\u-123\"}", "bad \\u escape"),
	BAD("{\"a\":\"\\u", "bad \\u escape"),
	/* number syntax */
	BAD("{\"a\":01}", "byte 5: leading zero in a number"),
	BAD("{\"a\":-01}", "byte 6: leading zero in a number"),
	BAD("{\"a\":00}", "leading zero in a number"),
	BAD("{\"a\":00.1}", "leading zero in a number"),
	BAD("{\"a\":+1}", "byte 5: a number may not start with '+'"),
	BAD("{\"a\":.5}", "a number must start with a digit"),
	BAD("{\"a\":-}", "a number needs a digit after '-'"),
	BAD("{\"a\":-a}", "a number needs a digit after '-'"),
	BAD("{\"a\":1.}", "byte 7: a number needs a digit after '.'"),
	BAD("{\"a\":1.e5}", "a number needs a digit after '.'"),
	BAD("{\"a\":1e}", "a number needs a digit in its exponent"),
	BAD("{\"a\":1e+}", "a number needs a digit in its exponent"),
	BAD("{\"a\":1E-x}", "a number needs a digit in its exponent"),
	BAD("{\"a\":0x10}", "unexpected character 'x'"),
	BAD("{\"a\":1_000}", "unexpected character '_'"),
	BAD("{\"a\":1.5.5}", "unexpected character '.'"),
	/* integers outside int64, non-finite doubles */
	BAD("{\"a\":9223372036854775808}", "byte 5: integer out of range"),
	BAD("{\"a\":-9223372036854775809}", "integer out of range"),
	BAD("{\"a\":18446744073709551616}", "integer out of range"),
	BAD("{\"a\":[1,99999999999999999999999]}", "integer out of range"),
	BAD("{\"a\":1e999}", "byte 5: number out of range"),
	BAD("{\"a\":-1e999}", "number out of range"),
	BAD("{\"a\":1.8e308}", "number out of range"),
	BAD("{\"a\":123456789e301}", "number out of range"),
	/* trailing commas */
	BAD("{\"a\":1,}", "byte 7: trailing comma"),
	BAD("{\"a\":[1,]}", "byte 8: trailing comma"),
	BAD("{\"a\":[1, ]}", "trailing comma"),
	BAD("{,}", "unexpected character ',', expected a string key"),
	BAD("{\"a\":[,]}", "unexpected character ','"),
	BAD("{\"a\":1,,\"b\":2}", "unexpected character ','"),
	/* comments */
	BAD("{\"a\":1/*c*/}", "byte 6: comments are not JSON"),
	BAD("{\"a\":1}//c", "byte 7: comments are not JSON"),
	BAD("//c\n{}", "the body is not a JSON object"),
	BAD("{/*c*/\"a\":1}", "comments are not JSON"),
	BAD("{\"a\":# c\n1}", "comments are not JSON"),
	BAD("{\"a\":1}#", "comments are not JSON"),
	/* duplicate keys, compared after unescaping */
	BAD("{\"a\":1,\"a\":2}", "byte 7: duplicate key \"a\""),
	BAD("{\"a\":1,\"b\":2,\"a\":3}", "byte 13: duplicate key \"a\""),
	BAD("{\"b\":1,\"a\":2,\"a\":3,\"b\":4}", "byte 13: duplicate key \"a\""),
	BAD("{\"a\":1,\"a\":2,\"a\":3}", "byte 7: duplicate key \"a\""),
	BAD("{\"\":1,\"\":2}", "byte 6: duplicate key \"\""),
	BAD("{\"x\":{\"a\":1,\"a\":1}}", "byte 12: duplicate key \"a\""),
	BAD("{\"x\":[{\"a\":1,\"a\":1}]}", "duplicate key \"a\""),
	BAD("{\"a\":1,\"\\u0061\":2}", "duplicate key \"a\""),
	BAD("{\"\xc3\xa9\":1,\"\\u00e9\":2}", "duplicate key \"\\xC3\\xA9\""),
	BAD("{\"\\/\":1,\"/\":2}", "duplicate key \"/\""),
	BAD("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}", "duplicate key"),
	BAD("{\"a\":{\"b\":1},\"a\":{\"b\":1}}", "duplicate key \"a\""),
	/* anything after the object */
	BAD("{}}", "byte 2: unexpected character '}', expected nothing after"),
	BAD("{\"a\":1}}", "byte 7: unexpected character '}'"),
	BAD("{}x", "unexpected character 'x', expected nothing after"),
	BAD("{} {}", "byte 3: unexpected character '{'"),
	BAD("{}\f", "unexpected byte 0x0C, expected nothing after"),
	BAD("{}\v", "unexpected byte 0x0B"),
	BAD("{} \xc2\xa0", "unexpected byte 0xC2"),
	BAD("{}]", "unexpected character ']'"),
	/* nesting: one past the limit, objects and arrays alike */
	{ "{\"a\":{}}", 0, 1, "byte 5: nested deeper than 1 levels" },
	{ "{\"a\":[]}", 0, 1, "nested deeper than 1 levels" },
	{ "{\"a\":{\"b\":{\"c\":{}}}}", 0, 3, "byte 15: nested deeper than 3" },
	{ "{\"a\":[[[]]]}", 0, 3, "byte 7: nested deeper than 3 levels" },
	{ "{\"a\":[{\"b\":[]}]}", 0, 3, "nested deeper than 3 levels" },
};

static struct json_object *
parse_exact(const char *in, size_t len, int depth, char *err, size_t errlen)
{
	struct json_object *o;
	char *copy;

	/* A heap copy of exactly len bytes: ASan sees any read past it. */
	copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, in, len);
	o = sj_parse(copy, len, depth, err, errlen);
	free(copy);
	return o;
}

/* Whatever sj_parse accepts, sj_to_text writes as text that sj_parse
 * accepts again and writes the same way. */
static void
assert_stable(struct json_object *o)
{
	struct json_object *again;
	char err[ERR_LEN], *t1, *t2;
	size_t n1, n2;

	t1 = sj_to_text(o, &n1);
	assert_non_null(t1);
	assert_int_equal(strlen(t1), n1);
	again = sj_parse(t1, n1, SJ_DEPTH_MAX, err, sizeof err);
	if (again == NULL)
		print_error("re-parse of %s: %s\n", t1, err);
	assert_non_null(again);
	t2 = sj_to_text(again, &n2);
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
	json_object_put(again);
}

static void
test_accepts(void **state)
{
	const struct ok_case *c;
	struct json_object *o;
	char err[ERR_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++) {
		c = &ok_cases[i];
		err[0] = '\0';
		o = parse_exact(c->in, c->len ? c->len : strlen(c->in),
		    c->depth ? c->depth : DEPTH, err, sizeof err);
		if (o == NULL)
			print_error("ok row %zu refused: %s\n", i, err);
		assert_non_null(o);
		assert_true(json_object_is_type(o, json_type_object));
		assert_stable(o);
		json_object_put(o);
	}
}

/* An error goes into an API reply: one line of printable ASCII. */
static void
assert_plain_line(const char *err)
{
	size_t i;

	for (i = 0; err[i] != '\0'; i++)
		assert_true(err[i] >= 0x20 && err[i] < 0x7f);
}

static void
test_refuses(void **state)
{
	const struct bad_case *c;
	struct json_object *o;
	char err[ERR_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		c = &bad_cases[i];
		strcpy(err, "(unset)");
		o = parse_exact(c->in, c->len ? c->len : strlen(c->in),
		    c->depth ? c->depth : DEPTH, err, sizeof err);
		if (o != NULL || strstr(err, c->want) == NULL)
			print_error("bad row %zu: %s\n  want: %s\n", i,
			    o ? "accepted" : err, c->want);
		assert_null(o);
		assert_true(strncmp(err, ERR_PREFIX, strlen(ERR_PREFIX)) == 0);
		assert_non_null(strstr(err, c->want));
		assert_plain_line(err);
	}
}

/* The examples named in the brief, each refused next to its valid twin. */
static void
test_pairs(void **state)
{
	static const char *const pairs[][2] = {
		{ "{\"a\":\"\\u00e9\"}", "{\"a\":\"\\u00g9\"}" },
		{ "{\"a\":\"\\ud83d\\ude00\"}", "{\"a\":\"\\ud83d\"}" },
		{ "{\"a\":9223372036854775807}", "{\"a\":9223372036854775808}" },
		{ "{\"a\":-9223372036854775808}",
		    "{\"a\":-9223372036854775809}" },
		{ "{\"a\":\"\xf0\x9f\x98\x80\"}", "{\"a\":\"\xed\xa0\xbd\"}" },
		{ "{\"a\":\"\xc2\xaf\"}", "{\"a\":\"\xc0\xaf\"}" },
		{ "{\"a\":1} \r\n\t", "{\"a\":1}}" },
		{ "{\"a\":1}", "{\"a\":1}x" },
		{ "{\"a\":1,\"b\":2}", "{\"a\":1,\"a\":2}" },
		{ "{\"a\":[1]}", "{\"a\":[1,]}" },
		{ "{\"a\":10}", "{\"a\":010}" },
		{ "{\"a\":1e308}", "{\"a\":1e999}" },
		{ "{\"a\":\"\\n\"}", "{\"a\":\"\n\"}" },
		{ "{\"a\":\"b\"}", "{\"a\":'b'}" },
		{ "{\"a\":null}", "{\"a\":NaN}" },
		{ "{\"a\":-1}", "{\"a\":+1}" },
		{ "{\"a\":1}", "[{\"a\":1}]" },
		{ "{\"a\":\"\\\\\"}", "{\"a\":\"\\q\"}" },
		{ "{\"a\\u0001\":1}", "{\"a\\u0000\":1}" },
	};
	struct json_object *o;
	char err[ERR_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		o = sj_parse(pairs[i][0], strlen(pairs[i][0]), DEPTH, err,
		    sizeof err);
		if (o == NULL)
			print_error("pair %zu refused: %s\n", i, err);
		assert_non_null(o);
		json_object_put(o);
		o = sj_parse(pairs[i][1], strlen(pairs[i][1]), DEPTH, err,
		    sizeof err);
		assert_null(o);
	}
}

static void
test_error_text(void **state)
{
	static const char in[] = "{\"a\":1,\"b\":2,\"a\":3}";
	char err[ERR_LEN];

	(void)state;
	assert_null(sj_parse(in, sizeof in - 1, DEPTH, err, sizeof err));
	assert_string_equal(err,
	    "invalid JSON at byte 13: duplicate key \"a\"");
}

/* At most 32 input bytes are quoted, and nothing unprintable. */
static void
test_error_echo_bounded(void **state)
{
	char key[101], err[ERR_LEN], want[64];
	struct buf b;

	(void)state;
	memset(key, 'k', 100);
	key[100] = '\0';
	buf_init(&b);
	buf_printf(&b, "{\"%s\":1,\"%s\":2}", key, key);
	assert_null(sj_parse(b.data, b.len, DEPTH, err, sizeof err));
	snprintf(want, sizeof want, "duplicate key \"%.32s...\"", key);
	assert_non_null(strstr(err, want));
	assert_null(strstr(err, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"));
	buf_reset(&b);
	buf_adds(&b, "{\"\\u0001\\\"\\\\\\n\x7f\":1,\"\\u0001\\\"\\\\\\n\x7f\":2}");
	assert_null(sj_parse(b.data, b.len, DEPTH, err, sizeof err));
	assert_string_equal(err, "invalid JSON at byte 19: duplicate key "
	    "\"\\x01\\x22\\x5C\\x0A\\x7F\"");
	assert_plain_line(err);
	buf_free(&b);
}

static void
test_error_buffer(void **state)
{
	struct json_object *o;
	char err[8];

	(void)state;
	memset(err, 'z', sizeof err);
	assert_null(sj_parse("{,}", 3, DEPTH, err, sizeof err));
	assert_string_equal(err, "invalid");
	assert_null(sj_parse("{,}", 3, DEPTH, NULL, 0));
	assert_null(sj_parse("{,}", 3, DEPTH, err, 0));
	assert_null(sj_parse(NULL, 0, DEPTH, err, sizeof err));
	o = sj_parse("{}", 2, DEPTH, NULL, 0);
	assert_non_null(o);
	json_object_put(o);
}

static void
test_depth_argument(void **state)
{
	char err[ERR_LEN];

	(void)state;
	assert_null(sj_parse("{}", 2, 0, err, sizeof err));
	assert_string_equal(err, "max_depth 0 is out of range");
	assert_null(sj_parse("{}", 2, -1, err, sizeof err));
	assert_null(sj_parse("{}", 2, SJ_DEPTH_MAX + 1, err, sizeof err));
}

/* levels nested objects, or an object holding levels - 1 nested arrays. */
static void
nest(struct buf *b, int levels, int arrays)
{
	int i;

	buf_reset(b);
	buf_adds(b, "{\"a\":");
	for (i = 1; i < levels; i++)
		buf_adds(b, arrays ? "[" : "{\"a\":");
	buf_adds(b, "1");
	for (i = 1; i < levels; i++)
		buf_adds(b, arrays ? "]" : "}");
	buf_adds(b, "}");
}

/* The scanner's limit and json-c's own depth limit must agree. */
static void
test_depth_limits(void **state)
{
	static const int limits[] = { 1, 2, 3, 32, 33, 200, SJ_DEPTH_MAX };
	struct json_object *o;
	char err[ERR_LEN], want[64];
	struct buf b;
	size_t i;
	int arrays;

	(void)state;
	buf_init(&b);
	for (i = 0; i < sizeof limits / sizeof limits[0]; i++) {
		for (arrays = 0; arrays < 2; arrays++) {
			nest(&b, limits[i], arrays);
			o = sj_parse(b.data, b.len, limits[i], err, sizeof err);
			if (o == NULL)
				print_error("depth %d: %s\n", limits[i], err);
			assert_non_null(o);
			json_object_put(o);
			nest(&b, limits[i] + 1, arrays);
			o = sj_parse(b.data, b.len, limits[i], err, sizeof err);
			assert_null(o);
			snprintf(want, sizeof want, "nested deeper than %d levels",
			    limits[i]);
			assert_non_null(strstr(err, want));
		}
	}
	buf_free(&b);
}

struct text_case {
	const char *in;
	const char *want;
};

static const struct text_case text_cases[] = {
	/* doubles keep their text (json-c 0.16 uses json_object_new_double_s
	 * in its tokener) */
	{ "{\"a\":0.1}", "{\"a\":0.1}" },
	{ "{\"a\":1e2}", "{\"a\":1e2}" },
	{ "{\"a\":1E+2}", "{\"a\":1E+2}" },
	{ "{\"a\":1.50}", "{\"a\":1.50}" },
	{ "{\"a\":-0.0}", "{\"a\":-0.0}" },
	{ "{\"a\":1.0}", "{\"a\":1.0}" },
	{ "{\"a\":0.30000000000000004}", "{\"a\":0.30000000000000004}" },
	{ "{\"a\":123456789.123456789}", "{\"a\":123456789.123456789}" },
	{ "{\"a\":1e-999}", "{\"a\":1e-999}" },
	/* integers are printed from their int64 value */
	{ "{\"a\":-0}", "{\"a\":0}" },
	{ "{\"a\":9223372036854775807}", "{\"a\":9223372036854775807}" },
	{ "{\"a\":-9223372036854775808}", "{\"a\":-9223372036854775808}" },
	/* compact, order kept */
	{ " { \"b\" : [ 1 , 2 ] , \"a\" : { } } ", "{\"b\":[1,2],\"a\":{}}" },
	{ "{\"a\":true,\"b\":false,\"c\":null}",
	    "{\"a\":true,\"b\":false,\"c\":null}" },
	/* '/' is not escaped; UTF-8 is written as UTF-8 */
	{ "{\"a\":\"/x/\"}", "{\"a\":\"/x/\"}" },
	{ "{\"a\":\"\\/\"}", "{\"a\":\"/\"}" },
	{ "{\"a\":\"caf\xc3\xa9\"}", "{\"a\":\"caf\xc3\xa9\"}" },
	{ "{\"a\":\"\\u00e9\"}", "{\"a\":\"\xc3\xa9\"}" },
	{ "{\"a\":\"\\u20AC\"}", "{\"a\":\"\xe2\x82\xac\"}" },
	{ "{\"a\":\"\\ud83d\\ude00\"}", "{\"a\":\"\xf0\x9f\x98\x80\"}" },
	{ "{\"\\u00e9\":1}", "{\"\xc3\xa9\":1}" },
	{ "{\"a\":\"\\u2028\"}", "{\"a\":\"\xe2\x80\xa8\"}" },
	/* control characters stay escaped, NUL included */
	{ "{\"a\":\"\\u0001\\n\\t\\\"\\\\\"}",
	    "{\"a\":\"\\u0001\\n\\t\\\"\\\\\"}" },
	{ "{\"a\":\"x\\u0000y\"}", "{\"a\":\"x\\u0000y\"}" },
	{ "{\"a\":\"\\u001F\"}", "{\"a\":\"\\u001f\"}" },
	/* DEL is legal unescaped JSON, and json-c leaves it so */
	{ "{\"a\":\"\\u007f\"}", "{\"a\":\"\x7f\"}" },
};

static void
test_to_text(void **state)
{
	struct json_object *o;
	char err[ERR_LEN], *t;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof text_cases / sizeof text_cases[0]; i++) {
		o = sj_parse(text_cases[i].in, strlen(text_cases[i].in), DEPTH,
		    err, sizeof err);
		if (o == NULL)
			print_error("text row %zu: %s\n", i, err);
		assert_non_null(o);
		t = sj_to_text(o, &n);
		if (strcmp(t, text_cases[i].want) != 0)
			print_error("text row %zu: got %s\n", i, t);
		assert_string_equal(t, text_cases[i].want);
		assert_int_equal(n, strlen(text_cases[i].want));
		free(t);
		json_object_put(o);
	}
}

static void
test_to_text_null_len(void **state)
{
	struct json_object *o;
	char *t;

	(void)state;
	assert_null(sj_to_text(NULL, NULL));
	o = sj_parse("{\"a\":[0.1]}", 11, DEPTH, NULL, 0);
	t = sj_to_text(o, NULL);
	assert_string_equal(t, "{\"a\":[0.1]}");
	free(t);
	json_object_put(o);
}

/* The values json-c builds are the ones that were sent. */
static void
test_values(void **state)
{
	static const char in[] = "{\"max\":9223372036854775807,"
	    "\"min\":-9223372036854775808,\"d\":0.1,\"s\":\"x\\u0000y\","
	    "\"e\":\"\\ud83d\\ude00\",\"\\u00e9\":true}";
	struct json_object *o, *v;
	char err[ERR_LEN];

	(void)state;
	o = sj_parse(in, sizeof in - 1, DEPTH, err, sizeof err);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "max", &v));
	assert_true(json_object_get_int64(v) == INT64_MAX);
	assert_true(json_object_object_get_ex(o, "min", &v));
	assert_true(json_object_get_int64(v) == INT64_MIN);
	assert_true(json_object_object_get_ex(o, "d", &v));
	assert_true(json_object_is_type(v, json_type_double));
	assert_true(json_object_get_double(v) == 0.1);
	assert_true(json_object_object_get_ex(o, "s", &v));
	assert_int_equal(json_object_get_string_len(v), 3);
	assert_memory_equal(json_object_get_string(v), "x\0y", 3);
	assert_true(json_object_object_get_ex(o, "e", &v));
	assert_string_equal(json_object_get_string(v), "\xf0\x9f\x98\x80");
	assert_true(json_object_object_get_ex(o, "\xc3\xa9", &v));
	assert_int_equal(json_object_object_length(o), 6);
	json_object_put(o);
}

/* Many keys in one object: sorted, not compared pairwise. */
static void
test_many_keys(void **state)
{
	struct json_object *o;
	char err[ERR_LEN];
	struct buf b;
	int i;

	(void)state;
	buf_init(&b);
	buf_adds(&b, "{");
	for (i = 0; i < 50000; i++)
		buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
	buf_adds(&b, "}");
	o = sj_parse(b.data, b.len, DEPTH, err, sizeof err);
	assert_non_null(o);
	assert_int_equal(json_object_object_length(o), 50000);
	json_object_put(o);
	b.len--;
	buf_adds(&b, ",\"k4242\":0}");
	assert_null(sj_parse(b.data, b.len, DEPTH, err, sizeof err));
	assert_non_null(strstr(err, "duplicate key \"k4242\""));
	buf_free(&b);
}

static uint32_t
next_rand(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* Random edits of valid bodies: never a crash (under ASan), and whatever
 * is accepted stores as text that is accepted again. */
static void
test_mutations(void **state)
{
	static const char *const seeds[] = {
		"{\"a\":[1,2.5,-3e4,true,false,null],\"b\":{\"c\":\"d\\u00e9\"}}",
		"{\"k\":\"\xf0\x9f\x98\x80\\ud83d\\ude00\",\"n\":-0.0,\"x\":{}}",
		"{\"a\":{\"a\":{\"a\":[[[\"\\\"\\\\\\/\"]]]}},\"b\":9}",
	};
	static const char alphabet[] = "{}[]:,\"\\-+.0123456789eEtrufalsn "
	    "u\x00\x80\xc3\xed\xf0\xff/'";
	struct json_object *o;
	char err[ERR_LEN], buf[128];
	uint32_t x = 2463534242u;
	size_t len, pos;
	int i, j, accepted = 0;

	(void)state;
	for (i = 0; i < 30000; i++) {
		len = strlen(seeds[i % 3]);
		memcpy(buf, seeds[i % 3], len);
		for (j = 0; j < 1 + i % 3; j++) {
			pos = next_rand(&x) % len;
			if (next_rand(&x) % 2 && len < sizeof buf)
				buf[pos] = alphabet[next_rand(&x) %
				    (sizeof alphabet - 1)];
			else
				buf[pos] = (char)next_rand(&x);
		}
		o = parse_exact(buf, len, 6, err, sizeof err);
		if (o != NULL) {
			accepted++;
			assert_stable(o);
			json_object_put(o);
		} else {
			assert_plain_line(err);
		}
	}
	print_message("mutations: %d of 30000 accepted\n", accepted);
	assert_true(accepted > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_refuses),
		cmocka_unit_test(test_pairs),
		cmocka_unit_test(test_error_text),
		cmocka_unit_test(test_error_echo_bounded),
		cmocka_unit_test(test_error_buffer),
		cmocka_unit_test(test_depth_argument),
		cmocka_unit_test(test_depth_limits),
		cmocka_unit_test(test_to_text),
		cmocka_unit_test(test_to_text_null_len),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
