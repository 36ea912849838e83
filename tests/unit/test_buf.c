/* test_buf.c: the growable buffer, its printf, the JSON string writer
 * (escapes, UTF-8 pass-through, U+FFFD for invalid bytes) and the UTF-8
 * helpers. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include <cmocka.h>

#include <json.h>

#include "buf.h"
#include "strictjson.h"

#define FFFD "\xef\xbf\xbd"
#define DEPTH 32
#define ERR_LEN 256

static void
test_init_free(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	buf_free(&b);
	buf_free(NULL);
	buf_reset(&b);
	buf_adds(&b, "abc");
	assert_int_equal(b.len, 3);
	assert_string_equal(b.data, "abc");
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
}

static void
test_add_binary(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b);
	buf_add(&b, NULL, 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	buf_add(&b, "a\0b", 3);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 4);
	buf_free(&b);
}

static void
test_grow_and_reset(void **state)
{
	struct buf b;
	size_t i, cap;

	(void)state;
	buf_init(&b);
	for (i = 0; i < 10000; i++)
		buf_add(&b, "0123456789", 10);
	assert_int_equal(b.len, 100000);
	assert_true(b.cap > b.len);
	assert_int_equal(b.data[b.len], '\0');
	assert_memory_equal(b.data + 99990, "0123456789", 10);
	cap = b.cap;
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, cap);
	assert_string_equal(b.data, "");
	buf_adds(&b, "x");
	assert_string_equal(b.data, "x");
	buf_free(&b);
}

static void
test_printf(void **state)
{
	char big[5000];
	struct buf b;

	(void)state;
	buf_init(&b);
	assert_int_equal(buf_printf(&b, "%d-%s-%zu", 42, "x", (size_t)7), 0);
	assert_string_equal(b.data, "42-x-7");
	memset(big, 'q', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(buf_printf(&b, "[%s]", big), 0);
	assert_int_equal(b.len, 6 + 2 + sizeof big - 1);
	assert_int_equal(b.data[6], '[');
	assert_int_equal(b.data[b.len - 1], ']');
	assert_int_equal(b.data[b.len], '\0');
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_int_equal(b.len, 6 + 2 + sizeof big - 1);
	buf_free(&b);
}

/* Exactly filling the spare capacity is the off-by-one edge. */
static void
test_printf_exact_fit(void **state)
{
	struct buf b;
	size_t spare;
	char fill[256];

	(void)state;
	buf_init(&b);
	buf_adds(&b, "a");
	spare = b.cap - b.len - 1;
	assert_true(spare < sizeof fill);
	memset(fill, 'f', spare);
	fill[spare] = '\0';
	assert_int_equal(buf_printf(&b, "%s", fill), 0);
	assert_int_equal(b.len, 1 + spare);
	assert_int_equal(b.data[b.len], '\0');
	assert_int_equal(buf_printf(&b, "%s", "g"), 0);
	assert_int_equal(b.data[b.len - 1], 'g');
	assert_int_equal(b.data[b.len], '\0');
	buf_free(&b);
}

/* In the C locale a wide character outside ASCII cannot be converted, so
 * vsnprintf fails: the buffer must be left as it was. */
static void
test_printf_error(void **state)
{
	static const wchar_t euro[] = { 0x20ac, 0 };
	struct buf b;

	(void)state;
	buf_init(&b);
	buf_adds(&b, "abc");
	assert_int_equal(buf_printf(&b, "x%lsy", euro), -1);
	assert_int_equal(b.len, 3);
	assert_string_equal(b.data, "abc");
	buf_free(&b);
	assert_int_equal(buf_printf(&b, "x%lsy", euro), -1);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	buf_free(&b);
}

struct json_str_case {
	const char *in;
	size_t len;		/* 0: strlen(in) */
	const char *want;
};

static const struct json_str_case json_str_cases[] = {
	{ "", 0, "\"\"" },
	{ "plain text", 0, "\"plain text\"" },
	{ "a/b", 0, "\"a/b\"" },
	{ "q\"b\\", 0, "\"q\\\"b\\\\\"" },
	{ "\b\f\n\r\t", 0, "\"\\b\\f\\n\\r\\t\"" },
	{ "\x01\x1f", 0, "\"\\u0001\\u001f\"" },
	{ "a\0b", 3, "\"a\\u0000b\"" },
	{ "\x7f", 0, "\"\\u007f\"" },
	{ "caf\xc3\xa9", 0, "\"caf\xc3\xa9\"" },
	{ "\xe2\x82\xac", 0, "\"\xe2\x82\xac\"" },
	{ "\xf0\x9f\x98\x80", 0, "\"\xf0\x9f\x98\x80\"" },
	{ "\xf4\x8f\xbf\xbf", 0, "\"\xf4\x8f\xbf\xbf\"" },
	{ "\xe2\x80\xa8", 0, "\"\xe2\x80\xa8\"" },
	{ "\xff", 0, "\"" FFFD "\"" },
	{ "\x80x", 0, "\"" FFFD "x\"" },
	{ "\xc0\xaf", 0, "\"" FFFD FFFD "\"" },
	{ "\xed\xa0\x80", 0, "\"" FFFD FFFD FFFD "\"" },
	{ "\xf4\x90\x80\x80", 0, "\"" FFFD FFFD FFFD FFFD "\"" },
	{ "a\xc3", 0, "\"a" FFFD "\"" },
	{ "\xe2\x82", 0, "\"" FFFD FFFD "\"" },
	{ "\xe2\x82" "a", 0, "\"" FFFD FFFD "a\"" },
	{ "\xc3\xa9\xff\xc3\xa9", 0, "\"\xc3\xa9" FFFD "\xc3\xa9\"" },
};

