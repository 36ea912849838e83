/* test_dispatch.c: the Python spellings celery.c writes (repr of a float,
 * json.dumps of a string); one table row per case. tests/test_dispatch.py
 * checks whole messages against Celery and Python themselves. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "celery.h"

/* repr(float) in CPython 3. */
static const struct { double d; const char *want; } floats[] = {
	{ 0.0, "0.0" }, { -0.0, "-0.0" }, { 1.0, "1.0" }, { 0.1, "0.1" },
	{ 1764655200.123456, "1764655200.123456" }, { 1e16, "1e+16" },
	{ 9999999999999998.0, "9999999999999998.0" }, { 1e-4, "0.0001" },
	{ 1e-5, "1e-05" }, { 1.5e-7, "1.5e-07" }, { 123.456, "123.456" },
	{ 5e-324, "5e-324" }, { 1.7976931348623157e308, "1.7976931348623157e+308" },
	{ 100.0, "100.0" }, { 0.30000000000000004, "0.30000000000000004" },
	{ -2.5, "-2.5" },
};

static void
test_py_float(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(floats) / sizeof(*floats); i++) {
		struct buf b;
		buf_init(&b);
		celery_py_float(&b, floats[i].d);
		assert_string_equal(b.data, floats[i].want);
		buf_free(&b);
	}
}

/* json.dumps(s) with ensure_ascii. */
static const struct { const char *s; const char *want; } strs[] = {
	{ "abc", "\"abc\"" }, { "", "\"\"" }, { "a\"b\\c/d", "\"a\\\"b\\\\c/d\"" },
	{ "\n\r\t\b\f", "\"\\n\\r\\t\\b\\f\"" }, { "\x01\x1f\x7f",
	    "\"\\u0001\\u001f\\u007f\"" }, { "\xc3\xa9", "\"\\u00e9\"" },
	{ "\xe8\x8a\x82", "\"\\u8282\"" },
	{ "\xf0\x9f\x98\x80", "\"\\ud83d\\ude00\"" },
	{ "\xff", "\"\\ufffd\"" },
};

static void
test_py_json_str(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(strs) / sizeof(*strs); i++) {
		struct buf b;
		buf_init(&b);
		celery_py_json_str(&b, strs[i].s, strlen(strs[i].s));
		assert_string_equal(b.data, strs[i].want);
		buf_free(&b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_py_float),
		cmocka_unit_test(test_py_json_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