static void
test_json_str_table(void **state)
{
	const struct json_str_case *c;
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b);
	for (i = 0; i < sizeof json_str_cases / sizeof json_str_cases[0];
	    i++) {
		c = &json_str_cases[i];
		buf_reset(&b);
		buf_add_json_str(&b, c->in, c->len ? c->len : strlen(c->in));
		if (strcmp(b.data, c->want) != 0)
			print_error("row %zu: got %s\n", i, b.data);
		assert_string_equal(b.data, c->want);
	}
	buf_free(&b);
}

/* Whatever the bytes, the output must be JSON that the strict parser
 * takes: every byte value, alone and after a lead byte. */
static void
test_json_str_always_valid(void **state)
{
	struct json_object *o;
	char err[ERR_LEN], in[2];
	struct buf b;
	int i, j;

	(void)state;
	buf_init(&b);
	for (i = 0; i < 256; i++) {
		for (j = 0; j < 256; j += 17) {
			in[0] = (char)i;
			in[1] = (char)j;
			buf_reset(&b);
			buf_adds(&b, "{\"k\":");
			buf_add_json_str(&b, in, 2);
			buf_adds(&b, "}");
			o = sj_parse(b.data, b.len, DEPTH, err, sizeof err);
			if (o == NULL)
				print_error("%02x %02x: %s\n", i, j, err);
			assert_non_null(o);
			json_object_put(o);
		}
	}
	buf_free(&b);
}

static void
test_json_str_round_trip(void **state)
{
	static const char in[] = "a\"\\/\n\x01 caf\xc3\xa9 \xf0\x9f\x98\x80";
	struct json_object *o, *v;
	char err[ERR_LEN];
	struct buf b;

	(void)state;
	buf_init(&b);
	buf_adds(&b, "{\"k\":");
	buf_add_json_str(&b, in, sizeof in - 1);
	buf_adds(&b, "}");
	o = sj_parse(b.data, b.len, DEPTH, err, sizeof err);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "k", &v));
	assert_int_equal(json_object_get_string_len(v), sizeof in - 1);
	assert_memory_equal(json_object_get_string(v), in, sizeof in - 1);
	json_object_put(o);
	buf_free(&b);
}

struct utf8_case {
	const char *s;
	size_t n;
	size_t seq;	/* buf_utf8_seq_len */
};

static const struct utf8_case utf8_cases[] = {
	{ "", 0, 0 },
	{ "a", 1, 1 },
	{ "\0", 1, 1 },
	{ "\x7f", 1, 1 },
	{ "\x80", 1, 0 },
	{ "\xbf", 1, 0 },
	{ "\xc0\x80", 2, 0 },
	{ "\xc1\xbf", 2, 0 },
	{ "\xc2\x80", 2, 2 },
	{ "\xdf\xbf", 2, 2 },
	{ "\xc2\x41", 2, 0 },
	{ "\xc2", 1, 0 },
	{ "\xe0\x9f\xbf", 3, 0 },
	{ "\xe0\xa0\x80", 3, 3 },
	{ "\xed\x9f\xbf", 3, 3 },
	{ "\xed\xa0\x80", 3, 0 },
	{ "\xed\xbf\xbf", 3, 0 },
	{ "\xee\x80\x80", 3, 3 },
	{ "\xef\xbf\xbf", 3, 3 },
	{ "\xe2\x82", 2, 0 },
	{ "\xe2\x82\x41", 3, 0 },
	{ "\xf0\x8f\xbf\xbf", 4, 0 },
	{ "\xf0\x90\x80\x80", 4, 4 },
	{ "\xf4\x8f\xbf\xbf", 4, 4 },
	{ "\xf4\x90\x80\x80", 4, 0 },
	{ "\xf5\x80\x80\x80", 4, 0 },
	{ "\xf0\x9f\x98", 3, 0 },
	{ "\xf0\x9f\x98\x41", 4, 0 },
	{ "\xfe", 1, 0 },
	{ "\xff", 1, 0 },
	{ "\xc3\xa9zz", 4, 2 },
};

static void
test_utf8_seq_len(void **state)
{
	size_t i, got;

	(void)state;
	for (i = 0; i < sizeof utf8_cases / sizeof utf8_cases[0]; i++) {
		got = buf_utf8_seq_len(utf8_cases[i].s, utf8_cases[i].n);
		if (got != utf8_cases[i].seq)
			print_error("row %zu: got %zu\n", i, got);
		assert_int_equal(got, utf8_cases[i].seq);
	}
}

static void
test_utf8_len(void **state)
{
	(void)state;
	assert_int_equal(buf_utf8_len("", 0), 0);
	assert_int_equal(buf_utf8_len("alice", 5), 5);
	assert_int_equal(buf_utf8_len("caf\xc3\xa9", 5), 4);
	assert_int_equal(buf_utf8_len("\xe5\xbc\xa0\xe4\xb8\x89", 6), 2);
	assert_int_equal(buf_utf8_len("\xf0\x9f\x98\x80!", 5), 2);
	assert_int_equal(buf_utf8_len("a\0b", 3), 3);
	assert_true(buf_utf8_len("caf\xc3", 4) == SIZE_MAX);
	assert_true(buf_utf8_len("\xed\xa0\x80", 3) == SIZE_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_free),
		cmocka_unit_test(test_add_binary),
		cmocka_unit_test(test_grow_and_reset),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_printf_exact_fit),
		cmocka_unit_test(test_printf_error),
		cmocka_unit_test(test_json_str_table),
		cmocka_unit_test(test_json_str_always_valid),
		cmocka_unit_test(test_json_str_round_trip),
		cmocka_unit_test(test_utf8_seq_len),
		cmocka_unit_test(test_utf8_len),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
